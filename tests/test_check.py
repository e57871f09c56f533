"""Checks of hand-written code against references."""

import keras

from dl_vision_labs import check


def test_compare_batch_norm_accepts_keras_and_catches_a_wrong_layer():
    gaps = check.compare_batch_norm(keras.layers.BatchNormalization)
    assert set(gaps) == {"dense, training", "dense, inference", "conv, training",
                         "conv, inference"}
    assert max(gaps.values()) == 0

    class NoMovingAverage(keras.layers.BatchNormalization):  # always batch statistics
        def call(self, x, training=False):
            return super().call(x, training=True)

    wrong = check.compare_batch_norm(NoMovingAverage)
    assert wrong["dense, inference"] > 0.1 and wrong["conv, inference"] > 0.1