"""Generate the student (exercise) version of each lesson notebook into ``exercises/``.

    python -m tools exercises sync   # write exercises/NN_name.ipynb for every lesson with holes
    python -m tools exercises        # list stale, missing or extra exercise notebooks (exit 1)

nbgrader's conventions, our small generator (nbgrader/otter need cell metadata that Colab
cannot edit, and heavy installs):

* In a code cell of a lesson, the lines between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION`` are an exercise. They sit inside a function, whose name names the
  exercise: the student version keeps the signature and docstring and replaces the marked
  lines with a ``TODO`` comment and ``raise NotImplementedError("exercise 'name' ...")``.
  In a method, the class names the exercise (``BatchNorm.call`` -> ``batch_norm``).
* The code cell right after it calls ``check.<name>(<name>, ...)`` (dl_vision_labs.check), which
  also holds the exercise's hint (``check.hint("name")``).
* In markdown, ``<!-- BEGIN SOLUTION -->`` ... ``<!-- END SOLUTION -->`` hides an answer.

The exercise notebook gets its own Colab badge (pointing at ``exercises/``), a title
ending in "(exercises)" and a short note on how to work with it; it has no outputs.
"""

from __future__ import annotations

import ast
import copy
import re
import sys
from pathlib import Path

import nbformat

from dl_vision_labs.files import atomic_write
from tools import common
from tools.common import EXERCISES, ROOT

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
MD_BEGIN, MD_END = "<!-- BEGIN SOLUTION -->", "<!-- END SOLUTION -->"
MD_ANSWER = "*Your answer here.*"
INTRO_ID = "exercises-intro"
_DEF = re.compile(r"^(\s*)(?:async\s+)?def\s+(\w+)\s*\(")
_CLASS = re.compile(r"^(\s*)class\s+(\w+)")


def _snake(name: str) -> str:
    """BatchNorm -> batch_norm: the exercise name of a method of class `name`."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()  # GAN -> gan


_MD_SOLUTION = re.compile(re.escape(MD_BEGIN) + r".*?" + re.escape(MD_END), re.DOTALL)


class MarkupError(ValueError):
    """Exercise markers that the generator cannot turn into an exercise."""


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _blocks(source: str) -> list[tuple[int, int, str]]:
    """(BEGIN line, END line, enclosing function name) of each exercise in a code cell."""
    lines = source.splitlines()
    out, begin = [], None
    for i, line in enumerate(lines):
        text = line.strip()
        if text == BEGIN:
            if begin is not None:
                raise MarkupError(f"line {i + 1}: {BEGIN} inside another exercise")
            begin = i
        elif text == END:
            if begin is None or _indent(line) != _indent(lines[begin]):
                raise MarkupError(f"line {i + 1}: {END} without a matching {BEGIN} above it")
            name, def_line = None, None
            for j in range(begin - 1, -1, -1):
                found = _DEF.match(lines[j])
                if found and len(found.group(1)) < _indent(lines[begin]):
                    name, def_line = found.group(2), j
                    break
            for j in range(def_line - 1 if name else -1, -1, -1):  # a method: its class names it
                found = _CLASS.match(lines[j])
                if found and len(found.group(1)) < _indent(lines[def_line]):
                    name = _snake(found.group(2))
                    break
            if name is None:
                raise MarkupError(f"line {begin + 1}: an exercise must sit inside a function")
            out.append((begin, i, name))
            begin = None
        elif BEGIN.lstrip("# ") in text or END.lstrip("# ") in text:
            raise MarkupError(f"line {i + 1}: write the marker alone on its line: {text!r}")
    if begin is not None:
        raise MarkupError(f"line {begin + 1}: {BEGIN} without {END}")
    return out


def student_code(source: str) -> tuple[str, list[str]]:
    """A code cell's student version and the names of its exercises."""
    lines = source.splitlines()
    blocks = _blocks(source)
    for begin, end, name in reversed(blocks):
        pad = " " * _indent(lines[begin])
        lines[begin : end + 1] = [
            f"{pad}# TODO exercise '{name}': your code, in place of this raise",
            f'{pad}# (a hint: check.hint("{name}"))',
            f"{pad}raise NotImplementedError(\"exercise '{name}' is not filled in yet\")",
        ]
    return "\n".join(lines), [name for _, _, name in blocks]


def solution_lines(source: str) -> list[str]:
    """The code lines between the markers of a lesson cell (stripped, blank lines left out)."""
    lines = source.splitlines()
    return [
        lines[k].strip()
        for begin, end, _ in _blocks(source)
        for k in range(begin + 1, end)
        if lines[k].strip()
    ]


def student_markdown(source: str) -> str:
    if source.count(MD_BEGIN) != source.count(MD_END):
        raise MarkupError(f"{MD_BEGIN} and {MD_END} do not pair up")
    return _MD_SOLUTION.sub(MD_ANSWER, source)


def holes(nb) -> list[tuple[int, str]]:
    """(cell index, exercise name) of every exercise of a lesson notebook, in order."""
    return [
        (i, name)
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for _, _, name in _blocks(cell.source)
    ]


def has_holes(nb) -> bool:
    return any(cell.cell_type == "code" and BEGIN in cell.source for cell in nb.cells)


def lesson_problems(nb, name: str = "notebook") -> list[str]:
    """What breaks the exercise conventions in a lesson: markers, the check cell after a hole."""
    out = []
    try:
        found = holes(nb)
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                student_markdown(cell.source)
    except MarkupError as err:
        return [f"{name}: {err}"]
    names = [n for _, n in found]
    for n in sorted({n for n in names if names.count(n) > 1}):
        out.append(f"{name}: exercise '{n}' appears twice")
    for i, n in found:
        after = next((c for c in nb.cells[i + 1 :] if c.cell_type == "code"), None)
        if after is None or f"check.{n}(" not in after.source:
            out.append(f"{name}: the code cell after exercise '{n}' must call check.{n}(...)")
    return out


def exercise_path(lesson: Path) -> Path:
    return EXERCISES / lesson.name


def intro_text(lesson: Path, names: list[str], cfg: dict) -> str:
    listed = ", ".join(f"`{n}`" for n in names)
    return (
        "**Exercise version.** "
        f"[The lesson]({common.github_url(lesson.name, cfg)}) has the same cells, solved. "
        f"Here you write the lines that are the lesson: fill in each function marked `TODO` "
        f"({listed}). The cell after each one checks your function and prints one line: "
        '*passed*, *not filled in yet*, or what is wrong. `check.hint("name")` shows a hint. '
        "A cell that needs a function you have not filled in yet stops with one sentence "
        "naming it: fill it in, run its cell and its check, then run on."
    )


def student_notebook(lesson: Path, cfg: dict | None = None):
    """The exercise version of a lesson notebook (a new nbformat node), or None without holes."""
    cfg = cfg or common.settings()
    nb = nbformat.read(lesson, as_version=4)
    if not has_holes(nb):
        return None
    holes(nb)  # broken markers: MarkupError (a missing check is lesson_problems' concern)
    names = [n for _, n in holes(nb)]
    nb = copy.deepcopy(nb)
    titled = False
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source, _ = student_code(cell.source)
        else:
            cell.source = student_markdown(cell.source)
            if not titled and cell.source.lstrip().startswith("# "):
                first, *rest = cell.source.lstrip().split("\n", 1)
                cell.source = "\n".join([first.rstrip() + " (exercises)", *rest])
                titled = True
    badges = common.tagged(nb, "colab-badge")
    for cell in badges:
        cell.source = common.badge_markdown(lesson.name, cfg, folder="exercises")
    intro = nbformat.v4.new_markdown_cell(intro_text(lesson, names, cfg))
    intro.id = INTRO_ID
    at = nb.cells.index(badges[0]) + 1 if badges else 1
    nb.cells.insert(at, intro)
    common.clean(nb)
    return nb


def lesson_paths() -> list[Path]:
    return [p for p in common.notebook_paths() if has_holes(nbformat.read(p, as_version=4))]


def exercise_paths() -> list[Path]:
    return sorted(EXERCISES.glob("[0-9][0-9]_*.ipynb"))


def expected() -> dict[Path, str]:
    """Every exercise notebook's expected text, from today's lessons."""
    cfg = common.settings()
    out = {}
    for lesson in common.notebook_paths():
        nb = student_notebook(lesson, cfg)
        if nb is not None:
            out[exercise_path(lesson)] = nbformat.writes(nb) + "\n"
    return out


def stale() -> list[str]:
    """What differs between exercises/ and what the generator makes now (empty when current)."""
    want = expected()
    out = [f"{p.relative_to(ROOT)} is missing" for p in want if not p.is_file()]
    out += [
        f"{p.relative_to(ROOT)} is out of date"
        for p, text in want.items()
        if p.is_file() and p.read_text() != text
    ]
    out += [
        f"{p.relative_to(ROOT)} has no lesson with exercises"
        for p in exercise_paths()
        if p not in want
    ]
    return out


def generate() -> list[Path]:
    """Write exercises/ from the lessons; remove exercise notebooks of lessons without holes."""
    changed = []
    want = expected()
    EXERCISES.mkdir(exist_ok=True)
    for path, text in want.items():
        if not path.is_file() or path.read_text() != text:
            atomic_write(path, lambda tmp, text=text: tmp.write_text(text))
            changed.append(path)
    for path in exercise_paths():
        if path not in want:
            path.unlink()
            changed.append(path)
    return changed


def problems(path: Path) -> list[str]:
    """An exercise notebook's own hygiene: valid, no outputs, canonical, no solution markers."""
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except (nbformat.ValidationError, ValueError) as err:
        return [f"{path.name}: not valid nbformat ({err})"]
    out = []
    if any(
        c.cell_type == "code" and (c.outputs or c.execution_count is not None) for c in nb.cells
    ):
        out.append(f"{path.name}: committed with outputs or execution counts")
    if any(m in c.source for c in nb.cells for m in (BEGIN, END, MD_BEGIN, MD_END)):
        out.append(f"{path.name}: a solution marker survived")
    badge = common.tagged(nb, "colab-badge")
    if len(badge) != 1 or badge[0].source != common.badge_markdown(path.name, folder="exercises"):
        out.append(f"{path.name}: Colab badge cell missing or not pointing at exercises/")
    if path.read_text() != nbformat.writes(nb) + "\n":
        out.append(f"{path.name}: not in canonical format")
    return out


# --- which errors an executed exercise notebook may show -----------------------------------


def _parse(source: str) -> ast.AST:
    try:
        return ast.parse(
            "\n".join(
                line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))
            )
        )
    except SyntaxError:
        return ast.Module(body=[], type_ignores=[])


def _names(source: str) -> tuple[set[str], set[str]]:
    """(names a cell writes, names it reads); ``d[k] = v``, ``d.x = v`` and ``d.f()`` (a
    method that may change d) write ``d``."""
    tree = _parse(source)
    written, read = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            written.add(node.name)
        elif isinstance(node, ast.Name):
            (written if isinstance(node.ctx, ast.Store) else read).add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            written |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(node.ctx, ast.Store):
            written.add(_base(node.value))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            written.add(_base(node.func.value))  # model.compile(...) changes model
    return written - {None}, read


def _base(node):
    while isinstance(node, (ast.Subscript, ast.Attribute, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def unexpected_errors(executed, names: set[str]) -> list[str]:
    """Errors of an executed exercise notebook (every exercise unfilled) other than its
    exercises' own: what the tests allow an exercise notebook to show.

    Allowed: a cell that stopped because it called an unfilled exercise (NotImplementedError
    naming it, shown as the one-sentence stop), and an error in a cell that depends on what
    a stopped cell left undone: it reads a name that an errored cell writes, or one that a
    stopped cell reads or the cells that built those read (``fit`` stopped, so the log
    files in ``work`` that its callbacks write are missing). Any other error is a failure."""
    from dl_vision_labs.check.core import stop_message  # (imports Keras: only when asked)

    code = [c for c in executed.cells if c.cell_type == "code"]
    modules = {
        name
        for c in code
        for node in ast.walk(_parse(c.source))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for name in [(a.asname or a.name).split(".")[0] for a in node.names]
    }
    unset, wrong, seen = set(), [], []
    for i, cell in enumerate(executed.cells):
        if cell.cell_type != "code":
            continue
        written, read = _names(cell.source)
        written, read = written - modules, read - modules  # np.concatenate() leaves np alone
        for out in cell.outputs:
            if out.output_type != "error":
                continue
            own = re.search(r"exercise '(\w+)'", out.evalue)
            if out.ename == "NotImplementedError" and own and own.group(1) in names:
                if out.traceback != [stop_message(own.group(1))]:
                    wrong.append(f"cell {i}: the stop is not the one sentence: {out.traceback}")
                unset |= read | {n for w, r in seen if w & read for n in r}
            elif not read & unset:
                wrong.append(f"cell {i}: {out.ename}: {out.evalue}")
            unset |= written
        seen.append((written, read))
    return wrong


if (
    __name__ == "__main__"
):  # python -m tools.exercises [sync]: the same as python -m tools exercises
    from tools.__main__ import main

    sys.exit(main(["exercises", *sys.argv[1:]]))
