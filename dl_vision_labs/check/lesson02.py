"""Checks of notebook 02's exercises: softmax regression from scratch."""

import numpy as np

from .core import _compare, exercise, _np, _softmax, Wrong


def _batch(n: int = 6, features: int = 784, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, size=(n, features)).astype(np.float32)
    labels = rng.integers(0, 10, size=n)
    return X, np.eye(10, dtype=np.float32)[labels]


def _with_values(variables, values, call):
    """Run call() with the tf.Variables temporarily set to `values`; restore them after."""
    saved = [v.numpy() for v in variables]
    try:
        for v, value in zip(variables, values):
            v.assign(value.astype(saved[0].dtype))
        return call()
    finally:
        for v, value in zip(variables, saved):
            v.assign(value)


@exercise(
    "tf.matmul(X, W) is [batch, 10]; adding b broadcasts it over the rows; "
    "tf.nn.softmax turns each row of scores into probabilities.")
def model(fn, W, b) -> None:
    """`fn(X)` = softmax(X·W + b) for the notebook's variables W [784, 10] and b [10]."""
    rng = np.random.default_rng(0)
    X, _ = _batch()
    W0, b0 = rng.normal(0, 0.05, size=(784, 10)), rng.normal(0, 1, size=10)
    Y = _np(_with_values([W, b], [W0, b0], lambda: fn(X)))
    if Y.shape != (6, 10):
        raise Wrong(f"for 6 images the output has shape {Y.shape}, expected (6, 10)")
    sums = np.abs(Y.sum(axis=1) - 1)
    if sums.max() > 1e-4:
        raise Wrong(f"rows do not sum to 1: largest error {sums.max():.2g} (softmax over "
                    "the 10 classes, axis 1)")
    _compare(Y, _softmax(X.astype(np.float64) @ W0 + b0), "softmax(X·W + b)", rtol=1e-3)


@exercise(
    "Multiply the one-hot labels by tf.math.log(Y) element by element, sum over the "
    "10 classes (axis=1) and negate: one loss per image.")
def cross_entropy(fn) -> None:
    """`fn(Y_true, Y)`: one cross-entropy −Σ Y′·log(Y) per row."""
    rng = np.random.default_rng(0)
    _, Y_true = _batch()
    Y = _softmax(rng.normal(size=(6, 10))).astype(np.float32)
    got = _np(fn(Y_true, Y))
    if got.shape == ():
        raise Wrong("it returns one number for the batch; the lesson's cross_entropy gives "
                    "one loss per image (sum over the classes only, axis=1)")
    want = -np.log(Y.astype(np.float64)[np.arange(6), Y_true.argmax(axis=1)])
    _compare(got, want, "the cross-entropy", rtol=1e-4)


@exercise(
    "Inside `with tf.GradientTape() as tape:` compute Y = model(X) and the mean "
    "cross-entropy; tape.gradient(loss, [W, b]) gives dW, db; then "
    "W.assign_sub(LEARNING_RATE * dW) and the same for b. Return the loss and "
    "accuracy(Y_true, Y).")
def train_step(fn, W, b, learning_rate: float) -> None:
    """`fn(X, Y_true)` does one gradient-descent step on the mean cross-entropy (W, b in place)."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    X, Y = _batch(8)
    W0 = rng.normal(0, 0.05, size=(784, 10)).astype(np.float32)
    b0 = rng.normal(0, 1, size=10).astype(np.float32)

    def step():
        fn(tf.constant(X), tf.constant(Y))
        return W.numpy().astype(np.float64), b.numpy().astype(np.float64)

    W1, b1 = _with_values([W, b], [W0, b0], step)
    G = (_softmax(X.astype(np.float64) @ W0 + b0) - Y) / len(X)  # ∂ mean loss / ∂ scores
    dW, db = X.T.astype(np.float64) @ G, G.sum(axis=0)
    if np.allclose(W1, W0) and np.allclose(b1, b0):
        raise Wrong("W and b did not change: update them in place (W.assign_sub(...))")
    if np.allclose(W1, W0 + learning_rate * dW, atol=1e-5):
        raise Wrong("W moved up the gradient: subtract LEARNING_RATE × gradient")
    _compare(W1, W0 - learning_rate * dW, "W after one step", rtol=1e-3, atol=1e-5)
    _compare(b1, b0 - learning_rate * db, "b after one step", rtol=1e-3, atol=1e-5)
