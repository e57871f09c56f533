"""Shared fixtures: the offline data folder and an isolated cache/work folder per test."""

import os
from pathlib import Path

import matplotlib
import pytest

from dl_vision_labs import environment
from tools import site

matplotlib.use("Agg")  # plots render to files, no display needed

ROOT = Path(__file__).resolve().parents[1]


def _shared_data_dir() -> Path:
    value = os.environ.get(environment.DATA_DIR)
    path = Path(value) if value else ROOT.parent / "shared" / "data"
    if not (path / "mnist").is_dir():
        raise pytest.UsageError(
            f"The tests read the offline datasets from LABS_DATA_DIR, but {path} has no "
            "mnist/ folder. Set LABS_DATA_DIR to the shared data folder (../shared/data)."
        )
    return path.resolve()


def pytest_addoption(parser):
    parser.addoption(
        "--keep-run",
        metavar="DIR",
        type=Path,
        help="leave the notebooks' smoke executions (TensorFlow) in DIR, a run folder in the "
        "runner's layout, for `make site` (emptied first)",
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "site: tests the built website in Chromium (`make test-site`, not `make test`)"
    )
    folder = config.getoption("keep_run")
    if folder and not hasattr(config, "workerinput"):  # once, in the main process
        site.start_kept_run(folder)


def pytest_sessionfinish(session):
    folder = session.config.getoption("keep_run")
    if folder and not hasattr(session.config, "workerinput"):
        site.finish_kept_run(folder)


@pytest.fixture(scope="session")
def kept_run(request) -> Path | None:
    """The run folder where the smoke executions are left (--keep-run), or None."""
    return request.config.getoption("keep_run")


SIMULATED_DEVICES = 8  # a TPU's cores


@pytest.fixture(scope="session")
def eight_cpu_devices() -> dict:
    """Environment variables that give a fresh process eight simulated JAX CPU devices.

    XLA's CPU client runs the simulated devices on one thread pool of
    max(cores, devices) threads, 8 here. To launch a multi-device computation it
    first puts one task per device on that pool, and each task waits, holding its
    thread, while its device already has 32 computations queued (XLA's
    max_inflight_computations_per_device). The queued computations need pool
    threads too, and an all-reduce needs one for every device at once: when the
    launch tasks hold all but a few threads, some devices' share of the gradient
    all-reduce waits forever for the others (gdb: threads in
    InProcessCommunicator::AllReduce and in Semaphore::Acquire). PJRT_NPROC sets
    the pool's size: with twice as many threads as devices, the launch tasks (one
    per device, one launch at a time) leave a thread for each device's share of a
    collective (XLA runs one collective at a time), whatever else runs on the
    machine. Should a collective hang anyway, XLA aborts the process after 60 s.
    """
    return {
        "KERAS_BACKEND": "jax",
        "JAX_PLATFORMS": "cpu",  # simulated CPU devices, even on a host with a GPU,
        "CUDA_VISIBLE_DEVICES": "",  # which TensorFlow (tf.data) then leaves alone
        "XLA_FLAGS": (
            f"--xla_force_host_platform_device_count={SIMULATED_DEVICES} "
            "--xla_cpu_collective_timeout_seconds=60 "
            "--xla_cpu_collective_call_terminate_timeout_seconds=60"
        ),
        "PJRT_NPROC": str(2 * SIMULATED_DEVICES),
    }


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
    monkeypatch.setenv(environment.CACHE_DIR, str(session_cache))
    monkeypatch.delenv(environment.WORK_DIR, raising=False)
    monkeypatch.delenv(environment.METRICS_FILE, raising=False)


# --- tiers: `make test-fast` runs the tests that start no kernel and no subprocess ---------

FAST_TIER_VAR = environment.FAST_TIER  # set by `make test-fast`: a subprocess there is a mistake


@pytest.fixture(autouse=True)
def no_subprocess_in_the_fast_tier(request, monkeypatch):
    """In the fast tier, a test that starts a process (a kernel, git, pip, a fresh Python)
    fails with its name and the marker to add, instead of slowing the edit-test loop."""
    if not os.environ.get(FAST_TIER_VAR) or request.node.get_closest_marker("slow"):
        return
    import subprocess

    def refuse(*args, **kwargs):
        raise AssertionError(
            f"{request.node.nodeid} starts a subprocess: mark it "
            "@pytest.mark.slow (the fast tier runs none)"
        )

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
