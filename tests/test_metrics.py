"""Exact accuracy and predicted classes."""

import keras
import numpy as np
import pytest

from dl_vision_labs import data, metrics


def _two_class_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.set_weights([np.array([[1.0, -1.0], [0, 0], [0, 0]]), np.zeros(2)])
    return model


def test_accuracy_counts_exactly():
    model = _two_class_model()
    x = np.zeros((10_000, 3), dtype="float32")
    x[:9830, 0] = 1.0  # predicted class 0
    x[9830:, 0] = -1.0  # predicted class 1
    assert metrics.accuracy(model, x, np.zeros(10_000, dtype=int)) == 0.983


def test_accuracy_reads_one_hot_labels_and_datasets():
    model = _two_class_model()
    x = np.zeros((6, 3), dtype="float32")
    x[:4, 0], x[4:, 0] = 1.0, -1.0  # class 0 for the first four, class 1 for the last two
    labels = np.array([0, 0, 0, 1, 1, 1])
    assert metrics.accuracy(model, x, labels) == pytest.approx(5 / 6)
    assert metrics.accuracy(model, x, np.eye(2)[labels]) == pytest.approx(5 / 6)
    ds = data.to_dataset(x, labels, batch_size=4)
    np.testing.assert_array_equal(metrics.predict_classes(model, ds), [0, 0, 0, 0, 1, 1])
    assert metrics.accuracy(model, ds, labels) == pytest.approx(5 / 6)


def test_accuracy_refuses_labels_that_do_not_match_the_predictions():
    model = _two_class_model()
    with pytest.raises(ValueError, match="6 predictions for 5 labels"):
        metrics.accuracy(model, np.zeros((6, 3), "float32"), np.zeros(5, int))


def test_binary_classifier_needs_a_threshold():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.set_weights([np.ones((1, 1)), np.zeros(1)])  # the logit is the input
    x = np.array([[-2.0], [-0.1], [0.3], [4.0]], dtype="float32")
    with pytest.raises(ValueError, match="threshold=0 if it is a logit"):
        metrics.predict_classes(model, x)
    np.testing.assert_array_equal(metrics.predict_classes(model, x, threshold=0), [0, 0, 1, 1])
    np.testing.assert_array_equal(metrics.predict_classes(model, x, threshold=0.5), [0, 0, 0, 1])
    assert metrics.accuracy(model, x, np.array([[0], [1], [1], [1]]), threshold=0) == 0.75
