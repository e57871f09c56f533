"""Notebook 09 survives a disconnect, on both Keras backends: after the kernel is killed in
the middle of training, a rerun continues from the last finished epoch and repeats none."""

import ast
import csv
import json

import h5py
import pytest
from nbclient.exceptions import DeadKernelError

from dl_vision_labs import environment
from tools import runner

NOTEBOOK = runner.NOTEBOOKS / "09_dcgan.ipynb"
SMOKE_EPOCHS, SMOKE_STEPS = 2, 4  # what SMOKE = True sets in the notebook


def work_folder(out_dir):
    """The one run folder of the smoke configuration (storage.run_folder)."""
    (folder,) = (out_dir / "work" / "09_dcgan").glob("run-*")
    return folder


def logged_epochs(out_dir):
    with open(work_folder(out_dir) / "log.csv", newline="") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def grids(out_dir):
    return sorted(p.name for p in (work_folder(out_dir) / "grids").glob("*.png"))


def optimizer_steps(out_dir):
    """The iteration counters of both optimizers in the latest backup."""
    with h5py.File(work_folder(out_dir) / "backup" / "latest.weights.h5", "r") as f:
        return {name: int(f[f"{name}/vars/0"][()]) for name in ("d_optimizer", "g_optimizer")}


# Both networks' output biases, marked in the backup between the two runs: a model that
# starts from the backup keeps the mark (4 Adam steps at lr 2e-4 move a weight by about
# 1e-3), a rebuilt one starts again near the seeded initial value, 0. Found by shape (the
# only variable of shape (1,) in each network: the one-channel image's bias, the logit's
# bias), not by the names Keras generates.
MARKS = {"discriminator": 1.0, "generator": 0.5}


def variables(f, network):
    """{path: shape} of every variable saved for `network` in an open backup file."""
    found = {}

    def add(name, obj):  # returns None: h5py's visit stops at the first other value
        if isinstance(obj, h5py.Dataset):
            found[f"{network}/layers/{name}"] = obj.shape

    f[f"{network}/layers"].visititems(add)
    return found


def output_bias(f, network):
    (path,) = [p for p, shape in variables(f, network).items() if shape == (1,)]
    return path


def mark_backup(out_dir):
    with h5py.File(work_folder(out_dir) / "backup" / "latest.weights.h5", "r+") as f:
        for network, value in MARKS.items():
            f[output_bias(f, network)][...] = value


def backup_values(out_dir):
    with h5py.File(work_folder(out_dir) / "backup" / "latest.weights.h5", "r") as f:
        return {network: float(f[output_bias(f, network)][0]) for network in MARKS}


def printed(out_dir):
    cells = json.loads((out_dir / NOTEBOOK.name).read_text())["cells"]
    return "".join(
        "".join(o.get("text", ""))
        for c in cells
        if c["cell_type"] == "code"
        for o in c.get("outputs", [])
    )


# Parameters that do not change what is trained: measuring, the simulated disconnect, the
# request to train again. Every other parameter must identify the run.
NOT_TRAINING = {"EVAL_IMAGES", "STOP_AFTER_EPOCH", "FRESH_START"}


def test_every_switch_of_the_parameters_cell_identifies_the_run_folder():
    """A changed switch trains anew: each parameter that changes training is a key of the
    settings that storage.run_folder hashes into the run folder's name (read from the code)."""
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    (parameters,) = [c for c in cells if "parameters" in c["metadata"].get("tags", [])]
    names = set()
    for node in ast.parse("".join(parameters["source"])).body:
        for target in node.targets if isinstance(node, ast.Assign) else []:
            names |= {t.id for t in (target.elts if isinstance(target, ast.Tuple) else [target])}
    calls = [
        node
        for c in cells
        if c["cell_type"] == "code" and "storage.run_folder(" in "".join(c["source"])
        for node in ast.walk(ast.parse("".join(c["source"])))
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "run_folder"
    ]
    assert len(calls) == 1, "one storage.run_folder call"
    settings = {k.arg for k in calls[0].args[1].keywords}
    assert NOT_TRAINING <= names and not NOT_TRAINING & settings
    assert names - NOT_TRAINING <= settings, names - NOT_TRAINING - settings
    assert {"SPECTRAL_NORM", "G_EMA", "LEARNING_RATE_G", "code"} <= settings


@pytest.mark.notebook
@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_dcgan_resumes_after_the_kernel_is_killed(backend, tmp_path, shared_data, monkeypatch):
    monkeypatch.setenv(environment.DATA_DIR, str(shared_data))

    # Run 1: the kernel process exits in the middle of epoch 2 (os._exit, no cleanup).
    with pytest.raises(DeadKernelError):
        runner.run_notebook(
            NOTEBOOK, tmp_path, {"SMOKE": True, "STOP_AFTER_EPOCH": 1}, backend=backend
        )
    assert logged_epochs(tmp_path) == [0]
    assert grids(tmp_path) == ["epoch_001.png"]
    assert optimizer_steps(tmp_path) == {"d_optimizer": SMOKE_STEPS, "g_optimizer": SMOKE_STEPS}
    assert all(abs(v) < 0.1 for v in backup_values(tmp_path).values())  # far from the marks
    first_log = (work_folder(tmp_path) / "log.csv").read_text()
    first_grid = (work_folder(tmp_path) / "grids" / "epoch_001.png").read_bytes()
    mark_backup(tmp_path)

    # Run 2, same working folder: only epoch 2 is trained, from the restored state.
    result = runner.run_notebook(NOTEBOOK, tmp_path, {"SMOKE": True}, backend=backend)
    assert result.error is None, result.error
    out = printed(tmp_path)
    assert "settings as in an earlier run" in out and "Resuming: 1 of 2 epochs" in out
    assert f"Epoch 2/{SMOKE_EPOCHS}" in out and f"Epoch 1/{SMOKE_EPOCHS}" not in out
    assert logged_epochs(tmp_path) == [0, 1]  # each finished epoch exactly once
    assert grids(tmp_path) == ["epoch_001.png", "epoch_002.png"]
    # The optimizers continued counting: their state was restored, not rebuilt.
    steps = SMOKE_EPOCHS * SMOKE_STEPS
    assert optimizer_steps(tmp_path) == {"d_optimizer": steps, "g_optimizer": steps}
    # The networks went on from the backup's weights, not from a fresh initialisation.
    for name, value in backup_values(tmp_path).items():
        assert value == pytest.approx(MARKS[name], abs=0.05), name
    # Epoch 1's record and sample grid from before the kill are kept as they were.
    assert (work_folder(tmp_path) / "log.csv").read_text().startswith(first_log)
    assert (work_folder(tmp_path) / "grids" / "epoch_001.png").read_bytes() == first_grid
    if backend != "tensorflow":
        return
    finished = work_folder(tmp_path)

    # Run 3, unchanged: the finished run is restored and says so; nothing is trained.
    result = runner.run_notebook(NOTEBOOK, tmp_path, {"SMOKE": True}, backend=backend)
    assert result.error is None, result.error
    out = printed(tmp_path)
    assert "Restoring the finished run (2 of 2 epochs" in out and "Epoch 1/" not in out
    assert logged_epochs(tmp_path) == [0, 1]

    # Run 4, another D_STEPS: a new run folder, trained from scratch; the old one is kept.
    result = runner.run_notebook(NOTEBOOK, tmp_path, {"SMOKE": True, "D_STEPS": 2}, backend=backend)
    assert result.error is None, result.error
    out = printed(tmp_path)
    assert "New settings (D_STEPS 1 → 2)" in out and "Training 2 epochs from scratch." in out
    assert f"Epoch 1/{SMOKE_EPOCHS}" in out and f"Epoch 2/{SMOKE_EPOCHS}" in out
    (new,) = [f for f in (tmp_path / "work" / "09_dcgan").glob("run-*") if f != finished]
    with h5py.File(new / "backup" / "latest.weights.h5", "r") as f:
        steps = {name: int(f[f"{name}/vars/0"][()]) for name in ("d_optimizer", "g_optimizer")}
    # Two discriminator steps per generator step, counted from zero: not the restored run.
    assert steps == {
        "d_optimizer": 2 * SMOKE_EPOCHS * SMOKE_STEPS,
        "g_optimizer": SMOKE_EPOCHS * SMOKE_STEPS,
    }


@pytest.mark.notebook
def test_dcgan_recipe_switches_run_on_jax(tmp_path, shared_data, monkeypatch):
    """The study's techniques, all switched on at once, train and are measured on JAX (the
    TensorFlow path runs the same layers in the smoke runs of tests/test_notebooks.py)."""
    monkeypatch.setenv(environment.DATA_DIR, str(shared_data))
    switches = {
        "SPECTRAL_NORM": True,
        "MINIBATCH_STD": True,
        "LR_DECAY": True,
        "REAL_LABEL": 0.9,
        "LEARNING_RATE_D": 4e-4,
        "LEARNING_RATE_G": 1e-4,
        "G_EMA": 0.99,
    }
    result = runner.run_notebook(NOTEBOOK, tmp_path, {"SMOKE": True, **switches}, backend="jax")
    assert result.error is None, result.error
    with h5py.File(work_folder(tmp_path) / "backup" / "latest.weights.h5", "r") as f:
        shapes = sorted(variables(f, "discriminator").values())
        averages = list(f["g_optimizer/vars"])
    # Spectral normalization keeps a vector u of shape (1, outputs) per wrapped layer (two
    # convolutions of 32 and 64 filters, the logit), and replaces D's batch norm: of shape
    # (64,) only the second convolution's bias is left (batch norm would add four more).
    assert {(1, 32), (1, 64), (1, 1)} <= set(shapes), shapes
    assert shapes.count((64,)) == 1, shapes
    # The minibatch standard deviation adds one channel before the logit: 7 × 7 × (64 + 1).
    assert (7 * 7 * 65, 1) in shapes, shapes
    assert len(averages) > 3 * 6  # G's Adam: iterations, lr, 2 moments and an average per weight
    assert set(result.metrics) >= {"confident_share", "judge_confident_untrained"}
    assert optimizer_steps(tmp_path) == {
        "d_optimizer": 2 * SMOKE_STEPS,
        "g_optimizer": 2 * SMOKE_STEPS,
    }
