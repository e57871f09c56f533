import numpy as np
import keras

from helpers import runtime


def test_prepare_on_cpu(capsys):
    rt = runtime.prepare(seed=1)
    assert rt.accelerator == "CPU" and rt.replicas == 1
    assert rt.backend == keras.backend.backend()
    report = capsys.readouterr().out
    assert "Accelerator : CPU" in report and f"Keras       : {keras.__version__}" in report
    assert "CPU cores" in report
    with rt.scope():
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    assert model.count_params() == 8


def test_prepare_seeds_everything():
    def draw():
        return np.random.rand(3), keras.ops.convert_to_numpy(keras.random.uniform((3,)))

    runtime.prepare(seed=7, verbose=False)
    a = draw()
    runtime.prepare(seed=7, verbose=False)
    b = draw()
    runtime.prepare(seed=8, verbose=False)
    c = draw()
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_tpu_failure_is_explained_and_falls_back(monkeypatch, capsys):
    monkeypatch.setenv("TPU_NAME", "local")

    def broken(tf):
        raise ValueError("Please provide a TPU Name to connect to.")

    monkeypatch.setattr(runtime, "_connect_tpu", broken)
    rt = runtime.prepare(seed=None)
    assert rt.accelerator == "CPU"
    out = capsys.readouterr().out
    assert "TPU seems to be attached but TensorFlow could not use it" in out
    assert "ValueError: Please provide a TPU Name" in out


def test_no_tpu_probe_without_signs(monkeypatch):
    for var in ("COLAB_TPU_ADDR", "TPU_NAME", "TPU_ACCELERATOR_TYPE"):
        monkeypatch.delenv(var, raising=False)

    def must_not_run(tf):
        raise AssertionError("probed for a TPU on a machine without one")

    monkeypatch.setattr(runtime, "_connect_tpu", must_not_run)
    assert runtime.prepare(seed=None, verbose=False).accelerator == "CPU"
