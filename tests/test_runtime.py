import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from dl_vision_labs import runtime

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _hardware():
    """(accelerator, device count) that `prepare` should find, as the backend lists them.

    On the TensorFlow backend: the GPUs TensorFlow sees (else the CPU, one device);
    on JAX: the platform and number of JAX's devices. The tests then pass on a GPU
    host as on a CPU-only one.
    """
    if keras.backend.backend() == "jax":
        import jax

        platform = jax.default_backend()  # "cpu", "gpu" or "tpu"
        return {"gpu": "GPU", "cuda": "GPU", "tpu": "TPU"}.get(platform, "CPU"), jax.device_count()
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return ("GPU", len(gpus)) if gpus else ("CPU", 1)


def test_prepare_reports_the_hardware(capsys):
    accelerator, devices = _hardware()
    rt = runtime.prepare(seed=1)
    assert rt.accelerator == accelerator and rt.replicas == devices
    assert rt.backend == keras.backend.backend()
    report = capsys.readouterr().out
    assert f"Accelerator : {accelerator}" in report
    assert f"Keras       : {keras.__version__}" in report
    assert "CPU cores" in report
    with rt.scope():
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    assert model.count_params() == 8


def test_batch_and_step_counts_follow_the_device_count():
    one = runtime.Runtime("tensorflow", "CPU", ["cpu"], 1, False)
    assert one.batch_size(100) == 100 and one.steps(2000) == 2000  # the lesson's numbers
    rt = runtime.prepare(seed=None, verbose=False)
    n = _hardware()[1]
    assert rt.replicas == n
    assert rt.batch_size(100) == 100 * n and rt.steps(2000 * n) == 2000


def test_prepare_seeds_everything():
    def draw():
        return np.random.rand(3), keras  # noqa: NPY002 (prepare seeds the legacy global too).ops.convert_to_numpy(keras.random.uniform((3,)))

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
    assert rt.accelerator == _hardware()[0]  # what is there besides the TPU
    out = capsys.readouterr().out
    assert "TPU seems to be attached but TensorFlow could not use it" in out
    assert "ValueError: Please provide a TPU Name" in out


def test_no_tpu_probe_without_signs(monkeypatch):
    for var in ("COLAB_TPU_ADDR", "TPU_NAME", "TPU_ACCELERATOR_TYPE"):
        monkeypatch.delenv(var, raising=False)

    def must_not_run(tf):
        raise AssertionError("probed for a TPU on a machine without one")

    monkeypatch.setattr(runtime, "_connect_tpu", must_not_run)
    assert runtime.prepare(seed=None, verbose=False).accelerator == _hardware()[0]


# Run in a fresh process on the JAX backend with 8 simulated devices (tests/conftest.py):
# notebook 04's own training set-up (training.mnist_datasets, training.fit) on a small
# network, recording every batch that fit hands to the devices.
DATA_PARALLEL_CHECK = """
import jax, keras
from keras.src.backend.jax import distribution_lib
from dl_vision_labs import models, runtime, training

n = jax.device_count()
rt = runtime.prepare(seed=0)
assert rt.backend == "jax" and rt.accelerator == "CPU" and rt.replicas == n > 1, rt
assert keras.distribution.distribution() is rt.distribution
assert type(rt.distribution).__name__ == "DataParallel"
assert rt.distribution.device_mesh.devices.size == n
assert rt.distribution.get_data_layout((4 * n, 3)).axes[0] == "batch"
assert rt.batch_size(4) == 4 * n and rt.steps(2000) == round(2000 / n) and rt.steps(1) == 1

batches = []  # (global batch size, sizes of its shards, number of devices holding one)
to_devices = distribution_lib.distribute_data_input
def recorded(batch, layout, batch_dim_name):
    array = to_devices(batch, layout, batch_dim_name)
    if array.ndim == 4:  # the images (labels go the same way)
        shards = array.addressable_shards
        batches.append((array.shape[0], tuple(sorted({s.data.shape[0] for s in shards})),
                        len({s.device for s in shards})))
    return array
distribution_lib.distribute_data_input = recorded

# BATCH_SIZE = 4 per device: 16 * n training images are 4 global steps per epoch.
mnist, train_ds, test_ds = training.mnist_datasets(rt, 4, seed=0, limit=16 * n)
with rt.scope():
    model = models.five_layer_mlp("relu", widths=(16, 8), seed=0)
before = model.get_weights()
decay = models.ExponentialDecayToMin(0.01, 0.001, decay_steps=rt.steps(80))
history = training.fit(model, train_ds, test_ds, learning_rate=decay, epochs=2, rt=rt,
                       live=keras.callbacks.Callback())
# Training batches of 4 images per device (fit may look at one batch more than it
# trains on), the test set as one batch of 16 * n after each epoch, 2 x 4 steps.
assert {b for b in batches if b[0] != 16 * n} == {(4 * n, (4,), n)}, batches
assert [b for b in batches if b[0] == 16 * n] == [(16 * n, (16,), n)] * 2, batches
assert int(model.optimizer.iterations.value) == 8
assert all(len(v.value.sharding.device_set) == n for v in model.trainable_variables)
changed = [abs(a - b).max() > 0 for a, b in zip(before, model.get_weights())]
assert all(changed) and all(abs(l) < 1e3 for l in history.history["loss"]), history.history
print("OK", n)
"""


@pytest.mark.slow
def test_jax_data_parallel_splits_the_batches_over_the_devices(eight_cpu_devices, shared_data):
    """On the JAX backend with several devices (a TPU's 8 cores, simulated), `prepare` sets up
    data parallelism: BATCH_SIZE is per device, step counts shrink, and fit gives each device
    its share of every batch while the weights stay replicated on all of them."""
    env = dict(os.environ, **eight_cpu_devices, PYTHONPATH=ROOT, LABS_DATA_DIR=str(shared_data))
    proc = subprocess.run(
        [sys.executable, "-c", DATA_PARALLEL_CHECK],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Distribution: DataParallel over 8 devices" in proc.stdout
    assert "BATCH_SIZE is per device" in proc.stdout
    assert proc.stdout.splitlines()[-1] == "OK 8"


def test_notebook_limited_to_other_backends_is_refused_clearly(monkeypatch):
    other = "jax" if keras.backend.backend() == "tensorflow" else "tensorflow"
    with pytest.raises(RuntimeError, match=f"needs the Keras backend {other}") as err:
        runtime.prepare(seed=1, backends=(other,))
    assert f"KERAS_BACKEND={other}" in str(err.value)
    monkeypatch.setenv("TPU_NAME", "local")
    with pytest.raises(RuntimeError, match="switch to a GPU or CPU runtime"):
        runtime.prepare(seed=1, backends=(other,))
    assert (
        runtime.prepare(seed=1, verbose=False, backends=(keras.backend.backend(),)).accelerator
        == _hardware()[0]
    )
