"""A rerun trains what was asked (notebook 07, one work folder as on Google Drive): the same
settings restore the finished run and say so; a changed parameter or data folder trains
from scratch in a folder of its own. (Notebook 09: tests/test_dcgan_resume.py.)"""

import csv
import json

import numpy as np
import pytest
from PIL import Image

from dl_vision_labs import environment
from tools import runner

NOTEBOOK = runner.NOTEBOOKS / "07_transfer_learning.ipynb"


def run_folders(out_dir):
    return sorted((out_dir / "work" / "07_transfer_learning").glob("run-*"))


def epochs(folder, phase):
    logs = list((folder / phase).rglob("log.csv"))
    assert len(logs) == 1, logs
    with open(logs[0], newline="") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def own_photos(folder):
    """A student's folder: 'airplane' and 'ship', 24 small photos each (drawn here)."""
    rng = np.random.default_rng(0)
    for k, name in enumerate(("airplane", "ship")):
        (folder / name).mkdir(parents=True)
        for i in range(24):
            pixels = rng.integers(0, 80, (72, 96, 3)) + np.array([40, 90, 170 - 60 * k])
            Image.fromarray(pixels.clip(0, 255).astype("uint8")).save(folder / name / f"{i}.jpg")
    return folder


def execute(out_dir, parameters):
    result = runner.run_notebook(NOTEBOOK, out_dir, {"SMOKE": True, **parameters})
    assert result.error is None, result.error
    ran, printed = runner.executed_output(out_dir / NOTEBOOK.name)
    assert ran
    return result, printed


@pytest.mark.notebook
def test_transfer_learning_reruns_train_what_was_asked(tmp_path, shared_data, monkeypatch):
    monkeypatch.setenv(environment.DATA_DIR, str(shared_data))

    first, out = execute(tmp_path, {})
    (cats_dogs,) = run_folders(tmp_path)
    assert out.count("Training 1 epoch from scratch.") == 2  # phase 1 and phase 2
    assert epochs(cats_dogs, "phase1_frozen") == [0] and epochs(cats_dogs, "phase2_fine_tune") == [
        1
    ]

    # The same settings: both phases are restored, nothing is trained, the same result.
    again, out = execute(tmp_path, {})
    assert run_folders(tmp_path) == [cats_dogs]
    assert "settings as in an earlier run" in out
    assert out.count("Restoring the finished run") == 2 and "epoch from scratch" not in out
    assert epochs(cats_dogs, "phase1_frozen") == [0] and epochs(cats_dogs, "phase2_fine_tune") == [
        1
    ]
    assert again.metrics["frozen_val_accuracy"] == first.metrics["frozen_val_accuracy"]

    # The student's own photos and another learning rate: trained, in a folder of their own.
    photos = own_photos(tmp_path / "my_photos")
    mine, out = execute(tmp_path, {"MY_FOLDER": str(photos), "LEARNING_RATE": 0.01})
    assert len(run_folders(tmp_path)) == 2
    (new,) = [f for f in run_folders(tmp_path) if f != cats_dogs]
    assert "New settings (" in out and "LEARNING_RATE 0.001 → 0.01" in out
    assert f"DATA 'cats_vs_dogs' → '{photos.resolve()}'" in out
    assert out.count("Training 1 epoch from scratch.") == 2 and "Restoring" not in out
    assert "classes ['airplane', 'ship']" in out
    settings = json.loads((new / "settings.json").read_text())
    assert settings["DATA"] == str(photos.resolve()) and settings["LEARNING_RATE"] == 0.01
    assert epochs(new, "phase1_frozen") == [0] and epochs(new, "phase2_fine_tune") == [1]
    assert epochs(cats_dogs, "phase1_frozen") == [0]  # the earlier run is kept as it was

    # More photos in the same folder: the data changed, so it trains again.
    Image.new("RGB", (64, 64), (200, 30, 30)).save(photos / "ship" / "new.jpg")
    _, out = execute(tmp_path, {"MY_FOLDER": str(photos), "LEARNING_RATE": 0.01})
    assert len(run_folders(tmp_path)) == 3 and "DATA_FILES" in out
    assert out.count("Training 1 epoch from scratch.") == 2
