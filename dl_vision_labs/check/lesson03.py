"""Checks of notebook 03's exercises: the five-layer network."""

import numpy as np
from keras import layers, models

from .core import Wrong, _np, exercise

WIDTHS = [200, 100, 60, 30]
_REFERENCE = {
    "relu": lambda z: np.maximum(z, 0),
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "tanh": np.tanh,
}


def _name(activation) -> str:
    return getattr(activation, "__name__", str(activation))


def _layers(model) -> list:
    out = []
    for layer in model.layers:
        out += _layers(layer) if isinstance(layer, models.Model) else [layer]
    return out


def _kinds(model) -> list[tuple]:
    """("dense", units), ("act", name), ("dropout", rate), ("flatten",), ("other", class)."""
    out = []
    for layer in _layers(model):
        if isinstance(layer, layers.Dense):
            out.append(("dense", layer.units))
            if _name(layer.activation) != "linear":
                out.append(("act", _name(layer.activation)))
        elif isinstance(layer, layers.Activation):
            out.append(("act", _name(layer.activation)))
        elif isinstance(layer, (layers.ReLU, layers.Softmax)):
            out.append(("act", "relu" if isinstance(layer, layers.ReLU) else "softmax"))
        elif isinstance(layer, layers.Dropout):
            out.append(("dropout", float(layer.rate)))
        elif isinstance(layer, (layers.Flatten, layers.Reshape)):
            out.append(("flatten",))
        elif not isinstance(layer, layers.InputLayer):
            out.append(("other", type(layer).__name__))
    return out


def _segments(kinds) -> list[list[tuple]]:
    """The layers after each Dense, up to the next Dense: one list per Dense layer."""
    segments = []
    for kind in kinds:
        if kind[0] == "dense":
            segments.append([])
        elif segments:
            segments[-1].append(kind)
    return segments


def _forward(x, weights, activation) -> np.ndarray:
    h = x.reshape(len(x), -1)
    for i, (kernel, bias) in enumerate(weights):
        h = h @ kernel + bias
        if i < len(weights) - 1:
            h = _REFERENCE[activation](h)
    e = np.exp(h - h.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _activation_mistake(segments, activation) -> str:
    for i, segment in enumerate(segments):
        acts = [k[1] for k in segment if k[0] == "act"]
        want = "softmax" if i == len(segments) - 1 else activation
        where = "the output layer" if i == len(segments) - 1 else f"hidden layer {i + 1}"
        if not acts:
            return f"{where} has no activation (expected {want!r})"
        if acts != [want]:
            return f"{where} applies {' then '.join(acts)}, expected {want!r}"
    return ""


def _dropout_mistake(segments, activation, rate) -> str:
    *hidden, output = segments
    if any(k[0] == "dropout" and k[1] > 0 for k in output):
        return (
            "a Dropout follows the output layer: dropout goes after each hidden layer's "
            "activation, and none after the output"
        )
    for i, segment in enumerate(hidden, start=1):
        drops = [(j, k[1]) for j, k in enumerate(segment) if k[0] == "dropout" and k[1] > 0]
        if not rate and drops:
            return f"with dropout_rate=0 hidden layer {i} still has Dropout({drops[0][1]})"
        if not rate:
            continue
        if len(drops) != 1:
            return (
                f"with dropout_rate={rate}, hidden layer {i} has {len(drops)} Dropout "
                f"layers, expected one Dropout({rate}) after its activation"
            )
        j, got = drops[0]
        if not np.isclose(got, rate):
            return (
                f"hidden layer {i} has Dropout({got}) but dropout_rate={rate}: pass the "
                "argument dropout_rate, not a fixed rate"
            )
        if any(k[0] == "act" for k in segment[j + 1 :]):
            return (
                f"in hidden layer {i} the Dropout comes before the activation: put it "
                f"after (the same for relu, but for {activation!r} a dropped neuron "
                "would not output 0)"
            )
    return ""


def _check_model(built, activation, rate) -> None:
    said = f"five_layer_model({activation!r}" + (f", dropout_rate={rate})" if rate else ")")
    if built is None:
        raise Wrong(f"{said} returns nothing: return the keras.Sequential model")
    if not isinstance(built, models.Model):
        raise Wrong(f"{said} returns {type(built).__name__}, expected a Keras model")
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=(3, 28, 28, 1)).astype("float32")
    try:
        out = _np(built(x, training=False))
    except Exception as err:  # noqa: BLE001 (the student's model, called here)
        raise Wrong(
            f"{said} cannot take a batch of 28×28×1 images ({type(err).__name__}: "
            f"{str(err)[:80]}): start with keras.Input(shape=(28, 28, 1)) and "
            "Flatten"
        ) from None
    kinds = _kinds(built)
    if out.ndim > 2 or ("flatten",) not in kinds:
        raise Wrong(
            f"{said}: no Flatten before the Dense layers (for 3 images the output "
            f"has shape {out.shape}, expected (3, 10)): the Dense layers must see "
            "the 784 pixels as one vector"
        )
    dense = [layer for layer in _layers(built) if isinstance(layer, layers.Dense)]
    units = [layer.units for layer in dense]
    if units != WIDTHS + [10]:
        raise Wrong(f"the Dense layers have {units} neurons, expected {WIDTHS + [10]}")
    params = sum(n_in * n_out + n_out for n_in, n_out in zip([784] + WIDTHS, WIDTHS + [10]))
    if built.count_params() != params or any(not layer.use_bias for layer in dense):
        raise Wrong(
            f"the model has {built.count_params():,} parameters, expected "
            f"{params:,} (28×28×1 flattened to 784; every Dense with its biases)"
        )
    weights = [
        (rng.normal(0, 1.5 / np.sqrt(n_in), (n_in, n_out)), rng.normal(0, 0.5, n_out))
        for n_in, n_out in zip([784] + WIDTHS, WIDTHS + [10])
    ]
    saved = [layer.get_weights() for layer in dense]
    for layer, (kernel, bias) in zip(dense, weights):
        layer.set_weights([kernel.astype("float32"), bias.astype("float32")])
    try:
        got = _np(built(x, training=False))
    finally:
        for layer, values in zip(dense, saved):
            layer.set_weights(values)
    segments = _segments(kinds)
    if not np.allclose(
        got, _forward(x.astype(np.float64), weights, activation), rtol=1e-3, atol=1e-5
    ):
        mistake = (
            _activation_mistake(segments, activation)
            or "the output differs from the network's with the same weights"
        )
        raise Wrong(
            f"{said}: {mistake} (each hidden Dense followed by {activation!r}, a softmax output)"
        )
    mistake = _dropout_mistake(segments, activation, rate)
    if mistake:
        raise Wrong(f"{said}: {mistake}")


@exercise(
    "keras.Sequential: keras.Input(shape=(28, 28, 1)), Flatten, then for each width "
    "in (200, 100, 60, 30) a Dense(width, activation=activation) followed, when "
    "dropout_rate > 0, by Dropout(dropout_rate); last Dense(10, "
    'activation="softmax"), with no dropout after it.'
)
def five_layer_model(fn) -> None:
    """`fn(activation, dropout_rate=0.0)`: 784 -> 200 -> 100 -> 60 -> 30 -> 10 as a Keras model,
    its outputs compared with the same network in NumPy (known weights) and its dropout
    layers inspected (inference hides them)."""
    for activation, rate in (("relu", None), ("sigmoid", 0.4), ("relu", 0.25)):
        built = fn(activation) if rate is None else fn(activation, dropout_rate=rate)
        _check_model(built, activation, rate or 0.0)


def _rate_variants(step, lr_max, lr_min, speed) -> dict[str, float]:
    return {
        "without lr_min: it decays towards 0, not towards lr_min": lr_max * np.exp(-step / speed),
        "lr_min + lr_max·e^(−step/decay_speed) starts at lr_max + lr_min: multiply by "
        "(lr_max − lr_min)": lr_min + lr_max * np.exp(-step / speed),
        "it grows: the exponent is −step / decay_speed, with a minus": lr_min
        + (lr_max - lr_min) * np.exp(step / speed),
        "the exponent is −step / decay_speed, not −step × decay_speed": lr_min
        + (lr_max - lr_min) * np.exp(-step * speed),
        "step // decay_speed rounds down: divide with /": lr_min
        + (lr_max - lr_min) * np.exp(-(step // speed)),
    }


@exercise("lr_min + (lr_max - lr_min) * np.exp(-step / decay_speed).")
def decayed_learning_rate(fn) -> None:
    """`fn(step, lr_max, lr_min, decay_speed)`: exponential decay from lr_max towards lr_min."""
    for step, lr_max, lr_min, speed in [
        (0, 0.003, 0.0001, 4000),
        (2000, 0.003, 0.0001, 4000),
        (15000, 0.003, 0.0001, 4000),
        (10, 0.1, 0.01, 5),
        (7, 0.5, 0.2, 3),
    ]:
        want = lr_min + (lr_max - lr_min) * np.exp(-step / speed)
        out = fn(step, lr_max=lr_max, lr_min=lr_min, decay_speed=speed)
        if out is None:
            raise Wrong("it returns nothing (a `return` is missing)")
        got = _np(out)
        if got.size != 1:
            raise Wrong(f"it returns an array of shape {got.shape}, expected one number")
        got = float(got.reshape(()))
        if not np.isclose(got, want, rtol=1e-5, atol=1e-9):
            said = f"at step {step} (lr_max={lr_max}, lr_min={lr_min}, decay_speed={speed})"
            for mistake, value in _rate_variants(step, lr_max, lr_min, speed).items():
                if np.isclose(got, value, rtol=1e-5, atol=1e-9):
                    raise Wrong(
                        f"{said} the learning rate is {got:.6g}, expected {want:.6g}: {mistake}"
                    )
            raise Wrong(f"{said} the learning rate is {got:.6g}, expected {want:.6g}")


def _drop(fn, x, rate, training, seed=0):
    original = x.copy()
    out = fn(x, rate, training=training, rng=np.random.default_rng(seed))
    if not np.array_equal(x, original):
        raise Wrong(
            "it changes its input x in place (x *= ..., x[...] = 0): the layer's "
            "outputs are used elsewhere; return a new array, x * keep / (1 - rate)"
        )
    if out is None:
        raise Wrong("it returns nothing (a `return` is missing)")
    out = _np(out)
    if out.shape != x.shape:
        raise Wrong(
            f"for x of shape {x.shape} the output has shape {out.shape}: one mask "
            "value per element, rng.random(x.shape)"
        )
    return out


@exercise(
    "In training: keep = rng.random(x.shape) >= rate, then x * keep / (1 - rate) "
    "(the kept outputs grow so that their expected sum is unchanged). Outside "
    "training: x unchanged."
)
def dropout(fn) -> None:
    """`fn(x, rate, training, rng)`: inverted dropout of a NumPy array, each element dropped
    independently with probability `rate`, the others divided by 1 − rate."""
    data = np.random.default_rng(1)
    for rate, shape in ((0.25, (200, 300)), (0.8, (40, 30, 50))):
        x = data.uniform(0.5, 2, size=shape) * data.choice([-1.0, 1.0], size=shape)
        out = _drop(fn, x, rate, True)
        dropped = out == 0
        by_example = dropped.reshape(shape[0], -1)
        if np.mean(by_example.all(axis=0) | ~by_example.any(axis=0)) > 0.5:
            raise Wrong(
                f"rate {rate}: every example of the batch has the same mask (an "
                "output is dropped in all rows or none): draw one value per element, "
                "rng.random(x.shape)"
            )
        if np.mean(by_example.all(axis=1) | ~by_example.any(axis=1)) > 0.5:
            raise Wrong(
                f"rate {rate}: each example is dropped or kept as a whole: draw one "
                "value per element, rng.random(x.shape)"
            )
        share = dropped.mean()
        if abs(share - rate) > 0.02:
            flipped = abs(share - (1 - rate)) < 0.02
            raise Wrong(
                f"rate {rate}: {share:.1%} of the outputs are 0, expected about "
                f"{rate:.0%}"
                + (
                    ": it drops with probability 1 − rate; rate is the "
                    "share dropped (keep where rng.random >= rate)"
                    if flipped
                    else ""
                )
            )
        ratio = out[~dropped] / x[~dropped]
        if not np.allclose(ratio, 1 / (1 - rate), rtol=1e-5):
            why = (
                ": the kept outputs are not rescaled, divide them by (1 − rate)"
                if np.allclose(ratio, 1)
                else ": multiplied by (1 − rate) instead of divided"
                if np.allclose(ratio, 1 - rate)
                else ""
            )
            raise Wrong(
                f"rate {rate}: a kept output x becomes {np.median(ratio):.4g}·x, "
                f"expected 1/(1 − {rate}) = {1 / (1 - rate):.4g} times x{why}"
            )
        if not np.array_equal(dropped, _drop(fn, x, rate, True) == 0):
            raise Wrong(
                "two calls with the same rng seed drop different outputs: draw the "
                "mask from the rng argument, not from np.random"
            )
    x = data.normal(size=(4, 6))
    for rate in (0.5, 0.25):
        out = _drop(fn, x, rate, False)
        if not np.allclose(out, x, rtol=1e-6, atol=1e-7):
            scaled = np.allclose(out, x * (1 - rate)) or np.allclose(out, x / (1 - rate))
            raise Wrong(
                f"outside training (training=False, rate {rate}) the input must pass "
                "unchanged"
                + (": inverted dropout scales in training only, not at inference" if scaled else "")
            )


def _init_mistakes(fan_in: int, fan_out: int) -> dict[str, float]:
    """The standard deviation that common wrong He initialisations give, and the mistake."""
    return {
        "it uses fan_out: the scale is set by the inputs each neuron sums, fan_in": 2 / fan_out,
        "the 2 is missing: 1/fan_in is Xavier's variance, for tanh; a ReLU zeroes half "
        "its inputs, so He doubles it": 1 / fan_in,
        "2/fan_in is the variance: the standard deviation is its square root": (2 / fan_in) ** 2,
        "it divides by the layer's number of weights fan_in·fan_out: use fan_in": 2
        / (fan_in * fan_out),
        "it uses fan_in + fan_out (Glorot's average): He uses fan_in alone": 2 / (fan_in + fan_out),
        "a normal cut at two standard deviations has a standard deviation 0.88 times its "
        "stddev: divide by 0.8796 (Keras' HeNormal does)": 0.8796**2 * 2 / fan_in,
        "a uniform on ±sqrt(2/fan_in) has standard deviation sqrt(2/fan_in)/√3: use the "
        "limit sqrt(6/fan_in)": 2 / fan_in / 3,
    }  # variances: the standard deviations are their square roots


def _weights(fn, fan_in, fan_out, seed) -> np.ndarray:
    w = fn(fan_in, fan_out, np.random.default_rng(seed))
    if w is None:
        raise Wrong("it returns nothing (a `return` is missing)")
    w, said = _np(w), f"he_init({fan_in}, {fan_out}, rng) has shape"
    if w.shape == (fan_out, fan_in):
        raise Wrong(
            f"{said} {w.shape}, expected ({fan_in}, {fan_out}): a layer computes x·W, so W "
            "has one row per input"
        )
    if w.shape != (fan_in, fan_out):
        raise Wrong(f"{said} {w.shape}, expected ({fan_in}, {fan_out})")
    if not np.all(np.isfinite(w)):
        raise Wrong("the weights contain NaN or infinity")
    return w


@exercise(
    "rng.standard_normal((fan_in, fan_out)) * np.sqrt(2 / fan_in): a normal with "
    "variance 2/fan_in, fan_in being the number of inputs of each neuron."
)
def he_init(fn) -> None:
    """`fn(fan_in, fan_out, rng)`: a (fan_in, fan_out) matrix of weights with mean 0 and
    standard deviation sqrt(2 / fan_in), drawn from `rng`; shapes far from square, so that
    fan_in, fan_out, their sum and their product all give different scales."""
    for fan_in, fan_out in ((900, 40), (40, 900), (3000, 12)):
        w, want = _weights(fn, fan_in, fan_out, seed=fan_in), np.sqrt(2 / fan_in)
        said = f"he_init({fan_in}, {fan_out}, rng)"
        if w.std() == 0:
            raise Wrong(f"{said}: every weight is the same: neurons that start equal stay equal")
        if abs(w.mean()) > 0.05 * want:
            raise Wrong(
                f"{said}: the weights' mean is {w.mean():.3g}, expected 0: draw from a "
                "distribution centred on 0 (rng.standard_normal, not rng.random)"
            )
        if abs(w.std() / want - 1) > 0.03:
            errors = {
                m: abs(w.std() / np.sqrt(v) - 1) for m, v in _init_mistakes(fan_in, fan_out).items()
            }
            mistake = min(errors, key=errors.get)
            raise Wrong(
                f"{said}: the weights' standard deviation is {w.std():.4g}, expected "
                f"sqrt(2/{fan_in}) = {want:.4g}"
                + (f": {mistake}" if errors[mistake] < 0.03 else "")
            )
    w = _weights(fn, 900, 40, seed=7)
    if not np.array_equal(w, _weights(fn, 900, 40, seed=7)):
        raise Wrong(
            "two calls with the same rng seed give different weights: draw them from the "
            "rng argument, not from np.random"
        )
    if np.array_equal(w, _weights(fn, 900, 40, seed=8)):
        raise Wrong(
            "two different rngs give the same weights: draw them from the rng argument "
            "(a seed of your own gives the same weights on every call)"
        )
