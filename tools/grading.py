"""The grader's canonical data, generated from the lessons: dl_vision_labs/grade/lessons.json.

    python -m tools.grading            # is lessons.json what the lessons make? (exit 1 if not)
    python -m tools.grading sync       # write it
    python -m tools.grading benchmark  # grade 30 generated lesson-02 submissions, timed

For each lesson with exercises: its number, its file name and, in order, each exercise's
name, the lesson's own check call (the code cell after the exercise, e.g.
``check.train_step(train_step, W, b, LEARNING_RATE)``) and its hint (read from the
``@exercise("...")`` decorators of dl_vision_labs/check/lessonNN.py, without importing them).
The grader (``python -m dl_vision_labs.grade``) runs that call on each submission, whatever
the submission's own check cells say.

The corpus helpers (`complete`, `with_solutions`) make submissions from the lessons and
their exercise notebooks: the benchmark and tests/test_grade.py use them.
"""

from __future__ import annotations

import ast
import copy
import json
import sys
from pathlib import Path

import nbformat

from dl_vision_labs.files import atomic_write
from tools import common, exercises
from tools.common import ROOT

PATH = ROOT / "dl_vision_labs" / "grade" / "lessons.json"
CHECKS = ROOT / "dl_vision_labs" / "check"


def _hints() -> dict[str, str]:
    """Exercise name -> hint, from the check modules' ``@exercise(hint)`` decorators."""
    out = {}
    for path in sorted(CHECKS.glob("lesson[0-9][0-9].py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef):
                continue
            for deco in node.decorator_list:
                if (
                    isinstance(deco, ast.Call)
                    and getattr(deco.func, "id", None) == "exercise"
                    and deco.args
                    and isinstance(deco.args[0], ast.Constant)
                ):
                    out[node.name] = " ".join(str(deco.args[0].value).split())
    return out


def expected() -> dict:
    hints = _hints()
    lessons = []
    for path in common.notebook_paths():
        nb = nbformat.read(path, as_version=4)
        found = exercises.holes(nb)
        if not found:
            continue
        items = []
        for index, name in found:
            after = next(c for c in nb.cells[index + 1 :] if c.cell_type == "code")
            items.append({"name": name, "call": after.source.strip(), "hint": hints.get(name, "")})
        lessons.append({"number": path.name[:2], "file": path.name, "exercises": items})
    return {"lessons": lessons}


def expected_text() -> str:
    return json.dumps(expected(), indent=1, ensure_ascii=False) + "\n"


def stale() -> list[str]:
    """What differs between lessons.json and what the lessons make (empty when current)."""
    name = str(PATH.relative_to(ROOT))
    if not PATH.is_file():
        return [f"{name} is missing"]
    if PATH.read_text(encoding="utf-8") != expected_text():
        return [f"{name} is out of date (python -m tools sync)"]
    return []


def write() -> list[Path]:
    text = expected_text()
    if PATH.is_file() and PATH.read_text(encoding="utf-8") == text:
        return []
    atomic_write(PATH, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return [PATH]


# --- a corpus of submissions made from the lessons ------------------------------------------


def lesson_path(number: str) -> Path:
    return next(p for p in common.notebook_paths() if p.name.startswith(f"{number}_"))


def with_solutions(number: str, names: set[str] | None = None, replace: dict | None = None):
    """The exercise notebook of lesson `number` with the lesson's solution of each exercise in
    `names` (all when None) filled in; `replace` maps an exercise name to a function of the
    solved cell's source that returns the submitted one (a typical mistake)."""
    lesson = nbformat.read(lesson_path(number), as_version=4)
    solved = {name: lesson.cells[i].source for i, name in exercises.holes(lesson)}
    nb = copy.deepcopy(nbformat.read(exercises.exercise_path(lesson_path(number)), as_version=4))
    replace = replace or {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for name, source in solved.items():
            if f"exercise '{name}' is not filled in yet" in cell.source and (
                names is None or name in names or name in replace
            ):
                cell.source = replace[name](source) if name in replace else source
    return nb


def complete(number: str):
    return with_solutions(number)


def benchmark(count: int = 30, jobs: int | None = None) -> int:
    """Grade `count` generated lesson-02 submissions (right, partly done, wrong, empty) and
    print the wall time: the grader's budget is 5 minutes for 30 on a 2-core CPU."""
    import tempfile
    import time

    from dl_vision_labs.grade import grade

    wrong = {
        "model": lambda s: s.replace("tf.nn.softmax(tf.matmul(X, W) + b)", "tf.matmul(X, W) + b"),
        "cross_entropy": lambda s: s.replace("-tf.reduce_sum", "tf.reduce_sum"),
    }
    kinds = [
        lambda: complete("02"),
        lambda: with_solutions("02", {"model", "cross_entropy"}),
        lambda: with_solutions("02", {"train_step"}, replace=wrong),
        lambda: with_solutions("02", set()),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "submissions"
        folder.mkdir()
        for k in range(count):
            nb = kinds[k % len(kinds)]()
            nbformat.write(nb, folder / f"student{k:02d}.ipynb")
        start = time.perf_counter()
        result = grade(folder, Path(tmp) / "grades", lesson="02", jobs=jobs)
        seconds = time.perf_counter() - start
    print(
        f"graded {count} lesson-02 submissions in {seconds:.0f} s "
        f"({len(result.graded)} graded, {len(result.problems)} problems)"
    )
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["sync"]:
        for path in write():
            print(f"updated {path.relative_to(ROOT)}")
        return 0
    if argv[:1] == ["benchmark"]:
        return benchmark(int(argv[1]) if len(argv) > 1 else 30)
    found = stale()
    print("\n".join(found) or "lessons.json is what the lessons make")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
