"""Checks of notebook 06's exercises: convolutions by hand, filters, a CNN on CIFAR-10."""

import numpy as np
from keras import Input, Model, layers, ops
from numpy.lib.stride_tricks import sliding_window_view

from .core import Wrong, _compare, _np, exercise

# --- helpers shared with lesson07 ------------------------------------------------------------


def _result(value, what: str) -> np.ndarray:
    """The student's return value as a float64 array (None and non-numbers: Wrong)."""
    if value is None:
        raise Wrong(f"{what}: the function returned None (a `return` is missing)")
    return _np(value)


def _matches(got: np.ndarray, want, atol: float = 1e-4) -> bool:
    return got.shape == np.shape(want) and bool(np.allclose(got, want, rtol=1e-4, atol=atol))


def _diagnose(got: np.ndarray, want, mistakes: dict) -> None:
    """Raise Wrong(message) for the first {message: result} of `mistakes` whose result `got`
    reproduces while it differs from `want` (a result of None is skipped)."""
    if _matches(got, want):
        return
    for message, result in mistakes.items():
        if result is not None and _matches(got, result):
            raise Wrong(message)


def _unchanged(originals, passed, names) -> None:
    for original, argument, name in zip(originals, passed, names):
        if not np.array_equal(original, argument):
            raise Wrong(f"your function changed its input `{name}` in place: work on a copy")


# --- references ----------------------------------------------------------------------------


def _correlate(x, kernels, stride=1) -> np.ndarray:
    """(H, W, C) ⋆ (F, G, C, O), "valid": out[y, x, o] = Σ in[yS + a, xS + b, c] K[a, b, c, o]."""
    windows = sliding_window_view(x, kernels.shape[:2], axis=(0, 1))[::stride, ::stride]
    return np.einsum("hwcab,abco->hwo", windows, kernels)


def _same_pads(size: int, F: int, S: int) -> tuple[int, int]:
    """Keras' padding "same": ⌊2P/2⌋ zeros before, the rest after (more at the bottom/right)."""
    total = max((-(-size // S) - 1) * S + F - size, 0)
    return total // 2, total - total // 2


def _padded(x, pads) -> np.ndarray:
    return np.pad(x, [tuple(pads[0]), tuple(pads[1])] + [(0, 0)] * (x.ndim - 2))


def _keras_conv(x, kernels, stride, padding) -> np.ndarray:
    x, kernels = np.asarray(x, "float32")[None], np.asarray(kernels, "float32")
    return _np(ops.conv(x, kernels, strides=stride, padding=padding))[0]


_FLIPPED = (
    "you flipped the kernel (a textbook convolution); a convolutional layer "
    "computes the cross-correlation: image[y + a, x + b] · kernel[a, b], no flip"
)


@exercise(
    "F, G = kernel.shape (rows, columns); out[y, x] = np.sum(image[y:y + F, x:x + G] * "
    "kernel): the window under the kernel, multiplied element by element and summed "
    "(no flip)."
)
def conv2d_loops(fn) -> None:
    """`fn(image, kernel)`: 2-D cross-correlation, padding "valid", stride 1, one channel;
    the kernel may be non-square, (F, G)."""
    rng = np.random.default_rng(0)
    lecture = (  # the notebook's example (integers)
        np.array(
            [[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]]
        ),
        np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]]),
    )
    shapes = [((6, 7), (3, 3)), ((6, 8), (2, 3)), ((7, 5), (4, 2)), ((3, 4), (3, 4))]
    for image, kernel in [(rng.normal(size=a), rng.normal(size=b)) for a, b in shapes] + [lecture]:
        (H, W), (F, G) = image.shape, kernel.shape
        what = f"the output for a {image.shape} image and a {kernel.shape} kernel"
        image_in, kernel_in = image.copy(), kernel.copy()
        try:
            out = fn(image_in, kernel_in)
        except Exception as err:
            if F == G or isinstance(err, NotImplementedError):
                raise
            raise Wrong(
                f"for a non-square {F}×{G} kernel your function raised "
                f"{type(err).__name__}: the window under it is image[y:y + F, x:x + G] "
                f"(F rows, G columns: F, G = kernel.shape) ({err})"
            ) from None
        _unchanged((image, kernel), (image_in, kernel_in), ("image", "kernel"))
        got = _result(out, what)
        want = _correlate(image[..., None], kernel[..., None, None])[..., 0]
        if got.shape == (H - F, W - G):
            raise Wrong(
                f"{what} has shape {got.shape}, expected {want.shape}: off by one, "
                f"an H × W image gives (H − F + 1) × (W − G + 1) positions"
            )
        if F != G and got.shape == (H - G + 1, W - F + 1):
            raise Wrong(
                f"{what} has shape {got.shape}, expected {want.shape}: the kernel's "
                f"rows and columns are swapped (F, G = kernel.shape: rows, columns)"
            )
        one = lambda k, im=image: _correlate(im[..., None], k[..., None, None])[..., 0]  # noqa: E731
        square = F == G
        _diagnose(got, want, {
            _FLIPPED: one(kernel[::-1, ::-1]),
            "you transposed the kernel: kernel[a, b] multiplies image[y + a, x + b] (a: row)":
                one(kernel.T) if square else None,
            "you averaged the products (np.mean): the output is their sum (np.sum)":
                want / (F * G),
            "a matrix product (@ or np.dot) of window and kernel: multiply element by element (*)":
                one(np.tile(kernel.sum(axis=1), (F, 1))) if square else None,
        })  # fmt: skip
        _compare(got, want, what, atol=1e-4)


@exercise(
    "windows[y, x] has shape (C_in, F, F): the channels c, then the kernel's rows a and "
    "columns b; the output is Σ over c, a, b of windows[y, x, c, a, b] · kernels[a, b, "
    'c, o]: return np.einsum("hwcab,abco->hwo", windows, kernels).'
)
def conv2d(fn) -> None:
    """`fn(x, kernels, stride, padding)`: (H, W, C_in) ⋆ (F, F, C_in, C_out), as keras.ops.conv."""
    rng = np.random.default_rng(0)
    for (h, w, c), (F, o), S, padding in [
            ((7, 7, 3), (3, 4), 1, "valid"), ((8, 6, 2), (2, 3), 2, "same"),
            ((9, 7, 3), (4, 2), 3, "same"), ((7, 9, 2), (4, 3), 1, "same"),
            ((8, 8, 2), (3, 2), 2, "same"), ((9, 9, 1), (2, 2), 3, "valid"),
            ((10, 7, 3), (3, 2), 2, "valid"), ((5, 5, 2), (5, 1), 1, "same")]:  # fmt: skip
        x, kernels = rng.normal(size=(h, w, c)), rng.normal(size=(F, F, c, o))
        what = f"the output for x {x.shape}, kernels {kernels.shape}, stride {S}, {padding!r}"
        x_in, kernels_in = x.copy(), kernels.copy()
        got = _result(fn(x_in, kernels_in, S, padding), what)
        _unchanged((x, kernels), (x_in, kernels_in), ("x", "kernels"))
        want = _keras_conv(x, kernels, S, padding)
        if got.shape == want.shape[:2] + (c, o) and c > 1:
            raise Wrong(
                f"{what} has shape {got.shape}, expected {want.shape}: sum over the "
                f"input channels c too (each filter sees all C_in channels)"
            )
        same = [_same_pads(h, F, S), _same_pads(w, F, S)] if padding == "same" else [(0, 0)] * 2
        symmetric = (
            "padding 'same' done symmetrically ({} zero(s) on each side): Keras pads "
            "2P = max((⌈W/S⌉ − 1)·S + F − W, 0) in all, ⌊2P/2⌋ before and the rest "
            "after (more at the bottom/right; the notebook's pad_same)"
        )
        ignored = f"the stride is ignored: with stride {S} keep every stride-th window"
        run = lambda pads, k=kernels, step=S, x=x: _correlate(_padded(x, pads), k, step)  # noqa: E731
        same_padding = padding == "same"
        _diagnose(got, want, {
            _FLIPPED: run(same, kernels[::-1, ::-1]),
            "the kernel's rows and columns are swapped: kernels[a, b, c, o] is window row a, "
            "column b": run(same, kernels.transpose(1, 0, 2, 3)),
            f"{ignored} ([::{S}, ::{S}])": run(same, step=1) if S > 1 else None,
            ignored: run([_same_pads(n, F, 1) for n in (h, w)], step=1)
            if S > 1 and same_padding else None,
            f"only the first input channel is used: sum over all {c} channels c":
                run(same, kernels[:, :, :1], x=x[..., :1]) if c > 1 else None,
            "padding 'same' is ignored: pad x with zeros first (pad_same), the output is ⌈W/S⌉ "
            "wide": run([(0, 0)] * 2) if same_padding else None,
            "padding 'same' puts the odd extra zero on the wrong side: Keras pads ⌊2P/2⌋ before "
            "and the rest after (more at the bottom/right)": run([p[::-1] for p in same]),
            symmetric.format(F // 2): run([(F // 2,) * 2] * 2) if same_padding else None,
            symmetric.format((F - 1) // 2):
                run([((F - 1) // 2,) * 2] * 2) if same_padding else None,
        })  # fmt: skip
        _compare(got, want, what, atol=1e-4)


def _gaussian(size, sigma, centre, spread=lambda s: 2 * s**2) -> np.ndarray:
    r = np.arange(size) - centre
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / spread(sigma))
    return g / g.sum()


@exercise(
    "r = np.arange(size) - size // 2; g = np.exp(-(r[:, None]**2 + r[None, :]**2) / "
    "(2 * sigma**2)); return g / g.sum()."
)
def gaussian_kernel(fn) -> None:
    """`fn(size, sigma)`: size × size weights ∝ exp(−(a² + b²) / 2σ²) around the centre, sum 1
    (for an even size the centre may be the pixel size // 2 or the middle between two pixels)."""
    for size, sigma in [(3, 1.0), (5, 1.0), (7, 2.5), (5, 0.5), (1, 1.0), (4, 1.5), (6, 0.8)]:
        what = f"gaussian_kernel({size}, {sigma})"
        got = _result(fn(size, sigma), what)
        centres = [size // 2] if size % 2 else [size // 2, (size - 1) / 2, (size - 1) // 2]
        if any(_matches(got, _gaussian(size, sigma, c), atol=1e-6) for c in centres):
            continue
        want = _gaussian(size, sigma, size // 2)
        if got.shape == (size,):
            raise Wrong(
                f"{what} is 1-D, shape {got.shape}: the kernel is size × size, weights "
                f"exp(−(a² + b²) / 2σ²) over rows a and columns b (r[:, None], r[None, :])"
            )
        if size % 2 == 0 and got.shape == (size + 1, size + 1):
            raise Wrong(
                f"{what} has shape {got.shape}: for an even size, "
                f"np.arange(-(size // 2), size // 2 + 1) has size + 1 values; "
                f"r = np.arange(size) - size // 2 has size"
            )
        if got.shape == want.shape and not np.isclose(got.sum(), 1, atol=1e-6):
            raise Wrong(
                f"{what} sums to {got.sum():.4g}: divide by the sum, so that a flat "
                f"image keeps its brightness"
            )
        centred = got.shape != want.shape or np.allclose(got, got[::-1, ::-1], atol=1e-6)
        if size % 2 and not centred:
            raise Wrong(
                f"{what} is not centred (its weights are not symmetric about the middle "
                f"pixel): r = np.arange(size) - size // 2 counts a and b from the centre"
            )
        gauss = lambda spread, n=size, s=sigma: _gaussian(n, s, n // 2, spread)  # noqa: E731
        _diagnose(got, want, {
            "divide a² + b² by 2σ² (sigma squared), not 2σ": gauss(lambda s: 2 * s),
            "the exponent is −(a² + b²) / (2σ²): the 2 is missing": gauss(lambda s: s**2),
            "the exponent is −(a² + b²) / (2σ²), not / (2σ)²": gauss(lambda s: 4 * s**2),
            "operator precedence: -(...) / 2 * sigma**2 multiplies by σ²; divide by "
            "(2 * sigma**2)": gauss(lambda s: 2 / s**2),
        })  # fmt: skip
        _compare(got, want, what, atol=1e-6)


def _pool(x, size, stride, reduce=np.max) -> np.ndarray:
    windows = sliding_window_view(x, (size, size), axis=(0, 1))[::stride, ::stride]
    return reduce(windows, axis=(-2, -1))


@exercise(
    "windows = sliding_window_view(x, (size, size), axis=(0, 1))[::stride, ::stride] "
    "has shape (H', W', C, size, size); return windows.max(axis=(-2, -1))."
)
def max_pool(fn) -> None:
    """`fn(x, size, stride)`: the largest value of each window, per channel, as
    keras.ops.max_pool (padding "valid": only whole windows); `fn(x)`: size 2, stride 2."""
    rng = np.random.default_rng(0)
    cases = [((4, 6, 2), ()), ((4, 4, 1), (2, 2)), ((8, 8, 2), (3, 2)), ((9, 7, 3), (2, 3))]
    for shape, args in cases + [((7, 10, 2), (3, 1)), ((7, 5, 1), (2, 2))]:
        size, stride = args or (2, 2)
        x = rng.integers(0, 10, shape) if not args else rng.normal(size=shape)
        what = f"max_pool of a {shape} input, size {size}, stride {stride}"
        what += "" if args else " (the defaults)"
        x_in = x.copy()
        got = _result(fn(x_in, *args), what)
        _unchanged((x,), (x_in,), ("x",))
        want = _np(ops.max_pool(x[None].astype("float32"), size, stride, "valid"))[0]
        (h, w, c), (gh, gw) = want.shape, got.shape[:2]
        if got.shape == (h, w) and c > 1:  # (a missing axis of one channel: shape message)
            raise Wrong(
                f"{what} has shape {got.shape}, expected {want.shape}: the max runs "
                f"over the channels too; pool each channel separately"
            )
        if got.ndim == 3 and (gh, gw) != (h, w) and got.shape[2] == c:
            if gh >= h and gw >= w and _matches(got[:h, :w], want):
                raise Wrong(
                    f"{what} has shape {got.shape}, expected {want.shape}: windows that "
                    f"run past the edge (ceil mode); padding 'valid' keeps only windows "
                    f"that fit, ⌊(H − size) / stride⌋ + 1 of them"
                )
            if gh <= h and gw <= w and _matches(got, want[:gh, :gw]):
                raise Wrong(
                    f"{what} has shape {got.shape}, expected {want.shape}: off by one, "
                    f"the last window is missing (windows start at 0, stride, ... up to "
                    f"H − size included)"
                )
        _diagnose(got, want, {
            f"{what}: the windows must be stride {stride} pixels apart, not size {size} (the "
            f"stride is ignored)": _pool(x, size, size) if size != stride else None,
            f"{what}: the stride is ignored (windows 1 pixel apart); keep every stride-th "
            f"window": _pool(x, size, 1) if stride > 1 else None,
            f"{what}: you averaged each window (mean); max pooling keeps its largest value":
                _pool(x, size, stride, np.mean),
        })  # fmt: skip
        _compare(got, want, what, atol=1e-6)


def _kind(op) -> str:
    if isinstance(op, layers.Conv2D):
        return "conv"
    if isinstance(op, layers.MaxPooling2D):
        return "max pool"
    if isinstance(op, layers.BatchNormalization):
        return "batch norm"
    plain = not any(getattr(op, a, None) for a in ("max_value", "negative_slope", "threshold"))
    activation = getattr(getattr(op, "activation", None), "__name__", "")
    if plain and (
        isinstance(op, layers.ReLU)
        or activation == "relu"  # Activation("relu")
        # keras.ops.relu or keras.activations.relu on the symbolic tensor:
        or not isinstance(op, layers.Layer)
        and type(op).__name__ in ("Relu", "ReLU")
    ):
        return "ReLU"
    return type(op).__name__  # fmt: skip


_BLOCK = ["conv", "max pool", "batch norm", "ReLU", "conv", "batch norm", "ReLU"]


def _block_reference(x, kernels, bn, training) -> np.ndarray:
    h = x
    for i, (k, (gamma, beta, mean, var)) in enumerate(zip(kernels, bn)):
        h = np.stack([_correlate(_padded(im, [(1, 1), (1, 1)]), k) for im in h])
        if i == 0:
            h = np.stack([_pool(im, 2, 2) for im in h])
        if training:
            mean, var = h.mean(axis=(0, 1, 2)), h.var(axis=(0, 1, 2))
        h = np.maximum(gamma * (h - mean) / np.sqrt(var + 1e-3) + beta, 0)
    return h


@exercise(
    'x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x); x = '
    "keras.layers.MaxPooling2D()(x); x = keras.layers.ReLU()(keras.layers."
    "BatchNormalization(momentum=0.9)(x)); then the same convolution again, batch norm "
    "and ReLU; return x."
)
def conv_block(fn) -> None:
    """`fn(x, filters)`: conv → max pool → batch norm → ReLU → conv → batch norm → ReLU."""
    x = Input((8, 10, 3))
    out = fn(x, 5)
    if out is None or not hasattr(out, "shape"):
        raise Wrong(f"conv_block returned {type(out).__name__}: return the block's output tensor")
    if tuple(out.shape[1:]) != (4, 5, 5):
        smaller = len(out.shape) == 4 and out.shape[1] < 4 and out.shape[3] == 5
        raise Wrong(
            f"the block turns an (8, 10, 3) input into {tuple(out.shape[1:])} with "
            f"filters=5, expected (4, 5, 5): one 2×2 max pooling, 5 filters"
            + (', convolutions with padding="same" keep the size' if smaller else "")
        )
    try:
        model = Model(x, out)
    except ValueError as err:
        raise Wrong(f"the returned tensor is not computed from the input x ({err})") from None
    found = [op for op in model.operations if not isinstance(op, layers.InputLayer)]
    convs = [op for op in found if isinstance(op, layers.Conv2D)]
    for conv in convs:
        if conv.activation.__name__ != "linear":
            raise Wrong(
                f"a convolution has activation={conv.activation.__name__!r} built in: "
                f"that applies it before batch norm; ReLU comes after batch norm, as "
                f"its own layer"
            )
    kinds = [_kind(op) for op in found]
    if kinds != _BLOCK:
        why = ""
        if any(a == "ReLU" and b == "batch norm" for a, b in zip(kinds, kinds[1:])):
            why = ": ReLU comes after batch norm, not before"
        elif kinds.count("max pool") == 1 and kinds.index("max pool") != 1:
            why = ": the pooling goes right after the first convolution"
        raise Wrong(f"the layers are {' → '.join(kinds)}, expected {' → '.join(_BLOCK)}{why}")
    for conv in convs:
        if conv.use_bias:
            raise Wrong("the convolutions must have no bias (use_bias=False): batch norm adds one")
        shape = (tuple(conv.kernel_size), conv.padding, conv.filters, tuple(conv.strides))
        if shape != ((3, 3), "same", 5, (1, 1)) or conv.dilation_rate not in (1, (1, 1)):
            raise Wrong(
                f'each convolution: Conv2D(filters, 3, padding="same", use_bias=False); found '
                f"kernel {shape[0]}, padding {shape[1]!r}, {shape[2]} filters, strides {shape[3]}"
            )
    pool = found[1]
    if tuple(pool.pool_size) != (2, 2) or tuple(pool.strides) != (2, 2):
        raise Wrong(
            f"the pooling is MaxPooling2D(): 2×2, stride 2, not {pool.pool_size}, {pool.strides}"
        )
    rng = np.random.default_rng(0)
    kernels = [rng.normal(size=(3, 3, 3, 5)), rng.normal(size=(3, 3, 5, 5))]  # outputs ~ 5
    ranges = ((0.5, 2), (-1, 1), (-3, 3), (10, 40))  # variances >> epsilon: any usual one passes
    bn = [tuple(rng.uniform(lo, hi, 5) for lo, hi in ranges) for _ in range(2)]
    for conv, k in zip(convs, kernels):
        conv.kernel.assign(k.astype("float32"))
    norms = [op for op in found if isinstance(op, layers.BatchNormalization)]
    for norm, (gamma, beta, mean, var) in zip(norms, bn):
        if norm.gamma is None or norm.beta is None:
            raise Wrong(
                "batch norm needs its scale and offset (center=True, scale=True, the "
                "defaults): the convolutions have no bias"
            )
        if norm.axis not in (-1, 3, [-1], [3]):
            raise Wrong(
                f"batch norm normalizes axis {norm.axis}: it must normalize each "
                f"channel, the last axis (axis=-1, the default)"
            )
        variables = (norm.gamma, norm.beta, norm.moving_mean, norm.moving_variance)
        for variable, value in zip(variables, (gamma, beta, mean, var)):
            variable.assign(value.astype("float32"))
    images = rng.normal(size=(2, 8, 10, 3))
    for training in (False, True):
        want, mode = _block_reference(images, kernels, bn, training), f"training={training}"
        got = model(images.astype("float32"), training=training)
        _compare(got, want, f"the block's output with known weights ({mode})", rtol=1e-3, atol=1e-3)
