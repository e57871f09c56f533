"""The grader (python -m dl_vision_labs.grade) on a corpus made from the lessons here.

Each submission is made from an exercise notebook with the lesson's solutions, typical
mistakes or hostile code filled in; none is committed. The grades must be what the
functions earn under the course's own checks, whatever the notebook prints or does to its
check cells."""

import csv
import json
import socket
import subprocess
import sys

import nbformat
import pytest

from dl_vision_labs.grade import Limits, grade, slicing, submissions
from dl_vision_labs.grade.lessons import lessons
from tools import grading

ANSWER = {
    "model": "return tf.nn.softmax(tf.matmul(X, W) + b)",
    "cross_entropy": "return -tf.reduce_sum(Y_true * tf.math.log(Y), axis=1)",
    "train_step": "W.assign_sub(LEARNING_RATE * dW)",
    "conv_output_size": "return (W - F + two_p) // S + 1",
    "conv_params": "return F * F * c_in * c_out + c_out",
    "dense_params": "return n_in * n_out + n_out",
}


def swap(name, new):
    """A cell transform: the solution line of exercise `name` replaced by `new`."""
    return lambda source: source.replace(ANSWER[name], new)


WRONG_02 = {
    "model": swap("model", "return tf.matmul(X, W) + b"),  # no softmax
    "cross_entropy": swap("cross_entropy", "return tf.reduce_sum(Y_true * tf.math.log(Y), axis=1)"),
    "train_step": swap("train_step", "W.assign_add(LEARNING_RATE * dW)"),  # uphill
}


def add_cell(nb, source, after=None):
    cell = nbformat.v4.new_code_cell(source)
    at = len(nb.cells) if after is None else after + 1
    nb.cells.insert(at, cell)
    return nb


def check_cell(nb, name):
    return next(
        i for i, c in enumerate(nb.cells) if c.cell_type == "code" and f"check.{name}(" in c.source
    )


def corpus_02(folder):
    def write(name, nb):
        nbformat.write(nb, folder / f"{name}.ipynb")

    nb = grading.complete("02")
    add_cell(nb, 'STUDENT = "Ada Lovelace"', after=5)
    write("complete", nb)
    write("partly", grading.with_solutions("02", {"model"}))
    write("wrong", grading.with_solutions("02", set(), replace=WRONG_02))
    write("empty", grading.with_solutions("02", set()))
    # cheats: wrong functions, check cells that say otherwise
    uphill = {"train_step": WRONG_02["train_step"]}
    nb = grading.with_solutions("02", {"model", "cross_entropy"}, replace=uphill)
    nb.cells[check_cell(nb, "train_step")].source = 'print("✓ train_step: passed")'
    write("tampered", nb)
    nb = grading.with_solutions("02", {"model", "cross_entropy"}, replace=uphill)
    add_cell(
        nb,
        "class check:\n    def __getattr__(self, name):\n        return print\ncheck = check()",
        after=6,
    )
    write("redefined", nb)
    nb = grading.with_solutions("02", {"model", "cross_entropy"}, replace=uphill)
    patch = (
        "import dl_vision_labs.check.lesson02 as _l02\n"
        "_l02._compare = lambda *a, **k: None\n"
        "import dl_vision_labs.check.core as _core\n"
        "_core._run = lambda name, test: print(f'✓ {name}: passed')\n"
    )
    i = check_cell(nb, "train_step")
    nb.cells[i - 1].source = patch + nb.cells[i - 1].source
    write("monkeypatch", nb)
    nb = grading.with_solutions("02", set())
    for name in ("model", "cross_entropy", "train_step"):
        nb.cells[check_cell(nb, name)].source = f'print("✓ {name}: passed")'
    write("fake_print", nb)
    (folder / "malformed.ipynb").write_text('{"cells": [', encoding="utf-8")
    (folder / "not_a_notebook.ipynb").write_text('{"hello": "world"}', encoding="utf-8")
    write("lesson04", grading.complete("04"))


def corpus_04(folder, port, outside):
    def write(name, transform, exercise="conv_output_size"):
        nb = grading.with_solutions("04", replace={exercise: transform})
        nbformat.write(nb, folder / f"{name}.ipynb")

    write("right", lambda s: s)
    write("wrong", swap("conv_output_size", "return (W - F + 2 * P) // S"))
    write("loop", swap("conv_output_size", "while True:\n        pass"))
    write("memory", swap("conv_output_size", "x = bytearray(64 * 2**30)\n    return x"))
    write("sys_exit", swap("conv_output_size", "import sys\n    sys.exit(0)"))
    write("os_exit", swap("conv_params", "import os\n    os._exit(3)"), "conv_params")
    write("syntax", swap("conv_output_size", "return (W - F + two_p // S + 1"))
    net = (
        "import socket\n    try:\n        socket.create_connection(('127.0.0.1', "
        f"{port}), timeout=2).close()\n    except OSError:\n        pass\n    else:\n"
        "        return -1\n    " + ANSWER["conv_output_size"]
    )
    write("network", swap("conv_output_size", net))
    escape = (
        f"try:\n        open({str(outside)!r}, 'w').write('x')\n    except OSError:\n"
        "        pass\n    " + ANSWER["conv_output_size"]
    )
    write("write_outside", swap("conv_output_size", escape))


def gradebook(out):
    with open(out / "gradebook.csv", encoding="utf-8") as f:
        return {row["file"]: row for row in csv.DictReader(f)}


def test_lessons_json_is_what_the_lessons_make():
    assert grading.stale() == []


@pytest.mark.slow  # importing the checks imports TensorFlow, which starts a subprocess
def test_the_hints_are_the_checks_own():
    from dl_vision_labs.check import REGISTRY

    for lesson in lessons().values():
        for exercise in lesson.exercises:
            assert exercise.hint == REGISTRY[exercise.name].hint


def test_slicing_takes_only_the_cells_a_check_needs(tmp_path):
    nbformat.write(grading.complete("02"), tmp_path / "x.ipynb")
    sub = submissions.read(tmp_path / "x.ipynb")
    plan = slicing.plan(sub)
    cells = {c["index"]: c["source"] for c in sub.cells}
    steps = {e["name"]: e for e in plan["exercises"]}
    needed = {i: cells[i] for i in steps["train_step"]["cells"]}
    assert any("W = tf.Variable" in s for s in needed.values())  # model reads the globals
    assert any("def cross_entropy" in s for s in needed.values())
    assert not any("data.load" in s or "fit(" in s for s in needed.values())  # no training
    assert plan["cells"][str(steps["train_step"]["cells"][1])].rstrip().endswith("SMOKE = True")


def test_recognises_the_lesson_and_the_student(tmp_path):
    nb = grading.complete("02")
    nb.metadata.pop("colab")
    add_cell(nb, "STUDENT = 'Grace'")
    nbformat.write(nb, tmp_path / "x.ipynb")
    sub = submissions.read(tmp_path / "x.ipynb")
    assert (sub.lesson.number, sub.student) == ("02", "Grace")
    with pytest.raises(submissions.Unreadable, match="lesson 02, not of lesson 04"):
        submissions.read(tmp_path / "x.ipynb", "04")


@pytest.mark.slow
def test_grades_a_class_of_lesson_02(tmp_path):
    folder, out = tmp_path / "submissions", tmp_path / "grades"
    folder.mkdir()
    corpus_02(folder)
    outcome = grade(folder, out, lesson="02", limits=Limits(exercise_s=120))
    book = gradebook(out)
    row = {name: [book[name][e] for e in ("model", "cross_entropy", "train_step")] for name in book}
    passed, wrong, empty = "passed", "wrong", "not filled in"
    assert row["complete.ipynb"] == [passed] * 3
    assert book["complete.ipynb"]["student"] == "Ada Lovelace"
    assert book["complete.ipynb"]["total"] == "3/3"
    assert row["partly.ipynb"] == [passed, empty, empty]
    assert row["wrong.ipynb"] == [wrong, wrong, wrong]
    assert row["empty.ipynb"] == [empty] * 3
    for cheat in ("tampered", "redefined", "monkeypatch"):
        assert row[f"{cheat}.ipynb"] == [passed, passed, wrong], cheat
    assert row["fake_print.ipynb"] == [empty] * 3
    assert "not valid JSON" in book["malformed.ipynb"]["problem"]
    assert "not a notebook" in book["not_a_notebook.ipynb"]["problem"]
    assert "lesson 04, not of lesson 02" in book["lesson04.ipynb"]["problem"]
    feedback = (out / "feedback" / "Ada_Lovelace.md").read_text(encoding="utf-8")
    assert "3 of 3 exercises passed" in feedback
    wrong_note = (out / "feedback" / "wrong.md").read_text(encoding="utf-8")
    assert "✗ **model**: wrong: " in wrong_note and "Hint: tf.matmul" in wrong_note
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "| model |" in summary and "Protection in force" in summary
    assert (out / "pass_rate.png").stat().st_size > 0
    assert len(outcome.problems) == 3
    # deterministic: the same folder, the same gradebook
    again = tmp_path / "again"
    grade(folder, again, lesson="02", limits=Limits(exercise_s=120))
    assert (again / "gradebook.csv").read_text() == (out / "gradebook.csv").read_text()


@pytest.mark.slow
def test_hostile_and_broken_code_is_graded_and_contained(tmp_path):
    folder, out = tmp_path / "submissions", tmp_path / "grades"
    folder.mkdir()
    outside = tmp_path / "outside.txt"
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    try:
        corpus_04(folder, server.getsockname()[1], outside)
        # 30 s: the right answer's first exercise includes importing Keras, which took more
        # than 10 s on a loaded 2-core host; the endless loop is stopped all the same.
        outcome = grade(folder, out, limits=Limits(exercise_s=30, memory_mb=2048))
    finally:
        server.close()
    book = gradebook(out)
    verdicts = {}
    for line in (out / "feedback").glob("*.md"):
        verdicts[line.stem] = line.read_text(encoding="utf-8")
    status = {name[: -len(".ipynb")]: row["conv_output_size"] for name, row in book.items()}
    assert status["right"] == "passed" and status["wrong"] == "wrong"
    assert status["loop"] == "timed out"
    assert status["memory"] == "error" and "memory" in verdicts["memory"]
    assert status["sys_exit"] == "error" and "sys.exit(0)" in verdicts["sys_exit"]
    assert book["os_exit.ipynb"]["conv_params"] == "error"
    assert "exited with code 3" in verdicts["os_exit"]
    assert status["syntax"] == "error" and "syntax error at line" in verdicts["syntax"]
    for name in ("loop", "memory", "sys_exit", "syntax", "os_exit"):  # the others still graded
        assert book[f"{name}.ipynb"]["dense_params"] == "passed", name
    assert book["os_exit.ipynb"]["conv_output_size"] == "passed"
    if any("network namespace" in p for p in outcome.protection):
        assert status["network"] == "passed"  # the connection failed inside the sandbox
    if any("read-only" in p or "nobody" in p for p in outcome.protection):
        assert not outside.exists() and status["write_outside"] == "passed"
    assert outcome.problems == []


@pytest.mark.slow
def test_the_command_line(tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    (folder / "bad.ipynb").write_text("nope", encoding="utf-8")
    nbformat.write(grading.complete("04"), folder / "good.ipynb")
    run = [sys.executable, "-m", "dl_vision_labs.grade"]
    done = subprocess.run(
        [*run, str(folder), "--out", str(tmp_path / "g")], capture_output=True, text=True
    )
    assert done.returncode == 1, done.stderr
    assert "not graded: bad.ipynb: not a notebook" in done.stdout
    assert "protection: " in done.stdout
    assert gradebook(tmp_path / "g")["good.ipynb"]["total"] == "3/3"
    usage = subprocess.run([*run, str(tmp_path / "missing")], capture_output=True, text=True)
    assert usage.returncode == 2
    assert json.loads(json.dumps(done.stdout))  # printable


@pytest.mark.slow
def test_the_teachers_notebook_grades_a_zip_headlessly(tmp_path):
    import papermill

    from tools.common import ROOT

    path = ROOT / "teachers" / "grade_a_class.ipynb"
    committed = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in committed.cells if c.cell_type == "code")
    import zipfile

    with zipfile.ZipFile(tmp_path / "class.zip", "w") as archive:
        archive.writestr("anna.ipynb", nbformat.writes(grading.complete("04")))
        archive.writestr("ben.ipynb", nbformat.writes(grading.with_solutions("04", set())))
    grades = tmp_path / "grades"
    papermill.execute_notebook(  # raises if a cell fails
        str(path),
        str(tmp_path / "executed.ipynb"),
        parameters={"SUBMISSIONS": str(tmp_path / "class.zip"), "OUT": str(grades)},
        cwd=str(tmp_path),
        kernel_name="python3",
        progress_bar=False,
    )
    assert (tmp_path / "grades.zip").is_file()
    book = gradebook(grades)
    assert (book["anna.ipynb"]["total"], book["ben.ipynb"]["total"]) == ("3/3", "0/3")
