"""Scenes of digits for segmentation (generator, label rule, splits, cache) and IoU."""

import types

import keras
import numpy as np
import pytest

from dl_vision_labs import environment, runtime, segmentation


def _digits(values, labels):
    """Constant 28×28 'digits': image i is all values[i], labelled labels[i]."""
    images = np.stack([np.full((28, 28, 1), v, np.uint8) for v in values])
    return images, np.array(labels)


def _mnist_like(n=40, seed=0):
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 28, 28, 1), np.uint8)
    images[:, 6:22, 10:18] = rng.integers(0, 256, size=(n, 16, 8, 1))
    return images, rng.integers(0, 10, n)


def test_resize_keeps_constants_and_the_identity():
    image = np.arange(28 * 28, dtype=np.int64).reshape(28, 28) % 256
    assert np.array_equal(segmentation.resize(image.astype(np.uint8), 28), image)
    assert np.all(segmentation.resize(np.full((28, 28), 77, np.uint8), 37) == 77)
    assert segmentation.resize(np.zeros((28, 28), np.uint8), 13).shape == (13, 13)


def test_scenes_are_deterministic_and_depend_on_the_seed():
    images, labels = _mnist_like()
    a = segmentation.digit_scenes(images, labels, 20, seed=3)
    b = segmentation.digit_scenes(images, labels, 20, seed=3)
    c = segmentation.digit_scenes(images, labels, 20, seed=4)
    assert a.images.shape == (20, 64, 64, 1) and a.masks.shape == (20, 64, 64)
    assert a.images.dtype == np.uint8 and a.masks.dtype == np.uint8
    assert np.array_equal(a.images, b.images) and np.array_equal(a.masks, b.masks)
    assert not np.array_equal(a.images, c.images)


def test_a_pixel_is_labelled_exactly_where_some_digit_has_half_ink():
    images, labels = _mnist_like()
    scenes = segmentation.digit_scenes(images, labels, 30, seed=1)
    assert np.array_equal(scenes.masks > 0, scenes.images[..., 0] >= segmentation.INK)
    assert set(np.unique(scenes.masks)) <= set(range(11))
    assert set(np.unique(scenes.masks)) - {0} <= set(labels + 1)


def test_the_digit_drawn_later_owns_the_overlap_even_when_darker():
    # two whole-canvas digits (side = size): they overlap everywhere
    images, labels = _digits([255, 140], [4, 6])
    scenes = segmentation.digit_scenes(
        images, labels, 60, size=28, digits=(2, 2), scale=(28, 28), gap=None, seed=0
    )
    for mask in scenes.masks:
        assert len(np.unique(mask)) == 1  # one digit owns the whole overlap
    owner = scenes.masks[:, 0, 0]
    bright_present = scenes.images[:, 0, 0, 0] == 255
    assert np.any(bright_present & (owner == 7)), "the darker digit, drawn later, must own it"
    assert np.any(owner == 5)


def test_digits_keep_their_gap():
    images, labels = _mnist_like(n=10)
    labels = np.arange(10)  # each source image its own class: digits are told apart by label
    scenes = segmentation.digit_scenes(images, labels, 40, scale=(30, 40), seed=5)
    masks = scenes.masks.astype(int)
    touching = 0
    for dr, dc in [(0, 1), (1, 0), (1, 1), (1, -1)]:  # 8-neighbours
        a = masks[
            :, max(dr, 0) : masks.shape[1] + min(dr, 0), max(dc, 0) : masks.shape[2] + min(dc, 0)
        ]
        b = masks[
            :,
            max(-dr, 0) : masks.shape[1] + min(-dr, 0),
            max(-dc, 0) : masks.shape[2] + min(-dc, 0),
        ]
        touching += np.sum((a > 0) & (b > 0) & (a != b))
    assert touching == 0
    assert max(len(np.unique(m)) - 1 for m in masks) >= 2  # several digits still fit
    crowded = segmentation.digit_scenes(images, labels, 40, scale=(30, 40), gap=None, seed=5)
    assert not np.array_equal(crowded.masks, scenes.masks)


def test_train_and_test_scenes_come_from_their_own_split():
    x_train, y_train = _digits([200] * 5, [1] * 5)
    x_test, y_test = _digits([100] * 5, [2] * 5)
    arrays = types.SimpleNamespace(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    train, test = segmentation.scene_splits(arrays, train=10, test=10, seed=0)
    assert set(np.unique(train.images)) == {0, 200} and set(np.unique(train.masks)) == {0, 2}
    assert set(np.unique(test.images)) == {0, 100} and set(np.unique(test.masks)) == {0}  # < INK


def test_scene_splits_are_cached(tmp_path, monkeypatch):
    monkeypatch.setenv(environment.CACHE_DIR, str(tmp_path))
    x, y = _mnist_like()
    arrays = types.SimpleNamespace(x_train=x, y_train=y, x_test=x[::-1], y_test=y[::-1])
    first = segmentation.scene_splits(arrays, train=8, test=4, seed=2)
    files = sorted((tmp_path / "scenes").glob("*.npz"))
    assert len(files) == 2 and not list((tmp_path / "scenes").glob(".*"))
    second = segmentation.scene_splits(arrays, train=8, test=4, seed=2)
    for a, b in zip(first, second):
        assert np.array_equal(a.images, b.images) and np.array_equal(a.masks, b.masks)
    assert not np.array_equal(first[0].masks[:4], first[1].masks)


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(digits=(0, 2)), "digits"),
        (dict(scale=(10, 80)), "scale"),
        (dict(gap=-1), "gap"),
    ],
)
def test_bad_scene_options_are_refused(bad, message):
    images, labels = _mnist_like()
    with pytest.raises(ValueError, match=message):
        segmentation.digit_scenes(images, labels, 2, **bad)


def test_iou_by_hand_with_an_absent_class():
    y_true = np.array([[0, 1, 1, 2]])
    y_pred = np.array([[0, 1, 2, 2]])
    ious = segmentation.iou_per_class(y_true, y_pred, classes=4)
    assert ious[0] == 1.0 and ious[1] == 0.5 and ious[2] == 0.5 and np.isnan(ious[3])
    assert segmentation.mean_iou(y_true, y_pred, classes=4) == 0.5  # background and 3 left out
    assert segmentation.iou_per_class([1, 1], [2, 2], classes=3)[1] == 0.0


def test_iou_agrees_with_keras_mean_iou():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 5, (3, 8, 8)), rng.integers(0, 5, (3, 8, 8))
    reference = keras.metrics.MeanIoU(num_classes=5)
    reference.update_state(y_true, y_pred)
    ours = np.nanmean(segmentation.iou_per_class(y_true, y_pred, classes=5))
    assert ours == pytest.approx(float(reference.result()), rel=1e-6)


def test_datasets_scale_weight_and_keep_the_test_order():
    images, labels = _mnist_like()
    train = segmentation.digit_scenes(images, labels, 10, seed=0)
    test = segmentation.digit_scenes(images, labels, 5, seed=1)
    rt = runtime.prepare(seed=0, verbose=False)
    train_ds, test_ds = segmentation.datasets(rt, train, test, 4, seed=0, digit_weight=3.0)
    x, y, w = next(iter(train_ds))
    x, y, w = np.asarray(x), np.asarray(y), np.asarray(w)
    assert x.shape == (4, 64, 64, 1) and x.dtype == np.float32 and 0 <= x.min() <= x.max() <= 1
    assert np.array_equal(w, np.where(y > 0, 3.0, 1.0))
    # each training example is one of the scenes, scaled, with its own mask
    index = [int(np.argmin(np.abs(train.images / 255.0 - xi).sum(axis=(1, 2, 3)))) for xi in x]
    assert all(np.array_equal(train.masks[i], yi) for i, yi in zip(index, y))
    got = np.concatenate([np.asarray(b[1]) for b in test_ds])
    assert np.array_equal(got, test.masks)  # in order, no weights
    assert len(next(iter(test_ds))) == 2
    with pytest.raises(ValueError, match="digit_weight"):
        segmentation.datasets(rt, train, test, 4, seed=0, digit_weight=0)


def test_predict_masks_is_the_argmax_of_the_scores():
    scores = np.random.default_rng(0).normal(size=(3, 8, 8, 11)).astype("float32")
    inputs = keras.Input((8, 8, 11))
    identity = keras.Model(inputs, keras.layers.Identity()(inputs))
    predicted = segmentation.predict_masks(identity, scores)
    assert predicted.dtype == np.uint8 and np.array_equal(predicted, scores.argmax(-1))


def test_iou_table_lists_every_class_the_mean_and_the_worst_digit():
    a = np.array([np.nan] + [0.9] * 9 + [0.6])
    b = np.linspace(0.5, 1.0, 11)
    table = segmentation.iou_table({"first": a, "second": b}).splitlines()
    assert table[0].split() == ["class", "first", "second"]
    assert len(table) == 1 + 11 + 2
    assert table[1].split() == ["background", "nan", "0.500"]
    assert table[-2].split() == ["mean", "(0-9)", f"{np.mean(a[1:]):.3f}", f"{np.mean(b[1:]):.3f}"]
    assert table[-1].split() == ["worst", "digit", "9:", "0.600", "0:", "0.550"]


def _switches_by_hand(x, size=2):
    """Max pooling and its switches with loops: 1 at the first maximum of each window."""
    n, h, w, c = x.shape
    pooled = np.zeros((n, h // size, w // size, c), x.dtype)
    switches = np.zeros_like(x)
    for b, i, j, k in np.ndindex(pooled.shape):
        window = x[b, i * size : (i + 1) * size, j * size : (j + 1) * size, k]
        a, d = np.unravel_index(np.argmax(window), window.shape)  # the first in reading order
        pooled[b, i, j, k] = window[a, d]
        switches[b, i * size + a, j * size + d, k] = 1
    return pooled, switches


@pytest.mark.parametrize("shape", [(2, 8, 6, 3), (1, 7, 5, 2)])  # even, and odd ("valid")
def test_switch_pooling_finds_the_argmax_of_each_window(shape):
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    x[0, :2, :2, 0] = 0.0  # a tie: the first of the window's zeros keeps the switch
    x[0, :2, :2, 0] -= 1.0 * np.array([[0, 0], [1, 1]])  # ... among two equal maxima
    pooled, switches = segmentation.SwitchPooling2D()(x)
    want_pooled, want_switches = _switches_by_hand(x)
    assert np.array_equal(keras.ops.convert_to_numpy(pooled), want_pooled)
    got = keras.ops.convert_to_numpy(switches)
    assert got.shape == x.shape and np.array_equal(got, want_switches)
    assert got[0, 0, 0, 0] == 1 and got[0, 0, 1, 0] == 0
    if shape[1] % 2:
        assert not got[:, -1].any() and not got[:, :, -1].any()  # in no window: no switch


def test_unpooling_puts_each_value_where_its_maximum_was():
    x = np.random.default_rng(1).normal(size=(2, 7, 6, 3)).astype("float32")
    y = np.random.default_rng(2).normal(size=(2, 3, 3, 3)).astype("float32")
    _, switches = segmentation.SwitchPooling2D()(x)
    got = keras.ops.convert_to_numpy(segmentation.MaxUnpooling2D()(y, switches))
    want = np.zeros_like(x)
    _, hand = _switches_by_hand(x)
    for b, i, j, k in zip(*np.nonzero(hand)):
        want[b, i, j, k] = y[b, i // 2, j // 2, k]
    assert got.shape == x.shape and np.array_equal(got, want)


def test_a_model_that_unpools_trains_its_layers_before_the_pooling():
    inputs = keras.Input((8, 8, 1))
    features = keras.layers.Conv2D(2, 3, padding="same", name="before")(inputs)
    pooled, switches = segmentation.SwitchPooling2D()(features)
    outputs = segmentation.MaxUnpooling2D()(keras.layers.Conv2D(2, 1)(pooled), switches)
    model = keras.Model(inputs, outputs)
    assert model.output_shape == (None, 8, 8, 2)
    before = model.get_layer("before").get_weights()[0].copy()
    model.compile(keras.optimizers.SGD(0.1), "mse")
    rng = np.random.default_rng(0)
    model.fit(rng.normal(size=(4, 8, 8, 1)), rng.normal(size=(4, 8, 8, 2)), epochs=1, verbose=0)
    assert not np.allclose(model.get_layer("before").get_weights()[0], before)
