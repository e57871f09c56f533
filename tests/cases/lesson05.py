"""Right and wrong answers to notebook 05's exercises (batch normalization)."""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from dl_vision_labs import check
from tests.cases import Case, Wrong

# --- batch_moments ------------------------------------------------------------------------------


def moments_ops(x):
    return ops.moments(x, axes=list(range(len(x.shape) - 1)))


def moments_mean_var(x):
    axes = tuple(range(x.ndim - 1))
    return ops.mean(x, axis=axes), ops.var(x, axis=axes)


def moments_by_hand(x):  # E[x²] − E[x]², in float64, returned as a list
    x = ops.cast(ops.reshape(x, (-1, x.shape[-1])), "float64")
    mean = ops.mean(x, axis=0)
    return [mean, ops.mean(x * x, axis=0) - mean * mean]


def moments_tf(x):  # the lesson is run on TensorFlow here
    return tf.nn.moments(x, axes=list(range(len(x.shape) - 1)))


def moments_numpy(x):
    x = np.asarray(x)
    axes = tuple(range(x.ndim - 1))
    return x.mean(axis=axes), x.var(axis=axes)


def moments_unbiased(x):
    axes = tuple(range(x.ndim - 1))
    n = ops.cast(ops.size(x) // x.shape[-1], "float32")
    return ops.mean(x, axis=axes), ops.var(x, axis=axes) * n / (n - 1)


# --- normalize ----------------------------------------------------------------------------------


def normalize_ops(x, mean, variance, alpha, beta, epsilon):
    return alpha * (x - mean) / ops.sqrt(variance + epsilon) + beta


def normalize_rsqrt(x, mean, variance, alpha, beta, epsilon):  # one scale, one shift
    scale = alpha * ops.rsqrt(variance + epsilon)
    return x * scale + (beta - mean * scale)


def normalize_tf(x, mean, variance, alpha, beta, epsilon):
    return tf.nn.batch_normalization(x, mean, variance, beta, alpha, epsilon)


def normalize_numpy(x, mean, variance, alpha, beta, epsilon):
    return alpha * (x - mean) / np.sqrt(np.asarray(variance) + epsilon) + beta


# --- batch_norm ---------------------------------------------------------------------------------


class _Base(keras.layers.Layer):
    """The notebook's layer without its `call`."""

    def __init__(self, momentum=0.99, epsilon=0.001, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum
        self.epsilon = epsilon

    def build(self, input_shape):
        n = input_shape[-1]
        self.alpha = self.add_weight(shape=(n,), initializer="ones", name="alpha")
        self.beta = self.add_weight(shape=(n,), initializer="zeros", name="beta")
        self.moving_mean = self.add_weight(
            shape=(n,), initializer="zeros", trainable=False, name="moving_mean"
        )
        self.moving_variance = self.add_weight(
            shape=(n,), initializer="ones", trainable=False, name="moving_variance"
        )

    def _out(self, x, mean, variance):
        return normalize_ops(x, mean, variance, self.alpha, self.beta, self.epsilon)

    def _update(self, mean, variance, m=None):
        m = self.momentum if m is None else m
        self.moving_mean.assign(m * self.moving_mean + (1 - m) * mean)
        self.moving_variance.assign(m * self.moving_variance + (1 - m) * variance)


class BatchNormNotebook(_Base):
    def call(self, x, training=False):
        if training:
            mean, variance = moments_ops(x)
            self._update(mean, variance)
        else:
            mean, variance = self.moving_mean, self.moving_variance
        return self._out(x, mean, variance)


class BatchNormLerp(_Base):  # old + (1 − m)(new − old), inference branch first
    def call(self, x, training=False):
        if not training:
            return self._out(x, self.moving_mean, self.moving_variance)
        mean, variance = moments_mean_var(x)
        for moving, new in ((self.moving_mean, mean), (self.moving_variance, variance)):
            moving.assign(moving + (1 - self.momentum) * (new - moving))
        return self._out(x, mean, variance)


def _wrong(mistake):
    class BatchNorm(_Base):
        def call(self, x, training=False):
            batch = moments_ops(x)
            moving = (self.moving_mean, self.moving_variance)
            if mistake == "batch stats in inference":
                self._update(*batch) if training else None
                return self._out(x, *batch)
            if training or mistake == "update in inference":
                if mistake == "direction":
                    m = self.momentum
                    self.moving_mean.assign((1 - m) * self.moving_mean + m * batch[0])
                    self.moving_variance.assign((1 - m) * self.moving_variance + m * batch[1])
                elif mistake != "no update":
                    self._update(*batch, m=0.99 if mistake == "fixed momentum" else None)
            if training and mistake != "moving stats in training":
                return self._out(x, *batch)
            return self._out(x, *moving)

    BatchNorm.__name__ = f"BatchNorm_{mistake.replace(' ', '_')}"
    return BatchNorm


class _ReturnsNothing(BatchNormNotebook):
    def call(self, x, training=False):
        super().call(x, training)


CASES = {
    "batch_moments": Case(
        run=check.batch_moments,
        right=[moments_ops, moments_mean_var, moments_by_hand, moments_tf],
        wrong=[
            Wrong(lambda x: ops.moments(x, axes=[0]), r"axis 0 only", "axis 0 on conv input"),
            Wrong(moments_unbiased, r"n − 1 .*unbiased", "ddof=1"),
            Wrong(
                lambda x: ops.moments(x, axes=list(range(len(x.shape) - 1)), keepdims=True),
                r"keepdims",
                "keepdims=True",
            ),
            Wrong(lambda x: ops.moments(x, axes=[-1]), r"one per channel", "over the channels"),
            Wrong(lambda x: moments_ops(x)[::-1], r"swapped", "(variance, mean)"),
            Wrong(
                lambda x: (moments_ops(x)[0], ops.sqrt(moments_ops(x)[1])),
                r"standard deviation",
                "std",
            ),
            Wrong(moments_numpy, r"symbolic tensors .*not NumPy", "NumPy"),
            Wrong(lambda x: None, r"returns nothing", "no return"),
        ],
    ),
    "normalize": Case(
        run=check.normalize,
        right=[
            normalize_ops,
            normalize_rsqrt,
            normalize_tf,
            lambda x, m, v, a, b, eps: ops.add(
                ops.multiply(
                    a,
                    ops.divide(ops.subtract(x, m), ops.sqrt(ops.add(ops.cast(v, "float64"), eps))),
                ),
                b,
            ),
        ],
        wrong=[
            Wrong(
                lambda x, m, v, a, b, eps: a * (x - m) / ops.sqrt(v) + b,
                r"NaN or infinity .*epsilon inside the square root",
                "no epsilon",
            ),
            Wrong(
                lambda x, m, v, a, b, eps: a * (x - m) / (ops.sqrt(v) + eps) + b,
                r"epsilon is added outside the square root",
                "epsilon outside the sqrt",
            ),
            Wrong(
                lambda x, m, v, a, b, eps: b * (x - m) / ops.sqrt(v + eps) + a,
                r"alpha and beta are swapped",
                "alpha and beta swapped",
            ),
            Wrong(
                lambda x, m, v, a, b, eps: a * (x - m) / (v + eps) + b,
                r"divides by the variance",
                "no square root",
            ),
            Wrong(
                lambda x, m, v, a, b, eps: (x - m) / ops.sqrt(v + eps),
                r"alpha and beta are left out",
                "no scale and offset",
            ),
            Wrong(
                lambda x, m, v, a, b, eps: a * (x - m) / ops.sqrt(v + 0.001) + b,
                r"ε = 0.001 whatever the epsilon",
                "a fixed epsilon",
            ),
            Wrong(normalize_numpy, r"symbolic tensors .*not NumPy", "np.sqrt"),
            Wrong(lambda x, m, v, a, b, eps: None, r"returns nothing", "no return"),
        ],
    ),
    "batch_norm": Case(
        run=check.batch_norm,
        right=[BatchNormNotebook, BatchNormLerp, keras.layers.BatchNormalization],
        wrong=[
            Wrong(
                _wrong("update in inference"),
                r"in inference .*updates the moving averages",
                "moving averages updated in inference",
            ),
            Wrong(_wrong("direction"), r"momentum weighs the wrong term", "m·new + (1 − m)·old"),
            Wrong(
                _wrong("moving stats in training"),
                r"in training it normalizes with the moving averages",
                "moving statistics in training",
            ),
            Wrong(
                _wrong("no update"),
                r"did not change: training must update",
                "moving averages never updated",
            ),
            Wrong(
                _wrong("batch stats in inference"),
                r"in inference it uses the batch's",
                "batch statistics in inference",
            ),
            Wrong(
                _wrong("fixed momentum"),
                r"momentum=0.9.*momentum 0.99 whatever self.momentum",
                "momentum fixed at 0.99",
            ),
            Wrong(_ReturnsNothing, r"returns nothing", "no return"),
        ],
    ),
}
