"""Notebook 09 survives a disconnect: after the kernel is killed in the middle of
training, a rerun continues from the last finished epoch and repeats none."""

import csv
import json

import h5py
import pytest
from nbclient.exceptions import DeadKernelError

from tools import runner

NOTEBOOK = runner.NOTEBOOKS / "09_dcgan.ipynb"
SMOKE_EPOCHS, SMOKE_STEPS = 2, 4  # what SMOKE = True sets in the notebook


def work_folder(out_dir):
    return out_dir / "work" / "09_dcgan" / "mnist"


def logged_epochs(out_dir):
    with open(work_folder(out_dir) / "log.csv", newline="") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def grids(out_dir):
    return sorted(p.name for p in (work_folder(out_dir) / "grids").glob("*.png"))


def optimizer_steps(out_dir):
    """The iteration counters of both optimizers in the latest backup."""
    with h5py.File(work_folder(out_dir) / "backup" / "latest.weights.h5", "r") as f:
        return {name: int(f[f"{name}/vars/0"][()]) for name in ("d_optimizer", "g_optimizer")}


def printed(out_dir):
    cells = json.loads((out_dir / NOTEBOOK.name).read_text())["cells"]
    return "".join("".join(o.get("text", "")) for c in cells if c["cell_type"] == "code"
                   for o in c.get("outputs", []))


@pytest.mark.notebook
def test_dcgan_resumes_after_the_kernel_is_killed(tmp_path, shared_data, monkeypatch):
    monkeypatch.setenv("LABS_DATA_DIR", str(shared_data))

    # Run 1: the kernel process exits in the middle of epoch 2 (os._exit, no cleanup).
    with pytest.raises(DeadKernelError):
        runner.run_notebook(NOTEBOOK, tmp_path, {"SMOKE": True, "STOP_AFTER_EPOCH": 1})
    assert logged_epochs(tmp_path) == [0]
    assert grids(tmp_path) == ["epoch_001.png"]
    assert optimizer_steps(tmp_path) == {"d_optimizer": SMOKE_STEPS, "g_optimizer": SMOKE_STEPS}

    # Run 2, same working folder: only epoch 2 is trained, from the restored state.
    result = runner.run_notebook(NOTEBOOK, tmp_path, {"SMOKE": True})
    assert result.error is None, result.error
    out = printed(tmp_path)
    assert "Epochs already in the log: 1 of 2" in out
    assert f"Epoch 2/{SMOKE_EPOCHS}" in out and f"Epoch 1/{SMOKE_EPOCHS}" not in out
    assert logged_epochs(tmp_path) == [0, 1]  # each finished epoch exactly once
    assert grids(tmp_path) == ["epoch_001.png", "epoch_002.png"]
    # The optimizers continued counting: their state was restored, not rebuilt.
    steps = SMOKE_EPOCHS * SMOKE_STEPS
    assert optimizer_steps(tmp_path) == {"d_optimizer": steps, "g_optimizer": steps}
    assert result.metrics["confident_share"]["value"] >= 0
