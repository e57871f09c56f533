import numpy as np
import keras
import pytest

from dl_vision_labs import runtime


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


def test_one_device_keeps_the_lesson_batch_and_step_counts():
    rt = runtime.prepare(seed=None, verbose=False)
    assert rt.replicas == 1
    assert rt.batch_size(100) == 100 and rt.steps(2000) == 2000


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


@pytest.mark.serial
def test_jax_data_parallel_over_eight_fake_devices(eight_cpu_devices):
    """On the JAX backend with several devices, batches are split across all of them."""
    import os
    import subprocess
    import sys

    code = """
import numpy as np, keras
from dl_vision_labs import runtime
rt = runtime.prepare(seed=0)
assert rt.backend == "jax" and rt.replicas == 8, rt
assert type(rt.distribution).__name__ == "DataParallel"
assert rt.batch_size(4) == 32 and rt.steps(2000) == 250 and rt.steps(3) == 1
layout = rt.distribution.get_data_layout((32, 3))
assert layout.axes[0] == "batch", layout.axes
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
model.compile("sgd", "sparse_categorical_crossentropy")
x = np.random.rand(64, 3).astype("float32"); y = (x[:, 0] > 0.5).astype("int64")
history = model.fit(x, y, batch_size=rt.batch_size(4), epochs=2, verbose=0)
assert len(history.history["loss"]) == 2
print("OK", len(model.layers[0].kernel.value.sharding.device_set))
"""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, KERAS_BACKEND="jax", PYTHONPATH=root,
               XLA_FLAGS=eight_cpu_devices)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Distribution: DataParallel over 8 devices" in proc.stdout
    assert "BATCH_SIZE is per device" in proc.stdout
    assert proc.stdout.splitlines()[-1] == "OK 8"  # weights replicated on all 8 devices


def test_notebook_limited_to_other_backends_is_refused_clearly(monkeypatch):
    other = "jax" if keras.backend.backend() == "tensorflow" else "tensorflow"
    with pytest.raises(RuntimeError, match=f"needs the Keras backend {other}") as err:
        runtime.prepare(seed=1, backends=(other,))
    assert f"KERAS_BACKEND={other}" in str(err.value)
    monkeypatch.setenv("TPU_NAME", "local")
    with pytest.raises(RuntimeError, match="switch to a GPU or CPU runtime"):
        runtime.prepare(seed=1, backends=(other,))
    assert runtime.prepare(seed=1, verbose=False,
                           backends=(keras.backend.backend(),)).accelerator == "CPU"
