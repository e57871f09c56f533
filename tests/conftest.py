"""Shared fixtures: the offline data folder and an isolated cache/work folder per test."""

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")  # plots render to files, no display needed

ROOT = Path(__file__).resolve().parents[1]


def _shared_data_dir() -> Path:
    value = os.environ.get("LABS_DATA_DIR")
    path = Path(value) if value else ROOT.parent / "shared" / "data"
    if not (path / "mnist").is_dir():
        raise pytest.UsageError(
            f"The tests read the offline datasets from LABS_DATA_DIR, but {path} has no "
            "mnist/ folder. Set LABS_DATA_DIR to the shared data folder (../shared/data).")
    return path.resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return _shared_data_dir()


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    """No test writes outside its tmp folder or inherits the runner's variables."""
    monkeypatch.setenv("LABS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("LABS_WORK_DIR", raising=False)
    monkeypatch.delenv("LABS_METRICS_FILE", raising=False)
