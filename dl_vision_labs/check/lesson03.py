"""Checks of notebook 03's exercises: the five-layer network."""

import numpy as np
from keras import Input, layers

from .core import exercise, _np, Wrong


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


@exercise(
    "keras.Sequential: keras.Input(shape=(28, 28, 1)), Flatten, then for each width "
    "in (200, 100, 60, 30) a Dense(width, activation=activation) followed, when "
    "dropout_rate > 0, by Dropout(dropout_rate); last Dense(10, "
    "activation=\"softmax\"), with no dropout after it.")
def five_layer_model(fn) -> None:
    """`fn(activation, dropout_rate=0.0)`: 784 -> 200 -> 100 -> 60 -> 30 -> 10 as a Keras model."""
    widths = [200, 100, 60, 30]

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


@exercise(
    "lr_min + (lr_max - lr_min) * np.exp(-step / decay_speed).")
def decayed_learning_rate(fn) -> None:
    """`fn(step, lr_max, lr_min, decay_speed)`: exponential decay from lr_max towards lr_min."""
    for step, lr_max, lr_min, speed in [(0, 0.003, 0.0001, 4000), (2000, 0.003, 0.0001, 4000),
                                        (15000, 0.003, 0.0001, 4000), (10, 0.1, 0.01, 5)]:
        want = lr_min + (lr_max - lr_min) * np.exp(-step / speed)
        got = float(_np(fn(step, lr_max=lr_max, lr_min=lr_min, decay_speed=speed)))
        if not np.isclose(got, want, rtol=1e-5, atol=1e-9):
            raise Wrong(f"at step {step} (lr_max={lr_max}, lr_min={lr_min}, decay_speed="
                        f"{speed}) the learning rate is {got:.6g}, expected {want:.6g}")


@exercise(
    "In training: keep = rng.random(x.shape) >= rate, then x * keep / (1 - rate) "
    "(the kept outputs grow so that their expected sum is unchanged). Outside "
    "training: x unchanged.")
def dropout(fn) -> None:
    """`fn(x, rate, training, rng)`: inverted dropout of a NumPy array."""
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
