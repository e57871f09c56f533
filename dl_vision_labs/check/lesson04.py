"""Checks of notebook 04's exercises: convolutional networks."""

import numpy as np
from keras import layers

from .core import exercise, Wrong


@exercise(
    "(W − F + 2P) / S + 1, rounded down: use integer division //, with two_p "
    "standing for 2P.")
def conv_output_size(fn) -> None:
    """`fn(W, F, S, two_p)`: how many positions a filter takes across a padded input."""
    for W, F, S, two_p in [(28, 5, 1, 4), (28, 5, 2, 3), (14, 4, 2, 2), (32, 3, 1, 0),
                           (7, 3, 2, 0), (10, 4, 3, 1)]:
        want = sum(1 for start in range(0, W + two_p) if start % S == 0
                   and start + F <= W + two_p)  # count the positions, one by one
        got = fn(W, F, S, two_p)
        if int(got) != got or int(got) != want:
            raise Wrong(f"conv_output_size(W={W}, F={F}, S={S}, two_p={two_p}) = {got}, "
                        f"expected {want} (a whole number of positions)")


@exercise(
    "Each of the c_out filters has F × F × c_in weights and one bias.")
def conv_params(fn) -> None:
    """`fn(F, c_in, c_out)`: weights and biases of a conv layer, as Keras counts them."""
    for F, c_in, c_out in [(5, 1, 4), (5, 4, 8), (3, 16, 32), (1, 7, 2)]:
        layer = layers.Conv2D(c_out, F)
        layer.build((None, 9, 9, c_in))
        got, want = fn(F, c_in, c_out), layer.count_params()
        if got != want:
            raise Wrong(f"conv_params({F}, {c_in}, {c_out}) = {got}, Keras counts {want}")


@exercise(
    "Each of the n_out neurons has one weight per input and one bias.")
def dense_params(fn) -> None:
    """`fn(n_in, n_out)`: weights and biases of a dense layer, as Keras counts them."""
    for n_in, n_out in [(588, 200), (200, 10), (3, 1)]:
        layer = layers.Dense(n_out)
        layer.build((None, n_in))
        got, want = fn(n_in, n_out), layer.count_params()
        if got != want:
            raise Wrong(f"dense_params({n_in}, {n_out}) = {got}, Keras counts {want}")
