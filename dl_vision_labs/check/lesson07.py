"""Checks of notebook 07's exercises: transfer learning."""

import numpy as np
from keras import Input, Model, layers

from .core import Wrong, _compare, exercise
from .lesson06 import _diagnose, _result, _unchanged


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
