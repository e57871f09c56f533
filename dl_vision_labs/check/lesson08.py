"""Checks of notebook 08's exercises: semantic segmentation."""

import warnings

import numpy as np
from keras import Input, Model, layers

from .core import Wrong, _compare, _np, exercise


def _scalar(value, what: str) -> float:
    if value is None:
        raise Wrong(f"{what} returned None (a `return` is missing)")
    value = _np(value)
    if value.size != 1:
        raise Wrong(f"{what} returned an array of shape {value.shape}, expected one number")
    return float(value.reshape(()))


def _iou(t, p, c) -> float:
    union = np.sum((t == c) | (p == c))
    return np.sum((t == c) & (p == c)) / union if union else np.nan


def _named(got, mistakes: dict, rtol=1e-5) -> str:
    """ " (the mistake)" for the first of `mistakes` (its words -> its wrong answer) that
    `got` matches, else ""."""
    match = (m for m, v in mistakes.items() if v is not None and np.allclose(got, v, rtol=rtol))
    return next((f" ({m})" for m in match), "")


@exercise(
    "true, predicted = y_true == c, y_pred == c (boolean arrays of any shape); union = "
    "np.sum(true | predicted); return np.sum(true & predicted) / union, or np.nan "
    "when union is 0."
)
def iou(fn) -> None:
    """`fn(y_true, y_pred, c)`: IoU of class c over all pixels of two label arrays (a whole
    batch counted together), NaN if c is in neither."""
    y_true = np.array([[0, 1, 1], [2, 2, 0]])
    y_pred = np.array([[0, 1, 2], [2, 0, 0]])
    rng = np.random.default_rng(0)
    big_true, big_pred = rng.integers(0, 4, (3, 9, 7)), rng.integers(0, 4, (3, 9, 7))
    big_pred[0] = np.where(big_pred[0] == 3, 1, big_pred[0])  # one image without class 3
    cases = [(y_true, y_pred, 1), (y_true, y_pred, 2), (y_true, y_pred, 0), (y_true, y_pred, 3)]
    cases += [(big_true, big_pred, c) for c in range(5)]
    for t, p, c in cases:
        t_in, p_in = t.copy(), p.copy()
        got = _scalar(fn(t_in, p_in, c), f"iou(y_true, y_pred, {c})")
        if not (np.array_equal(t_in, t) and np.array_equal(p_in, p)):
            raise Wrong(
                "iou changed the label arrays it was given: compare them (y_true == c) "
                "without writing into them"
            )
        want = _iou(t, p, c)
        if np.isnan(want):
            if not np.isnan(got):
                raise Wrong(
                    f"class {c} is neither in y_true nor in y_pred: it cannot be "
                    f"scored, return NaN (np.nan), not {got}"
                )
            continue
        if np.isclose(got, want, rtol=1e-6):
            continue
        true, pred = t == c, p == c
        inter, n_true, n_pred = np.sum(true & pred), np.sum(true), np.sum(pred)
        with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            per_image = np.nanmean([_iou(a, b, c) for a, b in zip(t, p)]) if t.ndim == 3 else None
        both = n_true + n_pred
        mistakes = {
            "divided by |T|, the true pixels: divide by the union |T ∪ P|": inter / n_true,
            "divided by |P|, the predicted pixels: divide by the union |T ∪ P|": inter / n_pred,
            "divided by |T| + |P|, which counts the intersection twice: divide by the union "
            "|T ∪ P| = |T| + |P| − |T ∩ P|": inter / both,
            "that is the Dice score 2|T ∩ P| / (|T| + |P|), not the IoU": 2 * inter / both,
            "the IoU of each image, averaged: count the pixels of the whole batch together, "
            "as the lesson's formula does": per_image,
            "integer division (//) rounds down: divide with /": inter // max(both - inter, 1),
        }
        on = f"y_true={t.tolist()}, y_pred={p.tolist()}"
        on = on if t.size <= 6 else "random (3, 9, 7) label arrays"
        raise Wrong(
            f"iou(y_true, y_pred, {c}) = {got:.4f} on {on}, expected {want:.4f} = "
            f"|T ∩ P| / |T ∪ P|{_named(got, mistakes, rtol=1e-6)}"
        )


def _output(out, what: str):
    if out is None:
        raise Wrong("the function returned None (a `return` is missing)")
    if not hasattr(out, "shape"):
        raise Wrong(f"the function returned {type(out).__name__}, expected the tensor of {what}")
    return tuple(out.shape[1:])


def _classifier_scores(layer, f):
    """The scores of a 1×1 convolution or dense `layer`, from its weights, in NumPy."""
    weights = layer.get_weights()
    kernel = weights[0].reshape(f.shape[-1], -1)
    return f @ kernel + (weights[1] if len(weights) > 1 else 0)


def _softmax(s):
    e = np.exp(s - s.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@exercise(
    "keras.layers.Conv2D(classes, 1)(features): a 1×1 kernel, with a bias, no activation "
    "(the scores are logits)."
)
def pixel_classifier(fn) -> None:
    """`fn(features, classes)`: a dense layer at every position (1×1 convolution), no activation."""
    features = Input((4, 5, 6))
    out = fn(features, 3)
    shape = _output(out, "class scores")
    if shape != (4, 5, 3):
        raise Wrong(
            f"the scores have shape {shape} for features of (4, 5, 6) and 3 classes, "
            f"expected (4, 5, 3): same height and width, one score per class"
        )
    model = Model(features, out)
    convs = [layer for layer in model.layers if isinstance(layer, (layers.Conv2D, layers.Dense))]
    sizes = [tuple(layer.kernel_size) for layer in convs if isinstance(layer, layers.Conv2D)]
    if any(s != (1, 1) for s in sizes):
        raise Wrong(
            f"a {sizes[0][0]}×{sizes[0][1]} kernel: the classifier reads each "
            f"position's channels alone, a 1×1 kernel (Conv2D(classes, 1))"
        )
    if model.count_params() != 6 * 3 + 3 or len(convs) != 1:
        no_bias = " (no bias: keep use_bias=True, the formula has b_k)"
        why = no_bias if model.count_params() == 18 else ""
        raise Wrong(
            f"{model.count_params()} parameters for 6 channels and 3 classes, "
            f"expected 21: a weight per channel and class, and a bias per class "
            f"(one 1×1 convolution){why}"
        )
    x = np.random.default_rng(0).normal(size=(2, 4, 5, 6)).astype("float32")
    want = _classifier_scores(convs[0], x.astype(np.float64))
    got = _np(model(x))
    squashed = {"softmax": _softmax(want), "ReLU": np.maximum(want, 0)}
    squashed["sigmoid"] = 1 / (1 + np.exp(-want))
    if got.shape == want.shape and not np.allclose(got, want, atol=1e-4):
        name = next((n for n, v in squashed.items() if np.allclose(got, v, atol=1e-4)), None)
        if name:
            raise Wrong(
                f"the scores went through a {name}: return the logits, no activation "
                f"(the loss applies the softmax, from_logits=True)"
            )
    _compare(got, want, "scores (no activation: they are logits)", atol=1e-4)


@exercise(
    '"valid": (W − 1)·S + max(F, S): the last copy of the kernel starts at (W − 1)·S and is '
    'F wide, and when F < S Keras still gives each input S outputs; "same": exactly W·S.'
)
def transposed_output_size(fn) -> None:
    """`fn(W, F, S, padding)`: output width of Keras' Conv2DTranspose."""
    valid = ((2, 3, 2), (8, 4, 2), (8, 16, 8), (5, 3, 1), (4, 1, 2), (5, 2, 3), (3, 3, 3))
    same = ((8, 4, 2), (8, 16, 8), (5, 3, 1), (3, 5, 3), (5, 2, 3))
    for W, F, S, padding in [(*c, "valid") for c in valid] + [(*c, "same") for c in same]:
        layer = layers.Conv2DTranspose(1, F, strides=S, padding=padding)
        want = layer.compute_output_shape((1, W, W, 1))[1]
        got = fn(W, F, S, padding)
        if got is None:
            raise Wrong(
                f"transposed_output_size(W={W}, F={F}, S={S}, padding={padding!r}) "
                f"returned None (a `return` is missing)"
            )
        if got == want:
            continue
        why = ""
        if padding == "valid" and F < S and got == (W - 1) * S + F:
            why = (
                ": with a kernel smaller than the stride (F < S) Keras still gives each "
                "input S outputs (the gaps filled with zeros), (W − 1)·S + max(F, S)"
            )
        elif padding == "valid" and got == W * S:
            why = ': W·S is "same"; "valid" keeps the whole last copy, (W − 1)·S + max(F, S)'
        elif got in ((W - F) // S + 1, (W - F) / S + 1):
            why = ": that is a convolution's output size; its transpose grows the input"
        elif padding == "same":
            why = ': padding "same" gives exactly W·S'
        raise Wrong(
            f"transposed_output_size(W={W}, F={F}, S={S}, padding={padding!r}) = "
            f"{got}, Keras' Conv2DTranspose makes {want}{why}"
        )


@exercise(
    "upsampled = keras.layers.Conv2DTranspose(classes, 4, strides=2, "
    'padding="same")(scores); return upsampled + pixel_classifier(features, '
    "classes)."
)
def skip(fn) -> None:
    """`fn(scores, features, classes)`: upsample ×2 (transposed conv) + 1×1 scores of features."""
    scores, features = Input((4, 3, 3)), Input((8, 6, 5))
    out = fn(scores, features, 3)
    shape = _output(out, "scores")
    if shape != (8, 6, 3):
        why = " (concatenated? add the two score maps)" if shape == (8, 6, 6) else ""
        raise Wrong(
            f"the output has shape {shape} for scores of (4, 3, 3) and features of "
            f"(8, 6, 5), expected (8, 6, 3): twice the scores' size, one score per "
            f"class{why}"
        )
    model = Model([scores, features], out)
    if any(isinstance(layer, layers.UpSampling2D) for layer in model.layers):
        raise Wrong(
            "UpSampling2D learns nothing: the skip upsamples with a learned "
            'keras.layers.Conv2DTranspose(classes, 4, strides=2, padding="same")'
        )
    ups = [layer for layer in model.layers if isinstance(layer, layers.Conv2DTranspose)]
    if len(ups) != 1 or tuple(ups[0].strides) != (2, 2) or tuple(ups[0].kernel_size) != (4, 4):
        raise Wrong(
            "upsample the scores with one keras.layers.Conv2DTranspose(classes, 4, "
            'strides=2, padding="same")'
        )
    up = ups[0]
    readers = [
        layer
        for layer in model.layers
        if isinstance(layer, (layers.Conv2D, layers.Dense))
        and not isinstance(layer, layers.Conv2DTranspose)
    ]
    if len(readers) != 1:
        raise Wrong(
            f"read the features with one 1×1 classifier (pixel_classifier), found "
            f"{len(readers)} convolution or dense layers besides the upsampling"
        )
    reader = readers[0]
    if up.filters != 3 or reader.input.shape[-1] != 5:
        raise Wrong(
            "the transposed convolution must upsample the scores to `classes` "
            "channels and the 1×1 classifier read the features; add the two score "
            "maps after the classifier, not the features before it"
        )
    if isinstance(reader, layers.Conv2D) and tuple(reader.kernel_size) != (1, 1):
        raise Wrong(
            f"the features are read with a {reader.kernel_size[0]}×"
            f"{reader.kernel_size[1]} kernel: use the 1×1 classifier (pixel_classifier)"
        )
    for layer, what in ((up, "transposed convolution"), (reader, "1×1 classifier")):
        name = getattr(getattr(layer, "activation", None), "__name__", "linear")
        if name != "linear":
            raise Wrong(f"the {what} has the activation {name}: scores are logits, no activation")
    rng = np.random.default_rng(0)
    for layer in (up, reader):  # known weights, then a reference built here
        layer.set_weights(
            [rng.normal(size=w.shape).astype("float32") * 0.3 for w in layer.get_weights()]
        )
    reference = layers.Conv2DTranspose(3, 4, strides=2, padding="same", use_bias=up.use_bias)
    reference.build((None, 4, 3, 3))
    reference.set_weights(up.get_weights())
    s = rng.normal(size=(2, 4, 3, 3)).astype("float32")
    f = rng.normal(size=(2, 8, 6, 5)).astype("float32")
    upsampled, read = _np(reference(s)), _classifier_scores(reader, f.astype(np.float64))
    got = _np(model([s, f]))
    if np.allclose(got, upsampled - read, atol=1e-4):
        raise Wrong("the features' scores were subtracted: add them to the upsampled scores")
    if np.allclose(got, upsampled, atol=1e-4) or np.allclose(got, read, atol=1e-4):
        raise Wrong("the output is only one of the two score maps: return their sum")
    _compare(
        got,
        upsampled + read,
        "the output (the upsampled scores + the features' scores, no activation)",
        atol=1e-4,
    )


@exercise(
    'branches = [keras.layers.Conv2D(filters, 3, padding="same", '
    "dilation_rate=rate, use_bias=False)(x) for rate in rates]; then x = "
    "keras.layers.Concatenate()(branches)."
)
def atrous_block(fn) -> None:
    """`fn(x, filters, rates)`: parallel dilated 3×3 convolutions on x, concatenated (+ BN,
    ReLU)."""
    for rates, (h, w) in (((1, 2, 4), (17, 15)), ((3, 1), (15, 17))):
        _atrous(fn, rates, h, w)


def _atrous(fn, rates, h, w) -> None:
    x = Input((h, w, 1))
    try:
        out = fn(x, 2, rates)
    except ValueError as err:
        if "oncatenate" not in str(err) and "shape" not in str(err):
            raise
        raise Wrong(
            f"the branches cannot be concatenated, their sizes differ ({err}): "
            f'padding="same" and stride 1 keep each one the input\'s size'
        ) from None
    shape = _output(out, "the block's output")
    want = (h, w, 2 * len(rates))
    if shape != want:
        why = (
            " (concatenated along the height or width: concatenate the channels, axis=-1)"
            if len(rates) * h in shape[:2] or len(rates) * w in shape[:2]
            else ' (padding "valid" shrinks the output: use padding="same")'
            if shape[:2] != (h, w)
            else " (added? concatenate the branches)"
            if shape[2] == 2
            else ""
        )
        raise Wrong(
            f"the output has shape {shape} for an input of {(h, w, 1)}, 2 filters and "
            f"rates {rates}, expected {want}: the input's size, filters × len(rates) "
            f"channels{why}"
        )
    model = Model(x, out)
    convs = [layer for layer in model.layers if isinstance(layer, layers.Conv2D)]
    found = sorted(layer.dilation_rate[0] for layer in convs)
    if found != sorted(rates) or any(
        tuple(layer.kernel_size) != (3, 3) or layer.filters != 2 or tuple(layer.strides) != (1, 1)
        for layer in convs
    ):
        raise Wrong(
            f"expected one 3×3 convolution of 2 filters, stride 1, per rate in "
            f"{list(rates)}, found rates {found}"
        )
    for layer in convs:  # kernels of ones: each branch's output shows its taps
        layer.set_weights(
            [np.ones_like(v) if v.ndim == 4 else np.zeros_like(v) for v in layer.get_weights()]
        )
    impulse = np.zeros((1, h, w, 1), "float32")
    cy, cx = h // 2, w // 2
    impulse[0, cy, cx, 0] = 1
    response = _np(model(impulse, training=False))[0]

    def taps(r):
        mask = np.zeros((h, w), bool)
        for a in (-r, 0, r):
            for b in (-r, 0, r):
                mask[cy + a, cx + b] = True
        return mask

    for g, r in enumerate(rates):
        got = response[:, :, 2 * g] > 1e-6
        if np.array_equal(got, taps(r)):
            continue
        other = next((q for q in rates if q != r and np.array_equal(got, taps(q))), None)
        if other is not None:
            raise Wrong(
                f"channels {2 * g}-{2 * g + 1} of the output are the rate-{other} "
                f"convolution, expected rate {r}: concatenate the branches in the "
                f"order of `rates` {list(rates)}"
            )
        raise Wrong(
            f"channels {2 * g}-{2 * g + 1} of the output should be the rate-{r} "
            f"convolution of the block's input (9 taps {r} pixels apart), but they "
            f"depend on {got.sum()} input pixels: each convolution must read x "
            f"itself (side by side, not stacked), then concatenate"
        )


@exercise(
    "message = kernel @ q − np.diag(kernel)[:, None] * q (the sum over j ≠ i); return the "
    "softmax over the labels (axis=1) of −unary + message."
)
def mean_field_step(fn) -> None:
    """`fn(unary, q, kernel)`: one mean-field update of a dense CRF with Potts labels."""
    rng = np.random.default_rng(0)
    unary = rng.uniform(0, 4, (7, 3))  # 7 pixels, 3 labels: axes cannot be confused
    q = _softmax(rng.normal(size=(7, 3)) * 2)
    g = rng.normal(size=(7, 2))
    d2 = np.sum((g[:, None] - g[None]) ** 2, -1)
    kernel = 1.5 * np.exp(-d2) + 0.8 * np.exp(-d2 / 4)  # k(f_i, f_i) = 2.3, not 1
    args = (unary.copy(), q.copy(), kernel.copy())
    got = fn(*args)
    if not all(np.array_equal(a, b) for a, b in zip(args, (unary, q, kernel))):
        raise Wrong(
            "mean_field_step changed an array it was given (np.fill_diagonal on the kernel?): "
            "leave out the self-connection on a copy, or subtract it from the message"
        )
    message = (kernel - np.diag(np.diag(kernel))) @ q  # Σ_j≠i k_ij q_j
    e = -unary + message
    mistakes = {
        "the softmax ran over the pixels (axis 0): normalise each pixel's labels, axis=1": (
            np.exp(e) / np.exp(e).sum(0)
        ),
        "the pairwise term has the wrong sign: Potts charges k_ij for each label that "
        "differs, so agreeing labels are favoured: + Σ_j k_ij q_j(l)": _softmax(-unary - message),
        "the sum includes j = i, the pixel's own q (k_ii = w₁ + w₂): leave out the "
        "kernel's diagonal": _softmax(-unary + kernel @ q),
        "q was subtracted for j = i, but k_ii is w₁ + w₂, not 1: subtract "
        "np.diag(kernel)[:, None] * q": _softmax(-unary + kernel @ q - q),
        "not normalised: divide by each pixel's sum over the labels": np.exp(e),
        "the unary is a cost (−log p): it enters as −unary": _softmax(unary + message),
        "the unary is missing: −unary + message": _softmax(message),
        "those are log-probabilities: apply the softmax": e - np.log(np.exp(e).sum(1))[:, None],
    }
    if got is not None and _np(got).shape == e.shape:
        why = _named(_np(got), mistakes)
        if why:
            raise Wrong(f"the new q differs from softmax(−unary + Σ_j≠i k_ij q_j){why}")
    _compare(got, _softmax(e), "the new q, softmax over labels of (−unary + Σ_j≠i k_ij q_j)")
