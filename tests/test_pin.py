"""The Setup cells install a commit that exists wherever main is published (tools/pin.py)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import venv
from pathlib import Path

import nbformat
import pytest

from tools import notebooks, pin

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_pin_is_the_package_as_it_is_here_on_main():
    assert pin.problems() == [], "\n".join(pin.problems())
    ref = pin.configured_ref()
    for path in notebooks.notebook_paths():
        setup = notebooks.tagged(nbformat.read(path, as_version=4), "setup")[0].source
        assert f'@{ref}"' in setup, f"{path.name}: the Setup cell does not install {ref}"


# --- the rules, on a small repository made here ------------------------------------------


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def _commit(repo: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


PYPROJECT = (
    '[project]\nname = "x"\nversion = "1"\n\n[tool.labs]\nrepository = "a/b"\nref = "{ref}"\n'
)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    _git(tmp_path, "init", "-q", "-b", "main")
    monkeypatch.setattr(pin, "ROOT", tmp_path)
    return tmp_path


@pytest.mark.slow
def test_only_commits_that_change_the_package_move_the_pin(repo):
    first = _commit(
        repo,
        {
            "dl_vision_labs/a.py": "x = 1\n",
            "requirements.txt": "keras\n",
            "pyproject.toml": PYPROJECT.format(ref=""),
        },
        "package",
    )
    _commit(repo, {"notebooks/01.ipynb": "{}", "tests/t.py": "pass\n"}, "a lesson only")
    _commit(repo, {"pyproject.toml": PYPROJECT.format(ref=first)}, "the pin itself")
    assert pin.current_pin() == first
    assert pin.problems() == []
    second = _commit(repo, {"requirements-tpu.txt": "tensorflow-cpu==2.20.0\n"}, "an extra")
    assert pin.current_pin() == second
    assert re.search(
        rf"differs between the pinned commit {first[:12]}.*requirements-tpu.txt"
        r".*run `make sync`",
        pin.problems()[0],
    )
    third = _commit(
        repo,
        {"pyproject.toml": PYPROJECT.format(ref=first).replace('version = "1"', 'version = "2"')},
        "a new version",
    )
    assert pin.current_pin() == third  # the packaging tables changed


@pytest.mark.slow
def test_uncommitted_package_changes_and_foreign_commits_are_named(repo):
    first = _commit(
        repo,
        {"dl_vision_labs/a.py": "x = 1\n", "pyproject.toml": PYPROJECT.format(ref="")},
        "package",
    )
    (repo / "dl_vision_labs/b.py").write_text("y = 2\n")  # a new module, not committed yet
    assert "dl_vision_labs/b.py" in pin.problems(first)[0]
    (repo / "dl_vision_labs/b.py").unlink()
    _git(repo, "checkout", "-q", "-b", "elsewhere")
    other = _commit(repo, {"dl_vision_labs/a.py": "x = 3\n"}, "on another branch")
    _git(repo, "checkout", "-q", "main")
    assert "not an ancestor of HEAD" in pin.problems(other)[0]
    assert "not a full commit hash" in pin.problems("v0.5.0")[0]
    assert "not in this repository" in pin.problems("0" * 40)[0]


@pytest.mark.slow
def test_write_sets_the_ref_and_nothing_else(repo):
    _commit(
        repo,
        {
            "dl_vision_labs/a.py": "x = 1\n",
            "pyproject.toml": PYPROJECT.format(ref="v1") + '\n[tool.other]\nref = "keep"\n',
        },
        "package",
    )
    assert pin.main(["write"]) == 0
    text = (repo / "pyproject.toml").read_text()
    head = _git(repo, "rev-parse", "HEAD")
    assert f'ref = "{head}"' in text and 'ref = "keep"' in text
    assert pin.configured_ref() == head
    assert pin.main(["check"]) == 0  # the ref's own change does not move the pin


# --- the real path: main as published, the Setup cell's own line ------------------------


def _setup_line() -> str:
    """The pip line of a lesson's Setup cell, as IPython runs it on a GPU runtime
    (``{extra}`` is empty where TensorFlow is installed)."""
    path = notebooks.notebook_paths()[0]
    source = notebooks.tagged(nbformat.read(path, as_version=4), "setup")[0].source
    (line,) = [x.strip() for x in source.splitlines() if x.strip().startswith("%pip install")]
    return line.replace("{extra}", "")


@pytest.mark.slow
def test_the_setup_line_installs_this_package_from_main_as_published(tmp_path):
    """main pushed (without tags) to a bare repository that git reaches through
    ``insteadOf`` at the GitHub URL of the Setup cell; the cell's own pip line installs
    into a new virtual environment; what it installs is this checkout's package."""
    cfg = notebooks.settings()
    published = tmp_path / "published.git"
    subprocess.run(
        ["git", "init", "-q", "--bare", "--initial-branch=main", str(published)], check=True
    )
    subprocess.run(
        ["git", "-C", str(ROOT), "push", "-q", "--no-tags", str(published), "HEAD:refs/heads/main"],
        check=True,
        capture_output=True,
    )
    assert (
        subprocess.run(
            ["git", "-C", str(published), "tag"], capture_output=True, text=True, check=True
        ).stdout
        == ""
    )
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text(
        f'[url "{published.as_uri()}"]\n'
        f"\tinsteadOf = https://github.com/{cfg['repository']}\n"
        f'[protocol "file"]\n\tallow = always\n'
    )
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": str(gitconfig),
        "GIT_CONFIG_NOSYSTEM": "1",
        # Colab already has the dependencies; here only the course package is installed.
        "PIP_NO_DEPS": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    env.pop("PYTHONPATH", None)
    student = tmp_path / "venv"
    venv.create(student, with_pip=True)
    python = student / "bin" / "python"
    line = _setup_line()
    assert line.startswith("%pip install ") and f'@{pin.configured_ref()}"' in line
    pip = subprocess.run(
        [str(python), "-m", "pip", "install", *shlex.split(line[len("%pip install ") :])],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert pip.returncode == 0, f"{line}\n{pip.stderr[-3000:]}"
    where = subprocess.run(
        [
            str(python),
            "-c",
            "import dl_vision_labs, os; print(os.path.dirname(dl_vision_labs.__file__))",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    installed = {p.relative_to(where).as_posix(): p.read_bytes() for p in Path(where).rglob("*.py")}
    here = {
        p.relative_to(ROOT / "dl_vision_labs").as_posix(): p.read_bytes()
        for p in (ROOT / "dl_vision_labs").rglob("*.py")
    }
    assert sorted(installed) == sorted(here)
    differ = [name for name in here if installed[name] != here[name]]
    assert not differ, f"the Setup line installs another version of {differ}: {pin.FIX}"
