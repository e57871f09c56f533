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

    The 8 devices share the cores with the other test worker, so an all-reduce can
    wait well past XLA's default limit (the process is then aborted): collectives
    get 10 minutes. Eigen's multi-threading is off: with 8 device computations
    sharing a 2-core machine's Eigen thread pool, participants of an all-reduce
    waiting for the others can hold every pool thread, and the notebook then hung
    with no CPU use (seen once in `.ci/run`). Each device computation now runs its
    operations on its own thread.
    """
    return ("--xla_force_host_platform_device_count=8 "
            "--xla_cpu_multi_thread_eigen=false "
            "--xla_cpu_collective_timeout_seconds=600 "
            "--xla_cpu_collective_call_terminate_timeout_seconds=600")


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
