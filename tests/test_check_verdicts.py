"""Every exercise's check gives the right verdict: right answers in several styles pass,
the mistakes students really make fail with words that name the mistake (tests/cases/)."""

import importlib
import re

import pytest

from dl_vision_labs import check
from tests.cases import Case

LESSONS = [f"lesson{n:02d}" for n in range(10)]


def _all_cases() -> dict[str, Case]:
    cases = {}
    for lesson in LESSONS:
        try:
            module = importlib.import_module(f"tests.cases.{lesson}")
        except ModuleNotFoundError as err:
            if err.name != f"tests.cases.{lesson}":
                raise
            continue
        for name, case in module.CASES.items():
            assert name not in cases, f"two case sets for {name}"
            cases[name] = case
    return cases


CASES = _all_cases()
RIGHT = [(name, i) for name, c in sorted(CASES.items()) for i in range(len(c.right))]
WRONG = [(name, i) for name, c in sorted(CASES.items()) for i in range(len(c.wrong))]


def test_every_exercise_has_three_right_and_five_wrong_answers():
    short = {
        name: (
            len(CASES[name].right) if name in CASES else 0,
            len(CASES[name].wrong) if name in CASES else 0,
        )
        for name in check.REGISTRY
    }
    short = {name: n for name, n in short.items() if n[0] < 3 or n[1] < 5}
    assert not short, f"(right, wrong) answers below (3, 5): {short}"


@pytest.mark.parametrize("name, i", RIGHT, ids=[f"{n}-right{i}" for n, i in RIGHT])
def test_a_right_answer_passes(name, i):
    from tests.cases import verdict

    status, message = verdict(lambda: CASES[name].run(CASES[name].right[i]))
    assert (status, message) == (check.PASSED, "passed"), message


@pytest.mark.parametrize("name, i", WRONG, ids=[f"{n}-wrong{i}" for n, i in WRONG])
def test_a_wrong_answer_fails_and_names_the_mistake(name, i):
    from tests.cases import verdict

    case = CASES[name].wrong[i]
    status, message = verdict(lambda: CASES[name].run(case.fn))
    assert status == check.WRONG, f"{case.why or case.words}: got {status}: {message}"
    assert "the check itself failed" not in message, message
    assert re.search(case.words, message), (
        f"{case.why}: the message does not match {case.words!r}: {message}"
    )


def _unfilled(name):
    def fn(*args, **kwargs):
        raise NotImplementedError(f"exercise '{name}' is not filled in yet")

    return fn


@pytest.mark.parametrize("name", sorted(CASES))
def test_an_unfilled_exercise_says_so_and_names_its_hint(name):
    from tests.cases import verdict

    answer = CASES[name].unfilled or _unfilled(name)
    status, message = verdict(lambda: CASES[name].run(answer))
    assert status == check.NOT_FILLED, message
    assert message.startswith("not filled in yet") and f"check.hint('{name}')" in message
