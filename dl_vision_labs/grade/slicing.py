"""Which cells of a submission each exercise needs: the program the grader runs.

No training runs: for each exercise, the program is the exercise's own definition cell and
the fewest earlier code cells that define what it and the lesson's check call read
(transitively, by the names each cell binds, changes and reads), the parameters cell with
``SMOKE = True``. Left out: the Setup cell (the package is installed), IPython magics, and
every top-level statement that calls ``check.`` (the student's own check cells: the grader
runs the lesson's check call itself).
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import re

from .lessons import Exercise
from .submissions import Submission

_MAGIC = ("%", "!")
_BUILTINS = set(dir(builtins))
_BINDS = re.compile(r"^(?:def|class)\s+(\w+)|^(\w+)\s*=[^=]", re.MULTILINE)


@dataclasses.dataclass
class Cell:
    index: int
    source: str  # what runs: magics and check calls blanked (same line numbers)
    binds: set[str]  # names it (re)defines
    changes: set[str]  # names it changes in place: x[k] = v, x.a = v, x.f(...)
    reads: set[str]  # global names it reads
    parses: bool
    defines: set[str]  # top-level def and class names
    imports: set[str] = dataclasses.field(default_factory=set)  # names bound by imports


def _blank_magics(source: str) -> str:
    return "\n".join(
        "" if line.lstrip().startswith(_MAGIC) else line for line in source.splitlines()
    )


def _calls_check(node: ast.AST) -> bool:
    return any(
        isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and isinstance(n.func.value, ast.Name)
        and n.func.value.id == "check"
        for n in ast.walk(node)
    )


def _base(node) -> str | None:
    while isinstance(node, (ast.Subscript, ast.Attribute, ast.Call, ast.Starred)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


class _Names(ast.NodeVisitor):
    """Global names bound, changed and read by a module, with function scopes respected."""

    def __init__(self):
        self.binds, self.changes, self.reads = set(), set(), set()
        self.local: list[set[str]] = []  # the enclosing functions' local names

    def _is_local(self, name: str) -> bool:
        return any(name in scope for scope in self.local)

    def visit_Name(self, node):
        if self._is_local(node.id):
            return
        if isinstance(node.ctx, ast.Load):
            self.reads.add(node.id)
        elif not self.local:
            self.binds.add(node.id)

    def _function(self, node, args: ast.arguments, body):
        every = args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]
        names = {a.arg for a in every if a is not None}
        declared = {
            n for stmt in ast.walk(node) if isinstance(stmt, ast.Global) for n in stmt.names
        }
        for stmt in body if isinstance(body, list) else [body]:
            for n in ast.walk(stmt):
                if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
                    names.add(n.id)
                elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    names.add(n.name)
                elif isinstance(n, (ast.Import, ast.ImportFrom)):
                    names |= {(a.asname or a.name).split(".")[0] for a in n.names}
        self.local.append(names - declared)
        for stmt in body if isinstance(body, list) else [body]:
            self.visit(stmt)
        self.local.pop()

    def visit_FunctionDef(self, node):
        if not self.local:
            self.binds.add(node.name)
        for deco in node.decorator_list:
            self.visit(deco)
        for default in node.args.defaults + [d for d in node.args.kw_defaults if d]:
            self.visit(default)
        self._function(node, node.args, node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node):
        self._function(node, node.args, node.body)

    def visit_ClassDef(self, node):
        if not self.local:
            self.binds.add(node.name)
        for n in node.bases + node.keywords + node.decorator_list:
            self.visit(n)
        for stmt in node.body:
            self.visit(stmt)  # class-level names: treated as globals (over-approximation)

    def _comprehension(self, node):
        names = {
            n.id for gen in node.generators for n in ast.walk(gen.target) if isinstance(n, ast.Name)
        }
        self.local.append(names)
        self.generic_visit(node)
        self.local.pop()

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _comprehension

    def visit_Import(self, node):
        if not self.local:
            self.binds |= {(a.asname or a.name).split(".")[0] for a in node.names}

    visit_ImportFrom = visit_Import

    def _changed(self, target):
        if isinstance(target, (ast.Subscript, ast.Attribute)) and not self.local:
            name = _base(target.value)
            if name and not self._is_local(name):
                self.changes.add(name)

    def visit_Assign(self, node):
        for t in node.targets:
            self._changed(t)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self._changed(node.target)
        if isinstance(node.target, ast.Name) and not self._is_local(node.target.id):
            self.reads.add(node.target.id)
        self.generic_visit(node)

    def visit_Call(self, node):
        if isinstance(node.func, ast.Attribute) and not self.local:
            name = _base(node.func.value)  # W.assign(...) changes W
            if name and not self._is_local(name):
                self.changes.add(name)
        self.generic_visit(node)


def cell(index: int, source: str) -> Cell:
    """A code cell, analysed; its statements that call ``check.`` blanked."""
    text = _blank_magics(source)
    try:
        tree = ast.parse(text)
    except SyntaxError:  # runs as written, and fails there with its syntax error
        defined = {a or b for a, b in _BINDS.findall(text)}
        return Cell(index, text, defined, set(), set(), False, defined)
    lines = text.splitlines()
    for stmt in tree.body:
        if _calls_check(stmt):
            for k in range(stmt.lineno - 1, stmt.end_lineno):
                lines[k] = ""
    text = "\n".join(lines)
    tree = ast.parse(text)
    names = _Names()
    names.visit(tree)
    imported = {
        (a.asname or a.name).split(".")[0]
        for n in tree.body
        if isinstance(n, (ast.Import, ast.ImportFrom))
        for a in n.names
    }
    defined = {
        n.name
        for n in tree.body
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }
    return Cell(
        index, text, names.binds, names.changes, names.reads - _BUILTINS, True, defined, imported
    )


def _setup(c: dict) -> bool:
    return (
        "setup" in c["tags"] or "%pip install" in c["source"] or "backend.choose()" in c["source"]
    )


def _parameters(c: dict) -> bool:
    return "parameters" in c["tags"] or re.search(r"^SMOKE\s*=", c["source"], re.MULTILINE)


def code_cells(sub: Submission) -> list[Cell]:
    out = []
    for c in sub.cells:
        if c["type"] != "code" or _setup(c) or not c["source"].strip():
            continue
        source = c["source"] + ("\nSMOKE = True" if _parameters(c) else "")
        found = cell(c["index"], source)
        if found.source.strip():
            out.append(found)
    modules = set().union(*(c.imports for c in out)) if out else set()
    for c in out:  # np.random.seed(0) or tf.matmul(...) leave the modules alone
        c.changes -= modules
    return out


def needed(cells: list[Cell], exercise: Exercise) -> tuple[int | None, list[int]]:
    """(index of the cell that defines the exercise, the cells its check needs, in order);
    (None, []) when no cell defines it."""
    defining = [c for c in cells if exercise.defines in c.defines]
    if not defining:
        return None, []
    position = defining[-1].index
    by_index = {c.index: c for c in cells}

    def writer(name: str, before: int, changed: bool = False) -> Cell | None:
        for limit in (before, position + 1):
            for c in reversed(cells):
                if c.index < limit and (name in c.binds or (changed and name in c.changes)):
                    return c
        return None

    want = {position}
    todo = [(name, position + 1) for name in exercise.reads]
    todo += [(name, position) for name in by_index[position].reads - by_index[position].binds]
    todo += [(name, position) for name in by_index[position].changes]
    while todo:
        name, before = todo.pop()
        found = writer(name, before)
        if found is None or found.index in want:
            continue
        want.add(found.index)
        todo += [(n, found.index) for n in (found.reads - found.binds) | found.changes]
        # a name changed in place after it was bound (d[k] = v): those cells too
        for c in cells:
            if found.index < c.index <= position and name in c.changes and c.index not in want:
                want.add(c.index)
                todo += [(n, c.index) for n in c.reads - c.binds]
    return position, sorted(want)


def plan(sub: Submission) -> dict:
    """What the harness runs for a submission: its cells and, per exercise, the cells needed
    and the lesson's check call."""
    cells = code_cells(sub)
    items, used = [], set()
    for exercise in sub.lesson.exercises:
        position, indices = needed(cells, exercise)
        used |= set(indices)
        items.append(
            {"name": exercise.name, "call": exercise.call, "cell": position, "cells": indices}
        )
    return {
        "cells": {str(c.index): c.source for c in cells if c.index in used},
        "exercises": items,
    }
