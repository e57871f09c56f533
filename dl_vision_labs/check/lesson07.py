"""Checks of notebook 07's exercises: transfer learning."""

import numpy as np
from keras import Input, Model, layers

from .core import _compare, exercise, _np, Wrong


def _small_backbone():
    x = inputs = Input((8, 8, 3))
    for width in (4, 6):
        x = layers.Conv2D(width, 3, kernel_initializer="zeros")(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    return Model(inputs, x, name="small_backbone")


@exercise(
    "backbone.trainable = True first (it unfreezes every layer), then loop over "
    "enumerate(backbone.layers) and set layer.trainable = False for the layers "
    "before index `first` and for every keras.layers.BatchNormalization.")
def unfreeze_top(fn) -> None:
    """`fn(backbone, first)`: phase 2 of fine-tuning; layers from index `first` on learn,
    except BatchNormalization; the backbone was frozen (``trainable = False``) before."""
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


@exercise(
    "w = kernel[:, 0] (one weight per channel k), times +1 for a predicted dog (1) "
    "and −1 for a cat (0); then Σ_k w_k·A[n, y, x, k]: np.einsum(\"nyxk,nk->nyx\", "
    "features, sign[:, None] * w).")
def class_activation_map(fn) -> None:
    """`fn(features, kernel, predicted)`: Σ_k ±w_k·A[n, y, x, k] for a one-logit head."""
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


@exercise(
    "alpha = gradients.mean(axis=(1, 2)) gives one weight per image and feature "
    "map, (N, K); then np.einsum(\"nyxk,nk->nyx\", features, alpha), and "
    "np.maximum(0, ...) keeps the positive evidence.")
def grad_cam_map(fn) -> None:
    """`fn(features, gradients)`: ReLU(Σ_k α_k·A[n, y, x, k]), α = gradients' mean over (y, x)."""
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
