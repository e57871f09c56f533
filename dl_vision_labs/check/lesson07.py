"""Checks of notebook 07's exercises: ConvNet architectures and transfer learning."""

import numpy as np
from keras import Input, Model, layers

from .core import Wrong, _compare, _np, exercise
from .lesson04 import _count, _named
from .lesson06 import _correlate, _diagnose, _padded, _result, _unchanged

# --- ConvNet architectures -------------------------------------------------------------------


@exercise(
    "One input pixel is a 1 × 1 region; each stride-1 kernel × kernel layer widens it by "
    "kernel − 1 pixels: return n_layers * (kernel - 1) + 1."
)
def receptive_field(fn) -> None:
    """`fn(n_layers, kernel)`: the side of the input region one output of n_layers stacked
    stride-1 kernel × kernel convolutions sees."""
    for n, k in [(2, 3), (3, 3), (2, 5), (4, 7), (1, 5), (3, 1), (5, 2), (10, 3)]:
        support = np.ones(1)  # an impulse, spread by each layer's window (a 1-D slice)
        for _ in range(n):
            support = np.convolve(support, np.ones(k))
        want, call = len(support), f"receptive_field({n}, {k})"
        got = _count(fn(n, k), call)
        if got != want:
            raise Wrong(f"{call} = {got}, expected {want}" + _named(got, [
                (n * (k - 1), "off by one: count the centre pixel too, n(k − 1) + 1"),
                (n * k, "neighbouring windows overlap: each layer adds k − 1 pixels, not k"),
                (k**n, "each layer adds k − 1 pixels to the region; it does not multiply it"),
                (2 * n + 1, "2n + 1 holds only for 3 × 3 kernels: use `kernel`"),
                ((n + 1) * (k - 1) + 1, "one layer too many: n(k − 1) + 1"),
                ((n - 1) * (k - 1) + 1, "one layer too few: n(k − 1) + 1"),
            ]))  # fmt: skip


def _conv_reference(h, w, c_in, c_out, k, stride, padding, bias):
    """Keras' own count and output size; multiply-adds: one per weight per output position."""
    layer = layers.Conv2D(c_out, k, strides=stride, padding=padding, use_bias=bias)
    layer.build((None, h, w, c_in))
    _, rows, cols, _ = layer.compute_output_shape((None, h, w, c_in))
    return layer.count_params(), rows * cols * c_out * k * k * c_in, (rows, cols)


def _size(n, k, s, padding) -> int:
    return -(-n // s) if padding == "same" else (n - k) // s + 1


@exercise(
    'Output size: "same" gives ceil(h / stride) (-(-h // stride)), "valid" (h − k) // stride '
    "+ 1, the same for w. Parameters: k·k·c_in·c_out weights, plus c_out biases if bias. "
    "Multiply-adds: h_out·w_out·c_out·k·k·c_in. Return (parameters, multiply_adds)."
)
def conv_cost(fn) -> None:
    """`fn(h, w, c_in, c_out, k, stride, padding, bias)`: (parameters, multiply-adds) of a
    Conv2D on one h × w × c_in image, as Keras builds it; inputs non-square, non-divisible."""
    for h, w, c_in, c_out, k, s, padding, bias in [
        (13, 9, 4, 5, 3, 2, "same", True),
        (13, 9, 4, 5, 3, 2, "valid", True),
        (10, 7, 4, 6, 5, 3, "valid", False),
        (8, 11, 6, 4, 1, 2, "same", False),
        (227, 227, 3, 96, 11, 4, "valid", True),
        (16, 12, 2, 7, 3, 1, "same", True),
    ]:
        params, macs, (rows, cols) = _conv_reference(h, w, c_in, c_out, k, s, padding, bias)
        call = f"conv_cost({h}, {w}, {c_in}, {c_out}, {k}, {s}, {padding!r}, bias={bias})"
        got = fn(h, w, c_in, c_out, k, s, padding, bias)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise Wrong(f"{call} returned {got!r}: return two numbers, (parameters, multiply_adds)")
        p, m = _count(got[0], call + "[0]"), _count(got[1], call + "[1]")
        if (p, m) == (macs, params) != (params, macs):
            raise Wrong(f"{call} = ({p}, {m}): return (parameters, multiply_adds), in that order")
        b = c_out if bias else 0
        if p != params:
            raise Wrong(f"{call}: {p} parameters, Keras counts {params}" + _named(p, [
                (params - b, "the c_out biases are missing (one per filter when bias=True)"),
                (params + c_out, "bias=False: no biases, only the k·k·c_in·c_out weights"),
                (k * c_in * c_out + b, "a filter has k·k weights per input channel, not k"),
                (k * k * c_out + b, "each filter spans all c_in input channels"),
                (k * k * c_in + b, "there are c_out filters, each with k·k·c_in weights"),
                (params * rows * cols, "parameters do not depend on the image size: the same "
                 "filters slide over every position"),
            ]))  # fmt: skip
        if m == macs:
            continue
        other = "valid" if padding == "same" else "same"
        per = c_out * k * k * c_in
        if int(m) != m:
            raise Wrong(f"{call}: {m} multiply-adds is not a whole number; round the output "
                        f"size with // (down for 'valid', up for 'same')")  # fmt: skip
        expected = f"{call}: {m} multiply-adds, expected {macs} ({rows} × {cols} output)"
        raise Wrong(expected + _named(m, [
            (_size(h, k, 1, padding) * _size(w, k, 1, padding) * per, "the stride is ignored: "
             "at stride s the filter visits every s-th position"),
            (_size(h, k, s, other) * _size(w, k, s, other) * per, f"that is the output size for "
             f"padding {other!r}: 'same' gives ceil(h / s), 'valid' (h − k) // s + 1"),
            (h // s * (w // s) * per if padding == "same" else None,
             "'same' rounds up: ceil(h / s) = -(-h // s)"),
            (rows * rows * per, "the image is h × w, not square: use w for the columns"),
            (cols * cols * per, "the image is h × w, not square: use h for the rows"),
            (h * w * per, "count the output positions, not the input's h × w"),
            (macs // k, "each output value needs k·k·c_in multiply-adds, not k·c_in"),
            (macs // c_in, "each output value sums over all c_in input channels"),
            (macs // c_out, "every one of the c_out filters runs at each position"),
            (macs + rows * cols * b, "the bias is an addition, not a multiply-add"),
            (2 * macs, "count multiply-adds, not FLOPs (a multiply-add is two FLOPs)"),
        ]))  # fmt: skip


def _residual_outputs(x, k1, k2) -> dict:
    """ReLU(F(x) + x), F = conv → ReLU → conv ("same", no bias), and the usual mistakes."""
    conv = lambda h, k: np.stack([_correlate(_padded(im, [(1, 1), (1, 1)]), k) for im in h])  # noqa: E731
    relu = lambda z: np.maximum(z, 0)  # noqa: E731
    a = conv(x, k1)
    f = conv(relu(a), k2)
    return {
        None: relu(f + x),
        "the skip is added after the last ReLU, ReLU(F(x)) + x: add x first, then the ReLU":
            relu(f) + x,
        "the second convolution has a ReLU built in (activation='relu'): F(x) ends with the "
        "convolution, the ReLU comes after the addition": relu(relu(f) + x),
        "no ReLU after the addition: the block's output is ReLU(F(x) + x)": f + x,
        "x is never added: the skip connection is missing, ReLU(F(x) + x)": relu(f),
        "no ReLU between the two convolutions": relu(conv(a, k2) + x),
        "the skip starts after the first convolution: add the block's input x itself":
            relu(f + relu(a)),
        "the skip starts after the first convolution (before its ReLU): add the block's "
        "input x itself": relu(f + a),
        "a ReLU on x before the addition: the skip carries x unchanged": relu(f + relu(x)),
    }  # fmt: skip


@exercise(
    'y = keras.layers.Conv2D(channels, 3, padding="same", activation="relu")(x); y = '
    'keras.layers.Conv2D(channels, 3, padding="same")(y); then add the input and apply the '
    "ReLU: return keras.layers.ReLU()(keras.layers.Add()([y, x]))."
)
def residual_block(fn) -> None:
    """`fn(x)`: ResNet's basic block without batch norm, ReLU(conv(ReLU(conv(x))) + x), 3×3
    "same" convolutions with x's channels; checked with known weights (a batch norm with its
    initial values, in inference mode, changes nothing that the tolerance sees)."""
    x = Input((6, 7, 4))
    out = fn(x)
    if out is None or not hasattr(out, "shape"):
        raise Wrong(f"residual_block returned {type(out).__name__}: return the block's output")
    if tuple(out.shape[1:]) != (6, 7, 4):
        raise Wrong(
            f"the block turns a (6, 7, 4) input into {tuple(out.shape[1:])}: F(x) must keep "
            f"x's shape to be added to it (padding='same', x.shape[-1] filters)"
        )
    try:
        model = Model(x, out)
    except ValueError as err:
        raise Wrong(f"the returned tensor is not computed from the input x ({err})") from None
    convs = [op for op in model.operations if isinstance(op, layers.Conv2D)]
    if len(convs) != 2:
        raise Wrong(f"the block has {len(convs)} convolutions, expected two (3×3, stride 1)")
    for conv in convs:
        if tuple(conv.kernel_size) != (3, 3) or tuple(conv.strides) != (1, 1):
            raise Wrong(
                f"each convolution is 3×3 with stride 1, found {tuple(conv.kernel_size)}, "
                f"strides {tuple(conv.strides)}"
            )
    rng = np.random.default_rng(0)
    kernels = rng.normal(0, 0.4, size=(2, 3, 3, 4, 4))
    for conv, kernel in zip(convs, kernels):
        conv.kernel.assign(kernel.astype("float32"))
        if conv.use_bias:
            conv.bias.assign(np.zeros(4, "float32"))
    images = rng.normal(size=(2, 6, 7, 4))
    got = _np(model(images.astype("float32"), training=False))
    outputs = _residual_outputs(images, *kernels)
    want = outputs.pop(None)
    _diagnose(got, want, outputs)
    _compare(got, want, "the block's output with known weights", rtol=3e-3, atol=1e-3)


# --- transfer learning -----------------------------------------------------------------------


def _small_backbone():
    """Layers 0-9: input, conv, conv, BN, ReLU, depthwise conv, BN, ReLU, conv, BN."""
    x = inputs = Input((8, 8, 3))
    x = layers.Conv2D(4, 3, kernel_initializer="zeros")(x)
    x = layers.Conv2D(4, 1, kernel_initializer="zeros")(x)
    for block in (
        layers.DepthwiseConv2D(3, depthwise_initializer="zeros"),
        layers.Conv2D(6, 1, kernel_initializer="zeros"),
    ):
        x = layers.ReLU()(layers.BatchNormalization()(x))
        x = block(x)
    x = layers.BatchNormalization()(x)
    return Model(inputs, x, name="small_backbone")


@exercise(
    "backbone.trainable = True first (it unfreezes every layer), then loop over "
    "enumerate(backbone.layers) and set layer.trainable = False for the layers "
    "before index `first` and for every keras.layers.BatchNormalization."
)
def unfreeze_top(fn) -> None:
    """`fn(backbone, first)`: phase 2 of fine-tuning; layers from index `first` on learn,
    except BatchNormalization; the backbone was frozen (``trainable = False``) before.
    (Layers without weights, such as ReLU, learn nothing either way: not checked.)"""
    for first in (2, 5, 8):
        backbone = _small_backbone()
        backbone.trainable = False
        fn(backbone, first)
        if not backbone.trainable:
            raise Wrong(
                "the backbone is still frozen (backbone.trainable is False, so none of "
                "its layers learns): set backbone.trainable = True first"
            )
        weighted = [(i, layer) for i, layer in enumerate(backbone.layers) if layer.weights]
        if all(layer.trainable for _, layer in weighted):
            raise Wrong(
                "every layer learns, BatchNormalization too: backbone.trainable = True "
                "unfreezes every layer, so set it first; then the layers before index "
                "first stay frozen, and every BatchNormalization"
            )
        bad = [
            (i, layer)
            for i, layer in weighted
            if layer.trainable != (i >= first and not isinstance(layer, layers.BatchNormalization))
        ]
        for i, layer in bad:
            if isinstance(layer, layers.BatchNormalization):
                raise Wrong(
                    f"layer {i} (BatchNormalization) has trainable={layer.trainable}: "
                    f"keep BatchNormalization frozen (its ImageNet statistics)"
                )
        if bad:
            i, layer = bad[0]
            what = f"layer {i} ({type(layer).__name__}) has trainable={layer.trainable}"
            if [j for j, _ in bad] == [first]:
                why = (
                    f"off by one: the layers from index first={first} on learn, layer "
                    f"{first} itself included (backbone.layers[first:])"
                )
            elif [j for j, _ in bad] == [first - 1]:
                why = (
                    f"off by one: only the layers before index first={first} stay frozen "
                    f"(backbone.layers[:first])"
                )
            elif i < first:
                why = f"layers before index first={first} stay frozen"
            else:
                why = f"layers from index first={first} on must learn"
            raise Wrong(f"{what}: {why}")


def _cam(features, kernel, predicted) -> np.ndarray:
    want = np.zeros(features.shape[:3])
    for n, y, x in np.ndindex(want.shape):
        sign = 1.0 if predicted[n] == 1 else -1.0
        want[n, y, x] = sign * sum(
            float(kernel[k, 0]) * float(features[n, y, x, k]) for k in range(features.shape[3])
        )
    return want


@exercise(
    "sign = np.where(predicted == 1, 1.0, -1.0) (+1 for a predicted dog, −1 for a cat) "
    "and w = kernel[:, 0] (one weight per channel k); the map is Σ_k sign·w_k·A[n, y, x, "
    'k]: return np.einsum("nyxk,nk->nyx", features, sign[:, None] * w).'
)
def class_activation_map(fn) -> None:
    """`fn(features, kernel, predicted)`: Σ_k ±w_k·A[n, y, x, k] for a one-logit head."""
    rng = np.random.default_rng(0)
    features = rng.uniform(0, 2, size=(3, 4, 5, 6)).astype("float32")
    kernel = rng.normal(size=(6, 1)).astype("float32")
    predicted = np.array([1, 0, 1], dtype="int32")
    args = (features.copy(), kernel.copy(), predicted.copy())
    got = _result(fn(*args), "the class activation map")
    _unchanged((features, kernel, predicted), args, ("features", "kernel", "predicted"))
    want = _cam(features, kernel, predicted)
    if got.shape == want.shape + (1,):
        raise Wrong(
            f"the map has shape {got.shape}, expected {want.shape}: take the weights "
            f"w = kernel[:, 0] (one per channel), not the (K, 1) kernel itself"
        )
    for axis in range(3):
        if got.shape == tuple(np.delete(features.shape, axis)):
            raise Wrong(
                f"the map has shape {got.shape}, expected {want.shape}: you summed over "
                f"axis {axis} instead of the channels k (the last axis)"
            )
    sign = np.where(predicted == 1, 1.0, -1.0)[:, None, None]
    plain = features.astype(np.float64)
    unweighted = "the maps are not multiplied by the dense layer's weights w_k: a plain {} of the "
    _diagnose(got, want, {
        "the map of a predicted cat (class 0) has the wrong sign: the evidence for class 0 is −w":
            sign * want,
        "the signs are reversed: +w for a predicted dog (1), −w for a cat (0)": -want,
        "the map of a predicted cat (class 0) is all zeros: its sign is −1, not 0":
            want * (predicted == 1)[:, None, None],
        unweighted.format("mean") + "feature maps; the map is Σ_k w_k·A[n, y, x, k]":
            sign * plain.mean(axis=3),
        unweighted.format("sum") + "feature maps; the map is Σ_k w_k·A[n, y, x, k]":
            sign * plain.sum(axis=3),
        "you divided by the number of channels K: the map is the sum Σ_k w_k·A, not the mean":
            want / features.shape[3],
        "you divided by the number of positions h·w: the map keeps the sum per position":
            want / (features.shape[1] * features.shape[2]),
    })  # fmt: skip
    _compare(got, want, "the class activation map", rtol=1e-4, atol=1e-5)


@exercise(
    "alpha = gradients.mean(axis=(1, 2)) gives one weight per image and feature "
    'map, (N, K); then return np.maximum(0, np.einsum("nyxk,nk->nyx", features, '
    "alpha)): the ReLU keeps the positive evidence."
)
def grad_cam_map(fn) -> None:
    """`fn(features, gradients)`: ReLU(Σ_k α_k·A[n, y, x, k]), α = gradients' mean over (y, x)."""
    rng = np.random.default_rng(0)
    features = rng.uniform(0, 2, size=(3, 4, 5, 6)).astype("float32")
    gradients = rng.normal(size=(3, 4, 5, 6)).astype("float32")
    A, G = features.astype(np.float64), gradients.astype(np.float64)
    args = (features.copy(), gradients.copy())
    got = _result(fn(*args), "the Grad-CAM map")
    _unchanged((features, gradients), args, ("features", "gradients"))
    raw = np.zeros((3, 4, 5))
    for n, y, x in np.ndindex(raw.shape):
        alpha = [G[n, :, :, k].mean() for k in range(6)]
        raw[n, y, x] = sum(alpha[k] * A[n, y, x, k] for k in range(6))
    want = np.maximum(raw, 0)
    relu = lambda z: np.maximum(z, 0)  # noqa: E731
    _diagnose(got, want, {
        "the map is ReLU(Σ_k α_k·A): you summed the gradients over (y, x); α is their mean "
        "(divide by h·w)": want * 4 * 5,
        "α_k is one weight per image and feature map, the mean of the gradients over (y, x) "
        "(no spatial mean: you used the gradient at each position)":
            relu(np.einsum("nyxk,nyxk->nyx", A, G)),
        "α was averaged over the images too: one α per image, gradients.mean(axis=(1, 2))":
            relu(np.einsum("nyxk,k->nyx", A, G.mean(axis=(0, 1, 2)))),
        "features and gradients are swapped: α is the mean of the gradients, the map weighs "
        "the feature maps A": relu(np.einsum("nyxk,nk->nyx", G, A.mean(axis=(1, 2)))),
        "the ReLU goes on the weighted sum Σ_k α_k·A, not on α":
            relu(np.einsum("nyxk,nk->nyx", A, relu(G.mean(axis=(1, 2))))),
        "the map is not normalized here: return ReLU(Σ_k α_k·A) itself (the notebook divides "
        "by the maximum afterwards)": want / want.max(axis=(1, 2), keepdims=True),
    })  # fmt: skip
    if got.shape == want.shape and got.min() < -1e-6:
        raise Wrong("the map has negative values: keep only the positive evidence (ReLU)")
    _compare(got, want, "the Grad-CAM map", rtol=1e-4, atol=1e-5)
