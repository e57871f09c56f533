"""Offline files and their integrity: where they are, checksums, safe extraction, atomic writes.

    root = files.data_dir()                          # $LABS_DATA_DIR, or None (online)
    path = files.verified_path(root, DataFile("mnist/...", sha256))  # exists, SHA-256 matches
    folder = files.extract(archive, sha256)          # once, atomically, into files.cache_dir()
    files.atomic_write(path, lambda tmp: tmp.write_text(text))   # never half-written

Every dataset file is checked against its SHA-256 before it is parsed; archives
are extracted into the cache folder (``$LABS_CACHE_DIR``) once, and a file or
folder that is being written never appears under its final name before it is
complete. Only the standard library is used, so the repository tools can import
this module without TensorFlow.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import secrets
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from dl_vision_labs import environment

DATA_DIR_VAR = environment.DATA_DIR
CACHE_DIR_VAR = environment.CACHE_DIR


class DataError(RuntimeError):
    """A dataset could not be found, verified or read; the message says what to do."""


@dataclasses.dataclass(frozen=True)
class DataFile:
    """One file of an offline dataset, relative to ``$LABS_DATA_DIR``."""

    path: str
    sha256: str


# --- locations ----------------------------------------------------------------------


def data_dir() -> Path | None:
    """The offline data folder from ``$LABS_DATA_DIR``, or None when unset."""
    value = os.environ.get(DATA_DIR_VAR)
    return Path(value).expanduser().resolve() if value else None


def cache_dir() -> Path:
    """Where extracted archives and decoded arrays are kept (``$LABS_CACHE_DIR``)."""
    value = os.environ.get(CACHE_DIR_VAR)
    path = Path(value).expanduser() if value else Path.home() / ".cache" / "dl-vision-labs"
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- writing ------------------------------------------------------------------------


def _new_temporary_beside(path: Path) -> Path:
    """Create an empty file with a fresh hidden name in `path`'s folder and return it.

    Unlike `tempfile.mkstemp` (mode 0600), the file gets the permissions of any
    newly created file (0666 less the umask), which the final file then keeps.
    """
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp{path.suffix}")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"could not create a temporary file beside {path}")


def atomic_write(path, write: Callable[[Path], object]) -> Path:
    """Write the file `path` in one step: ``write(tmp)`` fills a temporary file in the
    same folder, which then replaces `path` with one rename; return `path`.

    Anyone reading `path`, and every later run after an interrupted one (an
    exception, Ctrl-C, a killed kernel), sees either the old file or the complete
    new one, never a part. When `write` fails the temporary file is removed and
    `path` is left as it was. (This guards against interrupted programs; it does
    not flush to disk, so a power cut may still lose the newest version.)

    The temporary file ends with `path`'s suffix, so writers that pick the format
    from the name keep working (``np.savez`` would otherwise append ``.npz``).
    Missing parent folders are created.

        atomic_write(folder / "metrics.json", lambda tmp: tmp.write_text(text))
        atomic_write(folder / "arrays.npz", lambda tmp: np.savez(tmp, x=x))
        atomic_write(folder / "grid.png", lambda tmp: image.save(tmp, format="PNG"))
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_temporary_beside(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


# --- verification and extraction ---------------------------------------------------


def sha256sum(path: Path) -> str:
    """The SHA-256 of the file at `path`, as 64 hex digits (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified_path(root: Path, file: DataFile) -> Path:
    """Return ``root/file.path`` after checking that it exists and its SHA-256 matches."""
    path = root / file.path
    if not path.is_file():
        raise DataError(
            f"Missing data file: {path}\n"
            f"{DATA_DIR_VAR}={root} should hold {file.path} (see shared/data/README.md). "
            f"Point {DATA_DIR_VAR} at the folder with the dataset files, or unset it to "
            "download with tensorflow_datasets."
        )
    actual = sha256sum(path)
    if actual != file.sha256:
        raise DataError(
            f"Checksum mismatch for {path}:\n  expected SHA-256 {file.sha256}\n"
            f"  found             {actual}\n"
            "The file is damaged or is not the expected release; it was not read. "
            "Replace it with a good copy (check with `sha256sum -c SHA256SUMS`)."
        )
    return path


def _check_member(name: str, archive: Path) -> None:
    if Path(name).is_absolute() or ".." in Path(name).parts:
        raise DataError(f"Refusing unsafe path {name!r} in {archive}")


def extract(archive: Path, sha256: str, *, into: Path | None = None) -> Path:
    """Extract a verified .tar.gz or .zip once into the cache; return the folder.

    Extraction goes to a temporary folder that is renamed into place only when
    complete, so an interrupted run never leaves a half-extracted dataset behind.
    """
    target = (into or cache_dir()) / f"{archive.name.split('.')[0]}-{sha256[:12]}"
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        if archive.name.endswith((".tar.gz", ".tgz", ".tar")):
            with tarfile.open(archive) as tar:
                members = tar.getmembers()
                for m in members:
                    _check_member(m.name, archive)
                    if not (m.isfile() or m.isdir()):
                        raise DataError(f"Refusing link or special file {m.name!r} in {archive}")
                # the "data" filter: plain files and folders only, all inside tmp
                tar.extractall(tmp, members=members, filter="data")
        elif archive.suffix == ".zip":
            with zipfile.ZipFile(archive) as zf:
                for member in zf.namelist():
                    _check_member(member, archive)
                zf.extractall(tmp)
        else:
            raise DataError(f"Unknown archive type: {archive} (expected .tar.gz or .zip)")
        try:
            os.replace(tmp, target)
        except OSError:  # another process finished first
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
