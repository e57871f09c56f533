"""The core of the checks: one registry of exercises, the verdict line, shared comparisons.

A check is a function decorated with `exercise`: its name is the exercise's name, its
hint sits beside it, and its body raises `Wrong` (one sentence: what differs and, where
it can tell, the likely mistake) or returns when the student's code is right::

    @exercise("Each of the n_out neurons has one weight per input and one bias.")
    def dense_params(fn):
        if fn(3, 1) != 4:
            raise Wrong(...)

Calling ``check.dense_params(student_fn)`` runs the body and prints one line:
``✓ dense_params: passed``, ``✗ dense_params: not filled in yet (...)`` or
``✗ dense_params: wrong: ...``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import random
import re
import site
import sysconfig
from collections.abc import Callable

import numpy as np

from .. import environment

CHECKS_FILE_VAR = environment.CHECKS_FILE  # each verdict appended as one JSON line
STRICT_VAR = environment.STRICT_CHECKS  # 1: a check that does not pass raises
PASSED, NOT_FILLED, WRONG = "passed", "not filled in", "wrong"
_EXERCISE = re.compile(r"exercise '(\w+)'")


class Wrong(Exception):
    """Raised inside a check: what is wrong with the student's function, in one sentence."""


class CheckFailed(AssertionError):
    """Strict mode (``LABS_STRICT_CHECKS=1``): a check that did not pass."""


@dataclasses.dataclass(frozen=True)
class Exercise:
    name: str
    hint: str
    lesson: str  # the module of its lesson, e.g. "lesson00"
    check: Callable


REGISTRY: dict[str, Exercise] = {}
HINTS: dict[str, str] = {}  # name -> hint, the registry's hints (one view of REGISTRY)


def exercise(hint: str):
    """Register the decorated check under its function's name, with its hint."""

    def register(body):
        name = body.__name__

        @functools.wraps(body)
        def run_check(*args, **kwargs) -> None:
            _run(name, lambda: body(*args, **kwargs))

        if name in REGISTRY:
            raise ValueError(f"two checks named {name!r}")
        lesson = body.__module__.rsplit(".", 1)[-1]
        REGISTRY[name] = Exercise(name, " ".join(hint.split()), lesson, run_check)
        HINTS[name] = REGISTRY[name].hint
        return run_check

    return register


def hint(name: str) -> None:
    """Print the hint of exercise `name`."""
    if name not in REGISTRY:
        raise KeyError(f"no exercise named {name!r}; exercises: {', '.join(sorted(REGISTRY))}")
    print(f"Hint for {name}: {REGISTRY[name].hint}")


def stop_message(name: str) -> str:
    """The one sentence shown when a cell calls the still-empty function of exercise `name`."""
    return (
        f"This cell needs exercise '{name}': fill in its TODO above (check.{name} tells "
        f"you when it is right), then run this cell again."
    )


def exercise_of(error: BaseException) -> str | None:
    """The exercise whose empty function raised `error` (a NotImplementedError), if any."""
    if not isinstance(error, NotImplementedError):
        return None
    found = _EXERCISE.search(str(error))
    return found.group(1) if found else None


def _record(entry: dict) -> None:
    path = os.environ.get(CHECKS_FILE_VAR)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")


@contextlib.contextmanager
def _same_random_state():
    """Leave Python's, NumPy's and Keras' global random state as they were: a check that
    builds layers must not change what the lesson computes after it."""
    saved_python, saved_numpy = random.getstate(), np.random.get_state()  # noqa: NPY002
    try:  # Keras' global seed generator (unseeded initializers draw from it)
        from keras import ops
        from keras.src.backend.common import global_state
        from keras.src.random.seed_generator import GLOBAL_SEED_GENERATOR

        generator = global_state.get_global_attribute(GLOBAL_SEED_GENERATOR)
        saved_keras = None if generator is None else ops.convert_to_numpy(generator.state)
    except (ImportError, AttributeError):
        global_state = None
    try:
        yield
    finally:
        random.setstate(saved_python)
        np.random.set_state(saved_numpy)  # noqa: NPY002 (the lesson's legacy global state)
        if global_state is not None:
            global_state.set_global_attribute(GLOBAL_SEED_GENERATOR, generator)
            if generator is not None:
                generator.state.assign(saved_keras)


_CHECKS_DIR = os.path.dirname(os.path.abspath(__file__))


@functools.cache
def _library_dirs() -> tuple[str, ...]:
    paths = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    with contextlib.suppress(AttributeError):
        paths.update(site.getsitepackages())
    return tuple(os.path.abspath(p) + os.sep for p in paths if p)


def _raised_in_student_code(err: BaseException) -> bool:
    """Whether a frame of the traceback runs code that is neither the checks' own nor a
    library's (the student's function, a notebook cell or a test's implementation)."""
    tb = err.__traceback__
    while tb is not None:
        path = os.path.abspath(tb.tb_frame.f_code.co_filename)
        mine = path.startswith(_CHECKS_DIR + os.sep)
        library = path.startswith(_library_dirs()) or path.startswith("<frozen")
        if not mine and not library:
            return True
        tb = tb.tb_next
    return False


def _run(name: str, test) -> None:
    """Run `test()` (raises Wrong, NotImplementedError or passes); print and record one line."""
    try:
        with _same_random_state():
            test()
        status, detail = PASSED, "passed"
    except NotImplementedError as err:
        other = exercise_of(err)
        status = NOT_FILLED
        detail = (
            f"not filled in yet (replace its TODO with your code; check.hint({name!r}) for a hint)"
        )
        if other and other != name:
            detail = f"not filled in yet: it needs exercise '{other}' first"
    except Wrong as err:
        status, detail = WRONG, f"wrong: {err}"
    except Exception as err:
        status = WRONG
        if _raised_in_student_code(err):  # the student's code raised: say what, in one line
            detail = f"your function raised {type(err).__name__}: {err}"
        else:
            detail = (
                f"the check itself failed ({type(err).__name__}: {err}); this is a fault "
                f"of the check, not necessarily of your code: please report it"
            )
    detail = " ".join(str(detail).split())
    if len(detail) > 300:
        detail = detail[:297] + "..."
    line = f"{name}: {detail}"
    print(("✓ " if status == PASSED else "✗ ") + line)
    _record({"exercise": name, "status": status, "message": detail})
    if status != PASSED and os.environ.get(STRICT_VAR, "") not in ("", "0"):
        raise CheckFailed(line)


# --- comparisons the checks share ------------------------------------------------------------


def _np(x) -> np.ndarray:
    if hasattr(x, "numpy"):  # a TensorFlow tensor or variable (JAX and NumPy arrays convert)
        x = x.numpy()
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise Wrong(f"expected an array of numbers, got {type(x).__name__}: {err}") from None


def _where(index) -> str:
    return "[" + ", ".join(str(int(i)) for i in index) + "]"


def _compare(got, want, what: str, *, rtol: float = 1e-4, atol: float = 1e-6) -> None:
    """Raise Wrong when `got` differs from `want` (shape first, then values)."""
    if got is None:
        raise Wrong(f"{what}: the function returned None (a `return` is missing)")
    got = _np(got)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        raise Wrong(f"{what} has shape {got.shape}, expected {want.shape}")
    if not np.all(np.isfinite(got)) and np.all(np.isfinite(want)):
        raise Wrong(f"{what} contains NaN or infinity")
    error = np.abs(got - want)
    bad = error > atol + rtol * np.abs(want)
    if bad.any():
        i = np.unravel_index(np.argmax(np.where(bad, error, -1)), error.shape) if error.ndim else ()
        at = f" at {_where(i)}" if error.ndim else ""
        raise Wrong(
            f"{what} differs from the reference: largest error "
            f"{error.max():.3g}{at} (got {got[i]:.6g}, expected {want[i]:.6g})"
        )


def _compare_gradient(got, numerical: np.ndarray, name: str, tolerance: float = 1e-5) -> None:
    if got is None:
        raise Wrong(f"the gradient of {name} is None (a `return` is missing)")
    got = _np(got)
    if got.shape != numerical.shape:
        raise Wrong(f"the gradient of {name} has shape {got.shape}, expected {numerical.shape}")
    if not np.all(np.isfinite(got)):  # NaN > tolerance is False: test it first
        raise Wrong(f"the gradient of {name} contains NaN or infinity")
    rel = np.abs(got - numerical) / np.maximum(np.abs(got) + np.abs(numerical), 1e-8)
    if rel.max() > tolerance:
        i = np.unravel_index(np.argmax(rel), rel.shape)
        raise Wrong(
            f"gradient differs from the numerical one: relative error {rel.max():.1e} "
            f"on {name}{_where(i)} (got {got[i]:.4g}, numerically {numerical[i]:.4g})"
        )


def _softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# --- a cell that calls an empty exercise stops with one sentence (IPython) ------------------


def _stop_handler(shell, etype, value, tb, tb_offset=None):
    """IPython's custom handler of NotImplementedError: one sentence for an empty exercise
    (the cell still ends in an error, so "Run all" stops there), the usual traceback else."""
    name = exercise_of(value)
    if name is None:
        stb = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
    else:
        stb = [stop_message(name)]
    if shell is not None:
        shell._showtraceback(etype, value, stb)  # the handler shows it (IPython only returns)
    return stb


def install_stop_handler() -> bool:
    """In IPython, show one sentence instead of a traceback when a cell calls an exercise
    that is not filled in yet. Returns whether a shell was found (`runtime.prepare` calls it)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is not None and hasattr(shell, "set_custom_exc"):
        shell.set_custom_exc((NotImplementedError,), _stop_handler)
        return True
    return False
