"""Right and wrong answers to notebook 02's exercises (softmax regression in TensorFlow)."""

import keras
import numpy as np
import tensorflow as tf

from dl_vision_labs import check
from tests.cases import Case, Wrong

W = tf.Variable(tf.zeros([784, 10]), name="W")
b = tf.Variable(tf.zeros([10]), name="b")
LR = 0.5


# --- model: softmax(X·W + b) -----------------------------------------------------------------


def model_tf(X):
    return tf.nn.softmax(tf.matmul(X, W) + b)


def model_by_hand(X):  # exp and normalise, with the usual max shift
    s = X @ W + b
    e = tf.exp(s - tf.reduce_max(s, axis=1, keepdims=True))
    return e / tf.reduce_sum(e, axis=1, keepdims=True)


def model_keras_ops(X):
    return keras.ops.softmax(
        keras.ops.matmul(keras.ops.cast(X, "float64"), keras.ops.cast(W, "float64"))
        + keras.ops.cast(b, "float64"),
        axis=-1,
    )


def model_einsum(X):
    return tf.nn.softmax(tf.einsum("nf,fc->nc", X, W) + b[None, :])


# --- cross_entropy ---------------------------------------------------------------------------


def ce_tf(Y_true, Y):
    return -tf.reduce_sum(Y_true * tf.math.log(Y), axis=1)


def ce_true_class(Y_true, Y):  # pick the probability of the true class, then −log
    return -tf.math.log(tf.reduce_sum(Y_true * Y, axis=-1))


def ce_keras(Y_true, Y):
    return keras.losses.categorical_crossentropy(Y_true, Y)


def ce_keras_ops(Y_true, Y):
    return -keras.ops.sum(keras.ops.multiply(Y_true, keras.ops.log(Y)), axis=-1)


# --- train_step: each answer is made for fresh variables W, b (the notebook's globals) -----


def _accuracy(Y_true, Y):
    correct = tf.equal(tf.argmax(Y, axis=1), tf.argmax(Y_true, axis=1))
    return tf.reduce_mean(tf.cast(correct, tf.float32))


def run_step(make):
    W, b = tf.Variable(tf.zeros([784, 10])), tf.Variable(tf.zeros([10]))
    check.train_step(make(W, b), W, b, LR)


def _unfilled_step(X, Y_true):  # the exercise version's train_step
    raise NotImplementedError("exercise 'train_step' is not filled in yet")


def step_notebook(W, b):  # the notebook's own model and cross_entropy, under tf.function
    def model(X):
        return tf.nn.softmax(tf.matmul(X, W) + b)

    def cross_entropy(Y_true, Y):
        return -tf.reduce_sum(Y_true * tf.math.log(Y), axis=1)

    @tf.function
    def train_step(X, Y_true):
        with tf.GradientTape() as tape:
            Y = model(X)
            loss = tf.reduce_mean(cross_entropy(Y_true, Y))
        dW, db = tape.gradient(loss, [W, b])
        W.assign_sub(LR * dW)
        b.assign_sub(LR * db)
        return loss, _accuracy(Y_true, Y)

    return train_step


def step_logits(W, b):  # from the logits, eager, assign instead of assign_sub
    def train_step(X, Y_true):
        with tf.GradientTape() as tape:
            logits = X @ W + b
            loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(Y_true, logits))
        grads = tape.gradient(loss, [W, b])
        for v, g in zip([W, b], grads):
            v.assign(v - LR * g)
        return loss, _accuracy(Y_true, tf.nn.softmax(logits))

    return train_step


def step_keras_loss(W, b):  # Keras' loss object, tf.function, accuracy after the step
    loss_fn = keras.losses.CategoricalCrossentropy()

    @tf.function
    def train_step(X, Y_true):
        with tf.GradientTape() as tape:
            loss = loss_fn(Y_true, tf.nn.softmax(X @ W + b))
        dW, db = tape.gradient(loss, [W, b])
        W.assign_sub(LR * dW)
        b.assign_sub(LR * db)
        return [loss, _accuracy(Y_true, tf.nn.softmax(X @ W + b))]

    return train_step


def _step(W, b, *, loss="mean", sign=-1, update_b=True, ret="both", in_place=True):
    def train_step(X, Y_true):
        nonlocal W, b
        with tf.GradientTape() as tape:
            Y = tf.nn.softmax(X @ W + b)
            losses = -tf.reduce_sum(Y_true * tf.math.log(Y), axis=1)
            total = {
                "mean": tf.reduce_mean(losses),
                "sum": tf.reduce_sum(losses),
                "vector": losses,
            }[loss]
        dW, db = tape.gradient(total, [W, b])
        if in_place:
            W.assign_add(sign * LR * dW)
            if update_b:
                b.assign_add(sign * LR * db)
        else:  # `global W, b` in the notebook: new tensors, the variables stay as they were
            W, b = W - LR * dW, b - LR * db
        acc = _accuracy(Y_true, Y)
        total = tf.reduce_mean(total) if loss == "vector" else total
        return {
            "both": (total, acc),
            "none": None,
            "swapped": (acc, total),
            "vector": (losses, acc),
        }[ret]

    return train_step


def step_local_rebinding(W_, b_):  # W = W - ... inside the function: W is a local name
    W, b = W_, b_

    def train_step(X, Y_true):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(Y_true, X @ W + b))
        dW, db = tape.gradient(loss, [W, b])
        W = W - LR * dW  # noqa: F841,F823
        return loss, _accuracy(Y_true, X @ W + b)

    return train_step


CASES = {
    "model": Case(
        run=lambda fn: check.model(fn, W, b),
        right=[model_tf, model_by_hand, model_keras_ops, model_einsum],
        wrong=[
            Wrong(lambda X: tf.exp(X @ W + b), r"rows do not sum to 1", "no softmax"),
            Wrong(lambda X: X @ W + b, r"rows do not sum to 1", "returns the scores"),
            Wrong(
                lambda X: tf.nn.softmax(X @ W + b, axis=0),
                r"not over the batch \(axis=0\)",
                "softmax over the batch",
            ),
            Wrong(lambda X: tf.nn.softmax(X @ W), r"ignores the bias", "no bias"),
            Wrong(lambda X: tf.sigmoid(X @ W + b), r"rows do not sum to 1", "sigmoid"),
            Wrong(lambda X: None, r"returns nothing", "no return"),
            Wrong(
                lambda X: tf.nn.softmax(np.asarray(X) @ W.numpy() + b.numpy()),
                r"no gradient .* outside TensorFlow",
                "computed in NumPy",
            ),
        ],
    ),
    "cross_entropy": Case(
        run=check.cross_entropy,
        right=[ce_tf, ce_true_class, ce_keras, ce_keras_ops],
        wrong=[
            Wrong(
                lambda Yt, Y: -tf.reduce_mean(tf.reduce_sum(Yt * tf.math.log(Y), axis=1)),
                r"one number for the batch \(the mean",
                "averaged over the batch",
            ),
            Wrong(
                lambda Yt, Y: -tf.reduce_sum(Yt * tf.math.log(Y)),
                r"one number for the batch \(the sum",
                "no axis",
            ),
            Wrong(
                lambda Yt, Y: -tf.reduce_sum(Yt * tf.math.log(Y), axis=0),
                r"one per class.*not over the batch",
                "axis 0",
            ),
            Wrong(
                lambda Yt, Y: tf.reduce_sum(Yt * tf.math.log(Y), axis=1),
                r"minus sign is missing",
                "no minus",
            ),
            Wrong(
                lambda Yt, Y: -tf.reduce_mean(Yt * tf.math.log(Y), axis=1),
                r"a tenth.*not the mean",
                "mean over the classes",
            ),
            Wrong(
                lambda Yt, Y: -tf.reduce_sum(Y * tf.math.log(Yt), axis=1),
                r"not of the one-hot labels",
                "arguments swapped",
            ),
            Wrong(
                lambda Yt, Y: -tf.reduce_sum(Yt * tf.experimental.numpy.log10(Y), axis=1),
                r"base-10 logarithm",
                "log10",
            ),
            Wrong(lambda Yt, Y: None, r"returns nothing", "no return"),
            Wrong(
                lambda Yt, Y: -np.sum(np.asarray(Yt) * np.log(np.asarray(Y)), axis=1),
                r"no gradient .* outside TensorFlow",
                "NumPy",
            ),
        ],
    ),
    "train_step": Case(
        run=run_step,
        unfilled=lambda W, b: _unfilled_step,
        right=[step_notebook, step_logits, step_keras_loss],
        wrong=[
            Wrong(
                lambda W, b: _step(W, b, ret="none"), r"returns nothing.*unpacks", "returns nothing"
            ),
            Wrong(
                lambda W, b: _step(W, b, in_place=False),
                r"did not change.*in place",
                "not in place",
            ),
            Wrong(step_local_rebinding, r"local name.*in place", "W = W - ... in the function"),
            Wrong(
                lambda W, b: _step(W, b, loss="sum"), r"summed over the batch.*mean", "summed loss"
            ),
            Wrong(
                lambda W, b: _step(W, b, loss="vector", ret="vector"),
                r"summed over the batch.*mean",
                "the loss per image, not its mean",
            ),
            Wrong(
                lambda W, b: _step(W, b, sign=1), r"up the gradient \(wrong sign\)", "wrong sign"
            ),
            Wrong(
                lambda W, b: _step(W, b, update_b=False),
                r"b did not change.*bias",
                "no bias update",
            ),
            Wrong(lambda W, b: _step(W, b, ret="swapped"), r"swapped", "(accuracy, loss)"),
        ],
    ),
}
