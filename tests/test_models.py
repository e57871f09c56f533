import math

import keras
import numpy as np
import pytest

from dl_vision_labs import models


def test_decay_schedule_follows_the_lecture_formula():
    lr = models.ExponentialDecayToMin(0.003, 0.0001, decay_steps=2000)
    for step in (0, 1, 2000, 5000, 100_000):
        expected = 0.0001 + (0.003 - 0.0001) * math.exp(-step / 2000)
        assert float(lr(step)) == pytest.approx(expected, rel=1e-5)
    assert float(lr(0)) == pytest.approx(0.003)
    assert float(lr(10**7)) == pytest.approx(0.0001)


def test_decay_schedule_serializes():
    lr = models.ExponentialDecayToMin(0.02, 0.0001, 1600)
    config = keras.optimizers.schedules.serialize(lr)
    again = keras.optimizers.schedules.deserialize(config)
    assert isinstance(again, models.ExponentialDecayToMin)
    assert again.get_config() == lr.get_config()
    assert float(again(1234)) == pytest.approx(float(lr(1234)))


def test_decay_schedule_rejects_nonsense():
    with pytest.raises(ValueError):
        models.ExponentialDecayToMin(0.001, 0.01, 100)  # minimum above maximum
    with pytest.raises(ValueError):
        models.ExponentialDecayToMin(0.01, 0.001, 0)


def test_model_with_schedule_saves_and_loads(tmp_path):
    model = models.conv_net(filters=(2, 2, 2), dense_units=8, batch_norm=True, seed=1)
    model.compile(
        keras.optimizers.Adam(models.ExponentialDecayToMin(0.02, 0.0001, 1600)),
        "sparse_categorical_crossentropy",
    )
    x = np.random.default_rng(0).random((8, 28, 28, 1), dtype="float32")
    model.fit(x, np.arange(8), verbose=0)
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    assert again.optimizer.get_config()["learning_rate"]["class_name"] == "ExponentialDecayToMin"


def _layer_types(model):
    return [type(layer).__name__ for layer in model.layers]


def test_five_layer_mlp_shape_and_parameters():
    model = models.five_layer_mlp("sigmoid", seed=0)
    # 784->200->100->60->30->10, weights and biases
    assert (
        model.count_params()
        == (784 * 200 + 200) + (200 * 100 + 100) + (100 * 60 + 60) + (60 * 30 + 30) + (30 * 10 + 10)
        == 185_300
    )
    assert [model.get_layer(f"dense{i}").units for i in range(1, 5)] == [200, 100, 60, 30]
    assert "Dropout" not in _layer_types(model)
    x = np.random.default_rng(0).random((5, 28, 28, 1), dtype="float32")
    y = keras.ops.convert_to_numpy(model(x))
    assert y.shape == (5, 10)
    np.testing.assert_allclose(y.sum(axis=1), 1, rtol=1e-5)


def test_five_layer_mlp_initialisation():
    relu = models.five_layer_mlp("relu", seed=3)
    kernel, bias = relu.get_layer("dense1").get_weights()
    assert abs(kernel.std() - 0.088) < 0.01  # truncated at 2 sigma: std = 0.88 * 0.1
    assert np.abs(kernel).max() <= 0.2 + 1e-6
    np.testing.assert_allclose(bias, 0.1)  # ReLU: positive biases, no dead neuron at start
    sigmoid = models.five_layer_mlp("sigmoid", seed=3)
    np.testing.assert_allclose(sigmoid.get_layer("dense1").get_weights()[1], 0)
    np.testing.assert_array_equal(sigmoid.get_layer("dense1").get_weights()[0], kernel)


def test_five_layer_mlp_dropout_only_in_training():
    model = models.five_layer_mlp("relu", dropout_rate=0.25, seed=0)
    assert _layer_types(model).count("Dropout") == 4
    assert model.get_layer("dropout1").rate == 0.25
    x = np.random.default_rng(0).random((4, 28, 28, 1), dtype="float32")
    a, b = (keras.ops.convert_to_numpy(model(x, training=False)) for _ in range(2))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(keras.ops.convert_to_numpy(model(x, training=True)), a)


def test_five_layer_mlp_with_batch_norm_has_no_bias_before_it():
    model = models.five_layer_mlp("sigmoid", batch_norm=keras.layers.BatchNormalization)
    assert _layer_types(model)[1:4] == ["Dense", "BatchNormalization", "Activation"]
    names = [layer.name for layer in model.layers]
    for i in range(1, 5):  # dense{i} (no bias) -> norm{i} (the given layer) -> act{i}
        assert not model.get_layer(f"dense{i}").use_bias
        assert type(model.get_layer(f"norm{i}")) is keras.layers.BatchNormalization
        position = names.index(f"norm{i}")
        assert names[position - 1 : position + 2] == [f"dense{i}", f"norm{i}", f"act{i}"]
    assert model.count_params() == 185_300 - (200 + 100 + 60 + 30) + 4 * (200 + 100 + 60 + 30)


def test_conv_net_output_sizes_and_parameters():
    big = models.conv_net()
    shapes = [tuple(big.get_layer(f"conv{i}").output.shape[1:]) for i in (1, 2, 3)]
    assert shapes == [(28, 28, 6), (14, 14, 12), (7, 7, 24)]
    conv_params = (6 * 6 * 1 * 6 + 6) + (5 * 5 * 6 * 12 + 12) + (4 * 4 * 12 * 24 + 24)
    assert big.count_params() == conv_params + (7 * 7 * 24 * 200 + 200) + (200 * 10 + 10)
    assert big.get_layer("dropout").rate == 0.25
    small = models.conv_net(filters=(4, 8, 12), kernel_sizes=(5, 5, 4), dropout_rate=0)
    assert "Dropout" not in _layer_types(small)
    assert small.count_params() == (5 * 5 * 4 + 4) + (5 * 5 * 4 * 8 + 8) + (4 * 4 * 8 * 12 + 12) + (
        7 * 7 * 12 * 200 + 200
    ) + (200 * 10 + 10)


def test_conv_net_with_batch_norm():
    model = models.conv_net(batch_norm=True, dropout_rate=0.1, seed=0)
    assert not any(model.get_layer(n).use_bias for n in ("conv1", "conv2", "conv3", "dense"))
    bn = model.get_layer("conv1_bn")
    assert isinstance(bn, keras.layers.BatchNormalization) and not bn.scale
    assert _layer_types(model)[:3] == ["Conv2D", "BatchNormalization", "Activation"]
    with pytest.raises(ValueError):
        models.conv_net(filters=(4, 8), kernel_sizes=(5, 5, 4), strides=(1, 2, 2))


def test_conv_net_learns_something():
    keras.utils.set_random_seed(0)  # fit's shuffling: the same order whatever ran before
    rng = np.random.default_rng(0)
    x = rng.random((64, 28, 28, 1), dtype="float32")
    y = np.arange(64) % 10
    x[np.arange(64), y, y, 0] = 5.0  # a bright pixel whose place tells the class
    model = models.conv_net(filters=(4, 4, 4), dense_units=32, dropout_rate=0, seed=0)
    # Adam(0.01) once pushed every ReLU of this small network below zero in its first
    # steps (the loss then stays at the labels' entropy, 2.30); 0.003 learns for every
    # seed tried, to under a fifth of the first epoch's loss.
    model.compile(keras.optimizers.Adam(0.003), "sparse_categorical_crossentropy")
    losses = model.fit(x, y, epochs=15, batch_size=16, verbose=0).history["loss"]
    assert losses[-1] < 0.5 * losses[0]


def test_layer_activations_returns_pre_and_post():
    model = models.five_layer_mlp("sigmoid", seed=0)
    x = np.random.default_rng(0).random((6, 28, 28, 1), dtype="float32")
    pairs = models.layer_activations(model, x, ["act1", "act4"])
    assert [p[0].shape for p in pairs] == [(6, 200), (6, 30)]
    pre, post = pairs[0]
    np.testing.assert_allclose(post, 1 / (1 + np.exp(-pre)), rtol=1e-5, atol=1e-6)


def test_conv_net_shift_augments_only_in_training():
    model = models.conv_net(filters=(2, 2, 2), dense_units=8, shift=0.1, seed=0)
    augment = model.get_layer("augment")
    assert isinstance(augment, keras.layers.RandomTranslation)
    x = np.zeros((4, 28, 28, 1), dtype="float32")
    x[:, 10:18, 10:18] = 1.0
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(augment(x, training=False)), x)
    shifted = keras.ops.convert_to_numpy(augment(x, training=True))
    assert not np.array_equal(shifted, x)
    assert shifted.min() >= 0 and shifted.max() <= 1
    assert "augment" not in [layer.name for layer in models.conv_net().layers]
    mlp = models.five_layer_mlp("relu", shift=0.1)
    assert [layer.name for layer in mlp.layers[:2]] == ["augment", "flatten"]


def test_layer_costs_count_parameters_and_multiply_adds_by_the_formula():
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", name="c1")(inputs)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(16, 5, strides=2, padding="same", name="c2")(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(10, name="d")(x)
    rows = models.layer_costs(keras.Model(inputs, outputs))
    assert [r["name"] for r in rows] == ["c1", "c2", "d"]
    assert rows[0] == {
        "name": "c1",
        "output": (32, 32, 8),
        "params": 3 * 3 * 3 * 8 + 8,
        "macs": 32 * 32 * 3 * 3 * 3 * 8,
    }
    assert rows[1]["output"] == (8, 8, 16) and rows[1]["macs"] == 8 * 8 * 5 * 5 * 8 * 16
    assert rows[2]["macs"] == 8 * 8 * 16 * 10 and rows[2]["params"] == 8 * 8 * 16 * 10 + 10
