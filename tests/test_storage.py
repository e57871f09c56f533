import json
import sys
import types

import keras
import pytest

from dl_vision_labs import environment, storage


@pytest.fixture
def fake_colab(monkeypatch, tmp_path):
    """A stand-in for google.colab whose drive.mount creates MyDrive like Colab does."""
    mount_point = tmp_path / "content" / "drive"
    calls = []

    def mount(path, accept=True):
        calls.append(path)
        if not accept:
            raise ValueError("mount failed: the user declined access")
        (mount_point / "MyDrive").mkdir(parents=True, exist_ok=True)

    drive = types.SimpleNamespace(mount=mount)
    colab = types.ModuleType("google.colab")
    colab.drive = drive
    google = types.ModuleType("google")
    google.colab = colab
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setattr(storage, "DRIVE_MOUNT_POINT", mount_point)
    monkeypatch.chdir(tmp_path)
    return types.SimpleNamespace(calls=calls, drive=drive, mount_point=mount_point)


def test_colab_mounts_drive_once(fake_colab):
    first = storage.workdir("nb01")
    second = storage.workdir("nb01")
    assert first == second == fake_colab.mount_point / "MyDrive" / "dl-vision-labs" / "nb01"
    assert first.is_dir()
    assert fake_colab.calls == [str(fake_colab.mount_point)]  # idempotent: mounted once


def test_declined_drive_falls_back_to_local(fake_colab, capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(
        fake_colab.drive, "mount", lambda path: (_ for _ in ()).throw(ValueError("user declined"))
    )
    folder = storage.workdir("nb01")
    assert folder == tmp_path / "outputs" / "nb01" and folder.is_dir()
    assert "not mounted" in capsys.readouterr().out


def test_use_drive_false_stays_local(fake_colab, tmp_path):
    assert storage.workdir("nb02", use_drive=False) == tmp_path / "outputs" / "nb02"
    assert fake_colab.calls == []


def test_outside_colab_uses_local_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    assert "google.colab" not in sys.modules
    assert storage.workdir("nb03") == tmp_path / "outputs" / "nb03"


def test_runner_work_dir_wins(tmp_path, monkeypatch):
    monkeypatch.setenv(environment.WORK_DIR, str(tmp_path / "run"))
    assert storage.workdir("nb04") == tmp_path / "run" / "nb04"


def test_rejects_a_path_as_name():
    with pytest.raises(ValueError, match="plain folder name"):
        storage.workdir("../elsewhere")


def test_checkpoint_callbacks(tmp_path):
    backup, log, best = storage.checkpoint_callbacks(tmp_path)
    assert isinstance(backup, keras.callbacks.BackupAndRestore)
    assert isinstance(log, keras.callbacks.CSVLogger)
    assert isinstance(best, keras.callbacks.ModelCheckpoint)
    assert best.filepath.endswith("best.keras")
    assert len(storage.checkpoint_callbacks(tmp_path, monitor=None)) == 2


def test_a_finished_fit_is_not_trained_again_on_rerun(tmp_path):
    """The rerun of a finished notebook restores the trained weights and skips training;
    an interrupted one continues after the last finished epoch. The log has each epoch once."""
    import numpy as np

    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")

    def model():
        keras.utils.set_random_seed(1)
        m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
        m.compile("sgd", "binary_crossentropy", metrics=["accuracy"])
        return m

    class Stop(keras.callbacks.Callback):  # a disconnect after the second epoch
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    first = model()
    with pytest.raises(KeyboardInterrupt):
        first.fit(
            x,
            y,
            epochs=4,
            verbose=0,
            callbacks=[*storage.checkpoint_callbacks(tmp_path, monitor="loss"), Stop()],
        )
    second = model()
    history = second.fit(
        x, y, epochs=4, verbose=0, callbacks=storage.checkpoint_callbacks(tmp_path, monitor="loss")
    )
    assert history.epoch == [2, 3]  # continued, nothing repeated
    trained = second.get_weights()
    third = model()
    history = third.fit(
        x, y, epochs=4, verbose=0, callbacks=storage.checkpoint_callbacks(tmp_path, monitor="loss")
    )
    assert history.epoch == []  # finished: nothing trained again
    assert all(np.array_equal(a, b) for a, b in zip(third.get_weights(), trained))
    log = storage.read_log(tmp_path)
    assert list(log["epoch"]) == [0, 1, 2, 3] and len(log["accuracy"]) == 4
    assert (tmp_path / "best.keras").exists()
    # The best so far counts the epochs of every run, not only this one's.
    *_, best = storage.checkpoint_callbacks(tmp_path, monitor="loss")
    assert best.best == pytest.approx(log["loss"].min())
    *_, best = storage.checkpoint_callbacks(tmp_path, monitor="accuracy")
    assert best.best == pytest.approx(log["accuracy"].max())


def test_read_log_of_an_empty_folder(tmp_path):
    assert len(storage.read_log(tmp_path)["epoch"]) == 0


# --- a run folder per configuration (a rerun trains what was asked) ----------------------


def test_run_folder_is_one_per_configuration_and_says_what_happens(tmp_path, capsys):
    first = storage.run_folder(tmp_path, {"LEARNING_RATE": 1e-3, "DATA": "cats_vs_dogs"})
    assert "training from scratch" in capsys.readouterr().out
    assert json.loads((first / "settings.json").read_text()) == {
        "DATA": "cats_vs_dogs",
        "LEARNING_RATE": 0.001,
    }
    (first / "log.csv").write_text("epoch,loss\n0,1.0\n")
    again = storage.run_folder(tmp_path, {"DATA": "cats_vs_dogs", "LEARNING_RATE": 1e-3})
    assert again == first and "settings as in an earlier run" in capsys.readouterr().out
    other = storage.run_folder(tmp_path, {"LEARNING_RATE": 0.01, "DATA": "/my/photos"})
    out = capsys.readouterr().out
    assert other != first and other.parent == tmp_path
    assert "New settings (" in out and "LEARNING_RATE 0.001 → 0.01" in out
    assert "DATA 'cats_vs_dogs' → '/my/photos'" in out and (first / "log.csv").exists()
    fresh = storage.run_folder(
        tmp_path, {"DATA": "cats_vs_dogs", "LEARNING_RATE": 1e-3}, fresh_start=True
    )
    assert fresh == first and not (first / "log.csv").exists()
    assert "FRESH_START" in capsys.readouterr().out


def test_resume_status_names_scratch_resume_and_restore(tmp_path):
    assert storage.resume_status(tmp_path, 3) == "Training 3 epochs from scratch."
    (tmp_path / "log.csv").write_text("epoch,loss\n0,1.0\n")
    assert storage.resume_status(tmp_path, 3).startswith("Resuming: 1 of 3 epochs")
    (tmp_path / "log.csv").write_text("epoch,loss\n0,1.0\n1,0.9\n2,0.8\n")
    assert "Restoring the finished run" in storage.resume_status(tmp_path, 3)
    assert "FRESH_START = True" in storage.resume_status(tmp_path, 3)


def test_fingerprints_follow_the_data_and_the_code(tmp_path):
    (tmp_path / "cats").mkdir()
    (tmp_path / "cats" / "a.jpg").write_bytes(b"x" * 10)
    before = storage.fingerprint(tmp_path)
    assert storage.fingerprint(tmp_path) == before
    (tmp_path / "cats" / "b.jpg").write_bytes(b"y" * 10)
    assert storage.fingerprint(tmp_path) != before

    def step(x):
        return x + 1

    def other_step(x):
        return x + 2

    class Model:
        def train_step(self, x):
            return x

    assert storage.code_fingerprint(step) == storage.code_fingerprint(step)
    assert storage.code_fingerprint(step) != storage.code_fingerprint(other_step)
    assert len(storage.code_fingerprint(step, Model)) == 12
    assert storage.code_fingerprint(step, Model) != storage.code_fingerprint(other_step, Model)
