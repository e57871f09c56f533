"""The commit that the notebooks' Setup cells install: the last one that changed the package.

    python -m tools pin          # whether [tool.labs] ref is the right pin (exit 1 if not)
    python -m tools pin write    # write it there (`python -m tools sync` does this first)

A Setup cell installs ``git+https://github.com/<repository>@<ref>``. Only branch main is
published (tags made in a clone are not), so `ref` is a full commit hash on main: the
newest commit that changed what ``pip install`` puts on a student's runtime, i.e. the
files of `dl_vision_labs/`, the requirements files and the packaging tables of
pyproject.toml (``[build-system]``, ``[project]``, ``[tool.setuptools]``). A commit that
touches only notebooks, tests, tools or other ``[tool.*]`` settings keeps the pin, so the
lessons install exactly the package they were tested with, and ``ref`` can live in
pyproject.toml without moving itself.
"""

from __future__ import annotations

import re
import subprocess
import sys

import tomllib

from tools.common import ROOT

PACKAGE_DIR = "dl_vision_labs"
PACKAGE_FILES = ("requirements.txt", "requirements-tensorflow.txt", "requirements-tpu.txt")
PACKAGING_TABLES = ("build-system", "project", "tool.setuptools")
FIX = "run `make sync` (after committing the package's changes) and commit the result"


class PinError(RuntimeError):
    """The pin cannot be computed or checked here (no git history, a shallow clone...)."""


def _git(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=check
        )
    except FileNotFoundError:
        raise PinError("git is not installed: the pin is computed from the history") from None
    except subprocess.CalledProcessError as err:
        raise PinError(f"git {' '.join(args)} failed: {err.stderr.strip()}") from None


def _packaging(pyproject_text: str | None) -> dict:
    if pyproject_text is None:
        return {}
    data = tomllib.loads(pyproject_text)
    out = {}
    for table in PACKAGING_TABLES:
        node = data
        for key in table.split("."):
            node = node.get(key, {}) if isinstance(node, dict) else {}
        out[table] = node
    return out


def _show(rev: str, path: str) -> str | None:
    result = _git("show", f"{rev}:{path}", check=False)
    return result.stdout if result.returncode == 0 else None


def package_state(rev: str | None = None) -> dict:
    """What the package installs, at commit `rev` (None: the working tree): the contents
    of its files and the packaging tables of pyproject.toml."""
    if rev is None:
        files = {
            p.relative_to(ROOT).as_posix(): p.read_text()
            for p in sorted((ROOT / PACKAGE_DIR).rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
        }
        for name in PACKAGE_FILES:
            path = ROOT / name
            files[name] = path.read_text() if path.is_file() else None
        pyproject = (ROOT / "pyproject.toml").read_text()
    else:
        listed = _git("ls-tree", "-r", "--name-only", rev, "--", PACKAGE_DIR).stdout.split()
        files = {p: _show(rev, p) for p in listed}
        for name in PACKAGE_FILES:
            files[name] = _show(rev, name)
        pyproject = _show(rev, "pyproject.toml")
    return {"files": files, "packaging": _packaging(pyproject)}


def current_pin() -> str:
    """The newest commit of HEAD's history that changed what the package installs."""
    if _git("rev-parse", "--is-shallow-repository").stdout.strip() == "true":
        raise PinError("this clone is shallow: fetch the history (git fetch --unshallow)")
    candidates = _git(
        "log", "--format=%H", "HEAD", "--", PACKAGE_DIR, *PACKAGE_FILES, "pyproject.toml"
    ).stdout.split()
    for commit in candidates:
        parents = _git("rev-list", "--parents", "-n", "1", commit).stdout.split()[1:]
        if not parents or any(package_state(commit) != package_state(p) for p in parents):
            return commit
    raise PinError("no commit in HEAD's history holds the package")


def configured_ref() -> str:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["labs"].get("ref", "")


def problems(ref: str | None = None) -> list[str]:
    """Why the configured `ref` is not the right pin (empty when it is)."""
    ref = configured_ref() if ref is None else ref
    if not re.fullmatch(r"[0-9a-f]{40}", ref or ""):
        return [
            f"[tool.labs] ref is {ref!r}, not a full commit hash (tags are not published "
            f"with main): {FIX}"
        ]
    if _git("cat-file", "-e", f"{ref}^{{commit}}", check=False).returncode != 0:
        return [f"the pinned commit {ref[:12]} is not in this repository: {FIX}"]
    if _git("merge-base", "--is-ancestor", ref, "HEAD", check=False).returncode != 0:
        return [
            f"the pinned commit {ref[:12]} is not an ancestor of HEAD (not on main as "
            f"published): {FIX}"
        ]
    pinned, now = package_state(ref), package_state(None)
    if pinned != now:
        changed = sorted(
            k
            for k in set(pinned["files"]) | set(now["files"])
            if pinned["files"].get(k) != now["files"].get(k)
        )
        if pinned["packaging"] != now["packaging"]:
            changed.append("pyproject.toml (packaging tables)")
        shown = ", ".join(changed[:5]) + (" ..." if len(changed) > 5 else "")
        return [
            f"the package differs between the pinned commit {ref[:12]} and this checkout "
            f"({shown}): the Setup cells would install an older package; {FIX}"
        ]
    return []


def write(ref: str) -> bool:
    """Set ``ref`` in pyproject.toml's [tool.labs]; True if the file changed."""
    path = ROOT / "pyproject.toml"
    text = path.read_text()
    start = text.index("[tool.labs]")
    end = text.find("\n[", start + 1)
    end = len(text) if end == -1 else end
    table, count = re.subn(
        r'^ref = "[^"]*"', f'ref = "{ref}"', text[start:end], count=1, flags=re.M
    )
    if count != 1:
        raise PinError('pyproject.toml: [tool.labs] has no `ref = "..."` line')
    new = text[:start] + table + text[end:]
    if new != text:
        path.write_text(new)
    return new != text


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = argv[0] if argv else "check"
    if command == "write":
        pin = current_pin()
        if package_state(pin) != package_state(None):
            print(
                f"warning: {PACKAGE_DIR}/ or the packaging files have uncommitted changes; "
                f"pinning {pin[:12]}, the last commit of the package: commit them, then run "
                f"`make sync` again",
                file=sys.stderr,
            )
        print(f"{'updated' if write(pin) else 'kept'} [tool.labs] ref = {pin}")
        return 0
    if command == "check":
        found = problems()
        print("\n".join(found) or f"pinned: {configured_ref()} (the package as it is here)")
        return 1 if found else 0
    raise SystemExit(f"unknown command {command!r}: use 'check' or 'write'")


if __name__ == "__main__":
    sys.exit(main())
