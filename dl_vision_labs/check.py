"""Checks that a notebook's hand-written code agrees with a reference computed another way.

    gaps = check.compare_batch_norm(BatchNorm)   # notebook 05: our layer against Keras' own

Exercises (the lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` of a lesson,
removed from its copy in ``exercises/``, see tools/exercises.py): the cell after each one
calls the check of the same name, which prints one line::

    check.l2_distances(l2_distances)   # l2_distances: passed
                                       # l2_distances: not filled in yet (hint: check.hint(...))
                                       # l2_distances: wrong: distances differ from ... at [2, 4]
    check.hint("l2_distances")         # a hint, on request

A check compares the student's function with a reference computed another way (a loop,
finite differences, GradientTape, Keras' own layer) on small fixed inputs: any correct
implementation passes. Each result is appended (one JSON line) to ``LABS_CHECKS_FILE``
when set; with ``LABS_STRICT_CHECKS=1`` a check that does not pass raises `CheckFailed`
(the lesson notebooks' tests). In IPython, a cell that calls an unfilled exercise stops
with one sentence naming it instead of a stack trace (`stop_message`).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re

import numpy as np
from keras import Input, Model, layers, ops

from .classic import numerical_gradient as _numerical_gradient  # f() against x, in place


def compare_batch_norm(layer_class, *, seed: int = 0, steps: int = 3) -> dict:
    """How far a hand-written batch-normalization layer is from `keras.layers.BatchNormalization`.

    `layer_class()` must create its weights in Keras' order (scale, offset,
    moving mean, moving variance) and use Keras' defaults (momentum 0.99,
    epsilon 0.001). Both layers start from the same random scale and offset,
    see `steps` training batches (the output and the moving averages are
    compared after each), then a new batch in inference mode, for a dense input
    ``(batch, features)`` and a conv input ``(batch, height, width, channels)``.

    Returns the largest absolute difference for each case, e.g.
    ``{"dense, training": 2e-7, "dense, inference": 1e-7, "conv, training": ...}``.
    """
    rng = np.random.default_rng(seed)
    gaps = {}
    for kind, shape in (("dense", (32, 20)), ("conv", (8, 6, 6, 5))):
        ours, ref = layer_class(), layers.BatchNormalization()
        ours.build(shape)
        ref.build(shape)
        channels = shape[-1]
        ref.set_weights([rng.uniform(0.5, 2, channels), rng.normal(size=channels),
                         np.zeros(channels), np.ones(channels)])
        ours.set_weights(ref.get_weights())
        batch = lambda: (rng.normal(size=shape) * 3 + 2).astype("float32")  # noqa: E731
        train_gap = 0.0
        for _ in range(steps):
            x = batch()
            y_ours, y_ref = ours(x, training=True), ref(x, training=True)
            train_gap = max(train_gap, float(np.abs(ops.convert_to_numpy(y_ours - y_ref)).max()),
                            *(float(np.abs(a - b).max())
                              for a, b in zip(ours.get_weights(), ref.get_weights())))
        x = batch()
        gaps[f"{kind}, training"] = train_gap
        gaps[f"{kind}, inference"] = float(np.abs(ops.convert_to_numpy(
            ours(x, training=False) - ref(x, training=False))).max())
    return gaps


# --- exercises: plumbing ------------------------------------------------------------------

CHECKS_FILE_VAR = "LABS_CHECKS_FILE"
STRICT_VAR = "LABS_STRICT_CHECKS"
PASSED, NOT_FILLED, WRONG = "passed", "not filled in", "wrong"
_EXERCISE = re.compile(r"exercise '(\w+)'")


class Wrong(Exception):
    """Raised inside a check: what is wrong with the student's function, in one sentence."""


class CheckFailed(AssertionError):
    """Strict mode (``LABS_STRICT_CHECKS=1``): a check that did not pass."""


HINTS = {
    # 00
    "l2_distances": "Expand ‖a − b‖² = ‖a‖² + ‖b‖² − 2 a·b: one matrix product A @ B.T gives "
                    "every a·b; add the squared norms of the rows of A as a column and those "
                    "of B as a row (broadcasting), then take the square root (clip tiny "
                    "negatives to 0 first).",
    "vote": "Count each class among a row's labels: (labels[:, :, None] == np.arange(classes))"
            ".sum(axis=1) gives a (queries, classes) table. The classes with the largest count "
            "win; among tied winners, take the one whose neighbour comes first in the row.",
    "svm_loss": "Scores S = X @ W + b; margins max(0, S − S[rows, y][:, None] + 1) with the "
                "correct class set to 0; loss = margins.sum() / n + reg·ΣW². Gradient of the "
                "scores G: 1 where a margin is positive, minus their count at the correct "
                "class, divided by n; then dW = X.T @ G + 2·reg·W and db = G.sum(axis=0).",
    "softmax_loss": "Subtract each row's largest score before np.exp (same probabilities, no "
                    "overflow); P = exp / row sum; loss = mean of −log P[rows, y] + reg·ΣW². "
                    "The gradient of the scores is (P − one_hot(y)) / n; dW = X.T @ G + "
                    "2·reg·W and db = G.sum(axis=0).",
    # 02
    "model": "tf.matmul(X, W) is [batch, 10]; adding b broadcasts it over the rows; "
             "tf.nn.softmax turns each row of scores into probabilities.",
    "cross_entropy": "Multiply the one-hot labels by tf.math.log(Y) element by element, sum "
                     "over the 10 classes (axis=1) and negate: one loss per image.",
    "train_step": "Inside `with tf.GradientTape() as tape:` compute Y = model(X) and the mean "
                  "cross-entropy; tape.gradient(loss, [W, b]) gives dW, db; then "
                  "W.assign_sub(LEARNING_RATE * dW) and the same for b. Return the loss and "
                  "accuracy(Y_true, Y).",
    # 03
    "five_layer_model": "keras.Sequential: keras.Input(shape=(28, 28, 1)), Flatten, then for each "
                        "width in (200, 100, 60, 30) a Dense(width, activation=activation) "
                        "followed, when dropout_rate > 0, by Dropout(dropout_rate); last "
                        "Dense(10, activation=\"softmax\"), with no dropout after it.",
    "decayed_learning_rate": "lr_min + (lr_max - lr_min) * np.exp(-step / decay_speed).",
    "dropout": "In training: keep = rng.random(x.shape) >= rate, then x * keep / (1 - rate) "
               "(the kept outputs grow so that their expected sum is unchanged). Outside "
               "training: x unchanged.",
    # 05
    "batch_moments": "Every axis but the last: axes = list(range(len(x.shape) - 1)), i.e. [0] "
                     "for [batch, n] and [0, 1, 2] for [batch, height, width, n]; then "
                     "ops.moments(x, axes=axes) returns (mean, variance).",
    "normalize": "x_hat = (x − mean) / ops.sqrt(variance + epsilon); return alpha * x_hat + "
                 "beta (broadcasting applies the per-channel values everywhere).",
    "batch_norm": "In training: mean, variance = batch_moments(x), and update the moving "
                  "averages with .assign(m·old + (1 − m)·new), m = self.momentum. In "
                  "inference: the moving mean and variance instead. Either way, return "
                  "normalize(x, mean, variance, self.alpha, self.beta, self.epsilon).",
    # 06
    "conv2d_loops": "out[y, x] = np.sum(image[y:y + F, x:x + F] * kernel) for kernel rows F "
                    "(and columns): the window under the kernel, multiplied element by element "
                    "and summed — no flip.",
    "conv2d": "windows[y, x] is (C_in, F, F); the output is Σ over c, a, b of windows[y, x, "
              "c, a, b] · kernels[a, b, c, o]: np.einsum(\"hwcab,abco->hwo\", windows, kernels).",
    "gaussian_kernel": "r = np.arange(size) - size // 2; g = np.exp(-(r[:, None]**2 + r[None, "
                       ":]**2) / (2 * sigma**2)); return g / g.sum().",
    "max_pool": "windows = sliding_window_view(x, (size, size), axis=(0, 1))[::stride, ::stride] "
                "has shape (H', W', C, size, size); take .max(axis=(-2, -1)).",
    "conv_block": "x = Conv2D(filters, 3, padding=\"same\", use_bias=False)(x); x = "
                  "MaxPooling2D()(x); x = ReLU()(BatchNormalization(momentum=0.9)(x)); then the "
                  "same convolution again, batch norm and ReLU (all in keras.layers).",
    # 07
    "unfreeze_top": "backbone.trainable = True first (it unfreezes every layer), then loop over "
                    "enumerate(backbone.layers) and set layer.trainable = False for the layers "
                    "before index `first` and for every keras.layers.BatchNormalization.",
    "class_activation_map": "w = kernel[:, 0] (one weight per channel k), times +1 for a "
                            "predicted dog (1) and −1 for a cat (0); then Σ_k w_k·A[n, y, x, k]: "
                            "np.einsum(\"nyxk,nk->nyx\", features, sign[:, None] * w).",
    "grad_cam_map": "alpha = gradients.mean(axis=(1, 2)) gives one weight per image and feature "
                    "map, (N, K); then np.einsum(\"nyxk,nk->nyx\", features, alpha), and "
                    "np.maximum(0, ...) keeps the positive evidence.",
    # 08
    "iou": "true, predicted = y_true == c, y_pred == c (boolean arrays); union = np.sum(true | "
           "predicted); return np.sum(true & predicted) / union, or np.nan when union is 0.",
    "pixel_classifier": "keras.layers.Conv2D(classes, 1)(features): a 1×1 kernel, no "
                        "activation (the scores are logits).",
    "transposed_output_size": "\"valid\": the last copy of the kernel starts at (W − 1)·S and "
                              "is F wide, so (W − 1)·S + F; \"same\": exactly W·S.",
    "skip": "upsampled = keras.layers.Conv2DTranspose(classes, 4, strides=2, padding=\"same\")"
            "(scores); return upsampled + pixel_classifier(features, classes).",
    "atrous_block": "branches = [keras.layers.Conv2D(filters, 3, padding=\"same\", "
                    "dilation_rate=rate, use_bias=False)(x) for rate in rates]; then x = "
                    "keras.layers.Concatenate()(branches).",
    # 09
    "discriminator_loss": "With D = σ(ℓ): −log σ(ℓ) = softplus(−ℓ) and −log(1 − σ(ℓ)) = "
                          "softplus(ℓ). Average each over its batch (ops.mean) and add them.",
    "generator_loss": "The non-saturating loss: −log D(G(z)) = softplus(−ℓ) of the fake "
                      "images' logits, averaged over the batch.",
    "gan": "GAN.adversarial_step: d_steps times, fakes = self.generator(self.noise(batch_size), "
           "training=True), then self.minimize(d_loss_fn, self.discriminator, self.d_optimizer) "
           "where d_loss_fn() returns discriminator_loss of D's logits on the real and on the "
           "fake batch. Then self.minimize(g_loss_fn, self.generator, self.g_optimizer), where "
           "g_loss_fn() returns generator_loss of D's logits on G(fresh noise). Update both "
           "loss trackers; return their results.",
    # 04
    "conv_output_size": "(W − F + 2P) / S + 1, rounded down: use integer division //, with "
                        "two_p standing for 2P.",
    "conv_params": "Each of the c_out filters has F × F × c_in weights and one bias.",
    "dense_params": "Each of the n_out neurons has one weight per input and one bias.",
    # 01
    "sigmoid_backward": "The local gradient of σ at its output s is s·(1 − s); multiply it "
                        "by the upstream gradient.",
    "value": "Value.backward: build a topological order (a depth-first visit that appends a "
             "node after all of its _prev), set every node's grad to 0 and self.grad = 1, then "
             "call node._backward() for the nodes in reversed order.",
    "two_layer_forward": "hidden = np.maximum(0, X @ W1 + b1); scores = hidden @ W2 + b2 "
                         "(params['W1'] etc.).",
    "two_layer_backward": "dW2 = hidden.T @ dscores, db2 = dscores.sum(axis=0); dhidden = "
                          "dscores @ W2.T, set to 0 where hidden <= 0 (ReLU); dW1 = X.T @ "
                          "dhidden, db1 = dhidden.sum(axis=0).",
    "l2_regularization": "loss = reg·(ΣW1² + ΣW2²); its gradient is 2·reg·W for W1 and W2 "
                         "(the biases are not regularized).",
}


def hint(name: str) -> None:
    """Print the hint of exercise `name`."""
    if name not in HINTS:
        raise KeyError(f"no exercise named {name!r}; exercises: {', '.join(sorted(HINTS))}")
    print(f"Hint for {name}: {HINTS[name]}")


def stop_message(name: str) -> str:
    """The one sentence shown when a cell calls the still-empty function of exercise `name`."""
    return (f"This cell needs exercise '{name}': fill in its TODO above (check.{name} tells "
            f"you when it is right), then run this cell again.")


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
    saved_python, saved_numpy = random.getstate(), np.random.get_state()
    try:  # Keras' global seed generator (unseeded initializers draw from it)
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
        np.random.set_state(saved_numpy)
        if global_state is not None:
            global_state.set_global_attribute(GLOBAL_SEED_GENERATOR, generator)
            if generator is not None:
                generator.state.assign(saved_keras)


def _run(name: str, test) -> None:
    """Run `test()` (raises Wrong, NotImplementedError or passes); print and record one line."""
    try:
        with _same_random_state():
            test()
        status, detail = PASSED, "passed"
    except NotImplementedError as err:
        other = exercise_of(err)
        status = NOT_FILLED
        detail = (f"not filled in yet (replace its TODO with your code; "
                  f"check.hint({name!r}) for a hint)")
        if other and other != name:
            detail = f"not filled in yet: it needs exercise '{other}' first"
    except Wrong as err:
        status, detail = WRONG, f"wrong: {err}"
    except Exception as err:  # the student's code raised: say what, in one line
        status, detail = WRONG, f"your function raised {type(err).__name__}: {err}"
    detail = " ".join(str(detail).split())
    if len(detail) > 300:
        detail = detail[:297] + "..."
    line = f"{name}: {detail}"
    print(("✓ " if status == PASSED else "✗ ") + line)
    _record({"exercise": name, "status": status, "message": detail})
    if status != PASSED and os.environ.get(STRICT_VAR, "") not in ("", "0"):
        raise CheckFailed(line)


def _np(x) -> np.ndarray:
    if hasattr(x, "numpy"):  # a TensorFlow tensor or variable (JAX and NumPy arrays convert)
        x = x.numpy()
    return np.asarray(x, dtype=np.float64)


def _where(index) -> str:
    return "[" + ", ".join(str(int(i)) for i in index) + "]"


def _compare(got, want, what: str, *, rtol: float = 1e-4, atol: float = 1e-6) -> None:
    """Raise Wrong when `got` differs from `want` (shape first, then values)."""
    got = _np(got)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        raise Wrong(f"{what} has shape {got.shape}, expected {want.shape}")
    if not np.all(np.isfinite(got)):
        raise Wrong(f"{what} contains NaN or infinity")
    error = np.abs(got - want)
    bad = error > atol + rtol * np.abs(want)
    if bad.any():
        i = np.unravel_index(np.argmax(np.where(bad, error, -1)), error.shape) if error.ndim else ()
        at = f" at {_where(i)}" if error.ndim else ""
        raise Wrong(f"{what} differs from the reference: largest error "
                    f"{error.max():.3g}{at} (got {got[i]:.6g}, expected {want[i]:.6g})")


def _compare_gradient(got, numerical: np.ndarray, name: str, tolerance: float = 1e-5) -> None:
    got = _np(got)
    if got.shape != numerical.shape:
        raise Wrong(f"the gradient of {name} has shape {got.shape}, expected {numerical.shape}")
    rel = np.abs(got - numerical) / np.maximum(np.abs(got) + np.abs(numerical), 1e-8)
    if rel.max() > tolerance:
        i = np.unravel_index(np.argmax(rel), rel.shape)
        raise Wrong(f"gradient differs from the numerical one: relative error {rel.max():.1e} "
                    f"on {name}{_where(i)} (got {got[i]:.4g}, numerically {numerical[i]:.4g})")


def _softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# --- exercises of notebook 00: k-NN and linear classifiers ------------------------------

def l2_distances(fn) -> None:
    """`fn(A, B)`: the (len(A), len(B)) matrix of Euclidean distances between rows."""
    def test():
        rng = np.random.default_rng(0)
        A, B = rng.normal(size=(5, 12)) * 50, rng.normal(size=(7, 12)) * 50
        want = np.array([[np.sqrt(np.sum((a - b) ** 2)) for b in B] for a in A])
        _compare(fn(A.astype(np.float32), B.astype(np.float32)), want, "the distance matrix",
                 rtol=1e-3)
        _compare(fn(A[:2], A[:2]).diagonal(), np.zeros(2), "the distance of a row to itself",
                 atol=1e-2)
    _run("l2_distances", test)


def _reference_vote(labels: np.ndarray, classes: int) -> np.ndarray:
    out = []
    for row in labels:
        counts = [list(row).count(c) for c in range(classes)]
        best = max(counts)
        out.append(next(label for label in row if counts[label] == best))  # nearest first
    return np.array(out)


def vote(fn) -> None:
    """`fn(neighbour_labels, classes=10)`: majority class per row, ties to the nearest winner."""
    def test():
        labels = np.array([[3, 1, 3, 2, 3], [1, 4, 4, 1, 0], [7, 2, 2, 7, 5], [0, 9, 8, 6, 5],
                           [2, 2, 5, 5, 5], [9, 9, 9, 9, 9]])
        got = _np(fn(labels, classes=10)).astype(int)
        want = _reference_vote(labels, 10)
        if got.shape != want.shape:
            raise Wrong(f"the votes have shape {got.shape}, expected {want.shape} (one per row)")
        for row, g, w in zip(labels, got, want):
            if g != w:
                raise Wrong(f"neighbour labels {row.tolist()} (nearest first): got {g}, "
                            f"expected {w} (most votes; a tie goes to the class of the "
                            f"nearest neighbour among the tied classes)")
        rng = np.random.default_rng(1)
        many = rng.integers(0, 4, size=(50, 7))
        _compare(fn(many, classes=4), _reference_vote(many, 4), "the votes on random labels")
    _run("vote", test)


def _loss_gradient_check(name: str, fn, reference_loss) -> None:
    def test():
        rng = np.random.default_rng(0)
        X, y = rng.normal(size=(8, 5)), rng.integers(0, 4, size=8)
        W, b = 0.5 * rng.normal(size=(5, 4)), rng.normal(size=4)
        reg = 0.1
        loss, dW, db = fn(W.copy(), b.copy(), X.copy(), y, reg)
        _compare(loss, reference_loss(W, b, X, y, reg), "the loss", rtol=1e-6)
        loss_of = lambda: float(fn(W, b, X, y, reg)[0])  # noqa: E731
        _compare_gradient(dW, _numerical_gradient(loss_of, W), "W")
        _compare_gradient(db, _numerical_gradient(loss_of, b), "b")
    _run(name, test)


def svm_loss(fn) -> None:
    """`fn(W, b, X, y, reg)` -> (loss, dW, db): multiclass SVM loss, mean over the examples."""
    def reference(W, b, X, y, reg):
        total = 0.0
        for x, label in zip(X, y):
            s = x @ W + b
            total += sum(max(0.0, s[j] - s[label] + 1) for j in range(len(s)) if j != label)
        return total / len(X) + reg * np.sum(W * W)
    _loss_gradient_check("svm_loss", fn, reference)


def softmax_loss(fn) -> None:
    """`fn(W, b, X, y, reg)` -> (loss, dW, db): softmax cross-entropy, mean over the examples."""
    def reference(W, b, X, y, reg):
        total = 0.0
        for x, label in zip(X, y):
            s = x @ W + b
            total += np.log(np.sum(np.exp(s))) - s[label]  # −log(e^s_y / Σ e^s_j)
        return total / len(X) + reg * np.sum(W * W)
    _loss_gradient_check("softmax_loss", fn, reference)


# --- exercises of notebook 02: softmax regression from scratch ---------------------------

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


def model(fn, W, b) -> None:
    """`fn(X)` = softmax(X·W + b) for the notebook's variables W [784, 10] and b [10]."""
    def test():
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
    _run("model", test)


def cross_entropy(fn) -> None:
    """`fn(Y_true, Y)`: one cross-entropy −Σ Y′·log(Y) per row."""
    def test():
        rng = np.random.default_rng(0)
        _, Y_true = _batch()
        Y = _softmax(rng.normal(size=(6, 10))).astype(np.float32)
        got = _np(fn(Y_true, Y))
        if got.shape == ():
            raise Wrong("it returns one number for the batch; the lesson's cross_entropy gives "
                        "one loss per image (sum over the classes only, axis=1)")
        want = -np.log(Y.astype(np.float64)[np.arange(6), Y_true.argmax(axis=1)])
        _compare(got, want, "the cross-entropy", rtol=1e-4)
    _run("cross_entropy", test)


def train_step(fn, W, b, learning_rate: float) -> None:
    """`fn(X, Y_true)` does one gradient-descent step on the mean cross-entropy (W, b in place)."""
    def test():
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
    _run("train_step", test)


# --- exercises of notebook 03: the five-layer network -----------------------------------

def _layer_kinds(model) -> list[tuple]:
    """("dense", units), ("act", name), ("dropout", rate) in order; other layers left out."""
    out = []
    for layer in model.layers:
        if isinstance(layer, layers.Dense):
            out.append(("dense", layer.units))
            name = getattr(layer.activation, "__name__", str(layer.activation))
            if name != "linear":
                out.append(("act", name))
        elif isinstance(layer, layers.Activation):
            out.append(("act", getattr(layer.activation, "__name__", str(layer.activation))))
        elif isinstance(layer, layers.Dropout):
            out.append(("dropout", float(layer.rate)))
    return out


def five_layer_model(fn) -> None:
    """`fn(activation, dropout_rate=0.0)`: 784 -> 200 -> 100 -> 60 -> 30 -> 10 as a Keras model."""
    widths = [200, 100, 60, 30]

    def test():
        for activation, rate in (("relu", 0.25), ("sigmoid", 0.0)):
            built = fn(activation, dropout_rate=rate)
            kinds = _layer_kinds(built)
            dense = [k[1] for k in kinds if k[0] == "dense"]
            if dense != widths + [10]:
                raise Wrong(f"the Dense layers have {dense} neurons, expected {widths + [10]}")
            want = []
            for width in widths:
                want += [("dense", width), ("act", activation)] + ([("dropout", rate)] * (rate > 0))
            want += [("dense", 10), ("act", "softmax")]
            if kinds != want:
                got_drop = [i for i, k in enumerate(kinds) if k[0] == "dropout"]
                if rate > 0 and (not got_drop or kinds[-1][0] == "dropout"):
                    raise Wrong(f"with dropout_rate={rate}: a Dropout({rate}) must follow each "
                                "hidden layer's activation, and none the output")
                shown = ", ".join(f"{a}({b})" for a, b in kinds)
                raise Wrong(f"{activation}, dropout_rate={rate}: the layers are {shown}; expected "
                            f"each hidden Dense with {activation!r}"
                            + (f" then Dropout({rate})" if rate else "") + ", and a softmax output")
            params = sum(n_in * n_out + n_out for n_in, n_out in
                         zip([784] + widths, widths + [10]))
            if built.count_params() != params:
                raise Wrong(f"the model has {built.count_params():,} parameters, expected "
                            f"{params:,} (input 28×28×1 flattened to 784)")
            out = _np(built(np.zeros((2, 28, 28, 1), "float32"), training=False))
            if out.shape != (2, 10) or np.abs(out.sum(axis=1) - 1).max() > 1e-4:
                raise Wrong(f"for 2 images the output has shape {out.shape}, expected (2, 10) "
                            "rows of probabilities")
    _run("five_layer_model", test)


def decayed_learning_rate(fn) -> None:
    """`fn(step, lr_max, lr_min, decay_speed)`: exponential decay from lr_max towards lr_min."""
    def test():
        for step, lr_max, lr_min, speed in [(0, 0.003, 0.0001, 4000), (2000, 0.003, 0.0001, 4000),
                                            (15000, 0.003, 0.0001, 4000), (10, 0.1, 0.01, 5)]:
            want = lr_min + (lr_max - lr_min) * np.exp(-step / speed)
            got = float(_np(fn(step, lr_max=lr_max, lr_min=lr_min, decay_speed=speed)))
            if not np.isclose(got, want, rtol=1e-5, atol=1e-9):
                raise Wrong(f"at step {step} (lr_max={lr_max}, lr_min={lr_min}, decay_speed="
                            f"{speed}) the learning rate is {got:.6g}, expected {want:.6g}")
    _run("decayed_learning_rate", test)


def dropout(fn) -> None:
    """`fn(x, rate, training, rng)`: inverted dropout of a NumPy array."""
    def test():
        x = np.ones((200, 500))
        for rate in (0.25, 0.5):
            out = _np(fn(x, rate, True, np.random.default_rng(0)))
            if out.shape != x.shape:
                raise Wrong(f"the output has shape {out.shape}, expected {x.shape}")
            dropped = np.mean(out == 0)
            if abs(dropped - rate) > 0.01:
                raise Wrong(f"rate {rate}: {dropped:.1%} of the outputs are 0, expected about "
                            f"{rate:.0%}")
            kept = out[out != 0]
            if not np.allclose(kept, 1 / (1 - rate)):
                raise Wrong(f"rate {rate}: a kept output of 1 becomes {kept.mean():.4g}, "
                            f"expected 1/(1 − {rate}) = {1 / (1 - rate):.4g}")
        x = np.random.default_rng(1).normal(size=(4, 6))
        if not np.array_equal(_np(fn(x, 0.5, False, np.random.default_rng(0))), x):
            raise Wrong("outside training (training=False) the input must pass unchanged")
    _run("dropout", test)


# --- exercises of notebook 04: convolutional networks -----------------------------------

def conv_output_size(fn) -> None:
    """`fn(W, F, S, two_p)`: how many positions a filter takes across a padded input."""
    def test():
        for W, F, S, two_p in [(28, 5, 1, 4), (28, 5, 2, 3), (14, 4, 2, 2), (32, 3, 1, 0),
                               (7, 3, 2, 0), (10, 4, 3, 1)]:
            want = sum(1 for start in range(0, W + two_p) if start % S == 0
                       and start + F <= W + two_p)  # count the positions, one by one
            got = fn(W, F, S, two_p)
            if int(got) != got or int(got) != want:
                raise Wrong(f"conv_output_size(W={W}, F={F}, S={S}, two_p={two_p}) = {got}, "
                            f"expected {want} (a whole number of positions)")
    _run("conv_output_size", test)


def conv_params(fn) -> None:
    """`fn(F, c_in, c_out)`: weights and biases of a conv layer, as Keras counts them."""
    def test():
        for F, c_in, c_out in [(5, 1, 4), (5, 4, 8), (3, 16, 32), (1, 7, 2)]:
            layer = layers.Conv2D(c_out, F)
            layer.build((None, 9, 9, c_in))
            got, want = fn(F, c_in, c_out), layer.count_params()
            if got != want:
                raise Wrong(f"conv_params({F}, {c_in}, {c_out}) = {got}, Keras counts {want}")
    _run("conv_params", test)


def dense_params(fn) -> None:
    """`fn(n_in, n_out)`: weights and biases of a dense layer, as Keras counts them."""
    def test():
        for n_in, n_out in [(588, 200), (200, 10), (3, 1)]:
            layer = layers.Dense(n_out)
            layer.build((None, n_in))
            got, want = fn(n_in, n_out), layer.count_params()
            if got != want:
                raise Wrong(f"dense_params({n_in}, {n_out}) = {got}, Keras counts {want}")
    _run("dense_params", test)


# --- exercises of notebook 05: batch normalization -------------------------------------

def batch_moments(fn) -> None:
    """`fn(x)` -> (mean, variance) over every axis but the last, dense and conv inputs."""
    def test():
        rng = np.random.default_rng(0)
        for kind, shape in (("dense", (32, 20)), ("conv", (8, 6, 6, 5))):
            x = (rng.normal(size=shape) * 3 + 2).astype("float32")
            out = fn(x)
            if not isinstance(out, (tuple, list)) or len(out) != 2:
                raise Wrong("return two values: the mean and the variance")
            axes = tuple(range(len(shape) - 1))
            for what, got, want in (("mean", out[0], x.mean(axis=axes, dtype=np.float64)),
                                    ("variance", out[1], x.var(axis=axes, dtype=np.float64))):
                if _np(got).shape != want.shape:
                    raise Wrong(f"the {what} of a {kind} input {shape} has shape "
                                f"{_np(got).shape}, expected {want.shape} (one per channel: "
                                f"average over every axis but the last)")
                _compare(got, want, f"the {what} of a {kind} input", rtol=1e-4, atol=1e-5)
    _run("batch_moments", test)


def normalize(fn) -> None:
    """`fn(x, mean, variance, alpha, beta, epsilon)`: alpha·(x − mean)/√(variance + ε) + beta."""
    def test():
        rng = np.random.default_rng(1)
        x = rng.normal(size=(4, 3, 3, 5)) * 2 + 1
        mean, alpha, beta = rng.normal(size=5), rng.uniform(0.5, 2, 5), rng.normal(size=5)
        variance = np.array([0.0, 0.5, 1.0, 2.0, 9.0])  # a constant channel: ε keeps it finite
        want = alpha * (x - mean) / np.sqrt(variance + 1e-3) + beta
        got = fn(*(v.astype("float32") for v in (x, mean, variance, alpha, beta)), 1e-3)
        _compare(got, want, "the normalized output", rtol=1e-4, atol=1e-4)
    _run("normalize", test)


def batch_norm(layer_class) -> None:
    """`layer_class`: a batch-normalization layer, compared with Keras' own
    (`compare_batch_norm`) in training and in inference, dense and conv."""
    def test():
        gaps = compare_batch_norm(layer_class)
        for case in ("dense, training", "conv, training", "dense, inference", "conv, inference"):
            if not gaps[case] < 1e-4:
                kind, mode = case.split(", ")
                advice = ("the batch's mean and variance, and the moving averages updated"
                          if mode == "training" else "the moving mean and variance")
                raise Wrong(f"in {mode} ({kind} input) it differs from "
                            f"keras.layers.BatchNormalization by {gaps[case]:.2g} "
                            f"(outputs or moving averages): {mode} uses {advice}")
    _run("batch_norm", test)


# --- exercises of notebook 06: convolutions by hand, filters, a CNN on CIFAR-10 ---------

def _keras_conv(x, kernels, stride, padding) -> np.ndarray:
    return _np(ops.conv(np.asarray(x, "float32")[None], np.asarray(kernels, "float32"),
                        strides=stride, padding=padding))[0]


def conv2d_loops(fn) -> None:
    """`fn(image, kernel)`: 2-D cross-correlation, padding "valid", stride 1, one channel."""
    def test():
        rng = np.random.default_rng(0)
        for image, kernel in [(rng.normal(size=(5, 5)), rng.normal(size=(3, 3))),
                              (rng.normal(size=(6, 8)), rng.normal(size=(2, 3)))]:
            want = _keras_conv(image[..., None], kernel[..., None, None], 1, "valid")[..., 0]
            got = _np(fn(image, kernel))
            flipped = _keras_conv(image[..., None], kernel[::-1, ::-1, None, None], 1,
                                  "valid")[..., 0]
            if got.shape == want.shape and np.allclose(got, flipped, atol=1e-4) and not np.allclose(
                    got, want, atol=1e-4):
                raise Wrong("you flipped the kernel (a textbook convolution); a convolutional "
                            "layer computes the cross-correlation: image[y + a, x + b] · "
                            "kernel[a, b], no flip")
            _compare(got, want, f"the output for a {image.shape} image and a {kernel.shape} "
                                f"kernel", atol=1e-4)
    _run("conv2d_loops", test)


def conv2d(fn) -> None:
    """`fn(x, kernels, stride, padding)`: (H, W, C_in) ⋆ (F, F, C_in, C_out), as keras.ops.conv."""
    def test():
        rng = np.random.default_rng(0)
        for (h, w, c), (f, o), stride, padding in [
                ((7, 7, 3), (3, 4), 1, "valid"), ((7, 7, 3), (3, 4), 2, "same"),
                ((8, 6, 2), (2, 3), 2, "same"), ((9, 9, 1), (4, 2), 3, "valid"),
                ((5, 5, 2), (5, 1), 1, "same"), ((6, 6, 2), (3, 2), 1, "same")]:
            x, kernels = rng.normal(size=(h, w, c)), rng.normal(size=(f, f, c, o))
            _compare(fn(x, kernels, stride, padding), _keras_conv(x, kernels, stride, padding),
                     f"the output for x {x.shape}, kernels {kernels.shape}, stride {stride}, "
                     f"padding {padding!r}", atol=1e-4)
    _run("conv2d", test)


def gaussian_kernel(fn) -> None:
    """`fn(size, sigma)`: size × size weights ∝ exp(−(a² + b²) / 2σ²) around the centre, sum 1."""
    def test():
        for size, sigma in [(3, 1.0), (5, 1.0), (7, 2.5), (5, 0.5)]:
            r = np.arange(size) - size // 2
            want = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma**2))
            got = _np(fn(size, sigma))
            if got.shape == want.shape and not np.isclose(got.sum(), 1, atol=1e-6):
                raise Wrong(f"gaussian_kernel({size}, {sigma}) sums to {got.sum():.4g}: divide "
                            f"by the sum, so that a flat image keeps its brightness")
            _compare(got, want / want.sum(), f"gaussian_kernel({size}, {sigma})", atol=1e-6)
    _run("gaussian_kernel", test)


def max_pool(fn) -> None:
    """`fn(x, size, stride)`: the largest value of each window, per channel, as keras.ops.max_pool."""
    def test():
        rng = np.random.default_rng(0)
        for shape, size, stride in [((4, 4, 1), 2, 2), ((8, 6, 3), 2, 2), ((7, 7, 2), 3, 2),
                                    ((9, 9, 2), 3, 3)]:
            x = rng.normal(size=shape)
            want = _np(ops.max_pool(x[None].astype("float32"), size, stride, "valid"))[0]
            _compare(fn(x, size, stride), want, f"max_pool of a {shape} input, size {size}, "
                                                f"stride {stride}", atol=1e-6)
    _run("max_pool", test)


def _kind(layer) -> str:
    if isinstance(layer, layers.Conv2D):
        return "conv"
    if isinstance(layer, layers.MaxPooling2D):
        return "max pool"
    if isinstance(layer, layers.BatchNormalization):
        return "batch norm"
    if isinstance(layer, layers.ReLU) or (isinstance(layer, layers.Activation)
                                          and getattr(layer.activation, "__name__", "") == "relu"):
        return "ReLU"
    return type(layer).__name__


def conv_block(fn) -> None:
    """`fn(x, filters)`: conv → max pool → batch norm → ReLU → conv → batch norm → ReLU."""
    def test():
        x = Input((8, 8, 3))
        out = fn(x, 4)
        if tuple(out.shape[1:]) != (4, 4, 4):
            raise Wrong(f"the block turns an (8, 8, 3) input into {tuple(out.shape[1:])}, "
                        f"expected (4, 4, 4): one 2×2 max pooling, 4 filters")
        model = Model(x, out)
        kinds = [_kind(l) for l in model.layers if not isinstance(l, layers.InputLayer)]
        want = ["conv", "max pool", "batch norm", "ReLU", "conv", "batch norm", "ReLU"]
        if kinds != want:
            raise Wrong(f"the layers are {' → '.join(kinds)}, expected {' → '.join(want)}")
        for conv in (l for l in model.layers if isinstance(l, layers.Conv2D)):
            if (tuple(conv.kernel_size) != (3, 3) or conv.padding != "same" or conv.use_bias
                    or conv.filters != 4 or tuple(conv.strides) != (1, 1)):
                raise Wrong(f"each convolution: Conv2D(filters, 3, padding=\"same\", "
                            f"use_bias=False); found kernel {conv.kernel_size}, padding "
                            f"{conv.padding!r}, bias {conv.use_bias}, {conv.filters} filters, "
                            f"strides {conv.strides}")
    _run("conv_block", test)


# --- exercises of notebook 07: transfer learning ----------------------------------------

def _small_backbone():
    x = inputs = Input((8, 8, 3))
    for width in (4, 6):
        x = layers.Conv2D(width, 3, kernel_initializer="zeros")(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    return Model(inputs, x, name="small_backbone")


def unfreeze_top(fn) -> None:
    """`fn(backbone, first)`: phase 2 of fine-tuning; layers from index `first` on learn,
    except BatchNormalization; the backbone was frozen (``trainable = False``) before."""
    def test():
        for first in (3, 5):
            backbone = _small_backbone()
            backbone.trainable = False
            fn(backbone, first)
            if not backbone.trainable:
                raise Wrong("the backbone is still frozen: set backbone.trainable = True first")
            for i, layer in enumerate(backbone.layers):
                is_bn = isinstance(layer, layers.BatchNormalization)
                want = i >= first and not is_bn
                if layer.trainable != want:
                    why = ("keep BatchNormalization frozen (its ImageNet statistics)" if is_bn
                           else f"layers before index first={first} stay frozen" if i < first
                           else f"layers from index first={first} on must learn")
                    raise Wrong(f"layer {i} ({type(layer).__name__}) has trainable="
                                f"{layer.trainable}: {why}")
    _run("unfreeze_top", test)


def class_activation_map(fn) -> None:
    """`fn(features, kernel, predicted)`: Σ_k ±w_k·A[n, y, x, k] for a one-logit head."""
    def test():
        rng = np.random.default_rng(0)
        features = rng.uniform(0, 2, size=(3, 4, 5, 6)).astype("float32")
        kernel = rng.normal(size=(6, 1)).astype("float32")
        predicted = np.array([1, 0, 1])
        want = np.zeros((3, 4, 5))
        for n, y, x in np.ndindex(want.shape):
            sign = 1.0 if predicted[n] == 1 else -1.0
            want[n, y, x] = sign * sum(float(kernel[k, 0]) * float(features[n, y, x, k])
                                       for k in range(6))
        got = fn(features, kernel, predicted)
        if np.allclose(_np(got)[1], -want[1], rtol=1e-4, atol=1e-5) and not np.allclose(
                want[1], 0):
            raise Wrong("the map of a predicted cat (class 0) has the wrong sign: the evidence "
                        "for class 0 is −w")
        _compare(got, want, "the class activation map", rtol=1e-4, atol=1e-5)
    _run("class_activation_map", test)


def grad_cam_map(fn) -> None:
    """`fn(features, gradients)`: ReLU(Σ_k α_k·A[n, y, x, k]), α = gradients' mean over (y, x)."""
    def test():
        rng = np.random.default_rng(0)
        features = rng.uniform(0, 2, size=(2, 3, 4, 5))
        gradients = rng.normal(size=(2, 3, 4, 5))
        want = np.zeros((2, 3, 4))
        for n, y, x in np.ndindex(want.shape):
            alpha = [gradients[n, :, :, k].mean() for k in range(5)]
            want[n, y, x] = max(0.0, sum(alpha[k] * features[n, y, x, k] for k in range(5)))
        got = _np(fn(features.astype("float32"), gradients.astype("float32")))
        if got.shape == want.shape and got.min() < -1e-6:
            raise Wrong("the map has negative values: keep only the positive evidence (ReLU)")
        _compare(got, want, "the Grad-CAM map", rtol=1e-4, atol=1e-5)
    _run("grad_cam_map", test)


# --- exercises of notebook 08: semantic segmentation ------------------------------------

def iou(fn) -> None:
    """`fn(y_true, y_pred, c)`: IoU of class c between two label arrays, NaN if c is absent."""
    def test():
        y_true = np.array([[0, 1, 1], [2, 2, 0]])
        y_pred = np.array([[0, 1, 2], [2, 0, 0]])
        rng = np.random.default_rng(0)
        big_true, big_pred = rng.integers(0, 4, (3, 9, 9)), rng.integers(0, 4, (3, 9, 9))
        cases = [(y_true, y_pred, 1, 1 / 2), (y_true, y_pred, 2, 1 / 3),
                 (y_true, y_pred, 0, 2 / 3), (y_true, y_pred, 3, np.nan)]
        cases += [(big_true, big_pred, c, np.sum((big_true == c) & (big_pred == c))
                   / np.sum((big_true == c) | (big_pred == c))) for c in range(4)]
        for t, p, c, want in cases:
            got = float(fn(t, p, c))
            if np.isnan(want):
                if not np.isnan(got):
                    raise Wrong(f"class {c} is neither in y_true nor in y_pred: it cannot be "
                                f"scored, return NaN (np.nan), got {got}")
            elif not np.isclose(got, want, rtol=1e-6):
                raise Wrong(f"iou(y_true, y_pred, {c}) = {got:.4f} on y_true={t.tolist()}, "
                            f"y_pred={p.tolist()}, expected {want:.4f} = |T ∩ P| / |T ∪ P|"
                            if t.size <= 6 else
                            f"iou(..., {c}) = {got:.4f} on random (3, 9, 9) labels, expected "
                            f"{want:.4f}")
    _run("iou", test)


def pixel_classifier(fn) -> None:
    """`fn(features, classes)`: a dense layer at every position (1×1 convolution), no activation."""
    def test():
        features = Input((4, 4, 6))
        out = fn(features, 5)
        if tuple(out.shape[1:]) != (4, 4, 5):
            raise Wrong(f"the scores have shape {tuple(out.shape[1:])} for features of "
                        f"(4, 4, 6) and 5 classes, expected (4, 4, 5): same height and width, "
                        f"one score per class")
        model = Model(features, out)
        if model.count_params() != 6 * 5 + 5:
            raise Wrong(f"{model.count_params()} parameters for 6 channels and 5 classes, "
                        f"expected 35: a weight per channel and class, and a bias per class "
                        f"(one 1×1 convolution)")
        weights = model.get_weights()
        kernel = next(w for w in weights if w.size == 30).reshape(6, 5)
        bias = next(w for w in weights if w.size == 5)
        x = np.random.default_rng(0).normal(size=(2, 4, 4, 6)).astype("float32")
        _compare(model(x), x.astype(np.float64) @ kernel + bias,
                 "scores (no activation: they are logits)", atol=1e-4)
    _run("pixel_classifier", test)


def transposed_output_size(fn) -> None:
    """`fn(W, F, S, padding)`: output width of Keras' Conv2DTranspose."""
    def test():
        for W, F, S, padding in [(2, 3, 2, "valid"), (8, 4, 2, "valid"), (8, 16, 8, "valid"),
                                 (5, 3, 1, "valid"), (8, 4, 2, "same"), (8, 16, 8, "same"),
                                 (5, 3, 1, "same"), (3, 5, 3, "same")]:
            layer = layers.Conv2DTranspose(1, F, strides=S, padding=padding)
            want = layer.compute_output_shape((1, W, W, 1))[1]
            got = fn(W, F, S, padding)
            if got != want:
                raise Wrong(f"transposed_output_size(W={W}, F={F}, S={S}, padding={padding!r})"
                            f" = {got}, Keras' Conv2DTranspose makes {want}")
    _run("transposed_output_size", test)


def skip(fn) -> None:
    """`fn(scores, features, classes)`: upsample ×2 (transposed conv) + 1×1 scores of features."""
    def test():
        scores, features = Input((4, 4, 3)), Input((8, 8, 5))
        out = fn(scores, features, 3)
        if tuple(out.shape[1:]) != (8, 8, 3):
            raise Wrong(f"the output has shape {tuple(out.shape[1:])} for scores of (4, 4, 3) "
                        f"and features of (8, 8, 5), expected (8, 8, 3): twice the scores' "
                        f"size, one score per class")
        model = Model([scores, features], out)
        ups = [l for l in model.layers if isinstance(l, layers.Conv2DTranspose)]
        if len(ups) != 1 or tuple(ups[0].strides) != (2, 2) or tuple(ups[0].kernel_size) != (4, 4):
            raise Wrong("upsample the scores with one keras.layers.Conv2DTranspose(classes, 4, "
                        "strides=2, padding=\"same\")")
        readers = [l for l in model.layers if isinstance(l, (layers.Conv2D, layers.Dense))
                   and not isinstance(l, layers.Conv2DTranspose)]
        if len(readers) != 1:
            raise Wrong(f"read the features with one 1×1 classifier (pixel_classifier), found "
                        f"{len(readers)} convolution or dense layers besides the upsampling")
        rng = np.random.default_rng(0)
        s = rng.normal(size=(2, 4, 4, 3)).astype("float32")
        f = rng.normal(size=(2, 8, 8, 5)).astype("float32")
        want = _np(ups[0](s)) + _np(readers[0](f))
        _compare(model([s, f]), want, "the output (upsampled scores + the features' scores)",
                 atol=1e-4)
    _run("skip", test)


def atrous_block(fn) -> None:
    """`fn(x, filters, rates)`: parallel dilated 3×3 convolutions on x, concatenated (+ BN, ReLU)."""
    def test():
        rates = (1, 2, 4)
        x = Input((17, 17, 1))
        out = fn(x, 2, rates)
        if tuple(out.shape[1:]) != (17, 17, 6):
            raise Wrong(f"the output has shape {tuple(out.shape[1:])} for an input of (17, 17, 1)"
                        f", 2 filters and rates {rates}, expected (17, 17, 6): the input's size, "
                        f"filters × len(rates) channels")
        model = Model(x, out)
        convs = [l for l in model.layers if isinstance(l, layers.Conv2D)]
        found = sorted(l.dilation_rate[0] for l in convs)
        if found != list(rates) or any(tuple(l.kernel_size) != (3, 3) or l.filters != 2
                                       for l in convs):
            raise Wrong(f"expected one 3×3 convolution of 2 filters per rate {list(rates)}, "
                        f"found rates {found}")
        for layer in convs:  # kernels of ones: each branch's output shows its taps
            layer.set_weights([np.ones_like(w) if w.ndim == 4 else np.zeros_like(w)
                               for w in layer.get_weights()])
        impulse = np.zeros((1, 17, 17, 1), "float32")
        impulse[0, 8, 8, 0] = 1
        response = _np(model(impulse, training=False))[0]
        for g, r in enumerate(rates):
            want = np.zeros((17, 17), bool)
            for a in (-r, 0, r):
                for b in (-r, 0, r):
                    want[8 + a, 8 + b] = True
            got = response[:, :, 2 * g] > 1e-6
            if not np.array_equal(got, want):
                raise Wrong(f"channels {2 * g}-{2 * g + 1} of the output should be the rate-{r} "
                            f"convolution of the block's input (9 taps {r} pixels apart), but "
                            f"they depend on {got.sum()} input pixels: each convolution must "
                            f"read x itself, in the order of `rates`, then concatenate")
    _run("atrous_block", test)


# --- exercises of notebook 09: the DCGAN's losses ----------------------------------------

def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _logits():
    rng = np.random.default_rng(0)
    return rng.normal(0, 3, size=(6, 1)).astype("float32"), rng.normal(0, 3, size=(4, 1)).astype(
        "float32")


def discriminator_loss(fn) -> None:
    """`fn(real_logits, fake_logits)`: −mean log D(x) − mean log(1 − D(G(z))), D = σ(logit)."""
    def test():
        real, fake = _logits()
        want = (-np.mean(np.log(_sigmoid(real.astype(np.float64))))
                - np.mean(np.log(1 - _sigmoid(fake.astype(np.float64)))))
        got = _np(fn(ops.convert_to_tensor(real), ops.convert_to_tensor(fake)))
        if got.shape != ():
            raise Wrong(f"the loss has shape {got.shape}: average it to one number")
        if not np.isclose(got, want, rtol=1e-4):
            swapped = (-np.mean(np.log(1 - _sigmoid(real.astype(np.float64))))
                       - np.mean(np.log(_sigmoid(fake.astype(np.float64)))))
            why = (" (real and fake swapped: D should say 1 for real images)"
                   if np.isclose(got, swapped, rtol=1e-4) else "")
            raise Wrong(f"the loss is {float(got):.5g}, expected {want:.5g}{why}")
    _run("discriminator_loss", test)


def generator_loss(fn) -> None:
    """`fn(fake_logits)`: the non-saturating −mean log D(G(z)), D = σ(logit)."""
    def test():
        _, fake = _logits()
        want = -np.mean(np.log(_sigmoid(fake.astype(np.float64))))
        got = _np(fn(ops.convert_to_tensor(fake)))
        if got.shape != ():
            raise Wrong(f"the loss has shape {got.shape}: average it to one number")
        if not np.isclose(got, want, rtol=1e-4):
            saturating = np.mean(np.log(1 - _sigmoid(fake.astype(np.float64))))
            why = (" (that is the saturating log(1 − D(G(z))); minimise −log D(G(z)) instead)"
                   if np.isclose(got, saturating, rtol=1e-4) else "")
            raise Wrong(f"the loss is {float(got):.5g}, expected {want:.5g}{why}")
    _run("generator_loss", test)


def gan(gan_class) -> None:
    """`gan_class`: the notebook's GAN; one training step through `fit` (any backend) on
    linear networks, SGD and fixed noise, against the same step worked out here in NumPy."""
    def test():
        from keras import Sequential, initializers, optimizers

        rng = np.random.default_rng(0)
        real = rng.normal(size=(5, 4)).astype("float32")
        z = rng.normal(size=(5, 3)).astype("float32")
        lr = 0.1

        def sigmoid(x):
            return 1 / (1 + np.exp(-x))

        g = Sequential([Input((3,)), layers.Dense(4, kernel_initializer=initializers.RandomNormal(
            seed=1), bias_initializer=initializers.RandomNormal(seed=3))])
        d = Sequential([Input((4,)), layers.Dense(1, kernel_initializer=initializers.RandomNormal(
            seed=2))])
        (wg, bg), (wd, bd) = [[w.astype(np.float64) for w in m.get_weights()] for m in (g, d)]
        model = gan_class(g, d, 3, d_steps=1, seed=0)
        model.noise = lambda batch_size: ops.convert_to_tensor(z)  # the same noise here and there
        model.compile(d_optimizer=optimizers.SGD(lr), g_optimizer=optimizers.SGD(lr))
        model.fit(real, batch_size=len(real), epochs=1, shuffle=False, verbose=0)

        # By hand: L_D = mean softplus(-l_real) + mean softplus(l_fake), dL/dl = -σ(-l)/n, σ(l)/n
        n, fake = len(real), z @ wg + bg
        d_real, d_fake = -sigmoid(-(real @ wd + bd)) / n, sigmoid(fake @ wd + bd) / n
        wd2 = wd - lr * (real.T @ d_real + fake.T @ d_fake)
        bd2 = bd - lr * (d_real.sum(0) + d_fake.sum(0))
        # L_G = mean softplus(-D(G(z))) through the updated D, back to G's weights
        d_logit = -sigmoid(-(fake @ wd2 + bd2)) / n
        d_image = d_logit @ wd2.T
        wg2, bg2 = wg - lr * (z.T @ d_image), bg - lr * d_image.sum(0)
        for name, ours, start, want in (("discriminator", d, (wd, bd), (wd2, bd2)),
                                        ("generator", g, (wg, bg), (wg2, bg2))):
            got = ours.get_weights()
            if all(np.allclose(a, b) for a, b in zip(got, start)):
                raise Wrong(f"the {name} did not change: pass its loss, the {name} and its "
                            f"optimizer to self.minimize")
            for a, b in zip(got, want):
                _compare(a, b, f"the {name}'s weights after one step", rtol=1e-4, atol=1e-5)
    _run("gan", test)


# --- a cell that calls an empty exercise stops with one sentence (IPython) ---------------

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


def _install_stop_handler() -> None:
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and hasattr(shell, "set_custom_exc"):
        shell.set_custom_exc((NotImplementedError,), _stop_handler)


_install_stop_handler()


# --- exercises of notebook 01: backpropagation and a two-layer network

def sigmoid_backward(fn) -> None:
    """`fn(s, upstream)`: upstream · s(1 − s), the sigmoid gate's backward at output s."""
    def test():
        t = np.linspace(-6, 6, 13)
        s = 1 / (1 + np.exp(-t))
        numerical = (1 / (1 + np.exp(-(t + 1e-6))) - 1 / (1 + np.exp(-(t - 1e-6)))) / 2e-6
        _compare(fn(s, 1.0), numerical, "the local gradient (upstream 1)", atol=1e-8)
        _compare(fn(s, 2.5), 2.5 * numerical,
                 "the gradient with upstream 2.5 (multiply by the upstream gradient)", atol=1e-8)
    _run("sigmoid_backward", test)


def value(Value) -> None:
    """`Value.backward()`: gradients of a graph that uses values several times, against
    finite differences of the same expression; a second call gives the same gradients."""
    def expression(a, b, c, exp):
        u = a * b + c
        return (u * u + exp(a) * b) / (c * c + 1.0) - a

    def test():
        point = np.array([0.7, -1.3, 0.4])
        f = lambda: expression(*point, exp=np.exp)  # noqa: E731
        numerical = _numerical_gradient(f, point)
        nodes = [Value(v) for v in (0.7, -1.3, 0.4)]
        out = expression(*nodes, exp=lambda t: t.exp())
        out.backward()
        _compare([n.grad for n in nodes], numerical, "the gradients of (a, b, c)", rtol=1e-6)
        out.backward()
        _compare([n.grad for n in nodes], numerical,
                 "the gradients after a second backward() (reset grad to 0 first)", rtol=1e-6)
        x = Value(0.5)
        a = 2 * x
        used_twice = a * a.exp()
        used_twice.backward()
        _compare(x.grad, 2 * (1 + 2 * 0.5) * np.exp(1.0),
                 "d/dx of a·e^a with a = 2x (a is used twice: visit the nodes in reverse "
                 "topological order)", rtol=1e-9)
    _run("value", test)


def _two_layer_params(seed: int = 0):
    rng = np.random.default_rng(seed)
    params = {"W1": rng.normal(size=(4, 6)), "b1": rng.normal(size=6),
              "W2": rng.normal(size=(6, 3)), "b2": rng.normal(size=3)}
    return params, rng.normal(size=(5, 4)) * 2, np.array([0, 1, 2, 2, 1])


def two_layer_forward(fn) -> None:
    """`fn(params, X)` -> (scores, cache): scores = max(0, X·W1 + b1)·W2 + b2."""
    def test():
        params, X, _ = _two_layer_params()
        want = np.array([[sum(max(0.0, sum(x[d] * params["W1"][d, j] for d in range(4))
                                       + params["b1"][j]) * params["W2"][j, c]
                              for j in range(6)) + params["b2"][c] for c in range(3)]
                         for x in X])  # loops: another way
        out = fn(params, X)
        if not isinstance(out, tuple) or len(out) != 2:
            raise Wrong("return (scores, cache): the scores and what backward needs")
        _compare(out[0], want, "the scores", rtol=1e-9)
    _run("two_layer_forward", test)


def two_layer_backward(fn, forward, softmax_loss) -> None:
    """`fn(params, dscores, cache)` -> dict of gradients, against finite differences of
    softmax_loss(forward(params, X)[0], y) (the lesson's own forward and loss)."""
    def test():
        params, X, y = _two_layer_params(1)
        scores, cache = forward(params, X)
        grads = fn(params, softmax_loss(scores, y)[1], cache)
        if set(grads) != {"W1", "b1", "W2", "b2"}:
            raise Wrong(f"return a dict with keys W1, b1, W2, b2, got {sorted(grads)}")
        f = lambda: softmax_loss(forward(params, X)[0], y)[0]  # noqa: E731
        for name in ("W2", "b2", "W1", "b1"):
            _compare_gradient(grads[name], _numerical_gradient(f, params[name]), name, 1e-6)
    _run("two_layer_backward", test)


def l2_regularization(fn) -> None:
    """`fn(params, reg)` -> (reg·(ΣW1² + ΣW2²), {"W1": 2·reg·W1, "W2": 2·reg·W2})."""
    def test():
        params, _, _ = _two_layer_params(2)
        loss, grads = fn(params, 0.3)
        _compare(loss, 0.3 * sum(float(np.sum(params[k] ** 2)) for k in ("W1", "W2")),
                 "the penalty")
        if set(grads) != {"W1", "W2"}:
            raise Wrong(f"return the gradients of W1 and W2 only (biases are not "
                        f"regularized), got {sorted(grads)}")
        for name in ("W1", "W2"):
            numerical = _numerical_gradient(lambda: fn(params, 0.3)[0], params[name])
            _compare_gradient(grads[name], numerical, name, 1e-6)
    _run("l2_regularization", test)
