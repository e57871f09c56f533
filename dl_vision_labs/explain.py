"""Where does a CNN look? Class activation maps (CAM) and Grad-CAM.

    heat = dl_vision_labs.explain.class_activation_map(feature_maps, dense_kernel, classes)
    heat = dl_vision_labs.explain.grad_cam(features_model, head_model, images, classes)
    A, dA = dl_vision_labs.explain.score_gradients(features_model, head_model, images, classes)
    shown = dl_vision_labs.explain.overlay(images, heat)   # images with the heatmap on top

* **CAM** (Zhou et al. 2016, "Learning Deep Features for Discriminative
  Localization"): when a classifier is ``conv features -> global average
  pooling -> dense``, the score of class ``c`` is the average over positions of
  ``sum_k w[k, c] * A[y, x, k]``; that sum, kept per position, is the map. No
  gradient is needed (plain `keras.ops`, any backend).
* **Grad-CAM** (Selvaraju et al. 2017) works for any layer and any head: weight
  each feature map by the mean gradient of the class score with respect to it.
  The gradient comes from the backend's automatic differentiation
  (TensorFlow or JAX).

Every map is returned as float32 ``(N, h, w)`` in [0, 1] (ReLU, then divided
by its maximum), at the resolution of the feature maps.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


def _class_weights(kernel, class_index):
    """Per-image weight vectors ``(N, C)`` for the requested classes.

    A head with one output (a single logit, sigmoid) scores class 1 with ``+w``
    and class 0 with ``-w``; a head with K outputs scores class c with column c.
    """
    kernel = ops.convert_to_tensor(kernel, dtype="float32")
    class_index = ops.convert_to_tensor(np.asarray(class_index, dtype="int32"))
    if kernel.shape[-1] == 1:
        sign = ops.cast(class_index, "float32") * 2.0 - 1.0  # class 1: +1, class 0: -1
        return sign[:, None] * kernel[:, 0][None, :]
    return ops.transpose(ops.take(kernel, class_index, axis=1))


def normalize(maps):
    """ReLU, then each map divided by its maximum: float32 in [0, 1] (all-zero stays 0)."""
    maps = ops.relu(ops.convert_to_tensor(maps, dtype="float32"))
    top = ops.max(maps, axis=(1, 2), keepdims=True)
    return ops.convert_to_numpy(maps / ops.maximum(top, 1e-12))


def class_activation_map(feature_maps, kernel, class_index):
    """CAM: ``M_c(y, x) = sum_k w[k, c] * A[y, x, k]`` for each image's class.

    Args:
        feature_maps: ``(N, h, w, C)``, the input of the global average pooling.
        kernel: ``(C, K)``, the weights of the dense layer after the pooling.
        class_index: ``(N,)`` the class to explain for each image (e.g. the prediction).
    """
    features = ops.convert_to_tensor(feature_maps, dtype="float32")
    weights = _class_weights(kernel, class_index)
    return normalize(ops.einsum("nyxk,nk->nyx", features, weights))


def score_gradients(features_model, head_model, images, class_index):
    """The feature maps ``A`` of `images` and the gradient of each image's class score
    with respect to them, both ``(N, h, w, C)`` NumPy arrays: what Grad-CAM combines.

    Args:
        features_model: a Keras model from the images to the feature maps ``A``
            of the layer to explain, ``(N, h, w, C)``.
        head_model: a Keras model from those feature maps to the class scores
            before any sigmoid or softmax (the logits).
        images: a batch `features_model` accepts.
        class_index: ``(N,)`` the class to explain for each image.

    The gradient comes from the backend's own automatic differentiation
    (TensorFlow's GradientTape or `jax.grad`).
    """
    feature_maps = features_model(images, training=False)

    def total_score(a):  # images are independent at inference: d sum / d A_n = d score_n / d A_n
        return ops.sum(_class_score(head_model(a, training=False), class_index))

    grads = _gradient(total_score, feature_maps)  # d score / d A, (N, h, w, C)
    return ops.convert_to_numpy(feature_maps), ops.convert_to_numpy(grads)


def grad_cam(features_model, head_model, images, class_index):
    """Grad-CAM maps for `images` (arguments as for `score_gradients`):
    ``alpha_k = mean over (y, x) of d score / d A[y, x, k]``, then ``ReLU(sum_k alpha_k A_k)``.
    """
    feature_maps, grads = score_gradients(features_model, head_model, images, class_index)
    alpha = grads.mean(axis=(1, 2))  # one weight per feature map
    return normalize(np.einsum("nyxk,nk->nyx", feature_maps, alpha))


def _gradient(fn, x):
    """The gradient of the scalar ``fn(x)`` with respect to the tensor `x`."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = fn(x)
        return tape.gradient(y, x)
    if backend == "jax":
        import jax

        return jax.grad(fn)(x)
    raise NotImplementedError(
        f"grad_cam has TensorFlow and JAX implementations; the Keras backend is {backend!r}. "
        "class_activation_map works on every backend."
    )


def _class_score(logits, class_index):
    logits = ops.convert_to_tensor(logits, dtype="float32")
    index = ops.convert_to_tensor(np.asarray(class_index, dtype="int32"))
    if logits.shape[-1] == 1:
        sign = ops.cast(index, "float32") * 2.0 - 1.0
        return sign * logits[:, 0]
    return ops.take_along_axis(logits, index[:, None], axis=1)[:, 0]


def overlay(images, heatmaps, *, alpha: float = 0.45, cmap: str = "jet"):
    """Images with their heatmaps resized and blended on top: float32 ``(N, H, W, 3)`` in [0, 1]."""
    import matplotlib

    images = np.asarray(images, dtype="float32")
    if images.max() > 1.0:
        images = images / 255.0
    size = images.shape[1:3]
    heat = np.asarray(heatmaps, dtype="float32")[..., None]
    heat = ops.convert_to_numpy(ops.image.resize(heat, size, interpolation="bilinear"))[..., 0]
    colored = matplotlib.colormaps[cmap](np.clip(heat, 0, 1))[..., :3].astype("float32")
    return (1 - alpha) * images + alpha * colored
