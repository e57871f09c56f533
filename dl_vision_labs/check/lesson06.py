"""Checks of notebook 06's exercises: convolutions by hand, filters, a CNN on CIFAR-10."""

import numpy as np
from keras import Input, Model, layers, ops

from .core import _compare, exercise, _np, Wrong


def _keras_conv(x, kernels, stride, padding) -> np.ndarray:
    return _np(ops.conv(np.asarray(x, "float32")[None], np.asarray(kernels, "float32"),
                        strides=stride, padding=padding))[0]


@exercise(
    "out[y, x] = np.sum(image[y:y + F, x:x + F] * kernel) for kernel rows F (and "
    "columns): the window under the kernel, multiplied element by element and "
    "summed — no flip.")
def conv2d_loops(fn) -> None:
    """`fn(image, kernel)`: 2-D cross-correlation, padding "valid", stride 1, one channel."""
    rng = np.random.default_rng(0)
    for image, kernel in [(rng.normal(size=(5, 5)), rng.normal(size=(3, 3))),
                          (rng.normal(size=(6, 8)), rng.normal(size=(2, 3)))]:
        want = _keras_conv(image[..., None], kernel[..., None, None], 1, "valid")[..., 0]
        got = _np(fn(image, kernel))
        flipped = _keras_conv(image[..., None], kernel[::-1, ::-1, None, None], 1,
                              "valid")[..., 0]
        if got.shape == want.shape and np.allclose(got, flipped, atol=1e-4) and not np.allclose(
                got, want, atol=1e-4):
            raise Wrong("you flipped the kernel (a textbook convolution); a convolutional "
                        "layer computes the cross-correlation: image[y + a, x + b] · "
                        "kernel[a, b], no flip")
        _compare(got, want, f"the output for a {image.shape} image and a {kernel.shape} "
                            f"kernel", atol=1e-4)


@exercise(
    "windows[y, x] is (C_in, F, F); the output is Σ over c, a, b of windows[y, x, "
    "c, a, b] · kernels[a, b, c, o]: np.einsum(\"hwcab,abco->hwo\", windows, "
    "kernels).")
def conv2d(fn) -> None:
    """`fn(x, kernels, stride, padding)`: (H, W, C_in) ⋆ (F, F, C_in, C_out), as keras.ops.conv."""
    rng = np.random.default_rng(0)
    for (h, w, c), (f, o), stride, padding in [
            ((7, 7, 3), (3, 4), 1, "valid"), ((7, 7, 3), (3, 4), 2, "same"),
            ((8, 6, 2), (2, 3), 2, "same"), ((9, 9, 1), (4, 2), 3, "valid"),
            ((5, 5, 2), (5, 1), 1, "same"), ((6, 6, 2), (3, 2), 1, "same")]:
        x, kernels = rng.normal(size=(h, w, c)), rng.normal(size=(f, f, c, o))
        _compare(fn(x, kernels, stride, padding), _keras_conv(x, kernels, stride, padding),
                 f"the output for x {x.shape}, kernels {kernels.shape}, stride {stride}, "
                 f"padding {padding!r}", atol=1e-4)


@exercise(
    "r = np.arange(size) - size // 2; g = np.exp(-(r[:, None]**2 + r[None, :]**2) / "
    "(2 * sigma**2)); return g / g.sum().")
def gaussian_kernel(fn) -> None:
    """`fn(size, sigma)`: size × size weights ∝ exp(−(a² + b²) / 2σ²) around the centre, sum 1."""
    for size, sigma in [(3, 1.0), (5, 1.0), (7, 2.5), (5, 0.5)]:
        r = np.arange(size) - size // 2
        want = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma**2))
        got = _np(fn(size, sigma))
        if got.shape == want.shape and not np.isclose(got.sum(), 1, atol=1e-6):
            raise Wrong(f"gaussian_kernel({size}, {sigma}) sums to {got.sum():.4g}: divide "
                        f"by the sum, so that a flat image keeps its brightness")
        _compare(got, want / want.sum(), f"gaussian_kernel({size}, {sigma})", atol=1e-6)


@exercise(
    "windows = sliding_window_view(x, (size, size), axis=(0, 1))[::stride, "
    "::stride] has shape (H', W', C, size, size); take .max(axis=(-2, -1)).")
def max_pool(fn) -> None:
    """`fn(x, size, stride)`: the largest value of each window, per channel, as keras.ops.max_pool."""
    rng = np.random.default_rng(0)
    for shape, size, stride in [((4, 4, 1), 2, 2), ((8, 6, 3), 2, 2), ((7, 7, 2), 3, 2),
                                ((9, 9, 2), 3, 3)]:
        x = rng.normal(size=shape)
        want = _np(ops.max_pool(x[None].astype("float32"), size, stride, "valid"))[0]
        _compare(fn(x, size, stride), want, f"max_pool of a {shape} input, size {size}, "
                                            f"stride {stride}", atol=1e-6)


def _kind(layer) -> str:
    if isinstance(layer, layers.Conv2D):
        return "conv"
    if isinstance(layer, layers.MaxPooling2D):
        return "max pool"
    if isinstance(layer, layers.BatchNormalization):
        return "batch norm"
    if isinstance(layer, layers.ReLU) or (isinstance(layer, layers.Activation)
                                          and getattr(layer.activation, "__name__", "") == "relu"):
        return "ReLU"
    return type(layer).__name__


@exercise(
    "x = Conv2D(filters, 3, padding=\"same\", use_bias=False)(x); x = "
    "MaxPooling2D()(x); x = ReLU()(BatchNormalization(momentum=0.9)(x)); then the "
    "same convolution again, batch norm and ReLU (all in keras.layers).")
def conv_block(fn) -> None:
    """`fn(x, filters)`: conv → max pool → batch norm → ReLU → conv → batch norm → ReLU."""
    x = Input((8, 8, 3))
    out = fn(x, 4)
    if tuple(out.shape[1:]) != (4, 4, 4):
        raise Wrong(f"the block turns an (8, 8, 3) input into {tuple(out.shape[1:])}, "
                    f"expected (4, 4, 4): one 2×2 max pooling, 4 filters")
    model = Model(x, out)
    kinds = [_kind(l) for l in model.layers if not isinstance(l, layers.InputLayer)]
    want = ["conv", "max pool", "batch norm", "ReLU", "conv", "batch norm", "ReLU"]
    if kinds != want:
        raise Wrong(f"the layers are {' → '.join(kinds)}, expected {' → '.join(want)}")
    for conv in (l for l in model.layers if isinstance(l, layers.Conv2D)):
        if (tuple(conv.kernel_size) != (3, 3) or conv.padding != "same" or conv.use_bias
                or conv.filters != 4 or tuple(conv.strides) != (1, 1)):
            raise Wrong(f"each convolution: Conv2D(filters, 3, padding=\"same\", "
                        f"use_bias=False); found kernel {conv.kernel_size}, padding "
                        f"{conv.padding!r}, bias {conv.use_bias}, {conv.filters} filters, "
                        f"strides {conv.strides}")
