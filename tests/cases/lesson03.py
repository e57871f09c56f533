"""Right and wrong answers to notebook 03's exercises (five-layer network, He initialisation,
decay, dropout)."""

import math

import keras
import numpy as np
from keras import layers, ops

from dl_vision_labs import check
from tests.cases import Case, Wrong

WIDTHS = (200, 100, 60, 30)


# --- five_layer_model --------------------------------------------------------------------------


def mlp_notebook(activation, dropout_rate=0.0):
    stack = [keras.Input(shape=(28, 28, 1)), layers.Flatten()]
    for width in WIDTHS:
        stack.append(layers.Dense(width, activation=activation))
        if dropout_rate:
            stack.append(layers.Dropout(dropout_rate))
    stack.append(layers.Dense(10, activation="softmax"))
    return keras.Sequential(stack)


def mlp_activation_layers(activation, dropout_rate=0.0):  # Activation and Softmax layers
    model = keras.Sequential([keras.Input(shape=(28, 28, 1)), layers.Flatten()])
    for width in WIDTHS:
        model.add(layers.Dense(width))
        model.add(layers.ReLU() if activation == "relu" else layers.Activation(activation))
        model.add(layers.Dropout(dropout_rate))  # Dropout(0) changes nothing
    model.add(layers.Dense(10))
    model.add(layers.Softmax())
    return model


def mlp_functional(activation, dropout_rate=0.0):  # functional API, activation functions
    inputs = keras.Input(shape=(28, 28, 1))
    h = layers.Reshape((784,))(inputs)
    for width in WIDTHS:
        h = layers.Dense(width, activation=keras.activations.get(activation))(h)
        h = layers.Dropout(dropout_rate)(h) if dropout_rate > 0 else h
    outputs = layers.Dense(10, activation=keras.activations.softmax)(h)
    return keras.Model(inputs, outputs)


def _mlp(
    activation,
    dropout_rate=0.0,
    *,
    widths=WIDTHS,
    flatten=True,
    last_dropout=False,
    drop_first=False,
    bare=None,
    hidden=None,
    rate=None,
    output="softmax",
):
    rate = dropout_rate if rate is None else rate
    stack = [keras.Input(shape=(28, 28, 1))] + ([layers.Flatten()] if flatten else [])
    for i, width in enumerate(widths):
        act = [] if i == bare else [layers.Activation(hidden or activation)]
        drop = [layers.Dropout(rate)] if rate else []
        stack += [layers.Dense(width)] + (drop + act if drop_first else act + drop)
    stack.append(layers.Dense(10, activation=output))
    stack += [layers.Dropout(rate)] if last_dropout and rate else []
    return keras.Sequential(stack)


# --- he_init -----------------------------------------------------------------------------------


def he_keras(fan_in, fan_out, rng):  # Keras' HeNormal: a truncated normal, rescaled
    return keras.initializers.HeNormal(seed=int(rng.integers(2**31)))((fan_in, fan_out))


def he_uniform(fan_in, fan_out, rng):  # He's uniform variant: the same standard deviation
    limit = math.sqrt(6 / fan_in)
    return rng.uniform(-limit, limit, size=(fan_in, fan_out))


def he_truncated_uncorrected(fan_in, fan_out, rng):
    init = keras.initializers.TruncatedNormal(
        stddev=math.sqrt(2 / fan_in), seed=int(rng.integers(99))
    )
    return init((fan_in, fan_out))


def he_global_rng(fan_in, fan_out, rng):
    return np.random.randn(fan_in, fan_out) * np.sqrt(2 / fan_in)  # noqa: NPY002


def he_own_seed(fan_in, fan_out, rng):
    return np.random.default_rng(0).standard_normal((fan_in, fan_out)) * np.sqrt(2 / fan_in)


def _he(scale):
    """A normal initialiser with the standard deviation scale(fan_in, fan_out)."""

    def init(fan_in, fan_out, rng):
        return rng.standard_normal((fan_in, fan_out)) * scale(fan_in, fan_out)

    return init


# --- decayed_learning_rate, dropout -----------------------------------------------------------


def lr_rearranged(step, lr_max, lr_min, decay_speed):
    e = math.exp(-step / decay_speed)
    return lr_max * e + lr_min * (1 - e)


def lr_tensor(step, lr_max, lr_min, decay_speed):
    return lr_min + (lr_max - lr_min) * ops.exp(ops.convert_to_tensor(-step / decay_speed))


def dropout_binomial(x, rate, training, rng):
    if training:
        return rng.binomial(1, 1 - rate, size=x.shape) * x / (1 - rate)
    return x


def dropout_tensor(x, rate, training, rng):  # a float32 tensor comes back
    if not training:
        return ops.convert_to_tensor(x, "float32")
    keep = ops.convert_to_tensor(rng.random(x.shape) >= rate)
    return ops.where(keep, ops.convert_to_tensor(x, "float32") / (1 - rate), 0.0)


def dropout_on_a_copy(x, rate, training, rng):
    y = np.array(x, copy=True)
    if training:
        y[rng.random(x.shape) < rate] = 0.0
        y /= 1 - rate
    return y


def dropout_in_place(x, rate, training, rng):
    if training:
        x[rng.random(x.shape) < rate] = 0.0
        x /= 1 - rate
    return x


def dropout_same_mask(x, rate, training, rng):
    return x * (rng.random(x.shape[1:]) >= rate) / (1 - rate) if training else x


def dropout_global_rng(x, rate, training, rng):
    return x * (np.random.random(x.shape) >= rate) / (1 - rate) if training else x


def dropout_scaled_inference(x, rate, training, rng):
    return x * (rng.random(x.shape) >= rate) / (1 - rate) if training else x * (1 - rate)


CASES = {
    "five_layer_model": Case(
        run=check.five_layer_model,
        right=[
            mlp_notebook,
            mlp_activation_layers,
            mlp_functional,
            lambda activation, dropout_rate=0.0: _mlp(activation, dropout_rate),
        ],
        wrong=[
            Wrong(
                lambda a, dropout_rate=0.0: _mlp(a, dropout_rate, last_dropout=True),
                r"Dropout follows the output layer",
                "Dropout after the output",
            ),
            Wrong(
                lambda a, dropout_rate=0.0: _mlp(a, dropout_rate, bare=2),
                r"hidden layer 3 has no activation",
                "an activation missing",
            ),
            Wrong(
                lambda a, dropout_rate=0.0: _mlp(a, dropout_rate, drop_first=True),
                r"Dropout comes before the activation",
                "dropout before the activation",
            ),
            Wrong(
                lambda a, dropout_rate=0.0: _mlp(a, dropout_rate, widths=(200, 100, 50, 30)),
                r"Dense layers have \[200, 100, 50, 30, 10\] neurons",
                "wrong widths",
            ),
            Wrong(
                lambda a, dropout_rate=0.0: _mlp(a, dropout_rate, flatten=False),
                r"no Flatten",
                "no Flatten",
            ),
            Wrong(
                lambda a, dropout_rate=0.0: _mlp(a, dropout_rate, hidden="relu"),
                r"applies relu, expected 'sigmoid'",
                "activation argument ignored",
            ),
            Wrong(
                lambda a, dropout_rate=0.0: _mlp(a, dropout_rate, rate=0.25),
                r"with dropout_rate=0 .* still has Dropout",
                "a fixed dropout rate",
            ),
            Wrong(
                lambda a, dropout_rate=0.0: _mlp(a, dropout_rate, output="sigmoid"),
                r"output layer applies sigmoid, expected 'softmax'",
                "sigmoid output",
            ),
            Wrong(
                lambda a, dropout_rate=0.0: _mlp(a, dropout_rate, output=None),
                r"output layer has no activation",
                "no softmax",
            ),
            Wrong(lambda a, dropout_rate=0.0: None, r"returns nothing", "no return"),
        ],
    ),
    "he_init": Case(
        run=check.he_init,
        right=[
            lambda fan_in, fan_out, rng: (
                rng.standard_normal((fan_in, fan_out)) * np.sqrt(2 / fan_in)
            ),
            lambda fan_in, fan_out, rng: rng.normal(0.0, math.sqrt(2 / fan_in), (fan_in, fan_out)),
            he_keras,
            he_uniform,
            lambda fan_in, fan_out, rng: keras.random.normal(
                (fan_in, fan_out), stddev=(2 / fan_in) ** 0.5, seed=int(rng.integers(2**31))
            ),
        ],
        wrong=[
            Wrong(_he(lambda i, o: np.sqrt(2 / o)), r"uses fan_out", "fan_out instead of fan_in"),
            Wrong(
                _he(lambda i, o: np.sqrt(1 / i)), r"the 2 is missing", "Xavier's 1/fan_in with ReLU"
            ),
            Wrong(_he(lambda i, o: 2 / i), r"is the variance", "variance, no square root"),
            Wrong(_he(lambda i, o: np.sqrt(2 / (i * o))), r"number of weights", "all the weights"),
            Wrong(
                _he(lambda i, o: np.sqrt(2 / (i + o))),
                r"fan_in \+ fan_out",
                "Glorot's fan_in + fan_out",
            ),
            Wrong(
                lambda i, o, rng: rng.standard_normal((o, i)) * np.sqrt(2 / i),
                r"one row per input",
                "transposed: (fan_out, fan_in)",
            ),
            Wrong(
                he_truncated_uncorrected,
                r"cut at two standard deviations",
                "truncated, not rescaled",
            ),
            Wrong(
                lambda i, o, rng: rng.uniform(-np.sqrt(2 / i), np.sqrt(2 / i), (i, o)),
                r"uniform on ±sqrt\(2/fan_in\)",
                "uniform with limit sqrt(2/fan_in)",
            ),
            Wrong(
                lambda i, o, rng: rng.random((i, o)) * np.sqrt(2 / i),
                r"mean .* expected 0",
                "rng.random: uniform on [0, 1)",
            ),
            Wrong(he_global_rng, r"not from np.random", "np.random instead of rng"),
            Wrong(he_own_seed, r"seed of your own", "a fixed seed"),
            Wrong(
                lambda i, o, rng: np.full((i, o), np.sqrt(2 / i)),
                r"every weight is the same",
                "constant",
            ),
            Wrong(lambda i, o, rng: None, r"returns nothing", "no return"),
        ],
    ),
    "decayed_learning_rate": Case(
        run=check.decayed_learning_rate,
        right=[
            lambda step, lr_max, lr_min, decay_speed: (
                lr_min + (lr_max - lr_min) * np.exp(-step / decay_speed)
            ),
            lr_rearranged,
            lr_tensor,
            lambda step, lr_max, lr_min, decay_speed: np.float32(
                lr_min + (lr_max - lr_min) * math.exp(-step / decay_speed)
            ),
        ],
        wrong=[
            Wrong(
                lambda step, lr_max, lr_min, decay_speed: lr_max * np.exp(-step / decay_speed),
                r"without lr_min",
                "no floor",
            ),
            Wrong(
                lambda step, lr_max, lr_min, decay_speed: (
                    lr_min + lr_max * np.exp(-step / decay_speed)
                ),
                r"multiply by \(lr_max − lr_min\)",
                "lr_max instead of lr_max - lr_min",
            ),
            Wrong(
                lambda step, lr_max, lr_min, decay_speed: (
                    lr_min + (lr_max - lr_min) * np.exp(step / decay_speed)
                ),
                r"grows.*with a minus",
                "no minus sign",
            ),
            Wrong(
                lambda step, lr_max, lr_min, decay_speed: (
                    lr_min + (lr_max - lr_min) * np.exp(-step * decay_speed)
                ),
                r"not −step × decay_speed",
                "multiplied by the decay speed",
            ),
            Wrong(
                lambda step, lr_max, lr_min, decay_speed: (
                    lr_min + (lr_max - lr_min) * np.exp(-(step // decay_speed))
                ),
                r"rounds down",
                "floor division",
            ),
            Wrong(lambda step, lr_max, lr_min, decay_speed: None, r"returns nothing", "no return"),
        ],
    ),
    "dropout": Case(
        run=check.dropout,
        right=[
            lambda x, rate, training, rng: (
                x * (rng.random(x.shape) >= rate) / (1 - rate) if training else x
            ),
            dropout_binomial,
            dropout_tensor,
            dropout_on_a_copy,
        ],
        wrong=[
            Wrong(
                lambda x, rate, training, rng: x * (rng.random(x.shape) >= rate) if training else x,
                r"not rescaled",
                "no rescaling",
            ),
            Wrong(
                dropout_scaled_inference,
                r"scales in training only, not at inference",
                "scaling at inference",
            ),
            Wrong(
                lambda x, rate, training, rng: (
                    x * (rng.random(x.shape) < rate) / (1 - rate) if training else x
                ),
                r"probability 1 − rate",
                "keeps with probability rate",
            ),
            Wrong(dropout_same_mask, r"same mask", "one mask for the whole batch"),
            Wrong(dropout_in_place, r"in place", "modifies x"),
            Wrong(dropout_global_rng, r"from the rng argument", "np.random instead of rng"),
            Wrong(
                lambda x, rate, training, rng: (
                    x * (rng.random(x.shape) >= rate) * (1 - rate) if training else x
                ),
                r"multiplied by \(1 − rate\) instead of divided",
                "multiplies by 1 - rate",
            ),
            Wrong(
                lambda x, rate, training, rng: x * (rng.random(x.shape) >= rate) / (1 - rate),
                r"training=False.*unchanged",
                "dropout at inference too",
            ),
            Wrong(lambda x, rate, training, rng: None, r"returns nothing", "no return"),
        ],
    ),
}
