"""Reading a submitted notebook: its student, its lesson, or one sentence saying why it
cannot be graded (not JSON, not a notebook, another lesson)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from .lessons import Lesson, lessons

_COLAB_NAME = re.compile(r"(\d\d)_\w+\.ipynb")
_DEF = re.compile(r"^(?:def|class)\s+(\w+)", re.MULTILINE)
_STUDENT = re.compile(r"""^STUDENT\s*=\s*(['"])(.+?)\1\s*(?:#.*)?$""", re.MULTILINE)


class Unreadable(Exception):
    """A submission that cannot be graded; the message is one sentence for the report."""


@dataclasses.dataclass
class Submission:
    path: Path
    student: str
    lesson: Lesson
    cells: list[dict]  # {"index", "type", "source", "tags"}: every cell, in order


def _source(value) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return value if isinstance(value, str) else ""


def read_cells(path: Path) -> tuple[dict, list[dict]]:
    """The notebook's metadata and cells, checked enough to grade; Unreadable if not."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise Unreadable("not a notebook: the file is not text (UTF-8)") from None
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as err:
        raise Unreadable(
            f"not a notebook: not valid JSON ({err.msg} at line {err.lineno})"
        ) from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise Unreadable("not a notebook: JSON without a list of cells")
    cells = []
    for i, cell in enumerate(nb["cells"]):
        if not isinstance(cell, dict) or "cell_type" not in cell:
            raise Unreadable(f"not a notebook: cell {i + 1} has no cell_type")
        meta = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        tags = meta.get("tags") if isinstance(meta.get("tags"), list) else []
        cells.append(
            {
                "index": i,
                "type": cell["cell_type"],
                "source": _source(cell.get("source", "")),
                "tags": [str(t) for t in tags],
            }
        )
    meta = nb.get("metadata") if isinstance(nb.get("metadata"), dict) else {}
    return meta, cells


def student_of(path: Path, cells: list[dict]) -> str:
    """`STUDENT = "..."` in a code cell, else the file's stem."""
    for cell in cells:
        if cell["type"] == "code":
            found = _STUDENT.search(cell["source"])
            if found and found.group(2).strip():
                return found.group(2).strip()
    return path.stem


def recognise(meta: dict, cells: list[dict]) -> str | None:
    """The lesson number: Colab's file name in the metadata, else the exercises defined."""
    colab = meta.get("colab") if isinstance(meta.get("colab"), dict) else {}
    found = _COLAB_NAME.search(str(colab.get("name", "")))
    if found:
        return found.group(1)
    defined = {m for c in cells if c["type"] == "code" for m in _DEF.findall(c["source"])}
    scores = {
        number: len(defined & {e.defines for e in lesson.exercises})
        for number, lesson in lessons().items()
    }
    best = max(scores.values(), default=0)
    winners = [n for n, s in scores.items() if s == best]
    return winners[0] if best and len(winners) == 1 else None


def read(path: Path, lesson: str | None = None) -> Submission:
    """A gradable submission, or Unreadable with the reason."""
    meta, cells = read_cells(path)
    found = recognise(meta, cells)
    if lesson is not None:
        if found is not None and found != lesson:
            raise Unreadable(f"a notebook of lesson {found}, not of lesson {lesson}")
        found = lesson
    if found is None:
        raise Unreadable("no lesson recognised (no Colab name, no exercise function); use --lesson")
    if found not in lessons():
        raise Unreadable(f"lesson {found} has no exercises to grade")
    if not any(c["type"] == "code" for c in cells):
        raise Unreadable("the notebook has no code cells")
    return Submission(path, student_of(path, cells), lessons()[found], cells)


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name).strip("._") or "student"


def file_names(submissions: list) -> dict[Path, str]:
    """Path -> a unique, file-system-safe name for each student's feedback file."""
    out, taken = {}, set()
    for sub in sorted(submissions, key=lambda s: s.path.name):
        base = _safe(sub.student)
        name = base if base not in taken else _safe(f"{base}-{sub.path.stem}")
        while name in taken:
            name += "_"
        taken.add(name)
        out[sub.path] = name
    return out
