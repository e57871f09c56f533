"""The MNIST notebooks' shared training setup: pipelines and the compile-and-fit loop."""

import keras
import numpy as np
import pytest

from dl_vision_labs import data, environment, models, runtime, training


def test_scale_images_numpy_and_tf_data():
    x = np.array([[0, 255]], dtype=np.uint8)
    images, labels = training.scale_images(x, np.array([3]))
    assert isinstance(images, np.ndarray) and images.dtype == np.float32
    np.testing.assert_allclose(images, [[0.0, 1.0]])
    assert labels.tolist() == [3]
    ds = data.to_dataset(
        np.full((4, 2), 51, np.uint8), np.arange(4), batch_size=2, map_fn=training.scale_images
    )
    batch, _ = next(iter(ds))
    np.testing.assert_allclose(batch.numpy(), 0.2)


@pytest.fixture(scope="module")
def rt():
    return runtime.prepare(seed=0, verbose=False)


def test_mnist_datasets_scales_batches_and_keeps_the_test_order(rt, shared_data, monkeypatch):
    monkeypatch.setenv(environment.DATA_DIR, str(shared_data))
    arrays, train_ds, test_ds = training.mnist_datasets(rt, 50, seed=1, limit=200)
    x, y = next(iter(train_ds))
    assert x.shape == (rt.batch_size(50), 28, 28, 1) and x.dtype == "float32"
    assert 0.0 <= float(np.min(x)) and float(np.max(x)) <= 1.0
    test_labels = np.concatenate([np.asarray(b[1]) for b in test_ds])
    np.testing.assert_array_equal(test_labels, arrays.y_test)  # unshuffled: accuracy can count
    _, again, _ = training.mnist_datasets(rt, 50, seed=1, limit=200)
    np.testing.assert_array_equal(np.asarray(next(iter(again))[1]), np.asarray(y))  # seeded


def test_fit_compiles_with_the_optimizer_and_measures_the_test_set(rt):
    rng = np.random.default_rng(0)
    x = rng.random((64, 28, 28, 1), dtype="float32")
    y = np.arange(64) % 10
    x[np.arange(64), y, y, 0] = 5.0  # a bright pixel whose place tells the class
    ds = data.to_dataset(x, y, batch_size=16)
    model = models.conv_net(filters=(4, 4, 4), dense_units=32, dropout_rate=0, seed=0)
    history = training.fit(
        model, ds, ds, learning_rate=0.003, epochs=15, rt=rt, steps_per_execution=2
    )  # 0.003: at 0.01 this small ReLU network can die in its first steps
    assert isinstance(model.optimizer, keras.optimizers.Adam)  # the default
    assert float(model.optimizer.learning_rate) == pytest.approx(0.003)
    assert model.loss == "sparse_categorical_crossentropy"
    logs = history.history
    assert len(logs["val_accuracy"]) == 15  # the test set after every epoch
    assert logs["loss"][-1] < 0.5 * logs["loss"][0]


def test_fit_counts_epochs_in_steps_with_a_repeating_dataset(rt):
    x = np.zeros((10, 28, 28, 1), dtype="float32")
    ds = data.to_dataset(x, np.zeros(10, int), batch_size=5, repeat=True)
    test = data.to_dataset(x, np.zeros(10, int), batch_size=5)
    model = models.five_layer_mlp("relu", seed=0)
    history = training.fit(
        model,
        ds,
        test,
        learning_rate=0.001,
        epochs=3,
        steps_per_epoch=4,
        rt=rt,
        optimizer=keras.optimizers.SGD,
    )
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert len(history.history["loss"]) == 3
    assert int(model.optimizer.iterations) == 12  # 3 "epochs" of 4 steps


def test_fit_can_average_the_weights_of_the_last_steps(rt):
    """With ema_momentum the model ends with the moving average of its weights, not the
    last ones."""
    x = np.random.default_rng(0).random((32, 28, 28, 1), dtype="float32")
    ds = data.to_dataset(x, np.arange(32) % 10, batch_size=8)
    model = models.five_layer_mlp("relu", seed=0)
    last = {}

    class LastWeights(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            last["w"] = [np.array(w) for w in self.model.get_weights()]

    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")  # builds the weights
    start = [np.array(w) for w in model.get_weights()]
    training.fit(
        model, ds, ds, learning_rate=0.01, epochs=2, rt=rt, ema_momentum=0.9, live=LastWeights()
    )
    assert model.optimizer.use_ema and model.optimizer.ema_momentum == pytest.approx(0.9)
    final = model.get_weights()
    assert not np.allclose(final[0], last["w"][0])  # not the last step's weights...
    assert not np.allclose(final[0], start[0])  # ...nor the initial ones: their average


def test_image_datasets_keep_uint8_images_and_give_one_hot_labels_on_request():
    arrays = data.Arrays(
        np.arange(6 * 4 * 4 * 3, dtype=np.uint8).reshape(6, 4, 4, 3),
        np.array([0, 1, 2, 0, 1, 2]),
        np.zeros((3, 4, 4, 3), np.uint8),
        np.array([[2], [1], [0]]),
        ("a", "b", "c"),
        "test",
    )
    rt = runtime.prepare(seed=0, verbose=False)
    train_ds, test_ds = training.image_datasets(rt, arrays, 4, seed=0, one_hot=True)
    x, y = next(iter(train_ds))
    assert np.asarray(x).dtype == np.float32 and np.asarray(y).shape == (4, 3)
    first = {int(np.asarray(xi)[0, 0, 0]) // 48: int(np.argmax(yi)) for xi, yi in zip(x, y)}
    assert all(arrays.y_train[i] == label for i, label in first.items())  # labels follow images
    _, test_sparse = training.image_datasets(rt, arrays, 4, seed=0)
    assert np.concatenate([np.asarray(b[1]) for b in test_sparse]).tolist() == [2, 1, 0]
