"""Check a notebook's parameters before anything runs: one clear sentence when one is wrong.

Every notebook calls `validate` in the cell right after its parameters cell::

    params.validate(
        EPOCHS=EPOCHS, BATCH_SIZE=BATCH_SIZE, SEED=SEED, SMOKE=SMOKE,  # rules by name
        DATASET=params.one_of(DATASET, "mnist", "fashion_mnist", "cifar10"),
        DROPOUT=params.rate(DROPOUT),
    )

A bad value stops the notebook there with a `ParameterError` that says what is
wrong and what is allowed, for example ``EPOCHS must be a whole number of at
least 1, got 0.``, instead of a long training run that silently does nothing
useful (or a cryptic error deep inside Keras).

A value given plainly (``EPOCHS=EPOCHS``) is checked by the rule its name implies:

* ``SMOKE``: True or False (`flag`);
* ``SEED``: a whole number from 0 to 2**32 - 1, what NumPy accepts as a seed;
* a name with the word ``EPOCHS`` or ``STEPS`` (``FINE_TUNE_EPOCHS``, ``STEPS_PER_EPOCH``),
  or ending in ``BATCH_SIZE``: a whole number of at least 1 (`count`);
* a name ending in ``LEARNING_RATE``: a number greater than 0 (`positive`);
* a name ending in ``DROPOUT``: a number of at least 0 and less than 1 (`rate`).

Any other parameter names its rule: `count`, `counts`, `integer`, `number`,
`positive`, `rate`, `flag`, `one_of`, `text`, `path`, and `optional` (None or
another rule). A rule also wins over the naming convention, e.g.
``IMAGE_SIZE=params.count(IMAGE_SIZE, at_least=32)``.

Whole numbers are Python integers (``3``, not ``3.0``); True and False are not
numbers here, even though Python counts them as 1 and 0.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
import os

RULES = (
    "count",
    "counts",
    "integer",
    "number",
    "positive",
    "rate",
    "flag",
    "one_of",
    "text",
    "path",
    "optional",
)
__all__ = ["ParameterError", "Rule", "validate", *RULES]

SEED_MAX = 2**32 - 1  # np.random.seed (used by keras.utils.set_random_seed) takes 0 .. 2**32 - 1


class ParameterError(ValueError):
    """A notebook parameter has a value the notebook cannot use."""


@dataclasses.dataclass(frozen=True)
class Rule:
    """A parameter's value, whether it is allowed, and what is allowed (for the message)."""

    value: object
    ok: bool
    allowed: str  # completes "NAME must be ...", e.g. "a whole number of at least 1"
    hint: str = ""  # added after "got VALUE", e.g. " (did you mean 'mnist'?)"


# --- the validation ----------------------------------------------------------------------------


def validate(**parameters) -> None:
    """Check every parameter given as ``NAME=value`` or ``NAME=rule``; raise at the first bad one.

    Raises:
        ParameterError: one sentence, e.g. "EPOCHS must be a whole number of at least 1, got 0."
        TypeError: a plain value whose name implies no rule (wrap it in a rule).
    """
    # Raised here, not deeper and not chained: the student's traceback stays two frames long.
    for name, given in parameters.items():
        rule = given if isinstance(given, Rule) else _rule_by_name(name, given)
        if not rule.ok:
            # Stopped here? The last line of the error says which parameter to change, and how.
            raise ParameterError(f"{name} must be {rule.allowed}, got {rule.value!r}{rule.hint}.")


def _rule_by_name(name: str, value) -> Rule:
    """The rule the naming convention gives `name` (see the module docstring)."""
    if name == "SMOKE":
        return flag(value)
    if name == "SEED":
        return integer(value, at_least=0, at_most=SEED_MAX)
    words = name.split("_")
    if "EPOCHS" in words or "STEPS" in words or name.endswith("BATCH_SIZE"):
        return count(value)
    if name.endswith("LEARNING_RATE"):
        return positive(value)
    if name.endswith("DROPOUT"):
        return rate(value)
    raise TypeError(
        f"params.validate has no rule for {name} by its name: give one, e.g. "
        f"{name}=params.count({name}) or {name}=params.one_of({name}, ...); "
        f"the rules are {', '.join(RULES)}."
    )


# --- the rules ----------------------------------------------------------------------------


def _is_whole(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _whole_range(at_least, at_most) -> str:
    if at_least is not None and at_most is not None:
        return f"a whole number from {at_least} to {at_most}"
    if at_least is not None:
        return f"a whole number of at least {at_least}"
    if at_most is not None:
        return f"a whole number of at most {at_most}"
    return "a whole number"


def integer(value, *, at_least: int | None = None, at_most: int | None = None) -> Rule:
    """A whole number (``3``, not ``3.0`` nor True), optionally within bounds (included)."""
    ok = (
        _is_whole(value)
        and (at_least is None or value >= at_least)
        and (at_most is None or value <= at_most)
    )
    return Rule(value, ok, _whole_range(at_least, at_most))


def count(value, *, at_least: int = 1, at_most: int | None = None) -> Rule:
    """A count or size: a whole number of at least `at_least` (1), at most `at_most` if given."""
    return integer(value, at_least=at_least, at_most=at_most)


def counts(value, *, length: int | None = None, at_least: int = 1) -> Rule:
    """A tuple or list of counts (e.g. filters per layer), with `length` items if given."""
    ok = (
        isinstance(value, (tuple, list))
        and len(value) > 0
        and (length is None or len(value) == length)
        and all(_is_whole(v) and v >= at_least for v in value)
    )
    how_many = f"{length} whole numbers" if length is not None else "whole numbers"
    return Rule(value, ok, f"a tuple of {how_many}, each at least {at_least}")


def number(
    value,
    *,
    above: float | None = None,
    at_least: float | None = None,
    below: float | None = None,
    at_most: float | None = None,
) -> Rule:
    """A finite number (int or float, not True/False) within the bounds given.

    ``above``/``below`` exclude the bound, ``at_least``/``at_most`` include it:
    ``number(TEST_FRACTION, above=0, below=1)`` allows 0.5 but neither 0 nor 1.
    """
    ok = (
        _is_number(value)
        and (above is None or value > above)
        and (at_least is None or value >= at_least)
        and (below is None or value < below)
        and (at_most is None or value <= at_most)
    )
    bounds = [
        f"greater than {above}" if above is not None else "",
        f"at least {at_least}" if at_least is not None else "",
        f"less than {below}" if below is not None else "",
        f"at most {at_most}" if at_most is not None else "",
    ]
    said = " and ".join(b for b in bounds if b)
    if said.startswith("at "):
        said = "of " + said  # "a number of at least 0", as "a whole number of at least 1"
    return Rule(value, ok, f"a number {said}" if said else "a number")


def positive(value) -> Rule:
    """A number greater than 0, e.g. a learning rate."""
    return number(value, above=0)


def rate(value) -> Rule:
    """A number of at least 0 and less than 1, e.g. a dropout rate or Adam's beta_1."""
    return number(value, at_least=0, below=1)


def flag(value) -> Rule:
    """True or False."""
    return Rule(value, isinstance(value, bool), "True or False")


def _same(a, b) -> bool:
    return a == b and isinstance(a, bool) == isinstance(b, bool)  # True is not 1 here


def _or_list(choices) -> str:
    shown = [repr(c) for c in choices]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]


def one_of(value, *choices) -> Rule:
    """One of `choices` (names of datasets, backbones, ...); a near miss gets a suggestion."""
    if not choices:
        raise TypeError("params.one_of needs at least one choice after the value")
    ok = any(_same(value, c) for c in choices)
    hint = ""
    if not ok and isinstance(value, str):
        by_lower = {str(c).lower(): c for c in choices}
        close = difflib.get_close_matches(value.lower(), list(by_lower), n=1, cutoff=0.6)
        if close:
            hint = f" (did you mean {by_lower[close[0]]!r}?)"
    return Rule(value, ok, f"one of {_or_list(choices)}", hint)


def text(value) -> Rule:
    """A non-empty string, e.g. a layer name."""
    return Rule(value, isinstance(value, str) and value.strip() != "", "a non-empty text in quotes")


def path(value) -> Rule:
    """A file or folder path (a non-empty string or `pathlib.Path`); it need not exist yet.

    Existence is not checked here: a Google Drive folder appears only once Drive
    is mounted, later in the notebook.
    """
    ok = (isinstance(value, str) and value.strip() != "") or (
        isinstance(value, os.PathLike) and os.fspath(value) != ""
    )
    return Rule(value, ok, 'a path in quotes, like "my_photos"')


def optional(rule: Rule) -> Rule:
    """None, or what `rule` allows: ``STOP_AFTER_EPOCH=params.optional(params.count(...))``."""
    if not isinstance(rule, Rule):
        raise TypeError("params.optional takes a rule, e.g. params.optional(params.count(X))")
    if rule.value is None:
        return Rule(None, True, "None or " + rule.allowed)
    return Rule(rule.value, rule.ok, "None or " + rule.allowed, rule.hint)
