"""Checks of notebook 05's exercises: batch normalization."""

import numpy as np
from keras import layers, ops

from .core import _compare, exercise, _np, Wrong


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


@exercise(
    "Every axis but the last: axes = list(range(len(x.shape) - 1)), i.e. [0] for "
    "[batch, n] and [0, 1, 2] for [batch, height, width, n]; then ops.moments(x, "
    "axes=axes) returns (mean, variance).")
def batch_moments(fn) -> None:
    """`fn(x)` -> (mean, variance) over every axis but the last, dense and conv inputs."""
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


@exercise(
    "x_hat = (x − mean) / ops.sqrt(variance + epsilon); return alpha * x_hat + beta "
    "(broadcasting applies the per-channel values everywhere).")
def normalize(fn) -> None:
    """`fn(x, mean, variance, alpha, beta, epsilon)`: alpha·(x − mean)/√(variance + ε) + beta."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 3, 3, 5)) * 2 + 1
    mean, alpha, beta = rng.normal(size=5), rng.uniform(0.5, 2, 5), rng.normal(size=5)
    variance = np.array([0.0, 0.5, 1.0, 2.0, 9.0])  # a constant channel: ε keeps it finite
    want = alpha * (x - mean) / np.sqrt(variance + 1e-3) + beta
    got = fn(*(v.astype("float32") for v in (x, mean, variance, alpha, beta)), 1e-3)
    _compare(got, want, "the normalized output", rtol=1e-4, atol=1e-4)


@exercise(
    "In training: mean, variance = batch_moments(x), and update the moving averages "
    "with .assign(m·old + (1 − m)·new), m = self.momentum. In inference: the moving "
    "mean and variance instead. Either way, return normalize(x, mean, variance, "
    "self.alpha, self.beta, self.epsilon).")
def batch_norm(layer_class) -> None:
    """`layer_class`: a batch-normalization layer, compared with Keras' own
    (`compare_batch_norm`) in training and in inference, dense and conv."""
    gaps = compare_batch_norm(layer_class)
    for case in ("dense, training", "conv, training", "dense, inference", "conv, inference"):
        if not gaps[case] < 1e-4:
            kind, mode = case.split(", ")
            advice = ("the batch's mean and variance, and the moving averages updated"
                      if mode == "training" else "the moving mean and variance")
            raise Wrong(f"in {mode} ({kind} input) it differs from "
                        f"keras.layers.BatchNormalization by {gaps[case]:.2g} "
                        f"(outputs or moving averages): {mode} uses {advice}")
