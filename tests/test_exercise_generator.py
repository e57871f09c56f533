"""The exercise generator (tools/exercises.py): student code, markup, conventions."""

import nbformat
import numpy as np
import pytest

from dl_vision_labs import check
from tools import exercises

# --- the generator ---------------------------------------------------------------------

LESSON_CELL = '''import numpy as np

def softmax(s):
    """Probabilities of each row of scores."""
    e = np.exp(s)
    ### BEGIN SOLUTION
    return e / e.sum(axis=1, keepdims=True)
    ### END SOLUTION

class Layer:
    def call(self, x):
        ### BEGIN SOLUTION
        y = 2 * x
        return y
        ### END SOLUTION
'''


def test_student_code_keeps_signature_and_docstring_and_raises():
    student, names = exercises.student_code(LESSON_CELL)
    assert names == ["softmax", "layer"]  # a method: its class names the exercise
    assert "BEGIN SOLUTION" not in student and "e.sum(axis=1" not in student
    assert (
        '    """Probabilities of each row of scores."""\n    e = np.exp(s)\n    # TODO' in student
    )
    assert "        raise NotImplementedError(\"exercise 'layer' is not filled in yet\")" in student
    namespace = {}
    exec(student, namespace)  # defining the functions does not fail...
    with pytest.raises(NotImplementedError) as err:  # ...calling one does, naming it
        namespace["softmax"](np.ones((2, 3)))
    assert check.exercise_of(err.value) == "softmax"
    assert exercises.solution_lines(LESSON_CELL) == [
        "return e / e.sum(axis=1, keepdims=True)",
        "y = 2 * x",
        "return y",
    ]


@pytest.mark.parametrize(
    "source, message",
    [
        ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", "inside a function"),
        ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", "without ### END"),
        ("def f():\n    return 1\n    ### END SOLUTION\n", "without a matching"),
        ("def f():\n    ### BEGIN SOLUTION  (x)\n    return 1\n", "alone on its line"),
    ],
)
def test_bad_markup_is_refused(source, message):
    with pytest.raises(exercises.MarkupError, match=message):
        exercises.student_code(source)


def test_markdown_answers_are_hidden():
    text = "Why?\n<!-- BEGIN SOLUTION -->\nBecause.\n<!-- END SOLUTION -->\nNext."
    assert exercises.student_markdown(text) == f"Why?\n{exercises.MD_ANSWER}\nNext."


def test_lesson_problems_wants_a_check_after_each_hole():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "def vote(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION"
            ),
            nbformat.v4.new_code_cell("print(1)"),
        ]
    )
    assert exercises.lesson_problems(nb) == [
        "notebook: the code cell after exercise 'vote' must call check.vote(...)"
    ]
    nb.cells[1].source = "check.vote(vote)"
    assert exercises.lesson_problems(nb) == []
