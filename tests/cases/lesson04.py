"""Right and wrong answers to notebook 04's exercises: sizes and parameter counts."""

import math

import numpy as np
from keras import layers

from dl_vision_labs import check
from tests.cases import Case, Wrong

# --- conv_output_size ----------------------------------------------------------------------


def size_floor_division(W, F, S, two_p):  # the notebook's
    return (W - F + two_p) // S + 1


def size_math_floor(W, F, S, two_p):
    return math.floor((W - F + two_p) / S) + 1


def size_count_positions(W, F, S, two_p):  # the starts 0, S, 2S, ... that leave room for F
    return len(range(0, W + two_p - F + 1, S))


def size_numpy_float(W, F, S, two_p):  # np.float64, a whole number
    return np.floor((W - F + two_p) / S) + 1


def size_ceil_form(W, F, S, two_p):  # ceil((W − F + 2P + 1) / S), the same count
    return -(-(W - F + two_p + 1) // S)


def size_true_division(W, F, S, two_p):
    return (W - F + two_p) / S + 1


def size_rounded(W, F, S, two_p):
    return round((W - F + two_p) / S) + 1


def size_ceil(W, F, S, two_p):
    return math.ceil((W - F + two_p) / S) + 1


def size_no_plus_one(W, F, S, two_p):
    return (W - F + two_p) // S


def size_doubles_two_p(W, F, S, two_p):  # P instead of 2P: two_p taken as P
    return (W - F + 2 * two_p) // S + 1


def size_half_padding(W, F, S, two_p):
    return (W - F + two_p // 2) // S + 1


def size_precedence(W, F, S, two_p):
    return W - F + two_p // S + 1


def size_no_return(W, F, S, two_p):
    (W - F + two_p) // S + 1


# --- conv_params and dense_params ----------------------------------------------------------


def conv_with_bias(F, c_in, c_out):  # the notebook's
    return F * F * c_in * c_out + c_out


def conv_factored(F, c_in, c_out):
    return (F**2 * c_in + 1) * c_out


def conv_numpy(F, c_in, c_out):  # np.int64
    return np.prod([F, F, c_in, c_out]) + np.int64(c_out)


def conv_keras_itself(F, c_in, c_out):
    layer = layers.Conv2D(c_out, F)
    layer.build((None, F + 3, F + 3, c_in))
    return layer.count_params()


def conv_no_bias(F, c_in, c_out):  # the old test's wrong answer
    return F * F * c_in * c_out


def conv_no_c_in(F, c_in, c_out):
    return F * F * c_out + c_out


def conv_bias_per_channel(F, c_in, c_out):
    return (F * F + 1) * c_in * c_out


def conv_one_bias(F, c_in, c_out):
    return F * F * c_in * c_out + 1


def conv_F_not_squared(F, c_in, c_out):
    return F * c_in * c_out + c_out


def conv_string(F, c_in, c_out):
    return f"{F * F * c_in * c_out + c_out:,}"


def dense_with_bias(n_in, n_out):  # the notebook's
    return n_in * n_out + n_out


def dense_factored(n_in, n_out):
    return (n_in + 1) * n_out


def dense_shapes(n_in, n_out):  # count the entries of W [n_in, n_out] and b [n_out]
    return int(np.zeros((n_in, n_out)).size + np.zeros(n_out).size)


def dense_keras_itself(n_in, n_out):
    layer = layers.Dense(n_out)
    layer.build((None, n_in))
    return layer.count_params()


def dense_no_bias(n_in, n_out):  # the old test's wrong answer
    return n_in * n_out


def dense_bias_per_input(n_in, n_out):
    return n_in * (n_out + 1)


def dense_one_bias(n_in, n_out):
    return n_in * n_out + 1


def dense_sum(n_in, n_out):
    return n_in + n_out


def dense_no_return(n_in, n_out):
    n_in * n_out + n_out


CASES = {
    "conv_output_size": Case(
        run=check.conv_output_size,
        right=[
            size_floor_division,
            size_math_floor,
            size_count_positions,
            size_numpy_float,
            size_ceil_form,
        ],
        wrong=[
            Wrong(
                size_true_division, r"not a whole number.*round .* down with //", "/ instead of //"
            ),
            Wrong(size_rounded, r"2.67 was rounded up", "round instead of floor"),
            Wrong(size_ceil, r"rounded up", "ceil instead of floor"),
            Wrong(size_no_plus_one, r"the \+ 1 is missing", "no + 1"),
            Wrong(size_doubles_two_p, r"already the whole padding 2P", "2·two_p"),
            Wrong(size_half_padding, r"add all of it", "two_p // 2"),
            Wrong(size_precedence, r"parenthesize", "W − F + two_p // S + 1"),
            Wrong(size_no_return, r"returned None", "no return"),
        ],
    ),
    "conv_params": Case(
        run=check.conv_params,
        right=[conv_with_bias, conv_factored, conv_numpy, conv_keras_itself],
        wrong=[
            Wrong(conv_no_bias, r"Keras counts.*biases \(one per filter\) are missing", "no bias"),
            Wrong(conv_no_c_in, r"F × F × c_in", "no c_in"),
            Wrong(conv_bias_per_channel, r"not one per input channel", "a bias per input channel"),
            Wrong(conv_one_bias, r"not one in all", "one bias in all"),
            Wrong(conv_F_not_squared, r"F² weights per channel", "F, not F²"),
            Wrong(conv_string, r"must return a number, got str", "a formatted string"),
        ],
    ),
    "dense_params": Case(
        run=check.dense_params,
        right=[dense_with_bias, dense_factored, dense_shapes, dense_keras_itself],
        wrong=[
            Wrong(dense_no_bias, r"Keras counts.*biases \(one per neuron\) are missing", "no bias"),
            Wrong(dense_bias_per_input, r"not one per input", "a bias per input"),
            Wrong(dense_one_bias, r"not one in all", "one bias in all"),
            Wrong(dense_sum, r"n_in × n_out weights", "n_in + n_out"),
            Wrong(dense_no_return, r"returned None", "no return"),
        ],
    ),
}
