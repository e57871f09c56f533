"""Semantic segmentation data and measures: scenes of MNIST digits, IoU, and unpooling.

    scenes = dl_vision_labs.segmentation.digit_scenes(mnist.x_train, mnist.y_train, 6000, seed=1)
    scenes.images.shape, scenes.masks.shape      # (6000, 64, 64, 1) uint8, (6000, 64, 64) uint8
    ious = dl_vision_labs.segmentation.iou_per_class(masks, predicted, classes=11)
    pooled, switches = SwitchPooling2D()(x)     # max pooling and where its maxima were
    upsampled = MaxUnpooling2D()(y, switches)    # DeconvNet's unpooling: repeat(y) · switches

A scene is a ``size`` × ``size`` canvas with one to three digits, each resized to a random
side in ``scale`` and put at a random place where its ink stays ``gap`` pixels away from
the ink of the digits already there (a few tries; a digit that finds no room is left out).
The scene's pixel is the brightest ink there (the maximum). Each pixel's label is 0
(background) or ``digit + 1`` (classes 1..10 stand for the digits 0..9), by one rule: **a
pixel belongs to a digit where that digit's resized ink is at least half intensity (128);
where two digits overlap (only with ``gap=None``), the one placed later owns it.**
The gap is there because digits that touch or overlap make "which digit is this stroke?"
the hard part of the task: a small FCN learns it far more slowly than with digits apart.
Everything is computed from the source arrays and the seed with NumPy alone, so the same
MNIST arrays (offline files or tensorflow_datasets) give the same scenes on every
machine. Train scenes are made from MNIST's training images only, test scenes from its
test images only (`scene_splits`).
"""

from __future__ import annotations

import dataclasses
import hashlib

import keras
import numpy as np
from keras import ops

from .data import to_dataset
from .files import atomic_write, cache_dir

BACKGROUND = 0
CLASS_NAMES = ("background",) + tuple(str(d) for d in range(10))
INK = 128  # a digit owns the pixels where its resized ink is at least this bright
_VERSION = 1  # part of the cache key: bump when the generator's output changes


@dataclasses.dataclass
class Scenes:
    """Segmentation examples: `images` (N, size, size, 1) uint8 and `masks` (N, size, size)
    uint8 labels, 0 background and ``d + 1`` for digit d (`CLASS_NAMES`)."""

    images: np.ndarray
    masks: np.ndarray

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        return (
            f"Scenes({len(self)} of {self.images.shape[1]}×{self.images.shape[2]} px, "
            f"{(self.masks > 0).mean():.1%} of pixels on a digit)"
        )


def resize(image: np.ndarray, side: int) -> np.ndarray:
    """Bilinear resize of a 2-D uint8 image to ``side`` × ``side`` (pixel centres aligned)."""
    image = np.asarray(image, dtype=np.float64)
    h, w = image.shape

    def axis(n_in):
        pos = np.clip((np.arange(side) + 0.5) * n_in / side - 0.5, 0, n_in - 1)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, n_in - 1)
        return lo, hi, pos - lo

    r0, r1, fr = axis(h)
    c0, c1, fc = axis(w)
    top = image[r0][:, c0] * (1 - fc) + image[r0][:, c1] * fc
    bottom = image[r1][:, c0] * (1 - fc) + image[r1][:, c1] * fc
    out = top * (1 - fr)[:, None] + bottom * fr[:, None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _grow(mask: np.ndarray, pixels: int) -> np.ndarray:
    """`mask` widened by `pixels` in every direction (diagonals too)."""
    for _ in range(pixels):
        grown = mask.copy()
        grown[1:] |= mask[:-1]
        grown[:-1] |= mask[1:]
        mask = grown.copy()
        mask[:, 1:] |= grown[:, :-1]
        mask[:, :-1] |= grown[:, 1:]
    return mask


def digit_scenes(
    images,
    labels,
    count: int,
    *,
    size: int = 64,
    digits=(1, 3),
    scale=(24, 40),
    gap: int | None = 1,
    tries: int = 20,
    seed: int = 0,
) -> Scenes:
    """`count` scenes of digits drawn from `images` (N, 28, 28[, 1]) uint8 with `labels`.

    Args:
        digits: the fewest and the most digits in a scene (a digit that finds no room
            in `tries` random places is left out, so a scene may have fewer).
        scale: the smallest and largest side, in pixels, of a resized 28×28 digit.
        gap: background pixels kept between one digit's ink and another's; None lets
            digits touch and overlap.
        seed: the same seed and source arrays give the same scenes.
    """
    images = np.asarray(images)
    images = images.reshape(images.shape[0], images.shape[1], images.shape[2])
    labels = np.asarray(labels).reshape(-1)
    if len(images) != len(labels) or len(images) == 0:
        raise ValueError(
            f"need as many labels as images, and at least one: got {len(images)} "
            f"images and {len(labels)} labels"
        )
    if not (1 <= digits[0] <= digits[1]):
        raise ValueError(f"digits must be (fewest, most) with 1 <= fewest <= most, got {digits}")
    if gap is not None and gap < 0:
        raise ValueError(f"gap must be a number of pixels >= 0, or None, got {gap}")
    if not (1 <= scale[0] <= scale[1] <= size):
        raise ValueError(
            f"scale must be (smallest, largest) side with 1 <= smallest <= largest "
            f"<= size={size}, got {scale}"
        )
    rng = np.random.default_rng(seed)
    x = np.zeros((count, size, size), np.uint8)
    y = np.zeros((count, size, size), np.uint8)
    for n in range(count):
        for _ in range(rng.integers(digits[0], digits[1] + 1)):
            i = rng.integers(len(images))
            side = int(rng.integers(scale[0], scale[1] + 1))
            ink = resize(images[i], side)
            taken = None if gap is None else _grow(y[n] > 0, gap)
            for _ in range(1 if gap is None else tries):
                row, col = rng.integers(0, size - side + 1, size=2)
                if taken is None or not np.any(
                    taken[row : row + side, col : col + side] & (ink >= INK)
                ):
                    break
            else:
                continue  # no room for this digit
            window = (n, slice(row, row + side), slice(col, col + side))
            x[window] = np.maximum(x[window], ink)
            y[window] = np.where(ink >= INK, labels[i] + 1, y[window])  # drawn on top: owns it
    return Scenes(x[..., None], y)


def scene_splits(arrays, *, train: int, test: int, seed: int = 0, **options) -> tuple:
    """``(train_scenes, test_scenes)`` from a dataset of digits (`dl_vision_labs.data.load`):
    train scenes from its training images only, test scenes from its test images only.
    Cached in `dl_vision_labs.files.cache_dir()` (keyed by the source arrays, the counts,
    `seed` and `options` of `digit_scenes`); a cached file is written atomically."""
    out = []
    for split, count, x, y in (
        ("train", train, arrays.x_train, arrays.y_train),
        ("test", test, arrays.x_test, arrays.y_test),
    ):
        key = hashlib.sha256()
        for part in (np.ascontiguousarray(x), np.ascontiguousarray(y)):
            key.update(part.tobytes())
        key.update(repr((_VERSION, split, count, seed, sorted(options.items()))).encode())
        path = cache_dir() / "scenes" / f"{split}-{count}-{key.hexdigest()[:16]}.npz"
        if path.exists():
            with np.load(path, allow_pickle=False) as f:
                out.append(Scenes(f["images"], f["masks"]))
            continue
        split_seed = seed * 2 + (split == "test")  # different scenes for train and test
        scenes = digit_scenes(x, y, count, seed=split_seed, **options)
        atomic_write(path, lambda tmp, s=scenes: np.savez(tmp, images=s.images, masks=s.masks))
        out.append(scenes)
    return tuple(out)


def confusion(y_true, y_pred, classes: int) -> np.ndarray:
    """``(classes, classes)`` pixel counts: row = true class, column = predicted class."""
    y_true = np.asarray(y_true).reshape(-1).astype(np.int64)
    y_pred = np.asarray(y_pred).reshape(-1).astype(np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"true and predicted labels differ in size: {y_true.size} and {y_pred.size}"
        )
    return np.bincount(y_true * classes + y_pred, minlength=classes**2).reshape(classes, classes)


def iou_per_class(y_true, y_pred, classes: int) -> np.ndarray:
    """IoU of each class, ``|true ∩ predicted| / |true ∪ predicted|`` over all pixels;
    NaN for a class that is neither present nor predicted (it cannot be scored)."""
    c = confusion(y_true, y_pred, classes).astype(np.float64)
    intersection = np.diag(c)
    union = c.sum(axis=0) + c.sum(axis=1) - intersection
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, intersection / union, np.nan)


def mean_iou(y_true, y_pred, classes: int, *, ignore=(BACKGROUND,)) -> float:
    """The mean of `iou_per_class` over the classes not in `ignore` that can be scored."""
    ious = iou_per_class(y_true, y_pred, classes)
    keep = [c for c in range(classes) if c not in ignore]
    return float(np.nanmean(ious[keep]))


def datasets(
    rt, train: Scenes, test: Scenes, batch_size: int, *, seed: int, digit_weight: float = 1.0
):
    """``(train_ds, test_ds)``: tf.data pipelines of scenes scaled to [0, 1] with their masks.

    `batch_size` is per device (``rt.batch_size``); the training pipeline is shuffled with
    `seed` and also yields a weight per pixel, `digit_weight` on digit pixels and 1 on
    background, which Keras multiplies into the pixel's loss (``sample_weight``): most
    pixels are background, and the weight keeps the rare digit pixels from being drowned.
    The test pipeline yields batches of 200 scenes in order, without weights.
    """
    import tensorflow as tf

    if digit_weight <= 0:
        raise ValueError(f"digit_weight must be greater than 0, got {digit_weight}")

    def weighted(images, masks):
        weights = tf.where(masks > 0, tf.constant(digit_weight, tf.float32), 1.0)
        return tf.cast(images, tf.float32) / 255.0, masks, weights

    def scaled(images, masks):
        return tf.cast(images, tf.float32) / 255.0, masks

    train_ds = to_dataset(
        train.images,
        train.masks,
        batch_size=rt.batch_size(batch_size),
        shuffle=True,
        seed=seed,
        map_fn=weighted,
    )
    test_ds = to_dataset(test.images, test.masks, batch_size=200, map_fn=scaled)
    return train_ds, test_ds


def predict_masks(model, inputs) -> np.ndarray:
    """The class of every pixel, ``(N, height, width)`` uint8: the argmax of `model`'s
    per-pixel scores on `inputs` (a dataset or an array of scaled scenes)."""
    scores = model.predict(inputs, verbose=0)
    return np.argmax(np.asarray(scores), axis=-1).astype(np.uint8)


def iou_table(results: dict) -> str:
    """A text table of IoU per class: one column per model of `results` (name -> the IoU
    of each class, as `iou_per_class` returns), one row per class, then the mean IoU of
    the digits (background left out) and the worst digit."""
    names = list(results)
    width = max(10, *(len(n) for n in names))
    lines = [f"{'class':<12}" + "".join(f"{n:>{width + 2}}" for n in names)]
    for c, label in enumerate(CLASS_NAMES):
        lines.append(f"{label:<12}" + "".join(f"{results[n][c]:>{width + 2}.3f}" for n in names))
    digits = {n: np.asarray(results[n], dtype=float)[1:] for n in names}
    lines.append(
        f"{'mean (0-9)':<12}" + "".join(f"{np.nanmean(digits[n]):>{width + 2}.3f}" for n in names)
    )
    lines.append(
        f"{'worst digit':<12}"
        + "".join(
            f"{f'{int(np.nanargmin(digits[n]))}: {np.nanmin(digits[n]):.3f}':>{width + 2}}"
            for n in names
        )
    )
    return "\n".join(lines)


# --- DeconvNet's unpooling --------------------------------------------------------------------


def _windows(x, size: int):
    """(batch, h, w, c) -> (batch, h/size, w/size, size·size, c): each pooling window's
    values along one axis, in row-major order."""
    _, h, w, c = x.shape
    x = ops.reshape(x, (-1, h // size, size, w // size, size, c))
    x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
    return ops.reshape(x, (-1, h // size, w // size, size * size, c))


def _unwindows(x, size: int):
    """The inverse of `_windows`."""
    _, hp, wp, _, c = x.shape
    x = ops.reshape(x, (-1, hp, wp, size, size, c))
    x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
    return ops.reshape(x, (-1, hp * size, wp * size, c))


def _repeat(x, size: int):
    """Each value copied into a size × size block (nearest-neighbour upsampling)."""
    return ops.repeat(ops.repeat(x, size, axis=1), size, axis=2)


class SwitchPooling2D(keras.layers.Layer):
    """Max pooling (``size`` × ``size`` windows, stride ``size``, padding "valid") that also
    returns its *switches*: a 0/1 map of the input's shape, 1 where each window's maximum was.

    ``pooled, switches = SwitchPooling2D()(x)``. The switches are found with ops only
    (every backend): ``x == repeat(pooled)`` marks the maxima; where a window holds its
    maximum more than once (a tie, such as a window of zeros after a ReLU), only the first
    in row-major order is kept, as an argmax would. Rows and columns that no window covers
    (an odd size under "valid") get no switch. The switches carry no gradient.
    """

    def __init__(self, size: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.size = size

    def call(self, x):
        s = self.size
        h, w = x.shape[1] // s * s, x.shape[2] // s * s
        covered = x[:, :h, :w]
        pooled = ops.max(_windows(covered, s), axis=3)
        maxima = ops.cast(ops.equal(covered, _repeat(pooled, s)), x.dtype)
        first = _windows(maxima, s)
        first = first * ops.cast(ops.equal(ops.cumsum(first, axis=3), 1.0), x.dtype)
        switches = ops.stop_gradient(_unwindows(first, s))
        switches = ops.pad(switches, ((0, 0), (0, x.shape[1] - h), (0, x.shape[2] - w), (0, 0)))
        return pooled, switches

    def compute_output_shape(self, shape):
        s = self.size
        return (shape[0], shape[1] // s, shape[2] // s, shape[3]), tuple(shape)

    def get_config(self):
        return {**super().get_config(), "size": self.size}


class MaxUnpooling2D(keras.layers.Layer):
    """DeconvNet's unpooling: ``MaxUnpooling2D()(y, switches)`` puts each value of `y` back
    where its window's maximum was (`SwitchPooling2D`'s switches) and zeros elsewhere:
    ``repeat(y) · switches``. The output has the switches' shape (rows and columns that
    no window covered are 0). Nothing is learned."""

    def __init__(self, size: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.size = size

    def call(self, y, switches):
        s = self.size
        up = _repeat(y, s)
        extra = (switches.shape[1] - up.shape[1], switches.shape[2] - up.shape[2])
        up = ops.pad(up, ((0, 0), (0, extra[0]), (0, extra[1]), (0, 0)))
        return up * switches

    def compute_output_shape(self, y_shape, switches_shape):
        return tuple(switches_shape)

    def get_config(self):
        return {**super().get_config(), "size": self.size}
