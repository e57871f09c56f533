"""The MNIST classifiers' training setup, written once (d2l's ``train_ch6`` pattern).

Notebooks 03, 04 and 05 train several networks the same way: MNIST images
scaled to [0, 1], shuffled batches of ``BATCH_SIZE`` per device, the test set
measured after each epoch, Adam (or another optimizer) on the sparse
categorical cross-entropy. Notebook 04 writes ``compile`` and ``fit`` out once;
from then on `fit` does the same (Adam unless told otherwise)::

    mnist, train_ds, test_ds = training.mnist_datasets(rt, BATCH_SIZE, seed=SEED, limit=LIMIT)
    history = training.fit(model, train_ds, test_ds, learning_rate=0.003, epochs=6, rt=rt)
"""

from __future__ import annotations

import keras
import numpy as np

from . import data, plots


def scale_images(images, labels=None):
    """uint8 pixels 0..255 -> float32 in [0, 1].

    A `map_fn` for `dl_vision_labs.data.to_dataset` (TensorFlow tensors: tf.data is
    TensorFlow whatever the Keras backend), or a plain function on numpy arrays.
    """
    if isinstance(images, np.ndarray):
        images = images.astype("float32") / 255.0
    else:
        import tensorflow as tf

        images = tf.cast(images, tf.float32) / 255.0
    return images if labels is None else (images, labels)


def mnist_datasets(
    rt,
    batch_size: int,
    *,
    seed: int,
    limit: int | None = None,
    repeat: bool = False,
    name: str = "mnist",
):
    """MNIST as arrays and as two pipelines of scaled images: ``(arrays, train_ds, test_ds)``.

    `batch_size` is per device: the training pipeline yields ``rt.batch_size(batch_size)``
    images per step, shuffled with `seed` (endlessly with `repeat`, for step-counted
    training); the test pipeline yields batches of 1,000 in order. `limit` keeps the
    first examples of each split (smoke mode). The arrays are printed.
    """
    arrays = data.load(name, limit=limit)
    print(arrays)
    train_ds = data.to_dataset(
        arrays.x_train,
        arrays.y_train,
        batch_size=rt.batch_size(batch_size),
        shuffle=True,
        seed=seed,
        map_fn=scale_images,
        repeat=repeat,
    )
    test_ds = data.to_dataset(arrays.x_test, arrays.y_test, batch_size=1000, map_fn=scale_images)
    return arrays, train_ds, test_ds


def image_datasets(
    rt, arrays, batch_size: int, *, seed: int, one_hot: bool = False, test_batch_size: int = 1000
):
    """``(train_ds, test_ds)`` of a dataset's images as float32 pixels 0..255 (not scaled: for
    a model that scales its own inputs, e.g. with a `Normalization` layer) and its labels.

    `batch_size` is per device; the training pipeline is shuffled with `seed`, the test
    pipeline keeps the order. With `one_hot`, labels are one-hot rows (what
    ``CategoricalCrossentropy(label_smoothing=...)`` needs) instead of class numbers.
    """
    import tensorflow as tf

    classes = len(arrays.class_names)

    def labels(images, y):
        y = tf.reshape(tf.cast(y, tf.int32), [-1])
        return tf.cast(images, tf.float32), (tf.one_hot(y, classes) if one_hot else y)

    train_ds = data.to_dataset(
        arrays.x_train,
        arrays.y_train,
        batch_size=rt.batch_size(batch_size),
        shuffle=True,
        seed=seed,
        map_fn=labels,
    )
    test_ds = data.to_dataset(
        arrays.x_test, arrays.y_test, batch_size=test_batch_size, map_fn=labels
    )
    return train_ds, test_ds


def fit(
    model: keras.Model,
    train_ds,
    test_ds,
    *,
    learning_rate,
    epochs: int,
    rt,
    optimizer=keras.optimizers.Adam,
    loss: str = "sparse_categorical_crossentropy",
    ema_momentum: float | None = None,
    steps_per_epoch: int | None = None,
    steps_per_execution: int = 50,
    live: plots.LiveCurves | None = None,
) -> keras.callbacks.History:
    """Compile `model` in ``rt.scope()`` with ``optimizer(learning_rate=learning_rate)`` and `loss`,
    then train it for `epochs` on `train_ds`.

    The optimizer is created inside the scope, as a distribution strategy needs.
    With `ema_momentum` (e.g. 0.999), the optimizer also keeps an exponential
    moving average of the weights, ``w_avg <- m * w_avg + (1 - m) * w`` after
    every step, and puts it in place of the weights when training ends
    (Keras' ``use_ema``): the average of the last steps, without their noise.
    The test set is measured after every epoch (Keras calls it "validation"; with
    ``test_ds=None``, not during training) and drawn live (`live` replaces the
    default `plots.LiveCurves()`).
    `steps_per_execution` steps run per call into the backend: the same updates
    with less Python overhead (the MNIST networks' steps are short). With
    `steps_per_epoch` (a repeating `train_ds`), an "epoch" is that many steps.
    """
    if steps_per_epoch is not None:
        steps_per_execution = min(steps_per_execution, steps_per_epoch)
    averaging = {} if ema_momentum is None else {"use_ema": True, "ema_momentum": ema_momentum}
    with rt.scope():
        model.compile(
            optimizer=optimizer(learning_rate=learning_rate, **averaging),
            loss=loss,
            metrics=["accuracy"],
            steps_per_execution=steps_per_execution,
        )
    return model.fit(
        train_ds,
        validation_data=test_ds,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        verbose=0,
        callbacks=[live or plots.LiveCurves()],
    )
