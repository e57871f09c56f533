"""Checks of notebook 05's exercises: batch normalization."""

import keras
import numpy as np
from keras import layers, ops

from .core import Wrong, _compare, _np, exercise


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
        ref.set_weights(
            [
                rng.uniform(0.5, 2, channels),
                rng.normal(size=channels),
                np.zeros(channels),
                np.ones(channels),
            ]
        )
        ours.set_weights(ref.get_weights())
        train_gap = 0.0
        for _ in range(steps):
            x = (rng.normal(size=shape) * 3 + 2).astype("float32")
            y_ours, y_ref = ours(x, training=True), ref(x, training=True)
            train_gap = max(
                train_gap,
                float(np.abs(ops.convert_to_numpy(y_ours - y_ref)).max()),
                *(
                    float(np.abs(a - b).max())
                    for a, b in zip(ours.get_weights(), ref.get_weights())
                ),
            )
        x = (rng.normal(size=shape) * 3 + 2).astype("float32")
        gaps[f"{kind}, training"] = train_gap
        gaps[f"{kind}, inference"] = float(
            np.abs(ops.convert_to_numpy(ours(x, training=False) - ref(x, training=False))).max()
        )
    return gaps


def _traced(fn, *args):
    """fn(*args) compiled as `fit` compiles a layer (tf.function, jax.jit): NumPy fails there."""
    backend = keras.backend.backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            return tf.function(fn)(*args)
        if backend == "jax":
            import jax

            return jax.jit(fn)(*args)
    except Exception as err:  # noqa: BLE001 (the student's function, compiled here)
        raise Wrong(
            f"it gives the right numbers on arrays but fails on the symbolic tensors "
            f"that fit compiles ({type(err).__name__}): compute with keras.ops "
            "(ops.mean, ops.var, ops.sqrt), not NumPy"
        ) from None
    return fn(*args)


def _tensor(x):
    return ops.convert_to_tensor(np.asarray(x, "float32"))


def _moments_mistake(got_mean, got_var, x, axes) -> str:
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    close = lambda a, b: a.shape == b.shape and np.allclose(a, b, rtol=1e-4, atol=1e-5)  # noqa
    if close(got_mean, var) and close(got_var, mean):
        return "the mean and the variance are swapped: return (mean, variance)"
    if close(got_var, x.var(axis=axes, ddof=1)):
        n = x.size // x.shape[-1]
        return (
            f"the variance divides by n − 1 = {n - 1} (unbiased, ddof=1); batch "
            f"normalization divides by n = {n}"
        )
    if close(got_var, x.std(axis=axes)):
        return "it returns the standard deviation, not the variance"
    return ""


@exercise(
    "Every axis but the last: axes = list(range(len(x.shape) - 1)), i.e. [0] for "
    "[batch, n] and [0, 1, 2] for [batch, height, width, n]; then ops.moments(x, "
    "axes=axes) returns (mean, variance)."
)
def batch_moments(fn) -> None:
    """`fn(x)` -> (mean, variance) over every axis but the last, dense and conv inputs, on
    tensors (also compiled, as in fit)."""
    rng = np.random.default_rng(0)
    for kind, shape in (("dense", (6, 7)), ("conv", (3, 5, 4, 6))):
        x = (rng.normal(size=shape) * rng.uniform(0.5, 3, shape[-1]) + 2).astype("float32")
        out = fn(_tensor(x))
        if out is None:
            raise Wrong("it returns nothing: return the mean and the variance")
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise Wrong("return two values: the mean and the variance")
        axes = tuple(range(len(shape) - 1))
        x64 = x.astype(np.float64)
        got = [_np(v) for v in out]
        channels = (shape[-1],)
        for what, value in zip(("mean", "variance"), got):
            if value.shape == channels:
                continue
            if value.shape == shape[1:] and kind == "conv":
                why = (
                    "one per channel: it averages over axis 0 only; average over the "
                    "batch, height and width, every axis but the last"
                )
            elif value.shape == (1,) * (len(shape) - 1) + channels:
                why = (
                    "keepdims=True keeps the averaged axes; the moving averages need shape "
                    f"{channels}"
                )
            else:
                why = "one per channel: average over every axis but the last"
            raise Wrong(
                f"the {what} of a {kind} input {shape} has shape {value.shape}, "
                f"expected {channels} ({why})"
            )
        mistake = _moments_mistake(*got, x64, axes)
        if mistake:
            raise Wrong(f"{kind} input {shape}: {mistake}")
        _compare(got[0], x64.mean(axis=axes), f"the mean of a {kind} input", atol=1e-5)
        _compare(got[1], x64.var(axis=axes), f"the variance of a {kind} input", atol=1e-5)
        compiled = _traced(fn, _tensor(x))
        _compare(
            compiled[1], x64.var(axis=axes), f"the compiled variance of a {kind} input", atol=1e-5
        )


def _normalize_variants(x, mean, var, alpha, beta, eps) -> dict[str, np.ndarray]:
    return {
        "epsilon is added outside the square root: √(variance + ε), not √variance + ε": alpha
        * (x - mean)
        / (np.sqrt(var) + eps)
        + beta,
        "it divides by the variance; divide by the standard deviation √(variance + ε)": alpha
        * (x - mean)
        / (var + eps)
        + beta,
        "alpha and beta are swapped: alpha scales, beta shifts (alpha · x̂ + beta)": beta
        * (x - mean)
        / np.sqrt(var + eps)
        + alpha,
        "alpha and beta are left out: return alpha · x̂ + beta": (x - mean) / np.sqrt(var + eps),
        "it uses ε = 0.001 whatever the epsilon argument": alpha * (x - mean) / np.sqrt(var + 1e-3)
        + beta,
    }


@exercise(
    "x_hat = (x − mean) / ops.sqrt(variance + epsilon); return alpha * x_hat + beta "
    "(broadcasting applies the per-channel values everywhere)."
)
def normalize(fn) -> None:
    """`fn(x, mean, variance, alpha, beta, epsilon)`: alpha·(x − mean)/√(variance + ε) + beta,
    on tensors (also compiled), with variances near 0 where ε matters."""
    rng = np.random.default_rng(1)
    variance = np.array([0.0, 1e-4, 0.5, 2.0, 9.0])  # a constant channel: ε keeps it finite
    for shape, eps in (((4, 3, 2, 5), 0.02), ((6, 5), 1e-3)):
        x = rng.normal(size=shape) * 2 + 1
        mean, alpha, beta = rng.normal(size=5), rng.uniform(0.5, 2, 5), rng.normal(size=5)
        args = [x, mean, variance, alpha, beta]
        x, mean, var, alpha, beta = (np.asarray(v, "float32").astype(np.float64) for v in args)
        want = alpha * (x - mean) / np.sqrt(var + eps) + beta
        out = fn(*(_tensor(v) for v in args), eps)
        if out is None:
            raise Wrong("it returns nothing (a `return` is missing)")
        got = _np(out)
        if got.shape == want.shape and not np.all(np.isfinite(got)):
            raise Wrong(
                "the output has NaN or infinity where the variance is 0: add epsilon "
                "inside the square root, √(variance + ε)"
            )
        for mistake, value in _normalize_variants(x, mean, var, alpha, beta, eps).items():
            if (
                got.shape == want.shape
                and np.allclose(got, value, rtol=1e-4, atol=1e-4)
                and not np.allclose(got, want, rtol=1e-4, atol=1e-4)
            ):
                raise Wrong(f"for x of shape {shape}, ε = {eps}: {mistake}")
        _compare(
            got,
            want,
            f"the normalized output (x of shape {shape}, ε = {eps})",
            rtol=1e-4,
            atol=1e-4,
        )
        compiled = _traced(fn, *(_tensor(v) for v in args), eps)
        _compare(compiled, want, "the compiled normalized output", rtol=1e-4, atol=1e-4)


def _expect(got, want, what: str, mistakes: dict) -> None:
    if got is None:
        raise Wrong(f"{what}: call returns nothing (a `return` is missing)")
    got = _np(got)
    if got.shape == want.shape and np.allclose(got, want, rtol=1e-4, atol=1e-4):
        return
    for mistake, value in mistakes.items():
        if got.shape == value.shape and np.allclose(got, value, rtol=1e-4, atol=1e-4):
            raise Wrong(f"{what}: {mistake}")
    _compare(got, want, what, rtol=1e-4, atol=1e-4)


def _norm(x, mean, var, alpha, beta, eps):
    return alpha * (x - mean) / np.sqrt(var + eps) + beta


def _check_layer(layer_class, kind, shape, momentum, epsilon, rng) -> None:
    layer = layer_class() if momentum is None else layer_class(momentum=momentum, epsilon=epsilon)
    m, eps = momentum or 0.99, epsilon or 1e-3
    said = f"{kind} input {shape}" + (f", momentum={m}, epsilon={eps}" if momentum else "")
    layer.build(shape)
    c = shape[-1]
    alpha, beta = rng.uniform(0.5, 2, c), rng.normal(size=c)
    moving = [rng.normal(size=c), rng.uniform(0.5, 2, c)]
    layer.set_weights([v.astype("float32") for v in (alpha, beta, *moving)])
    alpha, beta, *moving = (w.astype(np.float64) for w in layer.get_weights())
    axes = tuple(range(len(shape) - 1))
    scale = np.linspace(0.03, 3, c)  # a channel of small variance: ε matters there
    for step in (1, 2):
        x = (rng.normal(size=shape) * scale + 2).astype("float32").astype(np.float64)
        mean, var = x.mean(axis=axes), x.var(axis=axes)
        want = [m * old + (1 - m) * new for old, new in zip(moving, (mean, var))]
        in_training = (
            "in training it normalizes with the moving averages; training uses the "
            "batch's mean and variance"
        )
        _expect(
            layer(x.astype("float32"), training=True),
            _norm(x, mean, var, alpha, beta, eps),
            f"{said}, training step {step}: the output",
            {
                in_training: _norm(x, *moving, alpha, beta, eps),
                in_training + " ": _norm(x, *want, alpha, beta, eps),
            },
        )
        got = [w.astype(np.float64) for w in layer.get_weights()[2:]]
        mistakes = {
            "they did not change: training must update the moving averages with "
            ".assign(...)": np.stack(moving),
            "the momentum weighs the wrong term: m·old + (1 − m)·new, not "
            "m·new + (1 − m)·old": np.stack(
                [m * new + (1 - m) * old for old, new in zip(moving, (mean, var))]
            ),
        }
        if m != 0.99:
            mistakes["they use momentum 0.99 whatever self.momentum"] = np.stack(
                [0.99 * old + 0.01 * new for old, new in zip(moving, (mean, var))]
            )
        _expect(
            np.stack(got),
            np.stack(want),
            f"{said}, training step {step}: the moving mean and variance",
            mistakes,
        )
        moving = want
    x = (rng.normal(size=shape) * scale + 2).astype("float32").astype(np.float64)
    y = layer(x.astype("float32"), training=False)
    got = np.stack([w.astype(np.float64) for w in layer.get_weights()[2:]])
    if not np.allclose(got, np.stack(moving), rtol=1e-5, atol=1e-6):
        raise Wrong(
            f"{said}: in inference (training=False) it updates the moving averages; "
            "update them in training only"
        )
    _expect(
        y,
        _norm(x, *moving, alpha, beta, eps),
        f"{said}, inference: the output",
        {
            "in inference it uses the batch's statistics; inference uses the moving mean and "
            "variance": _norm(x, x.mean(axis=axes), x.var(axis=axes), alpha, beta, eps)
        },
    )


@exercise(
    "In training: mean, variance = batch_moments(x), and update the moving averages "
    "with .assign(m·old + (1 − m)·new), m = self.momentum. In inference: the moving "
    "mean and variance instead. Either way, return normalize(x, mean, variance, "
    "self.alpha, self.beta, self.epsilon)."
)
def batch_norm(layer_class) -> None:
    """`layer_class`: a batch-normalization layer, compared with the formulas in NumPy for two
    training steps (outputs and moving averages) and one inference step, dense and conv
    inputs, Keras' defaults and momentum 0.9, epsilon 0.01."""
    rng = np.random.default_rng(0)
    for momentum, epsilon in ((None, None), (0.9, 0.01)):
        for kind, shape in (("dense", (16, 5)), ("conv", (4, 3, 5, 6))):
            _check_layer(layer_class, kind, shape, momentum, epsilon, rng)
