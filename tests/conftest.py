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
def eight_cpu_devices() -> str:
    """The XLA_FLAGS value that gives JAX eight simulated CPU devices, as on a TPU.

    The eight devices share one process's XLA thread pool, and a data-parallel
    step can deadlock: some devices wait in the gradient all-reduce for devices
    whose computation XLA never starts (seen in CI; here every time with two busy
    loops beside notebook 04, and about once in six runs alone). Tests that use
    this fixture are marked `serial` (`make test` runs them on their own, after
    the others), XLA gives up on a stuck all-reduce after 60 s (a healthy one
    takes milliseconds) and aborts the process, and the notebook test retries
    only that failure.
    """
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        raise pytest.UsageError(
            f"this test simulates 8 XLA devices and must run alone, not beside {workers - 1} "
            "other pytest-xdist worker(s): run `pytest -m serial` without -n "
            "(`make test` does, after the parallel part)")
    return ("--xla_force_host_platform_device_count=8 "
            "--xla_cpu_collective_timeout_seconds=60 "
            "--xla_cpu_collective_call_terminate_timeout_seconds=60")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return _shared_data_dir()


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory):
    """One dataset cache for the whole session: archives are extracted and decoded once."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def isolated_dirs(session_cache, monkeypatch):
    """No test writes outside pytest's tmp folders or inherits the runner's variables."""
    monkeypatch.setenv("LABS_CACHE_DIR", str(session_cache))
    monkeypatch.delenv("LABS_WORK_DIR", raising=False)
    monkeypatch.delenv("LABS_METRICS_FILE", raising=False)
