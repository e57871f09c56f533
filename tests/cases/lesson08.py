"""Right and wrong answers to notebook 08's exercises (semantic segmentation)."""

import keras
import numpy as np
from keras import layers, ops

from dl_vision_labs import check
from tests.cases import Case, Wrong

# --- iou ------------------------------------------------------------------------------------


def iou_sets(y_true, y_pred, c):  # sets of pixel indices, loops
    t = {i for i, v in enumerate(np.ravel(y_true)) if v == c}
    p = {i for i, v in enumerate(np.ravel(y_pred)) if v == c}
    return len(t & p) / len(t | p) if t | p else float("nan")


def iou_counts(y_true, y_pred, c):  # TP / (TP + FP + FN)
    tp = np.count_nonzero((y_true == c) & (y_pred == c))
    fp = np.count_nonzero((y_true != c) & (y_pred == c))
    fn = np.count_nonzero((y_true == c) & (y_pred != c))
    return tp / (tp + fp + fn) if tp + fp + fn else np.nan


def iou_tensor(y_true, y_pred, c):  # keras.ops, a tensor returned; 0/0 gives NaN by itself
    t = ops.cast(ops.equal(y_true, c), "float32")
    p = ops.cast(ops.equal(y_pred, c), "float32")
    inter = ops.sum(t * p)
    return inter / (ops.sum(t) + ops.sum(p) - inter)


def iou_in_place(y_true, y_pred, c):
    y_true[y_true != c] = -1  # writes into the caller's masks
    y_pred[y_pred != c] = -2
    union = np.sum((y_true == c) | (y_pred == c))
    return np.sum(y_true == y_pred) / union if union else np.nan


def iou_per_image(y_true, y_pred, c):
    if y_true.ndim < 3:
        return check.lesson08._iou(y_true, y_pred, c)
    with np.errstate(invalid="ignore"):
        return np.nanmean([check.lesson08._iou(t, p, c) for t, p in zip(y_true, y_pred)])


def _ratio(denominator):
    def fn(y_true, y_pred, c):
        t, p = y_true == c, y_pred == c
        d = denominator(t, p)
        return np.sum(t & p) / d if d else np.nan

    return fn


IOU = Case(
    run=check.iou,
    right=[check.lesson08._iou, iou_sets, iou_counts, iou_tensor],
    wrong=[
        Wrong(
            lambda t, p, c: np.sum((t == c) & (p == c)) / max(np.sum((t == c) | (p == c)), 1),
            "return NaN",
            "0 for an absent class",
        ),
        Wrong(_ratio(lambda t, p: np.sum(t)), r"divided by \|T\|.*union", "divides by |T|"),
        Wrong(
            _ratio(lambda t, p: np.sum(t) + np.sum(p)), "intersection twice", "divides by |T| + |P|"
        ),
        Wrong(
            lambda t, p, c: (
                2 * np.sum((t == c) & (p == c)) / np.sum(t == c) + np.sum(p == c)
                if np.any(t == c)
                else np.nan
            ),
            "differs|expected",
            "operator precedence",
        ),
        Wrong(iou_per_image, "each image, averaged", "per image instead of the whole batch"),
        Wrong(iou_in_place, "changed the label arrays", "writes into its inputs"),
        Wrong(
            lambda t, p, c: (
                np.sum((t == c) & (p == c)) // np.sum((t == c) | (p == c))
                if np.any((t == c) | (p == c))
                else np.nan
            ),
            "integer division",
            "// rounds down",
        ),
        Wrong(
            lambda t, p, c: [_ratio(lambda a, b: np.sum(a | b))(t, p, c)] * 2,
            "one number",
            "a list",
        ),
        Wrong(lambda t, p, c: None, "returned None", "no return"),
    ],
)


# --- pixel_classifier -------------------------------------------------------------------------


def classifier_no_return(features, classes):
    scores = layers.Conv2D(classes, 1)(features)  # noqa: F841 (the return is missing)


PIXEL_CLASSIFIER = Case(
    run=check.pixel_classifier,
    right=[
        lambda f, classes: layers.Conv2D(classes, 1)(f),
        lambda f, classes: layers.Dense(classes)(f),  # a dense layer at each position
        lambda f, classes: layers.Activation("linear")(
            layers.Conv2D(classes, (1, 1), padding="same", activation=None)(f)
        ),
        lambda f, classes: keras.layers.Conv2D(filters=classes, kernel_size=1, strides=1)(f),
    ],
    wrong=[
        Wrong(
            lambda f, classes: layers.Conv2D(classes, 1, activation="softmax")(f),
            "softmax.*logits",
            "softmax activation",
        ),
        Wrong(
            lambda f, classes: layers.Softmax()(layers.Conv2D(classes, 1)(f)),
            "softmax.*logits",
            "a Softmax layer",
        ),
        Wrong(
            lambda f, classes: layers.Conv2D(classes, 1, activation="relu")(f),
            "ReLU",
            "relu activation",
        ),
        Wrong(
            lambda f, classes: layers.Conv2D(classes, 3, padding="same")(f),
            "3×3 kernel.*1×1",
            "3×3 kernel",
        ),
        Wrong(lambda f, classes: layers.Conv2D(classes, 3)(f), "shape", "3×3 valid"),
        Wrong(
            lambda f, classes: layers.Conv2D(classes, 1, use_bias=False)(f), "no bias", "no bias"
        ),
        Wrong(
            lambda f, classes: layers.Dense(classes)(layers.Flatten()(f)),
            "shape",
            "flattened: one answer per image",
        ),
        Wrong(
            lambda f, classes: layers.Conv2D(classes, 1, activation="sigmoid")(f),
            "sigmoid",
            "sigmoid activation",
        ),
        Wrong(classifier_no_return, "returned None", "no return"),
    ],
)


# --- transposed_output_size -----------------------------------------------------------------


def size_loop(W, F, S, padding):  # place the copies and measure
    if padding == "same":
        return W * S
    end = 0
    for i in range(W):
        end = max(end, i * S + F, (i + 1) * S)
    return end


TRANSPOSED_OUTPUT_SIZE = Case(
    run=check.transposed_output_size,
    right=[
        lambda W, F, S, padding: W * S if padding == "same" else (W - 1) * S + max(F, S),
        lambda W, F, S, padding: W * S + (max(F - S, 0) if padding == "valid" else 0),
        size_loop,
        lambda W, F, S, padding: int(np.int64(W) * S + np.maximum(F - S, 0) * (padding == "valid")),
    ],
    wrong=[
        Wrong(
            lambda W, F, S, padding: W * S if padding == "same" else (W - 1) * S + F,
            r"smaller than the stride.*max\(F, S\)",
            "(W − 1)·S + F for F < S",
        ),
        Wrong(lambda W, F, S, padding: W * S, r"\"same\".*\"valid\"", "W·S for valid too"),
        Wrong(
            lambda W, F, S, padding: (W - 1) * S + max(F, S),
            '"same" gives exactly W·S',
            "the valid size for same",
        ),
        Wrong(
            lambda W, F, S, padding: (W - F) // S + 1,
            "convolution's output size",
            "the forward convolution's formula",
        ),
        Wrong(
            lambda W, F, S, padding: W * S if padding == "same" else W * S + F,
            "Keras' Conv2DTranspose makes",
            "off by S",
        ),
        Wrong(
            lambda W, F, S, padding: W * S if padding == "same" else (W - 1) * S + F - 1,
            "Keras' Conv2DTranspose makes",
            "off by one",
        ),
        Wrong(lambda W, F, S, padding: None, "returned None", "no return"),
    ],
)


# --- skip ---------------------------------------------------------------------------------


def skip_add_layer(scores, features, classes):
    up = layers.Conv2DTranspose(classes, (4, 4), strides=(2, 2), padding="same")(scores)
    return layers.Add()([up, layers.Conv2D(classes, 1)(features)])


def skip_ops(scores, features, classes):
    up = layers.Conv2DTranspose(
        filters=classes, kernel_size=4, strides=2, padding="same", use_bias=False
    )(scores)
    return ops.add(layers.Dense(classes)(features), up)


def skip_valid_cropped(scores, features, classes):  # "valid" (2W + 2), ⌊(F − S)/2⌋ cut
    up = layers.Conv2DTranspose(classes, 4, strides=2, padding="valid")(scores)
    return up[:, 1:-1, 1:-1] + layers.Conv2D(classes, 1)(features)


SKIP = Case(
    run=check.skip,
    right=[
        lambda s, f, classes: (
            layers.Conv2DTranspose(classes, 4, strides=2, padding="same")(s)
            + layers.Conv2D(classes, 1)(f)
        ),
        skip_add_layer,
        skip_ops,
        skip_valid_cropped,
    ],
    wrong=[
        Wrong(
            lambda s, f, classes: layers.UpSampling2D(2)(s) + layers.Conv2D(classes, 1)(f),
            "UpSampling2D.*Conv2DTranspose",
            "UpSampling2D instead of a transposed conv",
        ),
        Wrong(
            lambda s, f, classes: layers.Conv2D(classes, 1)(
                layers.Conv2DTranspose(f.shape[-1], 4, strides=2, padding="same")(s) + f
            ),
            "after the classifier",
            "added before the 1×1 classifier",
        ),
        Wrong(
            lambda s, f, classes: layers.Concatenate()(
                [
                    layers.Conv2DTranspose(classes, 4, strides=2, padding="same")(s),
                    layers.Conv2D(classes, 1)(f),
                ]
            ),
            "concatenated.*add",
            "concatenated",
        ),
        Wrong(
            lambda s, f, classes: layers.Conv2DTranspose(classes, 4, strides=2, padding="same")(s),
            "one 1×1 classifier",
            "forgot the features",
        ),
        Wrong(
            lambda s, f, classes: (
                layers.Conv2DTranspose(classes, 4, strides=2, padding="same")(s)
                + layers.Conv2D(classes, 3, padding="same")(f)
            ),
            "3×3 kernel",
            "3×3 reader",
        ),
        Wrong(
            lambda s, f, classes: (
                layers.Conv2DTranspose(classes, 4, strides=2, padding="same")(s)
                - layers.Conv2D(classes, 1)(f)
            ),
            "subtracted",
            "minus",
        ),
        Wrong(
            lambda s, f, classes: (
                layers.Conv2DTranspose(classes, 4, strides=2, padding="valid")(s)[:, 2:, 2:]
                + layers.Conv2D(classes, 1)(f)
            ),
            "differs",
            "padding valid, cropped on one side only",
        ),
        Wrong(
            lambda s, f, classes: (
                layers.Conv2DTranspose(classes, 4, strides=2, padding="same", activation="relu")(s)
                + layers.Conv2D(classes, 1)(f)
            ),
            "activation relu.*no activation",
            "ReLU on the upsampling",
        ),
        Wrong(
            lambda s, f, classes: (
                layers.Conv2DTranspose(classes, 2, strides=2)(s) + layers.Conv2D(classes, 1)(f)
            ),
            "Conv2DTranspose\\(classes, 4",
            "kernel 2",
        ),
        Wrong(lambda s, f, classes: None, "returned None", "no return"),
    ],
)


# --- atrous_block ---------------------------------------------------------------------------


def atrous(*, stacked=False, order=None, padding="same", join="concat", fixed=None):
    def block(x, filters, rates):
        rates = fixed or rates
        branches, h = [], x
        for rate in sorted(rates, reverse=True) if order == "reversed" else rates:
            h = layers.Conv2D(filters, 3, padding=padding, dilation_rate=rate, use_bias=False)(
                h if stacked else x
            )
            branches.append(h)
        x = (
            layers.Add()(branches)
            if join == "add"
            else layers.Concatenate(axis=1)(branches)
            if join == "axis1"
            else layers.Concatenate()(branches)
        )
        return layers.ReLU()(layers.BatchNormalization()(x))

    return block


def atrous_functional(x, filters, rates):
    branches = []
    for rate in rates:
        branches.append(
            keras.layers.Conv2D(
                filters, (3, 3), padding="same", dilation_rate=(rate, rate), use_bias=False
            )(x)
        )
    x = layers.concatenate(branches, axis=-1)
    return layers.Activation("relu")(layers.BatchNormalization()(x))


def atrous_ops(x, filters, rates):
    x = ops.concatenate(
        [layers.Conv2D(filters, 3, padding="same", dilation_rate=r)(x) for r in rates], axis=-1
    )  # with biases: harmless before BN
    return layers.ReLU()(layers.BatchNormalization()(x))


ATROUS_BLOCK = Case(
    run=check.atrous_block,
    right=[atrous(), atrous_functional, atrous_ops],
    wrong=[
        Wrong(atrous(stacked=True), "read x itself", "stacked (sequential) dilated convs"),
        Wrong(atrous(order="reversed"), "order of `rates`", "rates in the wrong order"),
        Wrong(atrous(padding="valid"), 'padding="same"', "padding valid"),
        Wrong(atrous(join="add"), "concatenate", "added instead of concatenated"),
        Wrong(atrous(join="axis1"), "concatenate the channels", "concatenated along the height"),
        Wrong(atrous(fixed=(1, 2, 4)), r"found rates|filters × len\(rates\)", "rates hard-coded"),
        Wrong(
            lambda x, filters, rates: layers.ReLU()(
                layers.BatchNormalization()(
                    layers.Concatenate()(
                        [layers.Conv2D(filters, 3, padding="same", strides=r)(x) for r in rates]
                    )
                )
            ),
            "stride 1",
            "strides instead of dilation",
        ),
        Wrong(lambda x, filters, rates: None, "returned None", "no return"),
    ],
)


# --- mean_field_step ------------------------------------------------------------------------


def _softmax_rows(e, axis=1):
    e = np.exp(e - e.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def mean_field_potts(unary, q, kernel):  # energy of each label: unary + k_ij for each j ≠ i
    k = kernel.copy()  # that disagrees, Σ_j k_ij (1 − q_j(l))
    np.fill_diagonal(k, 0)
    return ops.softmax(-(unary + k @ (1 - q)), axis=-1)


def mean_field_loops(unary, q, kernel):
    n, labels = q.shape
    new = np.zeros((n, labels))
    for i in range(n):
        for label in range(labels):
            message = sum(kernel[i, j] * q[j, label] for j in range(n) if j != i)
            new[i, label] = np.exp(-unary[i, label] + message)
        new[i] /= new[i].sum()
    return new


def mean_field(*, self_too=False, sign=1, axis=1, unary_sign=-1, normalise=True, eye=False):
    def step(unary, q, kernel):
        if eye:
            np.fill_diagonal(kernel, 0)  # in place: the caller's kernel changes
        k = kernel if self_too or eye else kernel * (1 - np.eye(len(kernel)))
        e = unary_sign * unary + sign * (k @ q)
        return _softmax_rows(e, axis) if normalise else np.exp(e)

    return step


MEAN_FIELD_STEP = Case(
    run=check.mean_field_step,
    right=[
        lambda u, q, k: _softmax_rows(-u + k @ q - np.diag(k)[:, None] * q),
        mean_field_potts,
        mean_field_loops,
        mean_field(),
    ],
    wrong=[
        Wrong(mean_field(axis=0), "over the pixels", "softmax over the wrong axis"),
        Wrong(mean_field(sign=-1), "wrong sign", "sign of the pairwise term"),
        Wrong(mean_field(self_too=True), "includes j = i", "the kernel's self-connection"),
        Wrong(
            lambda u, q, k: _softmax_rows(-u + k @ q - q), "not 1", "subtracts q, as if k_ii = 1"
        ),
        Wrong(mean_field(normalise=False), "not normalised", "exp without normalising"),
        Wrong(mean_field(unary_sign=1), "cost", "+unary instead of −unary"),
        Wrong(mean_field(unary_sign=0), "unary is missing", "the unary forgotten"),
        Wrong(mean_field(eye=True), "changed an array", "np.fill_diagonal on the caller's kernel"),
        Wrong(lambda u, q, k: None, "returned None", "no return"),
    ],
)


CASES = {
    "iou": IOU,
    "pixel_classifier": PIXEL_CLASSIFIER,
    "transposed_output_size": TRANSPOSED_OUTPUT_SIZE,
    "skip": SKIP,
    "atrous_block": ATROUS_BLOCK,
    "mean_field_step": MEAN_FIELD_STEP,
}
