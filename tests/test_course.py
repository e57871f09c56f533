"""The course as a whole: notebook numbers that exist, and no code copied between notebooks."""

import ast
import io
import re
import tokenize
from itertools import combinations
from pathlib import Path

import nbformat
import pytest

from tools import notebooks

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = notebooks.notebook_paths()
NUMBERS = {p.name[:2] for p in NOTEBOOKS}
STEMS = {p.stem for p in NOTEBOOKS}
MIN_LINES = 6  # a run of this many shared statements is a copy

# "notebook 04", "notebooks 03 and 05", "Notebooks 00–07", "04's", workdir("05_batch_normalization")
_NAMED = re.compile(r"\b[Nn]otebooks?\s+(\d{2}(?:(?:\s*(?:,|and|or|–|-|to)\s*)\d{2})*)")
_POSSESSIVE = re.compile(r"(?<![\w.-])(0\d)'s\b")  # the course numbers its notebooks 00-09
_STEM = re.compile(r"\b(\d{2}_[a-z][a-z0-9_]*)\b")


def referenced_numbers(text: str) -> set[str]:
    """Notebook numbers that a text names ("notebook 04", "notebooks 03 and 05", "04's")."""
    found = {n for m in _NAMED.finditer(text) for n in re.findall(r"\d{2}", m.group(1))}
    return found | set(_POSSESSIVE.findall(text))


def test_referenced_numbers_reads_the_usual_phrases():
    assert referenced_numbers("as in notebook 04; notebooks 03 and 05, Notebooks 00–07 run") == {
        "04",
        "03",
        "05",
        "00",
        "07",
    }
    assert referenced_numbers("05's CNN; 0.05's; CIFAR-10's; block 12's; 2024") == {"05"}


def _notebook_texts():
    for path in NOTEBOOKS:
        for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
            yield f"{path.name} cell {i}", cell.source


def _texts():
    yield from _notebook_texts()
    for path in [ROOT / "README.md", *sorted((ROOT / "dl_vision_labs").glob("*.py"))]:
        yield path.name, path.read_text()


def test_texts_name_only_notebooks_that_exist():
    wrong = []
    for where, text in _texts():
        for number in sorted(referenced_numbers(text) - NUMBERS):
            wrong.append(f"{where} names notebook {number}")
    assert not wrong, f"notebooks in this course: {sorted(NUMBERS)}; " + "; ".join(wrong)


def test_notebook_folder_names_are_notebooks_that_exist():
    """A folder one notebook reads from another (storage.workdir("05_...")) is a real notebook."""
    wrong = [
        f"{where}: {stem}"
        for where, text in _notebook_texts()
        for stem in _STEM.findall(text)
        if stem not in STEMS
    ]
    assert not wrong, "unknown notebook names: " + "; ".join(wrong)


# --- copied code between notebooks -------------------------------------------------------


_KEYWORDS = {
    "def", "class", "return", "for", "in", "if", "else", "elif", "with", "as", "while",
    "lambda", "not", "and", "or", "None", "True", "False",
}  # fmt: skip
_SKIPPED = (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER)


def _statements(source: str) -> list[list[tokenize.TokenInfo]]:
    """The logical lines of a cell (a statement the formatter spreads over several lines is
    one), as tokens without comments; magics and shell lines left out."""
    lines = ["" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.splitlines()]
    statements, current = [], []
    try:
        for token in tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline):
            if token.type == tokenize.NEWLINE:
                statements.append(current)
                current = []
            elif token.type not in _SKIPPED:
                current.append(token)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        statements.append(current)
    return [s for s in statements if s]


def _normalized_lines(source: str, *, shape: bool) -> list[str]:
    """A cell's statements, one line each, without comments, imports and magics, white space
    folded; with `shape`, names, strings and numbers replaced by placeholders."""
    kinds = {tokenize.NAME: "N", tokenize.STRING: "S", tokenize.NUMBER: "0"}
    out = []
    for tokens in _statements(source):
        if tokens[0].string in ("import", "from"):
            continue
        out.append(
            " ".join(
                t.string
                if not shape or (t.type == tokenize.NAME and t.string in _KEYWORDS)
                else kinds.get(t.type, t.string)
                for t in tokens
            )
        )
    return out


def _code(path: Path, *, shape: bool, parameters: bool | None = None) -> list[str]:
    """A notebook's code lines, but for its generated Setup cell; with `shape`, also without its
    parameters cell (a list of constants always has the same shape) unless `parameters`."""
    nb = nbformat.read(path, as_version=4)
    lines = []
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if (
            cell.cell_type == "code"
            and "setup" not in tags
            and not ((shape if parameters is None else not parameters) and "parameters" in tags)
        ):
            lines += _normalized_lines(cell.source, shape=shape)
    return lines


def shared_runs(
    a: list[str], b: list[str], min_lines: int = MIN_LINES
) -> list[tuple[int, int, int]]:
    """(start in a, start in b, length) of each maximal run of >= min_lines equal lines."""
    runs = []
    for i in range(len(a)):
        for j in range(len(b)):
            if (i and j and a[i - 1] == b[j - 1]) or a[i] != b[j]:
                continue
            n = 0
            while i + n < len(a) and j + n < len(b) and a[i + n] == b[j + n]:
                n += 1
            if n >= min_lines:
                runs.append((i, j, n))
    return runs


def test_shared_runs_finds_a_copy_and_ignores_short_ones():
    a = [f"x{i} = f({i})" for i in range(10)]
    assert shared_runs(a, ["y = 1"] + a[2:9] + ["z"]) == [(2, 1, 7)]
    assert shared_runs(a, a[:5]) == []
    copied = "acc = metrics.accuracy(m, ds, y)\n" * 6
    renamed = "score = tools.share(net, data, labels)\n" * 6
    assert shared_runs(
        _normalized_lines(copied, shape=True), _normalized_lines(renamed, shape=True)
    ) == [(0, 0, 6)]


@pytest.mark.parametrize("shape", [False, True], ids=["same-text", "same-shape"])
@pytest.mark.parametrize("a, b", list(combinations(NOTEBOOKS, 2)), ids=lambda p: p.name[:2])
def test_no_code_copied_between_notebooks(a, b, shape):
    """What two notebooks need is one package function, not a copied cell: no run of six
    statements or more (a call the formatter spreads over lines is one) is the same in two
    notebooks, to the letter or but for names and values."""
    code_a, code_b = _code(a, shape=shape), _code(b, shape=shape)
    text_a = _code(a, shape=False, parameters=not shape)
    runs = shared_runs(code_a, code_b)
    assert not runs, "\n".join(
        f"{a.name} and {b.name} share {n} lines:\n    " + "\n    ".join(text_a[i : i + n])
        for i, _, n in runs
    )


def _imported_modules(nb) -> set[str]:
    names = set()
    for cell in nb.cells:
        if cell.cell_type == "code":
            for node in ast.walk(_tree(cell.source)):
                if isinstance(node, ast.ImportFrom) and node.module == "dl_vision_labs":
                    names |= {a.asname or a.name for a in node.names}
    return names


def _tree(source: str) -> ast.AST:
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    return ast.parse("\n".join(lines))


def _bound_names(source: str) -> set[str]:
    """Names a cell binds in the notebook's namespace: assignments, loop and with targets,
    functions and classes defined at the top level (not names local to a function)."""
    bound, todo = set(), list(_tree(source).body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
            continue  # its body is its own scope
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                bound.add(child.id)
            elif not isinstance(child, ast.Lambda):
                todo.append(child)
    return bound


def test_no_lesson_shadows_a_module_of_the_package_it_uses():
    found = []
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        modules = _imported_modules(nb)
        assert "check" in modules and "params" in modules, path.name
        for cell in nb.cells:
            if cell.cell_type == "code":
                found += [f"{path.name}: {name}" for name in _bound_names(cell.source) & modules]
    assert not found, f"names that hide a module the lesson imports: {found}"
