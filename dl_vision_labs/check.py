"""Checks that a notebook's hand-written code agrees with a reference computed another way.

    gaps = check.compare_batch_norm(BatchNorm)   # notebook 05: our layer against Keras' own
"""

from __future__ import annotations

import numpy as np
from keras import layers, ops


def compare_batch_norm(layer_class, *, seed: int = 0, steps: int = 3) -> dict:
    """How far a hand-written batch-normalization layer is from `keras.layers.BatchNormalization`.

    `layer_class()` must create its weights in Keras' order (scale, offset,
    moving mean, moving variance) and use Keras' defaults (momentum 0.99,
    epsilon 0.001). Both layers start from the same random scale and offset,
    see `steps` training batches (the output and the moving averages are
    compared after each), then a new batch in inference mode, for a dense input
    ``(batch, features)`` and a conv input ``(batch, height, width, channels)``.

    Returns the largest absolute difference for each case, e.g.
    ``{"dense, training": 2e-7, "dense, inference": 1e-7, "conv, training": ...}``.
    """
    rng = np.random.default_rng(seed)
    gaps = {}
    for kind, shape in (("dense", (32, 20)), ("conv", (8, 6, 6, 5))):
        ours, ref = layer_class(), layers.BatchNormalization()
        ours.build(shape)
        ref.build(shape)
        channels = shape[-1]
        ref.set_weights([rng.uniform(0.5, 2, channels), rng.normal(size=channels),
                         np.zeros(channels), np.ones(channels)])
        ours.set_weights(ref.get_weights())
        batch = lambda: (rng.normal(size=shape) * 3 + 2).astype("float32")  # noqa: E731
        train_gap = 0.0
        for _ in range(steps):
            x = batch()
            y_ours, y_ref = ours(x, training=True), ref(x, training=True)
            train_gap = max(train_gap, float(np.abs(ops.convert_to_numpy(y_ours - y_ref)).max()),
                            *(float(np.abs(a - b).max())
                              for a, b in zip(ours.get_weights(), ref.get_weights())))
        x = batch()
        gaps[f"{kind}, training"] = train_gap
        gaps[f"{kind}, inference"] = float(np.abs(ops.convert_to_numpy(
            ours(x, training=False) - ref(x, training=False))).max())
    return gaps
