import os
import subprocess
import sys
import tarfile
import zipfile

import numpy as np
import pytest

from dl_vision_labs import environment, files

# --- atomic_write -----------------------------------------------------------------------


def test_atomic_write_replaces_the_file_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "sub" / "metrics.json"  # missing folders are created
    assert files.atomic_write(target, lambda tmp: tmp.write_text("one")) == target
    files.atomic_write(target, lambda tmp: tmp.write_text("two"))
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["metrics.json"]


@pytest.mark.parametrize("failure", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_a_failure_mid_write_keeps_the_old_file_and_removes_the_temporary(tmp_path, failure):
    target = tmp_path / "metrics.json"
    target.write_text('{"old": "complete"}')

    def write_half_then_fail(tmp):
        tmp.write_text('{"new": "comp')  # half of the new content is on disk...
        raise failure  # ...when the writer stops

    with pytest.raises(type(failure)):
        files.atomic_write(target, write_half_then_fail)
    assert target.read_text() == '{"old": "complete"}'
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_a_failed_rename_keeps_the_old_file_and_removes_the_temporary(tmp_path, monkeypatch):
    target = tmp_path / "grid.png"
    target.write_bytes(b"old")

    def refuse(src, dst):
        raise PermissionError("read-only folder")

    monkeypatch.setattr(files.os, "replace", refuse)
    with pytest.raises(PermissionError):
        files.atomic_write(target, lambda tmp: tmp.write_bytes(b"new"))
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["grid.png"]


def test_a_failed_first_write_leaves_no_file_at_all(tmp_path):
    def fail(tmp):
        raise OSError("no space left on device")

    with pytest.raises(OSError):
        files.atomic_write(tmp_path / "new.npz", fail)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_killed_writer_never_leaves_a_half_written_target(tmp_path):
    """A process killed mid-write cannot clean up, but the target stays complete."""
    target = tmp_path / "metrics.json"
    target.write_text("old")
    script = (
        "import os, sys\nfrom dl_vision_labs.files import atomic_write\n"
        "def write(tmp):\n    tmp.write_text('half')\n    os._exit(9)\n"
        "atomic_write(sys.argv[1], write)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(target)], timeout=60)
    assert done.returncode == 9
    assert target.read_text() == "old"
    leftovers = [p.name for p in tmp_path.iterdir() if p != target]
    assert len(leftovers) == 1 and leftovers[0].startswith(".metrics.json.")  # hidden


def test_the_temporary_keeps_the_suffix_and_the_usual_permissions(tmp_path):
    # np.savez appends ".npz" to a name without it: the temporary must end with .npz.
    target = files.atomic_write(tmp_path / "arrays.npz", lambda tmp: np.savez(tmp, x=np.arange(3)))
    assert [p.name for p in tmp_path.iterdir()] == ["arrays.npz"]
    with np.load(target) as z:
        assert z["x"].tolist() == [0, 1, 2]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600


# --- extraction -------------------------------------------------------------------------


def test_extract_is_atomic_and_cached(tmp_path):
    src = tmp_path / "src" / "top" / "a"
    src.mkdir(parents=True)
    (src / "x.txt").write_text("hello")
    archive = tmp_path / "arch.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "src" / "top", arcname="top")
    digest = files.sha256sum(archive)
    out = files.extract(archive, digest, into=tmp_path / "cache")
    assert (out / "top" / "a" / "x.txt").read_text() == "hello"
    # no temporary folder is left behind, and a second call reuses the result
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [out.name]
    archive.unlink()
    assert files.extract(archive, digest, into=tmp_path / "cache") == out


def test_extract_refuses_paths_outside_the_target(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../escape.txt", "x")
    with pytest.raises(files.DataError, match="unsafe path"):
        files.extract(archive, files.sha256sum(archive), into=tmp_path / "cache")
    assert not (tmp_path / "escape.txt").exists()
    assert list((tmp_path / "cache").iterdir()) == []


def test_extract_refuses_links_in_a_tar(tmp_path):
    archive = tmp_path / "links.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo("top/link")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tar.addfile(info)
    with pytest.raises(files.DataError, match="link"):
        files.extract(archive, files.sha256sum(archive), into=tmp_path / "cache")


def test_verified_path_checks_existence_and_checksum(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"abc")
    good = files.DataFile("a.bin", files.sha256sum(tmp_path / "a.bin"))
    assert files.verified_path(tmp_path, good) == tmp_path / "a.bin"
    with pytest.raises(files.DataError, match="Checksum mismatch"):
        files.verified_path(tmp_path, files.DataFile("a.bin", "0" * 64))
    with pytest.raises(files.DataError, match="Missing data file") as err:
        files.verified_path(tmp_path, files.DataFile("b.bin", good.sha256))
    assert environment.DATA_DIR in str(err.value)
