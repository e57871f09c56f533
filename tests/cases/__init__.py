"""Right and wrong answers to every exercise, one module per lesson (``lesson00`` ... ``lesson09``).

Each module defines ``CASES``: exercise name -> `Case`. A case module holds data and small
implementations only; ``tests/test_check_verdicts.py`` runs them all:

* every answer in ``right`` (at least 3, written in different styles: loops, vectorized,
  tensors instead of arrays, float64, ``layers.Softmax()`` instead of an activation, ...)
  must get ``✓ passed``;
* every ``Wrong(fn, words)`` (at least 5, mistakes students really make) must get
  ``✗ ... wrong: ...`` with a message matching the regular expression ``words``, which
  names the mistake (not only "differs").
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections.abc import Callable

from dl_vision_labs.check import core


@dataclasses.dataclass(frozen=True)
class Wrong:
    fn: object  # the student's wrong answer (a function or a class)
    words: str  # a regular expression the check's message must match
    why: str = ""  # the mistake, for the test's id and failure message


@dataclasses.dataclass(frozen=True)
class Case:
    run: Callable  # run(answer): calls the check, e.g. check.l2_distances or lambda fn: ...
    right: list  # answers that must pass
    wrong: list  # Wrong(...) answers that must fail with their words
    # the exercise as the generator leaves it, when that is not a function that raises
    # NotImplementedError (a class whose method does, a factory of such a function)
    unfilled: object = None


def verdict(call: Callable[[], None]) -> tuple[str, str]:
    """Run `call()` (one check) and return its recorded (status, message)."""
    saved = {k: os.environ.get(k) for k in (core.CHECKS_FILE_VAR, core.STRICT_VAR)}
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "checks.jsonl")
        os.environ[core.CHECKS_FILE_VAR] = path
        os.environ.pop(core.STRICT_VAR, None)
        try:
            call()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    assert len(lines) == 1, f"a check must record exactly one verdict, got {lines}"
    entry = json.loads(lines[0])
    return entry["status"], entry["message"]
