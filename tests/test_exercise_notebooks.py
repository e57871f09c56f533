"""The exercise notebooks in exercises/: what the generator makes from the lessons, clean,
listed in README and colab_badges.md, and each runs with every check unfilled."""

import nbformat
import pytest

from dl_vision_labs import check, environment
from tools import exercises, notebooks, runner

LESSONS = exercises.lesson_paths()
EXERCISES = exercises.exercise_paths()


# --- the lessons' exercises and the committed exercises/ --------------------------------


def test_exercises_folder_is_what_the_generator_makes():
    assert LESSONS, "no lesson has exercises"
    assert exercises.stale() == [], "run `make exercises` (python -m tools exercises sync)"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_exercises_follow_the_conventions(path):
    nb = nbformat.read(path, as_version=4)
    assert exercises.lesson_problems(nb, path.name) == []
    names = [n for _, n in exercises.holes(nb)]
    assert 3 <= len(names) <= 6, f"{path.name} has {len(names)} exercises: {names}"
    for name in names:
        assert name in check.HINTS, f"exercise '{name}' has no hint in check.HINTS"
        assert callable(getattr(check, name, None)), f"no check.{name}"


def test_exercise_names_are_unique_in_the_course():
    names = [n for p in LESSONS for _, n in exercises.holes(nbformat.read(p, as_version=4))]
    assert len(names) == len(set(names)), names


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.stem)
def test_exercise_notebook_is_clean_and_holds_no_solution(path):
    assert exercises.problems(path) == []
    lesson = nbformat.read(notebooks.NOTEBOOKS / path.name, as_version=4)
    solved = {
        line
        for c in lesson.cells
        if c.cell_type == "code"
        for line in exercises.solution_lines(c.source)
    }
    elsewhere = {
        line.strip()
        for c in lesson.cells
        if c.cell_type == "code"
        for line in exercises.student_code(c.source)[0].splitlines()
    }
    student = {
        line.strip()
        for c in nbformat.read(path, as_version=4).cells
        if c.cell_type == "code"
        for line in c.source.splitlines()
    }
    survived = (solved - elsewhere) & student
    assert not survived, f"solution lines in {path.name}: {sorted(survived)}"


def test_readme_lists_every_exercise_in_its_lesson_row():
    lines = (notebooks.ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index("| lesson | exercises |")
    table = [line for line in lines[start + 2 :] if line.startswith("|")]
    table = table[
        : next(
            (i for i, line in enumerate(lines[start + 2 :]) if not line.startswith("|")), len(table)
        )
    ]
    for path in LESSONS:
        row = next((line for line in table if line.startswith(f"| {path.name[:2]} ")), None)
        assert row, f"README's exercise table has no row for {path.name}"
        for _, name in exercises.holes(nbformat.read(path, as_version=4)):
            assert f"`{name}`" in row, f"README's row for {path.name[:2]} misses `{name}`"


def test_badges_list_lessons_and_exercises_side_by_side():
    text = notebooks.badges_file_text()
    for path in EXERCISES:
        row = next(line for line in text.splitlines() if f"notebooks/{path.name}" in line)
        repository = notebooks.settings()["repository"]
        assert (
            f"(https://colab.research.google.com/github/{repository}/blob/main/exercises/"
            f"{path.name})"
        ) in row


# --- exercise notebooks run, every check says "not filled in yet" ------------------------


@pytest.mark.notebook
@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.stem)
def test_exercise_notebook_runs_with_every_check_unfilled(path, tmp_path, shared_data, monkeypatch):
    monkeypatch.setenv(environment.DATA_DIR, str(shared_data))
    names = [
        n for _, n in exercises.holes(nbformat.read(notebooks.NOTEBOOKS / path.name, as_version=4))
    ]
    result = runner.run_notebook(
        path, tmp_path, {"SMOKE": True}, backend="tensorflow", allow_errors=True
    )
    executed = nbformat.read(tmp_path / path.name, as_version=4)
    assert all(c.execution_count for c in executed.cells if c.cell_type == "code"), (
        "a code cell did not run"
    )
    assert exercises.unexpected_errors(executed, set(names)) == [], result.error
    assert [c["exercise"] for c in result.checks] == names
    assert {c["status"] for c in result.checks} == {check.NOT_FILLED}, result.checks
