"""Checks of notebook 02's exercises: softmax regression from scratch (TensorFlow itself)."""

import numpy as np

from .core import Wrong, _compare, _np, _softmax, exercise


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


def _array(got, what: str) -> np.ndarray:
    if got is None:
        raise Wrong(f"{what} is None: the function returns nothing (a `return` is missing)")
    return _np(got)


def _total(out, weights=1.0):
    """A number to differentiate: the weighted sum of `out` (None where it is not a tensor)."""
    import tensorflow as tf

    try:
        return tf.reduce_sum(tf.cast(out, tf.float64) * weights)
    except (TypeError, ValueError):
        return None


def _not_differentiable(what: str) -> Wrong:
    return Wrong(
        f"tf.GradientTape finds no gradient through {what}: it is computed outside "
        "TensorFlow (NumPy, .numpy() or float()); use tf operations so that "
        "train_step can differentiate it"
    )


@exercise(
    "tf.matmul(X, W) is [batch, 10]; adding b broadcasts it over the rows; "
    "tf.nn.softmax turns each row of scores into probabilities."
)
def model(fn, W, b) -> None:
    """`fn(X)` = softmax(X·W + b) for the notebook's variables W [784, 10] and b [10]."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    X, _ = _batch()
    W0, b0 = rng.normal(0, 0.05, size=(784, 10)), rng.normal(0, 1, size=10)
    weights = rng.normal(size=(6, 10))

    def run():
        with tf.GradientTape() as tape:
            Y = fn(tf.constant(X))
            score = _total(Y, weights)
        grads = None if score is None else tape.gradient(score, [W, b])
        return _array(Y, "the output of model(X)"), grads

    Y, grads = _with_values([W, b], [W0, b0], run)
    if Y.shape != (6, 10):
        raise Wrong(
            f"for 6 images the output has shape {Y.shape}, expected (6, 10)"
            + (" (X·W, not W·X)" if Y.shape == (10, 6) else "")
        )
    scores = X.astype(np.float64) @ W0 + b0
    sums = np.abs(Y.sum(axis=1) - 1)
    if sums.max() > 1e-4:
        if np.allclose(Y, _softmax(scores.T).T, rtol=1e-3):
            raise Wrong(
                "each column sums to 1, not each row: softmax over the 10 classes "
                "(axis=1 or -1), not over the batch (axis=0)"
            )
        raise Wrong(
            f"rows do not sum to 1 (largest error {sums.max():.2g}): apply softmax "
            "over the 10 classes (axis 1) to the scores X·W + b"
        )
    if np.allclose(Y, _softmax(X.astype(np.float64) @ W0), rtol=1e-3, atol=1e-6):
        raise Wrong("the output ignores the bias b: softmax(X·W + b), not softmax(X·W)")
    _compare(Y, _softmax(scores), "softmax(X·W + b)", rtol=1e-3)
    if grads is None or any(g is None for g in grads):
        raise _not_differentiable("model(X) to W and b")


@exercise(
    "Multiply the one-hot labels by tf.math.log(Y) element by element, sum over the "
    "10 classes (axis=1) and negate: one loss per image."
)
def cross_entropy(fn) -> None:
    """`fn(Y_true, Y)`: one cross-entropy −Σ Y′·log(Y) per row, differentiable in Y."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    _, Y_true = _batch()
    Y = _softmax(rng.normal(size=(6, 10))).astype(np.float32)
    Yv = tf.Variable(Y)
    with tf.GradientTape() as tape:
        out = fn(tf.constant(Y_true), Yv)
        total = _total(out)
    got = _array(out, "the cross-entropy")
    Y64 = Y.astype(np.float64)
    want = -np.log(Y64[np.arange(6), Y_true.argmax(axis=1)])
    if got.shape == ():
        how = (
            " (the mean of the losses)"
            if np.isclose(got, want.mean(), rtol=1e-3)
            else " (the sum of the losses)"
            if np.isclose(got, want.sum(), rtol=1e-3)
            else ""
        )
        raise Wrong(
            f"it returns one number for the batch{how}; the lesson's cross_entropy "
            "gives one loss per image (sum over the classes only, axis=1)"
        )
    if got.shape == (10,):
        raise Wrong(
            "it returns 10 numbers (one per class): sum over the classes (axis=1), "
            "not over the batch (axis=0)"
        )
    if got.shape == want.shape:
        if np.allclose(got, -want, rtol=1e-3):
            raise Wrong("every loss is negative: the minus sign is missing (−Σ Y′·log(Y))")
        if np.allclose(got, want / 10, rtol=1e-3):
            raise Wrong(
                "the losses are a tenth of the cross-entropy: sum over the 10 classes "
                "(tf.reduce_sum), not the mean"
            )
        if np.allclose(got, want / np.log(10), rtol=1e-3):
            raise Wrong(
                "it uses the base-10 logarithm; the cross-entropy uses the natural "
                "logarithm tf.math.log"
            )
        if not np.all(np.isfinite(got)):
            raise Wrong(
                "the losses contain NaN or infinity: the log is of the prediction Y, "
                "not of the one-hot labels (argument order: Y_true, Y)"
            )
    _compare(got, want, "the cross-entropy", rtol=1e-4)
    if total is None or tape.gradient(total, Yv) is None:
        raise _not_differentiable("cross_entropy to Y")


def _values(pair):
    return tuple(float(np.mean(_np(v))) for v in pair)


@exercise(
    "Inside `with tf.GradientTape() as tape:` compute Y = model(X) and the mean "
    "cross-entropy; tape.gradient(loss, [W, b]) gives dW, db; then "
    "W.assign_sub(LEARNING_RATE * dW) and the same for b. Return the loss and "
    "accuracy(Y_true, Y)."
)
def train_step(fn, W, b, learning_rate: float) -> None:
    """`fn(X, Y_true)`: one gradient-descent step on the mean cross-entropy (W, b changed in
    place); returns (loss, accuracy), which the training loop unpacks."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    X, Y = _batch(8)
    W0 = rng.normal(0, 0.05, size=(784, 10)).astype(np.float32)
    b0 = rng.normal(0, 1, size=10).astype(np.float32)

    def step():
        try:
            out = fn(tf.constant(X), tf.constant(Y))
        except UnboundLocalError as err:
            raise Wrong(
                f"{err}: `W = W - ...` inside the function makes W a new local name; "
                "update the variables in place with W.assign_sub(...)"
            ) from None
        return out, W.numpy().astype(np.float64), b.numpy().astype(np.float64)

    out, W1, b1 = _with_values([W, b], [W0, b0], step)
    P = _softmax(X.astype(np.float64) @ W0 + b0)
    G = (P - Y) / len(X)  # ∂ mean loss / ∂ scores
    dW, db = X.T.astype(np.float64) @ G, G.sum(axis=0)
    W_ok = np.allclose(W1, W0 - learning_rate * dW, rtol=1e-3, atol=1e-5)
    b_ok = np.allclose(b1, b0 - learning_rate * db, rtol=1e-3, atol=1e-5)
    if np.allclose(W1, W0) and np.allclose(b1, b0):
        raise Wrong(
            "W and b did not change: update the variables in place "
            "(W.assign_sub(LEARNING_RATE * dW)); `W = W - ...` only makes a new tensor"
        )
    if np.allclose(W1, W0 + learning_rate * dW, atol=1e-5):
        raise Wrong("W moved up the gradient (wrong sign): subtract LEARNING_RATE × gradient")
    if np.allclose(W1, W0 - len(X) * learning_rate * dW, rtol=1e-3, atol=1e-5):
        raise Wrong(
            f"the step is {len(X)} times too large for a batch of {len(X)}: the loss "
            "is summed over the batch; differentiate its mean (tf.reduce_mean)"
        )
    if W_ok and np.allclose(b1, b0):
        raise Wrong(
            "W is updated but b did not change: update the bias too "
            "(b.assign_sub(LEARNING_RATE * db))"
        )
    if W_ok and np.allclose(b1, b0 + learning_rate * db, atol=1e-5):
        raise Wrong("b moved up the gradient (wrong sign): subtract LEARNING_RATE × gradient")
    _compare(W1, W0 - learning_rate * dW, "W after one step", rtol=1e-3, atol=1e-5)
    if not b_ok:
        _compare(b1, b0 - learning_rate * db, "b after one step", rtol=1e-3, atol=1e-5)

    if out is None:
        raise Wrong(
            "train_step returns nothing: the training loop unpacks `loss, acc = "
            "train_step(X, Y_true)`, so return the loss and the accuracy"
        )
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise Wrong(
            f"train_step returns {type(out).__name__}"
            + (f" of {len(out)} values" if isinstance(out, (tuple, list)) else "")
            + ": return two values, the loss and the accuracy"
        )
    for what, value in zip(("loss", "accuracy"), out):
        if value is None or _np(value).size != 1:
            raise Wrong(
                f"the returned {what} is "
                + ("None" if value is None else f"of shape {_np(value).shape}")
                + ": return one number, the mean over the batch"
            )
    loss, acc = _values(out)
    ce = -np.log(P[np.arange(len(X)), Y.argmax(axis=1)])
    accuracies = [
        np.mean(p.argmax(axis=1) == Y.argmax(axis=1))
        for p in (P, _softmax(X.astype(np.float64) @ W1 + b1))
    ]
    if np.isclose(acc, ce.mean(), rtol=1e-3) and any(np.isclose(loss, a) for a in accuracies):
        raise Wrong("the loss and the accuracy are swapped: return loss, accuracy")
    if np.isclose(loss, ce.sum(), rtol=1e-3):
        raise Wrong(
            f"the returned loss is the sum over the batch ({loss:.4g}); return the "
            f"mean cross-entropy ({ce.mean():.4g}) that you differentiate"
        )
    if not np.isclose(loss, ce.mean(), rtol=1e-3):
        raise Wrong(
            f"the returned loss is {loss:.4g}, expected the batch's mean "
            f"cross-entropy before the step, {ce.mean():.4g}"
        )
    if not any(np.isclose(acc, a) for a in accuracies):
        raise Wrong(
            f"the returned accuracy is {acc:.4g}, expected the share of images whose "
            f"most probable digit is right, {accuracies[0]:.4g}"
        )
