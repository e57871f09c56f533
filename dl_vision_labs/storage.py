"""Where a notebook keeps its checkpoints and outputs.

In Colab the runtime (and everything on its disk) disappears after a disconnect,
so checkpoints go to Google Drive when the student agrees to mount it. Anywhere
else, or when Drive is declined or cannot be mounted, a local folder is used.
`workdir` never makes a notebook fail.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import marshal
import os
import shutil
from pathlib import Path

from dl_vision_labs import environment
from dl_vision_labs.runtime import in_colab

DRIVE_MOUNT_POINT = Path("/content/drive")
DRIVE_FOLDER = "dl-vision-labs"


def workdir(name: str, *, use_drive: bool = True) -> Path:
    """Return (and create) the working folder for notebook `name`.

    Order of preference:
      1. ``$LABS_WORK_DIR/<name>`` when that variable is set (the headless runner sets it);
      2. in Colab with ``use_drive``: ``MyDrive/dl-vision-labs/<name>`` on Google Drive,
         mounting Drive first if needed (Colab asks the student for permission);
      3. ``./outputs/<name>`` next to the notebook.
    """
    if not name or "/" in name or name in {".", ".."}:
        raise ValueError(f"workdir name must be a plain folder name, got {name!r}")
    base = None
    if os.environ.get(environment.WORK_DIR):
        base = Path(os.environ[environment.WORK_DIR])
    elif use_drive and in_colab():
        base = _drive_folder()
    if base is None:
        base = Path.cwd() / "outputs"
    path = base / name
    path.mkdir(parents=True, exist_ok=True)
    print(f"Working folder: {path}")
    return path


def mount_drive() -> Path | None:
    """Mount Google Drive in Colab (once); return the MyDrive folder, or None.

    Returns None, with a message, when not in Colab or when mounting fails
    (for instance the student declined the permission prompt).
    """
    my_drive = DRIVE_MOUNT_POINT / "MyDrive"
    if my_drive.is_dir():  # already mounted: nothing to do
        return my_drive
    try:
        from google.colab import drive
    except ImportError:
        print("Not in Colab: Google Drive is not available here.")
        return None
    try:
        drive.mount(str(DRIVE_MOUNT_POINT))
    # Colab raises several types here (declined prompt, timeout, quota), none of
    # which must stop the notebook: report it and fall back to a local folder.
    except Exception as err:  # noqa: BLE001
        print(
            f"Google Drive was not mounted ({type(err).__name__}: {err}). "
            "Using the runtime's local disk instead: files there are lost "
            "when the runtime disconnects."
        )
        return None
    return my_drive if my_drive.is_dir() else None


def _drive_folder() -> Path | None:
    my_drive = mount_drive()
    return my_drive / DRIVE_FOLDER if my_drive is not None else None


SETTINGS_FILE = "settings.json"


def fingerprint(folder) -> str:
    """A short hash of a folder's files (relative paths and sizes): the student's own data
    folder changes its run when photos are added, removed or replaced."""
    folder = Path(folder)
    digest = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            digest.update(f"{p.relative_to(folder).as_posix()}\0{p.stat().st_size}\n".encode())
    return digest.hexdigest()[:12]


def _source(obj) -> str:
    if isinstance(obj, type):  # a class: the sources of the functions defined in it
        return obj.__name__ + "".join(
            _source(v)
            for _, v in sorted(vars(obj).items())
            if callable(v) or isinstance(v, (staticmethod, classmethod))
        )
    fn = getattr(obj, "__func__", obj)
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        code = getattr(fn, "__code__", None)
        return marshal.dumps(code).hex() if code is not None else repr(obj)


def code_fingerprint(*objects) -> str:
    """A short hash of the source code of functions and classes (a notebook's own cells,
    the student's exercises): a rerun after the code changed trains again."""
    return hashlib.sha256("\0".join(_source(o) for o in objects).encode()).hexdigest()[:12]


def _settings_key(settings: dict) -> str:
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def _read_settings(folder: Path) -> dict | None:
    try:
        return json.loads((folder / SETTINGS_FILE).read_text())
    except (OSError, ValueError):
        return None


def run_folder(base: Path, settings: dict, *, fresh_start: bool = False) -> Path:
    """The folder of one training configuration: ``base/run-<hash of settings>``.

    `settings` holds every parameter that changes what training computes and the data
    source (dataset, the student's folder and its `fingerprint`, image size); they are
    written beside the checkpoints as ``settings.json``. The same settings find the same
    folder, so a rerun resumes an interrupted run or restores a finished one; any other
    settings train from scratch in a folder of their own (earlier runs are kept). With
    `fresh_start` the folder of these settings is deleted first. Prints one line saying
    which of these happened.
    """
    from dl_vision_labs.files import atomic_write

    base = Path(base)
    settings = json.loads(json.dumps(settings, sort_keys=True, default=str))
    folder = base / f"run-{_settings_key(settings)}"
    if fresh_start and folder.exists():
        shutil.rmtree(folder)
        print(f"FRESH_START: deleted the earlier run with these settings ({folder.name}).")
    seen = folder.is_dir() and _read_settings(folder) == settings
    others = sorted(
        (p for p in base.glob("run-*") if p != folder and _read_settings(p)),
        key=lambda p: (p / SETTINGS_FILE).stat().st_mtime,
    )
    folder.mkdir(parents=True, exist_ok=True)
    if not seen:
        text = json.dumps(settings, indent=1, sort_keys=True) + "\n"
        atomic_write(folder / SETTINGS_FILE, lambda tmp: tmp.write_text(text))
    if seen:
        print(
            f"Run folder {folder} (settings as in an earlier run): its checkpoints are used; "
            f"set FRESH_START = True to train again from scratch."
        )
    elif others:
        before = _read_settings(others[-1])
        changed = [
            f"{k} {before.get(k)!r} → {v!r}" for k, v in settings.items() if before.get(k) != v
        ]
        changed += [f"{k} {before[k]!r} → unset" for k in before if k not in settings]
        print(
            f"New settings ({', '.join(changed)}): training from scratch in {folder}; "
            f"the earlier runs stay in {base}."
        )
    else:
        print(f"Run folder {folder}: training from scratch.")
    return folder


def resume_status(folder: Path, epochs: int) -> str:
    """One line: what `fit` with `checkpoint_callbacks(folder)` will do for `epochs` epochs
    (train from scratch, resume after the last finished epoch, or restore a finished run)."""
    done = len(read_log(folder)["epoch"])
    if done == 0:
        return f"Training {epochs} epoch{'s' * (epochs != 1)} from scratch."
    if done < epochs:
        return f"Resuming: {done} of {epochs} epochs were finished before; training the rest."
    return (
        f"Restoring the finished run ({done} of {epochs} epochs, nothing to train); set "
        f"FRESH_START = True to train it again."
    )


def checkpoint_callbacks(folder: Path, *, monitor: str | None = "val_accuracy") -> list:
    """Keras callbacks that make a `fit` call survive a disconnect and a rerun.

    - `BackupAndRestore` in ``folder/backup`` saves the model, the optimizer
      and the epoch counter after every epoch; a rerun of `fit` resumes after
      the last finished epoch. The backup is kept when training completes, so
      rerunning a finished notebook restores the trained model instead of
      training it again; delete `folder` to start over;
    - `CSVLogger` appends one line of metrics per epoch to ``folder/log.csv``
      (read it with `read_log`): the curves of every run, before and after a
      disconnect;
    - `ModelCheckpoint` keeps the best model so far, by `monitor`, as
      ``folder/best.keras`` (left out when `monitor` is None); a metric whose
      name contains "loss" is best when lowest, any other when highest. A
      rerun starts from the best value in the log, so an epoch after a
      disconnect replaces the file only if it beats every earlier epoch.
    """
    import keras
    import numpy as np

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    callbacks = [
        keras.callbacks.BackupAndRestore(
            str(folder / "backup"), double_checkpoint=True, delete_checkpoint=False
        ),
        keras.callbacks.CSVLogger(str(folder / "log.csv"), append=True),
    ]
    if monitor:
        # After a disconnect, "best" must mean best of every run, not of this one.
        logged = read_log(folder).get(monitor)
        best = None
        if logged is not None and len(logged):
            best = float(np.nanmin(logged) if "loss" in monitor else np.nanmax(logged))
        callbacks.append(
            keras.callbacks.ModelCheckpoint(
                str(folder / "best.keras"),
                monitor=monitor,
                save_best_only=True,
                initial_value_threshold=best,
            )
        )
    return callbacks


def read_log(folder: Path) -> dict:
    """The per-epoch metrics that `checkpoint_callbacks` logged in ``folder/log.csv``.

    Returns a dict of numpy columns (``epoch`` and one per metric), like
    ``History.history``; empty columns when nothing was logged yet.
    """
    import numpy as np

    log_file = Path(folder) / "log.csv"
    if not log_file.exists() or log_file.stat().st_size == 0:
        return {"epoch": np.array([])}
    table = np.genfromtxt(log_file, delimiter=",", names=True, ndmin=1)
    return {name: table[name] for name in table.dtype.names}
