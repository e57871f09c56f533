"""dl_vision_labs.adversarial: a GAN's training step through `fit` on TensorFlow and on JAX,
and the judge with a "not a digit" class."""

import json
import os
import subprocess
import sys
import types

import keras
import numpy as np
import pytest
from keras import layers, ops

from dl_vision_labs import adversarial, gan

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class TinyGAN(adversarial.AdversarialModel):
    """The notebook's algorithm on tiny networks with batch normalization."""

    def adversarial_step(self, real):
        n = ops.shape(real)[0]
        fake = self.generator(self.noise(n), training=True)
        d_loss = self.minimize(
            lambda: (
                ops.mean(ops.softplus(-self.discriminator(real, training=True)))
                + ops.mean(ops.softplus(self.discriminator(fake, training=True)))
            ),
            self.discriminator,
            self.d_optimizer,
        )
        g_loss = self.minimize(
            lambda: ops.mean(
                ops.softplus(
                    -self.discriminator(self.generator(self.noise(n), training=True), training=True)
                )
            ),
            self.generator,
            self.g_optimizer,
        )
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}


def train_tiny(fixed_noise: bool):
    """Three SGD steps of TinyGAN from fixed weights and data; everything it ends with."""
    rng = np.random.default_rng(0)
    g = keras.Sequential(
        [keras.Input((3,)), layers.Dense(8), layers.BatchNormalization(), layers.Dense(4)]
    )
    d = keras.Sequential(
        [keras.Input((4,)), layers.Dense(8), layers.BatchNormalization(), layers.Dense(1)]
    )
    for network in (g, d):
        network.set_weights(
            [rng.normal(size=w.shape).astype("float32") * 0.5 for w in network.get_weights()]
        )
    model = TinyGAN(g, d, 3, seed=1)
    if fixed_noise:
        z = rng.normal(size=(4, 3)).astype("float32")
        model.noise = lambda batch_size: ops.convert_to_tensor(z)
    # SGD: Adam would turn rounding-sized gradients (the biases before batch norm) into
    # whole steps, and the comparison between backends would measure rounding.
    model.compile(d_optimizer=keras.optimizers.SGD(0.1), g_optimizer=keras.optimizers.SGD(0.2))
    real = rng.normal(size=(12, 4)).astype("float32") + 1
    history = model.fit(real, batch_size=4, epochs=1, shuffle=False, verbose=0)
    return {
        "g": [w.tolist() for w in g.get_weights()],  # includes batch-norm statistics
        "d": [w.tolist() for w in d.get_weights()],
        "iterations": [
            int(ops.convert_to_numpy(o.iterations)) for o in (model.d_optimizer, model.g_optimizer)
        ],
        "seed": ops.convert_to_numpy(model.seed_generator.state).tolist(),
        "losses": [history.history["d_loss"][0], history.history["g_loss"][0]],
    }


def test_fit_trains_both_networks_and_counts_both_optimizers():
    got = train_tiny(fixed_noise=False)
    assert got["iterations"] == [3, 3]
    assert all(np.isfinite(got["losses"]))
    assert got["seed"] == [1, 6]  # seed 1; the noise was drawn twice per step, three steps


@pytest.mark.slow
def test_the_jax_step_equals_the_tensorflow_step():
    """Same weights, data and noise: after three steps both backends hold the same weights,
    batch-norm statistics, optimizer counters and losses."""
    code = (
        "import json\nfrom tests.test_adversarial import train_tiny\n"
        "print(json.dumps(train_tiny(fixed_noise=True)))\n"
    )
    results = {}
    for backend in ("tensorflow", "jax"):
        proc = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
            env=dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=ROOT),
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        results[backend] = json.loads(proc.stdout.strip().splitlines()[-1])
    tf_run, jax_run = results["tensorflow"], results["jax"]
    assert tf_run["iterations"] == jax_run["iterations"] == [3, 3]
    for name in ("g", "d"):
        for a, b in zip(tf_run[name], jax_run[name], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=name)
    np.testing.assert_allclose(tf_run["losses"], jax_run["losses"], rtol=1e-4)


def test_an_empty_step_result_is_one_clear_error():
    class Silent(TinyGAN):
        def adversarial_step(self, real):
            super().adversarial_step(real)
            return {}

    g = keras.Sequential([keras.Input((3,)), layers.Dense(4)])
    d = keras.Sequential([keras.Input((4,)), layers.Dense(1)])
    model = Silent(g, d, 3)
    model.compile(d_optimizer=keras.optimizers.SGD(0.1), g_optimizer=keras.optimizers.SGD(0.1))
    with pytest.raises(ValueError, match="must return the logs"):
        model.fit(np.zeros((4, 4), "float32"), batch_size=4, verbose=0)


def test_the_optimizer_pair_lists_both_optimizers_variables():
    g = keras.Sequential([keras.Input((3,)), layers.Dense(4)])
    d = keras.Sequential([keras.Input((4,)), layers.Dense(1)])
    model = TinyGAN(g, d, 3)
    d_opt, g_opt = keras.optimizers.Adam(), keras.optimizers.Adam()
    model.compile(d_optimizer=d_opt, g_optimizer=g_opt)
    assert [id(v) for v in model.optimizer.variables] == [
        id(v) for v in d_opt.variables + g_opt.variables
    ]
    assert len(d_opt.variables) > 2 and len(g_opt.variables) > 2  # built: moments exist


def test_non_images_are_seeded_uint8_images_of_every_kind():
    a = gan.non_images(300, (28, 28, 1), seed=3)
    assert a.shape == (300, 28, 28, 1) and a.dtype == np.uint8
    assert np.array_equal(a, gan.non_images(300, (28, 28, 1), seed=3))
    assert not np.array_equal(a, gan.non_images(300, (28, 28, 1), seed=4))
    brightness = a.mean(axis=(1, 2, 3))
    assert brightness.min() < 40 and brightness.max() > 200  # dark and bright grounds
    assert gan.non_images(2, (32, 32, 3)).shape == (2, 32, 32, 3)
    with pytest.raises(ValueError, match="n must be"):
        gan.non_images(-1, (28, 28, 1))


def test_confident_share_does_not_count_the_reject_class():
    p = np.array([[0.95, 0.05, 0.0], [0.0, 0.05, 0.95], [0.5, 0.5, 0.0]])
    assert gan.confident_share(p) == pytest.approx(2 / 3)
    assert gan.confident_share(p, reject_class=2) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="reject_class"):
        gan.confident_share(p, reject_class=3)


def small_digits(n=600):
    """Stand-in digits: class k is a bright bar in column block k (10 classes, 28x28)."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, size=n)
    x = np.zeros((n, 28, 28, 1), np.uint8)
    for i, k in enumerate(y):
        x[i, 4:24, 2 + 2 * k : 4 + 2 * k] = 255
    return types.SimpleNamespace(x_train=x, y_train=y, class_names=tuple("0123456789"))


def test_extend_judge_adds_a_not_a_digit_class_and_keeps_the_classifier():
    keras.utils.set_random_seed(0)
    digits = small_digits()
    classifier = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Flatten(),
            layers.Dense(16, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    classifier.compile(
        optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy"
    )
    classifier.fit(digits.x_train / 255, digits.y_train, epochs=5, verbose=0)
    before = classifier.get_weights()
    judge = gan.extend_judge(classifier, digits, epochs=10, seed=0)
    assert judge.output_shape == (None, 11)
    assert all(np.array_equal(a, b) for a, b in zip(before, classifier.get_weights()))
    p = judge.predict(digits.x_train / 255, verbose=0)
    assert np.mean(p.argmax(1) == digits.y_train) > 0.9
    nothing = gan.non_images(200, (28, 28, 1), seed=99) / 255
    assert np.mean(judge.predict(nothing, verbose=0).argmax(1) == 10) > 0.9


def test_extend_judge_takes_unit_pixels_for_a_classifier_of_raw_pixels():
    keras.utils.set_random_seed(0)
    digits = small_digits()
    classifier = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Rescaling(1 / 255),
            layers.Flatten(),
            layers.Dense(16, activation="relu"),
            layers.Dense(10),
        ]
    )  # logits, inputs in [0, 255]
    classifier.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    classifier.fit(digits.x_train.astype("float32"), digits.y_train, epochs=5, verbose=0)
    untrained = gan.extend_judge(classifier, digits, epochs=0, seed=0, pixel_scale=255)
    # Before any training the head is the classifier's output layer, plus a zero logit for
    # "not a digit", under a softmax: fed pixels in [0, 1], it sees what the classifier saw.
    logits = classifier.predict(digits.x_train.astype("float32"), verbose=0)
    logits = np.concatenate([logits, np.zeros_like(logits[:, :1])], axis=1)
    expected = np.exp(logits - logits.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(
        untrained.predict(digits.x_train / 255, verbose=0), expected, atol=1e-5
    )
    judge = gan.extend_judge(classifier, digits, epochs=10, seed=0, pixel_scale=255)
    assert np.mean(judge.predict(digits.x_train / 255, verbose=0).argmax(1) == digits.y_train) > 0.9
    nothing = gan.non_images(200, (28, 28, 1), seed=99) / 255
    assert np.mean(judge.predict(nothing, verbose=0).argmax(1) == 10) > 0.9
