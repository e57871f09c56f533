"""dl_vision_labs.gan.load_judge: notebook 09's judge is the classifier an earlier notebook
saved (extended with a "not a digit" class) when it loads, fits and reaches its accuracy;
otherwise one is trained here, with one line saying why."""

import types

import keras
import numpy as np
import pytest
from keras import layers

from dl_vision_labs import environment, gan


def digits(n=600, seed=0):
    """Stand-in digits: class k is a bright bar in column block k (10 classes, 28×28)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, size=n)
    x = np.zeros((n, 28, 28, 1), np.uint8)
    for i, k in enumerate(y):
        x[i, 4:24, 2 + 2 * k : 4 + 2 * k] = 255
    return x, y


def dataset():
    (x_train, y_train), (x_test, y_test) = digits(600, 0), digits(200, 1)
    return types.SimpleNamespace(
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        class_names=tuple("0123456789"),
    )


def save_classifier(work, notebook, file, data, *, raw_pixels=False, epochs=5, shape=None):
    """A small classifier of `data` saved where `notebook` keeps it; its test accuracy."""
    keras.utils.set_random_seed(0)
    shape = shape or data.x_train.shape[1:]
    model = keras.Sequential(
        [
            keras.Input(shape),
            layers.Rescaling(1 / 255 if raw_pixels else 1.0),
            layers.Flatten(),
            layers.Dense(16, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    scale = 1.0 if raw_pixels else 1 / 255
    if shape == data.x_train.shape[1:]:
        model.fit(data.x_train * scale, data.y_train, epochs=epochs, verbose=0)
    (work / notebook).mkdir(parents=True, exist_ok=True)
    model.save(work / notebook / file)
    if shape != data.x_train.shape[1:]:
        return None
    predictions = model.predict(data.x_test * scale, verbose=0)
    return float(np.mean(predictions.argmax(1) == data.y_test))


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.setenv(environment.WORK_DIR, str(tmp_path))
    return tmp_path


@pytest.fixture
def trained_here(monkeypatch):
    """Replaces train_judge: records that the judge would be trained here, and how."""
    calls = []

    def fake_train_judge(images, *, epochs, seed):
        calls.append((images, epochs, seed))
        return "trained here"

    monkeypatch.setattr(gan, "train_judge", fake_train_judge)
    return calls


def test_the_saved_classifier_is_extended_with_a_not_a_digit_class(work, trained_here, capsys):
    data = dataset()
    accuracy = save_classifier(work, "05_batch_normalization", "mnist_cnn.keras", data)
    assert accuracy > 0.9
    judge = gan.load_judge("mnist", data, epochs=5, seed=0, min_accuracy=0.9)
    out = capsys.readouterr().out
    assert "Loaded notebook 05's classifier" in out and f"{accuracy:.4f}" in out
    assert not trained_here and judge.output_shape == (None, 11)
    p = judge.predict(data.x_test / 255, verbose=0)
    assert np.mean(p.argmax(1) == data.y_test) > 0.9
    nothing = gan.non_images(200, (28, 28, 1), seed=99) / 255
    assert np.mean(judge.predict(nothing, verbose=0).argmax(1) == 10) > 0.9


def test_a_classifier_of_raw_pixels_gets_unit_pixels_through_its_scale(work, trained_here):
    data = dataset()
    # the table's CIFAR-10 entry is notebook 06's network, which takes pixels in 0..255
    notebook, file, _, scale = gan.SAVED_CLASSIFIERS["cifar10"]
    assert scale == 255
    assert save_classifier(work, notebook, file, data, raw_pixels=True) > 0.9
    judge = gan.load_judge("cifar10", data, epochs=5, seed=0, min_accuracy=0.9)
    assert not trained_here
    assert np.mean(judge.predict(data.x_test / 255, verbose=0).argmax(1) == data.y_test) > 0.9


@pytest.mark.parametrize("problem", ["missing", "too weak", "other shape", "damaged", "no table"])
def test_without_a_usable_saved_classifier_the_judge_is_trained_here(
    problem, work, trained_here, capsys
):
    data = dataset()
    name, (notebook, file, _, _) = "mnist", gan.SAVED_CLASSIFIERS["mnist"]
    said = {
        "missing": "No saved classifier at",
        "too weak": "reaches only",
        "other shape": "expects inputs (32, 32, 3), not (28, 28, 1)",
        "damaged": "Could not load",
        "no table": "",
    }[problem]
    if problem == "too weak":  # untrained: far below the table's 99.3%
        assert save_classifier(work, notebook, file, data, epochs=0) < 0.5
    elif problem == "other shape":
        save_classifier(work, notebook, file, data, shape=(32, 32, 3))
    elif problem == "damaged":
        (work / notebook).mkdir()
        (work / notebook / file).write_bytes(b"not a keras file")
    elif problem == "no table":
        name = "fashion_mnist"  # no earlier notebook saves a classifier of it
        save_classifier(work, notebook, file, data)
    assert gan.load_judge(name, data, epochs=2, seed=7) == "trained here"
    assert len(trained_here) == 1 and trained_here[0][1:] == (2, 7)
    out = capsys.readouterr().out
    assert said in out and "Training the judge here." in out
    assert "Loaded" not in out
