"""Backend selection happens before Keras is imported, so each case runs in a fresh process."""

import os
import subprocess
import sys

import pytest

from dl_vision_labs import backend

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def choose_in_fresh_python(code="print(dl_vision_labs.backend.choose())", **env_changes):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("KERAS_BACKEND", "TPU_NAME", "COLAB_TPU_ADDR", "TPU_ACCELERATOR_TYPE")
    }
    env.update(env_changes)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-c", "import dl_vision_labs\n" + code],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    return proc


@pytest.mark.slow
def test_default_is_tensorflow():
    proc = choose_in_fresh_python()
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "tensorflow"
    assert "the default on CPU and GPU" in proc.stdout


@pytest.mark.slow
def test_tpu_runtime_selects_jax_before_keras_loads():
    proc = choose_in_fresh_python(
        "dl_vision_labs.backend.choose()\nimport keras\nprint(keras.backend.backend())",
        TPU_NAME="local",
    )
    assert proc.returncode == 0, proc.stderr
    assert "TPU runtime" in proc.stdout
    assert proc.stdout.splitlines()[-1] == "jax"


@pytest.mark.slow
def test_environment_variable_is_respected():
    proc = choose_in_fresh_python(KERAS_BACKEND="jax")
    assert proc.stdout.splitlines()[-1] == "jax" and "from KERAS_BACKEND" in proc.stdout


def test_switching_after_keras_is_loaded_says_restart():
    import keras  # noqa: F401  (the test process has Keras loaded already)

    other = "jax" if keras.backend.backend() == "tensorflow" else "tensorflow"
    with pytest.raises(RuntimeError, match="Restart the runtime"):
        backend.choose(other)
    assert backend.choose() == keras.backend.backend()


def test_unknown_backend():
    with pytest.raises(ValueError, match="tensorflow"):
        backend.choose("torch")
