"""Where does a CNN look? Class activation maps (CAM) and Grad-CAM.

    heat = helpers.explain.class_activation_map(feature_maps, dense_kernel, classes)
    heat = helpers.explain.grad_cam(grad_model, images, classes)
    shown = helpers.explain.overlay(images, heat)   # images with the heatmap on top

* **CAM** (Zhou et al. 2016, "Learning Deep Features for Discriminative
  Localization"): when a classifier is ``conv features -> global average
  pooling -> dense``, the score of class ``c`` is the average over positions of
  ``sum_k w[k, c] * A[y, x, k]``; that sum, kept per position, is the map. No
  gradient is needed (plain `keras.ops`, any backend).
* **Grad-CAM** (Selvaraju et al. 2017) works for any layer and any head: weight
  each feature map by the mean gradient of the class score with respect to it.
  Gradients are backend-specific; the TensorFlow implementation is here, other
  backends raise `NotImplementedError`.

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


def grad_cam(model, images, class_index):
    """Grad-CAM maps for `images`.

    Args:
        model: a Keras model returning ``[feature_maps, logits]`` (the feature
            maps of the layer to explain, and the class scores before any
            sigmoid or softmax), as in the keras.io Grad-CAM example.
        images: a batch the model accepts.
        class_index: ``(N,)`` the class to explain for each image.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return _grad_cam_tensorflow(model, images, class_index)
    raise NotImplementedError(
        f"grad_cam needs gradients, and only its TensorFlow implementation exists so far "
        f"(the Keras backend is {backend!r}). class_activation_map works on every backend.")


def _class_score(logits, class_index):
    logits = ops.convert_to_tensor(logits, dtype="float32")
    index = ops.convert_to_tensor(np.asarray(class_index, dtype="int32"))
    if logits.shape[-1] == 1:
        sign = ops.cast(index, "float32") * 2.0 - 1.0
        return sign * logits[:, 0]
    return ops.take_along_axis(logits, index[:, None], axis=1)[:, 0]


def _grad_cam_tensorflow(model, images, class_index):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        feature_maps, logits = model(images, training=False)
        score = _class_score(logits, class_index)
    grads = tape.gradient(score, feature_maps)          # d score / d A, (N, h, w, C)
    alpha = tf.reduce_mean(grads, axis=(1, 2))          # one weight per feature map
    return normalize(tf.einsum("nyxk,nk->nyx", feature_maps, alpha))


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
