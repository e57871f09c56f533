"""Checks of notebook 04's exercises: convolutional networks."""

import math
import numbers

import numpy as np
from keras import layers

from .core import Wrong, exercise


def _count(got, call: str):
    """The student's result as a number (a whole one where possible), or Wrong."""
    if got is None:
        raise Wrong(f"{call} returned None (a `return` is missing)")
    if hasattr(got, "numpy"):
        got = got.numpy()
    if isinstance(got, np.ndarray) and got.size == 1:
        got = got.reshape(()).item()
    if isinstance(got, np.generic):
        got = got.item()
    if isinstance(got, bool) or not isinstance(got, numbers.Real):
        raise Wrong(f"{call} must return a number, got {type(got).__name__} {got!r}")
    return got


def _named(got, mistakes) -> str:
    """': <words>' for the first known mistake whose value is `got`, else ''."""
    for value, words in mistakes:
        if got == value:
            return f": {words}"
    return ""


@exercise(
    "(W − F + 2P) / S + 1, rounded down: use integer division //, with two_p standing for 2P."
)
def conv_output_size(fn) -> None:
    """`fn(W, F, S, two_p)`: how many positions a filter takes across a padded input; among
    the inputs, filters wider and narrower than the stride, and (W − F + 2P) / S with a
    fraction above and below one half."""
    for W, F, S, two_p in [
        (28, 5, 1, 4),
        (28, 5, 2, 3),
        (14, 4, 2, 2),
        (32, 3, 1, 0),
        (7, 3, 2, 0),
        (10, 4, 3, 1),
        (11, 4, 3, 1),
        (10, 2, 3, 0),
        (9, 1, 2, 0),
        (6, 6, 1, 0),
        (5, 3, 2, 1),
    ]:
        want = sum(
            1 for start in range(0, W + two_p) if start % S == 0 and start + F <= W + two_p
        )  # count the positions, one by one
        call = f"conv_output_size(W={W}, F={F}, S={S}, two_p={two_p})"
        got = _count(fn(W, F, S, two_p), call)
        if got == want:
            continue
        exact = (W - F + two_p) / S
        if int(got) != got:
            raise Wrong(
                f"{call} = {got}, expected {want}: {got} is not a whole number of "
                f"positions; round (W − F + 2P) / S down with //"
            )
        raise Wrong(
            f"{call} = {got}, expected {want}"
            + _named(
                got,
                [
                    (want - 1, "the + 1 is missing (the first position, before any step)"),
                    (
                        math.ceil(exact) + 1,
                        f"(W − F + 2P) / S = {exact:.3g} was rounded up (by "
                        f"round or ceil); a filter that does not fit is not "
                        f"counted: round down with //",
                    ),
                    (
                        (W - F + 2 * two_p) // S + 1,
                        "two_p is already the whole padding 2P (both sides): do not double it",
                    ),
                    (
                        (W - F + two_p // 2) // S + 1,
                        "two_p is the whole padding 2P (both sides): add all of it",
                    ),
                    (W - F + two_p // S + 1, "parenthesize: (W − F + two_p) // S + 1"),
                ],
            )
        )


def _keras_count(layer, shape) -> int:
    layer.build(shape)
    return layer.count_params()


@exercise("Each of the c_out filters has F × F × c_in weights and one bias.")
def conv_params(fn) -> None:
    """`fn(F, c_in, c_out)`: weights and biases of a conv layer, as Keras counts them."""
    for F, c_in, c_out in [(5, 1, 4), (5, 4, 8), (3, 16, 32), (1, 7, 2), (4, 3, 5)]:
        want = _keras_count(layers.Conv2D(c_out, F), (None, 9, 9, c_in))
        call = f"conv_params({F}, {c_in}, {c_out})"
        got = _count(fn(F, c_in, c_out), call)
        if got != want:
            raise Wrong(
                f"{call} = {got}, Keras counts {want}"
                + _named(
                    got,
                    [
                        (F * F * c_in * c_out, "the c_out biases (one per filter) are missing"),
                        (
                            F * F * c_out + c_out,
                            "each filter has F × F weights per input channel: F × F × c_in",
                        ),
                        (
                            (F * F + 1) * c_in * c_out,
                            "one bias per filter, not one per input channel",
                        ),
                        (
                            F * F * c_in * c_out + 1,
                            "one bias per filter (c_out of them), not one in all",
                        ),
                        (
                            F * c_in * c_out + c_out,
                            "a filter is F × F (F² weights per channel), not F",
                        ),
                    ],
                )
            )


@exercise("Each of the n_out neurons has one weight per input and one bias.")
def dense_params(fn) -> None:
    """`fn(n_in, n_out)`: weights and biases of a dense layer, as Keras counts them."""
    for n_in, n_out in [(588, 200), (200, 10), (3, 1), (7, 4)]:
        want = _keras_count(layers.Dense(n_out), (None, n_in))
        call = f"dense_params({n_in}, {n_out})"
        got = _count(fn(n_in, n_out), call)
        if got != want:
            raise Wrong(
                f"{call} = {got}, Keras counts {want}"
                + _named(
                    got,
                    [
                        (n_in * n_out, "the n_out biases (one per neuron) are missing"),
                        (
                            n_in * (n_out + 1),
                            "one bias per neuron (n_out of them), not one per input",
                        ),
                        (n_in * n_out + 1, "one bias per neuron (n_out of them), not one in all"),
                        (
                            n_in + n_out,
                            "each neuron has one weight per input: n_in × n_out weights",
                        ),
                    ],
                )
            )
