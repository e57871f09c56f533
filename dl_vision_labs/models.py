"""Models and a learning-rate schedule that several notebooks share, and a look inside them.

    schedule = models.ExponentialDecayToMin(0.003, 0.0001, decay_steps=2000)
    mlp = models.five_layer_mlp("relu", dropout_rate=0.25)        # notebooks 03 and 05
    cnn = models.conv_net(dropout_rate=0.25, shift=0.08)           # notebook 04
    bn_cnn = models.conv_net(filters=(24, 48, 64), batch_norm=True)  # notebook 05

Every model takes MNIST-shaped images ``(28, 28, 1)`` with pixels scaled to
[0, 1] (`dl_vision_labs.training.scale_images`) and outputs 10 class probabilities (softmax), so it
is trained with ``loss="sparse_categorical_crossentropy"`` on integer labels.
Only `keras.layers` / `keras.ops` are used: the models run on any Keras backend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
from keras import layers, ops

# The lecture's layer widths K, L, M, N, then the 10 outputs.
MLP_WIDTHS = (200, 100, 60, 30)
# The lecture's bigger convolutional network: 6x6x6, 5x5x12 stride 2, 4x4x24 stride 2.
BIG_CONV = dict(filters=(6, 12, 24), kernel_sizes=(6, 5, 4), strides=(1, 2, 2))


@keras.saving.register_keras_serializable(package="dl_vision_labs")
class ExponentialDecayToMin(keras.optimizers.schedules.LearningRateSchedule):
    """Learning rate that decays exponentially from `maximum` towards `minimum`.

    ``lr(step) = minimum + (maximum - minimum) * exp(-step / decay_steps)``

    the lecture's ``lr = 0.0001 + 0.003 * exp(-i / 2000)`` up to the tiny
    difference that it starts at exactly `maximum`. Keras' built-in
    `ExponentialDecay` has no floor, so it cannot express this formula.
    """

    def __init__(self, maximum: float, minimum: float, decay_steps: float, name: str | None = None):
        super().__init__()
        if not maximum >= minimum >= 0 or decay_steps <= 0:
            raise ValueError(
                "need maximum >= minimum >= 0 and decay_steps > 0, got "
                f"{maximum}, {minimum}, {decay_steps}"
            )
        self.maximum = float(maximum)
        self.minimum = float(minimum)
        self.decay_steps = float(decay_steps)
        self.name = name

    def __call__(self, step):
        step = ops.cast(step, "float32")
        return self.minimum + (self.maximum - self.minimum) * ops.exp(-step / self.decay_steps)

    def get_config(self) -> dict:
        return {
            "maximum": self.maximum,
            "minimum": self.minimum,
            "decay_steps": self.decay_steps,
            "name": self.name,
        }


def truncated_normal(stddev: float = 0.1, seed: int | None = None):
    """The lecture's weight initialisation: a normal cut at two standard deviations."""
    return keras.initializers.TruncatedNormal(stddev=stddev, seed=seed)


def _seed(seed: int | None, offset: int) -> int | None:
    return None if seed is None else seed + offset


def _augment(shift: float, seed: int | None) -> keras.layers.Layer:
    return layers.RandomTranslation(shift, shift, fill_mode="constant", seed=seed, name="augment")


def five_layer_mlp(
    activation: str = "relu",
    *,
    dropout_rate: float = 0.0,
    batch_norm: Callable[[], keras.layers.Layer] | None = None,
    widths: Sequence[int] = MLP_WIDTHS,
    shift: float = 0.0,
    seed: int | None = None,
    input_shape=(28, 28, 1),
    name: str | None = None,
) -> keras.Model:
    """784 -> 200 -> 100 -> 60 -> 30 -> 10: the lecture's five-layer network.

    Each hidden layer is ``dense{i}`` (weights from a truncated normal with
    stddev 0.1; biases 0.1 for ReLU so that no neuron starts dead, else 0), then
    optionally ``norm{i}`` = ``batch_norm()`` (the dense layer then has no bias:
    the normalization's offset replaces it), then the activation ``act{i}``,
    then optionally ``dropout{i}`` (active only in training). The output layer
    is a 10-way softmax.

    Args:
        activation: "sigmoid", "relu", ... (any Keras activation name).
        dropout_rate: fraction of each hidden layer's outputs dropped in training
            (the lecture's ``pkeep = 0.75`` is ``dropout_rate=0.25``).
        batch_norm: a callable that takes ``name=`` and returns a normalization
            layer, e.g. a layer class such as ``keras.layers.BatchNormalization``.
        widths: hidden layer sizes.
        shift: data augmentation, as in `conv_net`.
        seed: makes the initial weights and the dropout masks reproducible.
    """
    bias = (
        "zeros"
        if activation == "sigmoid" or batch_norm is not None
        else keras.initializers.Constant(0.1)
    )
    model = keras.Sequential([keras.Input(shape=input_shape)], name=name or f"mlp_{activation}")
    if shift:
        model.add(_augment(shift, seed))
    model.add(layers.Flatten(name="flatten"))
    for i, width in enumerate(widths, start=1):
        model.add(
            layers.Dense(
                width,
                use_bias=batch_norm is None,
                bias_initializer=bias,
                kernel_initializer=truncated_normal(seed=_seed(seed, i)),
                name=f"dense{i}",
            )
        )
        if batch_norm is not None:
            model.add(batch_norm(name=f"norm{i}"))
        model.add(layers.Activation(activation, name=f"act{i}"))
        if dropout_rate:
            model.add(layers.Dropout(dropout_rate, seed=_seed(seed, 100 + i), name=f"dropout{i}"))
    model.add(
        layers.Dense(
            10,
            activation="softmax",
            name="output",
            kernel_initializer=truncated_normal(seed=_seed(seed, 0)),
        )
    )
    return model


def conv_net(
    *,
    filters: Sequence[int] = BIG_CONV["filters"],
    kernel_sizes: Sequence[int] = BIG_CONV["kernel_sizes"],
    strides: Sequence[int] = BIG_CONV["strides"],
    dense_units: int = 200,
    dropout_rate: float = 0.25,
    batch_norm: bool = False,
    shift: float = 0.0,
    seed: int | None = None,
    input_shape=(28, 28, 1),
    num_classes: int = 10,
    name: str | None = None,
) -> keras.Model:
    """The lecture's convolutional network; by default its bigger version.

    ``conv{i}``: `Conv2D` with padding "same" and ReLU, one per entry of
    `filters` / `kernel_sizes` / `strides`; then ``dense`` (`dense_units`, ReLU),
    ``dropout`` (only when `dropout_rate` > 0), and the `num_classes`-way softmax ``output``.
    With ``batch_norm=True`` every conv and dense layer loses its bias and is
    followed by ``keras.layers.BatchNormalization`` (offset only, ``scale=False``:
    a ReLU after it makes a scale redundant) before its ReLU.

    With ``shift`` > 0 the model starts with ``augment``, a
    `RandomTranslation` layer that shifts each training image by up to
    ``shift`` times its height and width (filling with black): data
    augmentation, active only in training, so predictions are unchanged.

    The defaults (6x6x6, 5x5x12 stride 2, 4x4x24 stride 2, dense 200,
    dropout 0.25) are the lecture's bigger network; ``filters=(4, 8, 12),
    kernel_sizes=(5, 5, 4), dropout_rate=0`` gives its small one.
    """
    if not len(filters) == len(kernel_sizes) == len(strides):
        raise ValueError("filters, kernel_sizes and strides need one entry per conv layer")
    bias = keras.initializers.Constant(0.1)  # ReLU: start every neuron alive
    model = keras.Sequential(
        [keras.Input(shape=input_shape)], name=name or ("conv_net_bn" if batch_norm else "conv_net")
    )
    if shift:
        model.add(_augment(shift, seed))

    def block(layer, label):
        model.add(layer)
        if batch_norm:
            model.add(layers.BatchNormalization(scale=False, name=f"{label}_bn"))
        model.add(layers.Activation("relu", name=f"{label}_relu"))

    for i, (f, k, s) in enumerate(zip(filters, kernel_sizes, strides), start=1):
        block(
            layers.Conv2D(
                f,
                k,
                strides=s,
                padding="same",
                use_bias=not batch_norm,
                bias_initializer=bias,
                name=f"conv{i}",
                kernel_initializer=truncated_normal(seed=_seed(seed, i)),
            ),
            f"conv{i}",
        )
    model.add(layers.Flatten(name="flatten"))
    block(
        layers.Dense(
            dense_units,
            use_bias=not batch_norm,
            bias_initializer=bias,
            name="dense",
            kernel_initializer=truncated_normal(seed=_seed(seed, 10)),
        ),
        "dense",
    )
    if dropout_rate:
        model.add(layers.Dropout(dropout_rate, seed=_seed(seed, 100), name="dropout"))
    model.add(
        layers.Dense(
            num_classes,
            activation="softmax",
            name="output",
            kernel_initializer=truncated_normal(seed=_seed(seed, 0)),
        )
    )
    return model


def layer_activations(model: keras.Model, x, layer_names: Sequence[str]) -> list:
    """Inputs and outputs of the named layers for a batch `x`, as numpy arrays.

    For an activation layer ``act{i}`` this is its pre-activations and its
    activations: ``[(pre, post), ...]``, one pair per name, in inference mode.
    """
    probe = keras.Model(
        model.inputs[0],
        [t for n in layer_names for t in (model.get_layer(n).input, model.get_layer(n).output)],
    )
    out = [ops.convert_to_numpy(t) for t in probe(x, training=False)]
    return list(zip(out[0::2], out[1::2]))


def layer_costs(model: keras.Model) -> list[dict]:
    """What each `Conv2D` and `Dense` layer of `model` costs: its output shape, its
    parameters, and its multiply-adds for one input image (a multiply-add is two FLOPs).

    A convolution computes, at each of its ``H × W`` output positions and for each of its
    ``C_out`` filters, ``F × F × C_in`` products: ``H · W · F² · C_in · C_out``; a dense
    layer ``n_in · n_out`` (per position, when it reads a feature map).
    """
    rows = []
    for layer in model.layers:
        if not isinstance(layer, (layers.Conv2D, layers.Dense)):
            continue
        positions = 1
        for size in layer.output.shape[1:-1]:
            positions *= size
        kernel = layer.kernel.shape  # conv: (F, F, C_in, C_out); dense: (n_in, n_out)
        per_position = 1
        for size in kernel:
            per_position *= size
        rows.append(
            {
                "name": layer.name,
                "output": tuple(layer.output.shape[1:]),
                "params": layer.count_params(),
                "macs": positions * per_position,
            }
        )
    return rows
