"""No import circle among the modules of the package or of tools/ (counting imports inside
functions too: an import moved into a function only hides a circle)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, name: str, known: set[str]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        found |= {t for t in targets if t in known and t != name}
    return found


def graph() -> dict[str, set[str]]:
    paths = {
        _module_name(p): p
        for folder in ("dl_vision_labs", "tools")
        for p in (ROOT / folder).rglob("*.py")
        if p.name != "__main__.py"
    }
    known = set(paths)
    edges = {n: _imports(p, n, known) for n, p in paths.items()}
    # A package's __init__ that re-exports its submodules is not a dependency of them.
    return {n: {t for t in e if not n.startswith(t + ".")} for n, e in edges.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    found, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return found


def test_the_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_in_the_package_or_the_tools():
    edges = graph()
    assert "tools.common" in edges and edges["tools.common"] <= {"dl_vision_labs"}
    assert "tools.exercises" in edges["tools.notebooks"]
    found = cycles(edges)
    assert not found, "import circles: " + "; ".join(" -> ".join(c) for c in found)
