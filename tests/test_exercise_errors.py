"""tools.exercises.unexpected_errors: which errors an executed exercise notebook may show."""

import nbformat

from dl_vision_labs.check.core import stop_message
from tools import exercises


def executed(*cells):
    """A notebook of code cells, each (source, error or None); an error is (ename, evalue)."""
    nb = nbformat.v4.new_notebook()
    for source, error in cells:
        cell = nbformat.v4.new_code_cell(source)
        if error:
            ename, evalue = error
            traceback = (
                [stop_message(evalue.split("'")[1])]
                if ename == "NotImplementedError"
                else ["Traceback ..."]
            )
            cell.outputs = [
                nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=traceback)
            ]
        nb.cells.append(cell)
    return nb


STOP = ("NotImplementedError", "exercise 'vote' is not filled in yet")


def test_the_exercise_stop_and_what_depends_on_it_are_allowed():
    nb = executed(
        ("import numpy as np\nx = np.zeros(3)", None),
        ("labels = vote(x)", STOP),
        ("accuracy = np.mean(labels == 1)", ("NameError", "name 'labels' is not defined")),
        ("print(accuracy)", ("NameError", "name 'accuracy' is not defined")),
    )
    assert exercises.unexpected_errors(nb, {"vote"}) == []


def test_an_error_that_does_not_follow_from_a_stop_is_reported():
    nb = executed(
        ("x = 1", None),
        ("labels = vote(x)", STOP),
        ("y = undefined_name + 1", ("NameError", "name 'undefined_name' is not defined")),
    )
    assert exercises.unexpected_errors(nb, {"vote"}) == [
        "cell 2: NameError: name 'undefined_name' is not defined"
    ]


def test_a_stop_of_another_exercise_or_with_a_traceback_is_reported():
    nb = executed(("labels = vote(1)", STOP))
    assert exercises.unexpected_errors(nb, {"other"}) == [
        "cell 0: NotImplementedError: exercise 'vote' is not filled in yet"
    ]
    nb.cells[0].outputs[0].traceback = ["Traceback (most recent call last)", "..."]
    found = exercises.unexpected_errors(nb, {"vote"})
    assert len(found) == 1 and "not the one sentence" in found[0]


def test_what_a_stopped_cell_read_is_suspect_too():
    """fit stopped: the log files that its callbacks write in `work` are missing, so a later
    cell that reads `work` may fail; a cell that reads only untouched names may not."""
    nb = executed(
        ("work = 'folder'", None),
        (
            "model.fit(x, callbacks=[logger(work)])\nstep(model)",
            STOP[:1] + ("exercise 'step' is not filled in yet",),
        ),
        ("log = read(work)", ("FileNotFoundError", "log.csv")),
        ("total = 1 + 'a'", ("TypeError", "unsupported operand")),
    )
    assert exercises.unexpected_errors(nb, {"step"}) == ["cell 3: TypeError: unsupported operand"]
