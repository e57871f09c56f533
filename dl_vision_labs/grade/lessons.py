"""The lessons' exercises as the grader knows them: lessons.json, generated from the lesson
notebooks by tools/grading.py (name, the lesson's own check call and hint of each)."""

from __future__ import annotations

import ast
import dataclasses
import functools
import json
from importlib import resources


@dataclasses.dataclass(frozen=True)
class Exercise:
    name: str
    call: str  # the lesson's check call, e.g. "check.model(model, W, b)"
    hint: str

    @property
    def defines(self) -> str:
        """The name the submission must define: the check call's first argument."""
        return ast.parse(self.call).body[0].value.args[0].id

    @property
    def reads(self) -> set[str]:
        """The names the check call reads (`check` itself is the grader's own)."""
        tree = ast.parse(self.call)
        return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - {"check"}


@dataclasses.dataclass(frozen=True)
class Lesson:
    number: str
    file: str
    exercises: tuple[Exercise, ...]

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.exercises]


@functools.cache
def lessons() -> dict[str, Lesson]:
    """Lesson number ("02") -> Lesson, for every lesson with exercises."""
    text = resources.files(__package__).joinpath("lessons.json").read_text(encoding="utf-8")
    return {
        item["number"]: Lesson(
            item["number"], item["file"], tuple(Exercise(**e) for e in item["exercises"])
        )
        for item in json.loads(text)["lessons"]
    }
