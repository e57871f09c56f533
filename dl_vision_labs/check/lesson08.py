"""Checks of notebook 08's exercises: semantic segmentation."""

import numpy as np
from keras import Input, Model, layers

from .core import _compare, exercise, _np, Wrong


@exercise(
    "true, predicted = y_true == c, y_pred == c (boolean arrays); union = "
    "np.sum(true | predicted); return np.sum(true & predicted) / union, or np.nan "
    "when union is 0.")
def iou(fn) -> None:
    """`fn(y_true, y_pred, c)`: IoU of class c between two label arrays, NaN if c is absent."""
    y_true = np.array([[0, 1, 1], [2, 2, 0]])
    y_pred = np.array([[0, 1, 2], [2, 0, 0]])
    rng = np.random.default_rng(0)
    big_true, big_pred = rng.integers(0, 4, (3, 9, 9)), rng.integers(0, 4, (3, 9, 9))
    cases = [(y_true, y_pred, 1, 1 / 2), (y_true, y_pred, 2, 1 / 3),
             (y_true, y_pred, 0, 2 / 3), (y_true, y_pred, 3, np.nan)]
    cases += [(big_true, big_pred, c, np.sum((big_true == c) & (big_pred == c))
               / np.sum((big_true == c) | (big_pred == c))) for c in range(4)]
    for t, p, c, want in cases:
        got = float(fn(t, p, c))
        if np.isnan(want):
            if not np.isnan(got):
                raise Wrong(f"class {c} is neither in y_true nor in y_pred: it cannot be "
                            f"scored, return NaN (np.nan), got {got}")
        elif not np.isclose(got, want, rtol=1e-6):
            raise Wrong(f"iou(y_true, y_pred, {c}) = {got:.4f} on y_true={t.tolist()}, "
                        f"y_pred={p.tolist()}, expected {want:.4f} = |T ∩ P| / |T ∪ P|"
                        if t.size <= 6 else
                        f"iou(..., {c}) = {got:.4f} on random (3, 9, 9) labels, expected "
                        f"{want:.4f}")


@exercise(
    "keras.layers.Conv2D(classes, 1)(features): a 1×1 kernel, no activation (the "
    "scores are logits).")
def pixel_classifier(fn) -> None:
    """`fn(features, classes)`: a dense layer at every position (1×1 convolution), no activation."""
    features = Input((4, 4, 6))
    out = fn(features, 5)
    if tuple(out.shape[1:]) != (4, 4, 5):
        raise Wrong(f"the scores have shape {tuple(out.shape[1:])} for features of "
                    f"(4, 4, 6) and 5 classes, expected (4, 4, 5): same height and width, "
                    f"one score per class")
    model = Model(features, out)
    if model.count_params() != 6 * 5 + 5:
        raise Wrong(f"{model.count_params()} parameters for 6 channels and 5 classes, "
                    f"expected 35: a weight per channel and class, and a bias per class "
                    f"(one 1×1 convolution)")
    weights = model.get_weights()
    kernel = next(w for w in weights if w.size == 30).reshape(6, 5)
    bias = next(w for w in weights if w.size == 5)
    x = np.random.default_rng(0).normal(size=(2, 4, 4, 6)).astype("float32")
    _compare(model(x), x.astype(np.float64) @ kernel + bias,
             "scores (no activation: they are logits)", atol=1e-4)


@exercise(
    "\"valid\": the last copy of the kernel starts at (W − 1)·S and is F wide, so (W "
    "− 1)·S + F; \"same\": exactly W·S.")
def transposed_output_size(fn) -> None:
    """`fn(W, F, S, padding)`: output width of Keras' Conv2DTranspose."""
    for W, F, S, padding in [(2, 3, 2, "valid"), (8, 4, 2, "valid"), (8, 16, 8, "valid"),
                             (5, 3, 1, "valid"), (8, 4, 2, "same"), (8, 16, 8, "same"),
                             (5, 3, 1, "same"), (3, 5, 3, "same")]:
        layer = layers.Conv2DTranspose(1, F, strides=S, padding=padding)
        want = layer.compute_output_shape((1, W, W, 1))[1]
        got = fn(W, F, S, padding)
        if got != want:
            raise Wrong(f"transposed_output_size(W={W}, F={F}, S={S}, padding={padding!r})"
                        f" = {got}, Keras' Conv2DTranspose makes {want}")


@exercise(
    "upsampled = keras.layers.Conv2DTranspose(classes, 4, strides=2, "
    "padding=\"same\")(scores); return upsampled + pixel_classifier(features, "
    "classes).")
def skip(fn) -> None:
    """`fn(scores, features, classes)`: upsample ×2 (transposed conv) + 1×1 scores of features."""
    scores, features = Input((4, 4, 3)), Input((8, 8, 5))
    out = fn(scores, features, 3)
    if tuple(out.shape[1:]) != (8, 8, 3):
        raise Wrong(f"the output has shape {tuple(out.shape[1:])} for scores of (4, 4, 3) "
                    f"and features of (8, 8, 5), expected (8, 8, 3): twice the scores' "
                    f"size, one score per class")
    model = Model([scores, features], out)
    ups = [l for l in model.layers if isinstance(l, layers.Conv2DTranspose)]
    if len(ups) != 1 or tuple(ups[0].strides) != (2, 2) or tuple(ups[0].kernel_size) != (4, 4):
        raise Wrong("upsample the scores with one keras.layers.Conv2DTranspose(classes, 4, "
                    "strides=2, padding=\"same\")")
    readers = [l for l in model.layers if isinstance(l, (layers.Conv2D, layers.Dense))
               and not isinstance(l, layers.Conv2DTranspose)]
    if len(readers) != 1:
        raise Wrong(f"read the features with one 1×1 classifier (pixel_classifier), found "
                    f"{len(readers)} convolution or dense layers besides the upsampling")
    rng = np.random.default_rng(0)
    s = rng.normal(size=(2, 4, 4, 3)).astype("float32")
    f = rng.normal(size=(2, 8, 8, 5)).astype("float32")
    want = _np(ups[0](s)) + _np(readers[0](f))
    _compare(model([s, f]), want, "the output (upsampled scores + the features' scores)",
             atol=1e-4)


@exercise(
    "branches = [keras.layers.Conv2D(filters, 3, padding=\"same\", "
    "dilation_rate=rate, use_bias=False)(x) for rate in rates]; then x = "
    "keras.layers.Concatenate()(branches).")
def atrous_block(fn) -> None:
    """`fn(x, filters, rates)`: parallel dilated 3×3 convolutions on x, concatenated (+ BN, ReLU)."""
    rates = (1, 2, 4)
    x = Input((17, 17, 1))
    out = fn(x, 2, rates)
    if tuple(out.shape[1:]) != (17, 17, 6):
        raise Wrong(f"the output has shape {tuple(out.shape[1:])} for an input of (17, 17, 1)"
                    f", 2 filters and rates {rates}, expected (17, 17, 6): the input's size, "
                    f"filters × len(rates) channels")
    model = Model(x, out)
    convs = [l for l in model.layers if isinstance(l, layers.Conv2D)]
    found = sorted(l.dilation_rate[0] for l in convs)
    if found != list(rates) or any(tuple(l.kernel_size) != (3, 3) or l.filters != 2
                                   for l in convs):
        raise Wrong(f"expected one 3×3 convolution of 2 filters per rate {list(rates)}, "
                    f"found rates {found}")
    for layer in convs:  # kernels of ones: each branch's output shows its taps
        layer.set_weights([np.ones_like(w) if w.ndim == 4 else np.zeros_like(w)
                           for w in layer.get_weights()])
    impulse = np.zeros((1, 17, 17, 1), "float32")
    impulse[0, 8, 8, 0] = 1
    response = _np(model(impulse, training=False))[0]
    for g, r in enumerate(rates):
        want = np.zeros((17, 17), bool)
        for a in (-r, 0, r):
            for b in (-r, 0, r):
                want[8 + a, 8 + b] = True
        got = response[:, :, 2 * g] > 1e-6
        if not np.array_equal(got, want):
            raise Wrong(f"channels {2 * g}-{2 * g + 1} of the output should be the rate-{r} "
                        f"convolution of the block's input (9 taps {r} pixels apart), but "
                        f"they depend on {got.sum()} input pixels: each convolution must "
                        f"read x itself, in the order of `rates`, then concatenate")
