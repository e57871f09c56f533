"""Measures of a trained classifier, counted exactly.

    predicted = metrics.predict_classes(model, test_ds)
    metrics.accuracy(model, test_ds, labels)   # share of right answers, as a Python float
"""

from __future__ import annotations

import keras
import numpy as np


def predict_classes(model: keras.Model, inputs, *, batch_size: int = 1000) -> np.ndarray:
    """The class `model` gives each input (arrays or a dataset): the argmax of its outputs."""
    # A dataset brings its own batches; Keras takes a batch size only for arrays.
    size = batch_size if isinstance(inputs, np.ndarray) else None
    return np.argmax(model.predict(inputs, batch_size=size, verbose=0), axis=-1)


def accuracy(model: keras.Model, inputs, labels) -> float:
    """Share of `labels` that `model` predicts right on `inputs`, counted exactly.

    Keras' ``evaluate`` returns float32 values, in which 9,830 right answers out
    of 10,000 read 0.98299998 < 0.983; this counts the right answers instead.
    `labels` are class numbers, or one-hot rows.
    """
    labels = np.asarray(labels)
    if labels.ndim > 1:
        labels = np.argmax(labels, axis=-1)
    predicted = predict_classes(model, inputs)
    if len(predicted) != len(labels):
        raise ValueError(f"the model made {len(predicted)} predictions for {len(labels)} labels: "
                         "pass the inputs in their original order, unbatched or batched, "
                         "without shuffling or repeating")
    return float(np.mean(predicted == labels))
