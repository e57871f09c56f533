"""Right and wrong answers to notebook 06's exercises (convolutions, filters, a CNN block)."""

import keras
import numpy as np
from keras import layers, ops
from numpy.lib.stride_tricks import sliding_window_view

from dl_vision_labs import check
from tests.cases import Case, Wrong

# --- conv2d_loops ------------------------------------------------------------------------------


def loops_hint(image, kernel):  # the notebook's scaffold with the hint's line, literally
    F, G = kernel.shape
    out = np.zeros((image.shape[0] - F + 1, image.shape[1] - G + 1))
    for y in range(out.shape[0]):
        for x in range(out.shape[1]):
            out[y, x] = np.sum(image[y : y + F, x : x + G] * kernel)
    return out


def loops_four(image, kernel):  # four loops, a running sum
    F, G = kernel.shape
    out = np.zeros((image.shape[0] - F + 1, image.shape[1] - G + 1))
    for y in range(out.shape[0]):
        for x in range(out.shape[1]):
            for a in range(F):
                for b in range(G):
                    out[y, x] += image[y + a, x + b] * kernel[a, b]
    return out


def loops_windows(image, kernel):  # vectorized: all windows at once
    windows = sliding_window_view(image, kernel.shape)
    return np.einsum("yxab,ab->yx", windows, kernel)


def loops_vdot(image, kernel):  # a list of lists of dot products of the flattened arrays
    F, G = kernel.shape
    return [
        [np.vdot(image[y : y + F, x : x + G], kernel) for x in range(image.shape[1] - G + 1)]
        for y in range(image.shape[0] - F + 1)
    ]


def loops_keras(image, kernel):  # a float32 tensor
    x = ops.convert_to_tensor(image[None, :, :, None], "float32")
    return ops.conv(x, ops.convert_to_tensor(kernel[:, :, None, None], "float32"))[0, :, :, 0]


def loops_shifted_sum(image, kernel):  # Σ_a,b of the shifted image times one weight
    F, G = kernel.shape
    H, W = image.shape[0] - F + 1, image.shape[1] - G + 1
    return sum(kernel[a, b] * image[a : a + H, b : b + W] for a in range(F) for b in range(G))


def loops_flipped(image, kernel):  # a textbook convolution
    return loops_hint(image, kernel[::-1, ::-1])


def loops_square_window(image, kernel):  # the old hint read literally: x:x + F
    F, G = kernel.shape
    out = np.zeros((image.shape[0] - F + 1, image.shape[1] - G + 1))
    for y in range(out.shape[0]):
        for x in range(out.shape[1]):
            out[y, x] = np.sum(image[y : y + F, x : x + F] * kernel)
    return out


def loops_off_by_one(image, kernel):
    F, G = kernel.shape
    out = np.zeros((image.shape[0] - F, image.shape[1] - G))
    for y in range(out.shape[0]):
        for x in range(out.shape[1]):
            out[y, x] = np.sum(image[y : y + F, x : x + G] * kernel)
    return out


def loops_transposed(image, kernel):
    return (
        loops_hint(image, kernel.T)
        if kernel.shape[0] == kernel.shape[1]
        else loops_hint(image, kernel)
    )


def loops_mean(image, kernel):
    windows = sliding_window_view(image, kernel.shape)
    return (windows * kernel).mean(axis=(-2, -1))


def loops_no_return(image, kernel):
    loops_hint(image, kernel)


def loops_in_place(image, kernel):
    image -= image.mean()  # "centres" the image it was given
    return loops_hint(image, kernel) + image.mean()


def loops_matmul(image, kernel):  # a matrix product of window and kernel, not element-wise
    F, G = kernel.shape
    out = np.zeros((image.shape[0] - F + 1, image.shape[1] - G + 1))
    for y in range(out.shape[0]):
        for x in range(out.shape[1]):
            out[y, x] = np.sum(image[y : y + F, x : x + G] @ kernel)
    return out


# --- conv2d -------------------------------------------------------------------------------------


def pad_same(x, F, S):  # the notebook's helper, as given
    pads = []
    for size in x.shape[:2]:
        total = max((-(-size // S) - 1) * S + F - size, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, pads + [(0, 0)])


def _conv(contract, F=None, pad=pad_same, step=True):
    """The notebook's scaffold around `contract(windows, kernels)`."""

    def conv2d(x, kernels, stride=1, padding="valid"):
        F = kernels.shape[0]
        if padding == "same":
            x = pad(x, F, stride)
        windows = sliding_window_view(x, (F, F), axis=(0, 1))
        windows = windows[::stride, ::stride] if step else windows
        return contract(windows, kernels)

    return conv2d


conv_hint = _conv(lambda windows, kernels: np.einsum("hwcab,abco->hwo", windows, kernels))
conv_tensordot = _conv(
    lambda windows, kernels: np.tensordot(windows, kernels, axes=([2, 3, 4], [2, 0, 1]))
)
conv_im2col = _conv(
    lambda w, k: w.transpose(0, 1, 3, 4, 2).reshape(*w.shape[:2], -1) @ k.reshape(-1, k.shape[-1])
)


def conv_loops(x, kernels, stride=1, padding="valid"):  # loops over y, x, o; own padding
    F = kernels.shape[0]
    if padding == "same":
        x = pad_same(x, F, stride)
    H, W = (x.shape[0] - F) // stride + 1, (x.shape[1] - F) // stride + 1
    out = np.zeros((H, W, kernels.shape[3]))
    for y in range(H):
        for xx in range(W):
            for o in range(kernels.shape[3]):
                window = x[y * stride : y * stride + F, xx * stride : xx * stride + F]
                out[y, xx, o] = np.sum(window * kernels[..., o])
    return out


def conv_keras(x, kernels, stride=1, padding="valid"):  # a float32 tensor
    return ops.conv(
        ops.convert_to_tensor(x[None], "float32"),
        ops.convert_to_tensor(kernels, "float32"),
        strides=stride,
        padding=padding,
    )[0]


conv_flipped = _conv(lambda w, k: np.einsum("hwcab,abco->hwo", w, k[::-1, ::-1]))
conv_no_channel_sum = _conv(lambda w, k: np.einsum("hwcab,abco->hwco", w, k))
conv_swapped_ab = _conv(lambda w, k: np.einsum("hwcba,abco->hwo", w, k))
conv_no_stride = _conv(lambda w, k: np.einsum("hwcab,abco->hwo", w, k), step=False)
conv_symmetric = _conv(
    lambda w, k: np.einsum("hwcab,abco->hwo", w, k),
    pad=lambda x, F, S: np.pad(x, [(F // 2, F // 2)] * 2 + [(0, 0)]),
)


def _pad_extra_first(x, F, S):  # the odd extra zero at the top/left
    pads = []
    for size in x.shape[:2]:
        total = max((-(-size // S) - 1) * S + F - size, 0)
        pads.append((total - total // 2, total // 2))
    return np.pad(x, pads + [(0, 0)])


conv_extra_first = _conv(lambda w, k: np.einsum("hwcab,abco->hwo", w, k), pad=_pad_extra_first)
conv_valid_only = _conv(lambda w, k: np.einsum("hwcab,abco->hwo", w, k), pad=lambda x, F, S: x)


def conv_first_channel(x, kernels, stride=1, padding="valid"):  # only channel 0 is used
    return conv_hint(x[..., :1], kernels[:, :, :1], stride, padding)


# --- gaussian_kernel ----------------------------------------------------------------------------


def gauss_hint(size, sigma):
    r = np.arange(size) - size // 2
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma**2))
    return g / g.sum()


def gauss_outer(size, sigma):  # separable: the outer product of a normalized 1-D Gaussian
    r = np.arange(size) - (size - 1) / 2  # the middle between two pixels for an even size
    g = np.exp(-(r**2) / (2 * sigma**2))
    g /= g.sum()
    return np.outer(g, g)


def gauss_loops(size, sigma):
    g = np.zeros((size, size))
    c = size // 2
    for a in range(size):
        for b in range(size):
            g[a, b] = np.exp(-((a - c) ** 2 + (b - c) ** 2) / (2 * sigma**2))
    return g / np.sum(g)


def gauss_meshgrid_f32(size, sigma):  # meshgrid and linspace, float32
    r = np.linspace(-(size // 2), size - 1 - size // 2, size, dtype="float32")
    a, b = np.meshgrid(r, r, indexing="ij")
    g = np.exp(-(a**2 + b**2) / np.float32(2 * sigma**2))
    return g / g.sum()


def gauss_keras(size, sigma):  # a tensor
    r = ops.arange(size, dtype="float32") - size // 2
    g = ops.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma**2))
    return g / ops.sum(g)


def gauss_unnormalized(size, sigma):
    r = np.arange(size) - size // 2
    return np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma**2))


def gauss_constant(size, sigma):  # the density's constant instead of the sum
    return gauss_unnormalized(size, sigma) / (2 * np.pi * sigma**2)


def gauss_half_size(size, sigma):  # size / 2 instead of size // 2: off-centre for odd sizes
    r = np.arange(size) - size / 2
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma**2))
    return g / g.sum()


def gauss_symmetric_range(size, sigma):  # size + 1 values for an even size
    r = np.arange(-(size // 2), size // 2 + 1)
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma**2))
    return g / g.sum()


def gauss_sigma_not_squared(size, sigma):
    r = np.arange(size) - size // 2
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma))
    return g / g.sum()


def gauss_no_two(size, sigma):
    r = np.arange(size) - size // 2
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / sigma**2)
    return g / g.sum()


def gauss_precedence(size, sigma):
    r = np.arange(size) - size // 2
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / 2 * sigma**2)
    return g / g.sum()


def gauss_one_d(size, sigma):
    r = np.arange(size) - size // 2
    g = np.exp(-(r**2) / (2 * sigma**2))
    return g / g.sum()


# --- max_pool -------------------------------------------------------------------------------


def pool_hint(x, size=2, stride=2):
    windows = sliding_window_view(x, (size, size), axis=(0, 1))[::stride, ::stride]
    return windows.max(axis=(-2, -1))


def pool_loops(x, size=2, stride=2):
    H, W = (x.shape[0] - size) // stride + 1, (x.shape[1] - size) // stride + 1
    out = np.zeros((H, W, x.shape[2]))
    for y in range(H):
        for xx in range(W):
            out[y, xx] = x[y * stride : y * stride + size, xx * stride : xx * stride + size].max(
                axis=(0, 1)
            )
    return out


def pool_keras(x, size=2, stride=2):  # a float32 tensor
    return ops.max_pool(ops.convert_to_tensor(x[None], "float32"), size, stride)[0]


def pool_shifted_maximum(x, size=2, stride=2):  # the maximum of the size² shifted images
    H, W = (x.shape[0] - size) // stride + 1, (x.shape[1] - size) // stride + 1
    return np.max(
        [
            x[a : a + (H - 1) * stride + 1 : stride, b : b + (W - 1) * stride + 1 : stride]
            for a in range(size)
            for b in range(size)
        ],
        axis=0,
    )


def pool_mean(x, size=2, stride=2):
    return sliding_window_view(x, (size, size), axis=(0, 1))[::stride, ::stride].mean(axis=(-2, -1))


def pool_ceil(x, size=2, stride=2):  # every window that starts inside, cut at the edge
    H, W = -(-x.shape[0] // stride), -(-x.shape[1] // stride)
    return np.array(
        [
            [
                x[y * stride : y * stride + size, xx * stride : xx * stride + size].max(axis=(0, 1))
                for xx in range(W)
            ]
            for y in range(H)
        ]
    )


def pool_stride_is_size(x, size=2, stride=2):
    return sliding_window_view(x, (size, size), axis=(0, 1))[::size, ::size].max(axis=(-2, -1))


def pool_no_stride(x, size=2, stride=2):
    return sliding_window_view(x, (size, size), axis=(0, 1)).max(axis=(-2, -1))


def pool_all_channels(x, size=2, stride=2):
    return sliding_window_view(x, (size, size), axis=(0, 1))[::stride, ::stride].max(
        axis=(-3, -2, -1)
    )


def pool_last_missing(x, size=2, stride=2):
    return np.array(
        [
            [
                x[y : y + size, xx : xx + size].max(axis=(0, 1))
                for xx in range(0, x.shape[1] - size, stride)
            ]
            for y in range(0, x.shape[0] - size, stride)
        ]
    )


def pool_reshape(x, size=2, stride=2):  # tiles: drops the stride and the rest of the image
    H, W = x.shape[0] // size, x.shape[1] // size
    return x[: H * size, : W * size].reshape(H, size, W, size, -1).max(axis=(1, 3))


# --- conv_block -------------------------------------------------------------------------------


def _block(
    relu=lambda x: layers.ReLU()(x), order="cpbrcbr", conv=None, bn=layers.BatchNormalization
):
    conv = conv or (lambda filters: layers.Conv2D(filters, 3, padding="same", use_bias=False))

    def block(x, filters):
        for step in order:
            if step == "c":
                x = conv(filters)(x)
            elif step == "p":
                x = layers.MaxPooling2D()(x)
            elif step == "b":
                x = bn()(x)
            else:
                x = relu(x)
        return x

    return block


def block_hint(x, filters):
    x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.ReLU()(keras.layers.BatchNormalization(momentum=0.9)(x))
    x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = keras.layers.ReLU()(keras.layers.BatchNormalization(momentum=0.9)(x))
    return x


block_activation = _block(
    relu=lambda x: layers.Activation("relu")(x),
    conv=lambda f: layers.Conv2D(
        f, (3, 3), strides=1, padding="same", use_bias=False, activation=None
    ),
)
block_ops_relu = _block(relu=ops.relu, order="cpbrcbr")
block_activations_relu = _block(
    relu=keras.activations.relu,
    order="cpbrcbr",
    bn=lambda: layers.BatchNormalization(momentum=0.99, epsilon=1e-5),
)


def block_pool_alias(x, filters):
    for pool in (True, False):
        x = layers.Conv2D(filters, kernel_size=3, padding="same", use_bias=False)(x)
        if pool:
            x = layers.MaxPool2D(pool_size=(2, 2), strides=2)(x)
        x = layers.BatchNormalization(axis=-1)(x)
        x = layers.ReLU()(x)
    return x


block_relu_first = _block(order="cprbcbr")
block_relu_first_both = _block(order="cprbcrb")
block_pool_first = _block(order="pcbrcbr")
block_pool_last = _block(order="cbrcbrp")
block_conv_relu = _block(
    order="cpbrcbr",
    conv=lambda f: layers.Conv2D(f, 3, padding="same", use_bias=False, activation="relu"),
)
block_bias = _block(order="cpbrcbr", conv=lambda f: layers.Conv2D(f, 3, padding="same"))
block_valid = _block(
    order="cpbrcbr", conv=lambda f: layers.Conv2D(f, 3, padding="valid", use_bias=False)
)
block_no_bn = _block(order="cprcr")
block_bn_axis = _block(order="cpbrcbr", bn=lambda: layers.BatchNormalization(axis=1))
block_no_scale = _block(order="cpbrcbr", bn=lambda: layers.BatchNormalization(center=False))


def block_no_return(x, filters):
    block_hint(x, filters)


CASES = {
    "conv2d_loops": Case(
        run=check.conv2d_loops,
        right=[loops_hint, loops_four, loops_windows, loops_vdot, loops_keras, loops_shifted_sum],
        wrong=[
            Wrong(loops_flipped, r"flipped the kernel", "a textbook convolution"),
            Wrong(
                loops_square_window,
                r"non-square 2×3 kernel.*x:x \+ G",
                "the window's columns use F (the old hint read literally)",
            ),
            Wrong(loops_off_by_one, r"off by one", "H − F positions"),
            Wrong(loops_transposed, r"transposed the kernel", "kernel.T"),
            Wrong(loops_mean, r"averaged .*np\.mean", "mean instead of sum"),
            Wrong(loops_no_return, r"returned None", "no return"),
            Wrong(loops_in_place, r"changed its input `image` in place", "image -= ..."),
            Wrong(loops_matmul, r"matrix product .*element by element", "@, not *"),
        ],
    ),
    "conv2d": Case(
        run=check.conv2d,
        right=[conv_hint, conv_tensordot, conv_im2col, conv_loops, conv_keras],
        wrong=[
            Wrong(conv_flipped, r"flipped the kernel", "kernel flipped"),
            Wrong(conv_no_channel_sum, r"sum over the input channels", "hwco"),
            Wrong(conv_swapped_ab, r"rows and columns are swapped", "hwcba"),
            Wrong(conv_no_stride, r"stride is ignored", "no [::stride]"),
            Wrong(conv_symmetric, r"padding 'same' done symmetrically", "F // 2 each side"),
            Wrong(
                conv_extra_first,
                r"padding 'same' puts the odd extra zero on the wrong side",
                "extra zero at the top/left",
            ),
            Wrong(conv_valid_only, r"padding 'same' is ignored", "no padding"),
            Wrong(conv_first_channel, r"only the first input channel", "channel 0 only"),
        ],
    ),
    "gaussian_kernel": Case(
        run=check.gaussian_kernel,
        right=[gauss_hint, gauss_outer, gauss_loops, gauss_meshgrid_f32, gauss_keras],
        wrong=[
            Wrong(gauss_unnormalized, r"divide by the sum", "not normalized"),
            Wrong(gauss_constant, r"sums to .*divide by the sum", "1 / (2πσ²) instead"),
            Wrong(gauss_half_size, r"not centred", "size / 2"),
            Wrong(gauss_symmetric_range, r"even size.*size \+ 1 values", "arange(-s//2, s//2+1)"),
            Wrong(gauss_sigma_not_squared, r"not 2σ", "2σ"),
            Wrong(gauss_no_two, r"the 2 is missing", "σ²"),
            Wrong(gauss_precedence, r"operator precedence", "/ 2 * sigma**2"),
            Wrong(gauss_one_d, r"1-D", "only one axis"),
        ],
    ),
    "max_pool": Case(
        run=check.max_pool,
        right=[pool_hint, pool_loops, pool_keras, pool_shifted_maximum],
        wrong=[
            Wrong(pool_mean, r"averaged each window \(mean\)", "average pooling"),
            Wrong(pool_ceil, r"run past the edge \(ceil mode\)", "partial windows"),
            Wrong(pool_stride_is_size, r"stride 2 pixels apart, not size 3", "stride = size"),
            Wrong(pool_no_stride, r"stride is ignored", "no [::stride]"),
            Wrong(pool_all_channels, r"over the channels too", "max over C"),
            Wrong(pool_last_missing, r"off by one, the last window is missing", "range(H - size)"),
            Wrong(
                pool_reshape,
                r"stride 2 pixels apart|stride is ignored|ceil mode|off by one",
                "reshape into tiles",
            ),
        ],
    ),
    "conv_block": Case(
        run=check.conv_block,
        right=[
            block_hint,
            block_activation,
            block_ops_relu,
            block_activations_relu,
            block_pool_alias,
        ],
        wrong=[
            Wrong(block_relu_first, r"ReLU comes after batch norm", "ReLU → BN in the first half"),
            Wrong(block_relu_first_both, r"ReLU comes after batch norm", "ReLU → BN twice"),
            Wrong(
                block_pool_first,
                r"pooling goes right after the first convolution",
                "pool before the conv",
            ),
            Wrong(
                block_pool_last,
                r"pooling goes right after the first convolution",
                "pool at the end",
            ),
            Wrong(block_conv_relu, r"activation='relu' built in", "Conv2D(activation='relu')"),
            Wrong(block_bias, r"no bias \(use_bias=False\)", "bias left on"),
            Wrong(block_valid, r"padding=\"same\" keep the size", "padding 'valid'"),
            Wrong(block_no_bn, r"the layers are conv → max pool → ReLU", "no batch norm"),
            Wrong(block_bn_axis, r"normalize each channel, the last axis", "BN on axis 1"),
            Wrong(block_no_scale, r"scale and offset", "BN without beta"),
            Wrong(block_no_return, r"returned NoneType", "no return"),
        ],
    ),
}
