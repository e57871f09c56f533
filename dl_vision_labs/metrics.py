"""Measures of a trained classifier, counted exactly.

predicted = metrics.predict_classes(model, test_ds)
metrics.accuracy(model, test_ds, labels)                # share of right answers, a float
metrics.accuracy(binary, test_ds, labels, threshold=0)  # one logit per image
"""

from __future__ import annotations

import keras
import numpy as np


def predict_classes(
    model: keras.Model, inputs, *, threshold: float | None = None, batch_size: int = 1000
) -> np.ndarray:
    """The class `model` gives each input (arrays or a dataset).

    Several outputs per input: the argmax. One output (a binary classifier):
    class 1 where it is above `threshold`, 0 for a logit, 0.5 for a probability.
    """
    # A dataset brings its own batches; Keras takes a batch size only for arrays.
    size = batch_size if isinstance(inputs, np.ndarray) else None
    outputs = np.asarray(model.predict(inputs, batch_size=size, verbose=0))
    if outputs.shape[-1] == 1:
        if threshold is None:
            raise ValueError(
                "the model has one output per input (a binary classifier): pass "
                "threshold=0 if it is a logit, threshold=0.5 if a probability"
            )
        return (outputs[..., 0] > threshold).astype("int64")
    return np.argmax(outputs, axis=-1)


def accuracy(model: keras.Model, inputs, labels, *, threshold: float | None = None) -> float:
    """Share of `labels` that `model` predicts right on `inputs`, counted exactly.

    Keras' ``evaluate`` returns float32 values, in which 9,830 right answers out
    of 10,000 read 0.98299998 < 0.983; this counts the right answers instead.
    `labels` are class numbers, or one-hot rows; `threshold` as in `predict_classes`.
    """
    labels = np.asarray(labels)
    if labels.ndim > 1 and labels.shape[-1] > 1:
        labels = np.argmax(labels, axis=-1)
    labels = labels.reshape(-1)
    predicted = predict_classes(model, inputs, threshold=threshold)
    if len(predicted) != len(labels):
        raise ValueError(
            f"the model made {len(predicted)} predictions for {len(labels)} labels: "
            "pass the inputs in their original order, unbatched or batched, "
            "without shuffling or repeating"
        )
    return float(np.mean(predicted == labels))
