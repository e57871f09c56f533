"""Choose the Keras backend, before Keras is imported.

Keras 3 runs the same model code on TensorFlow or JAX. The series uses
TensorFlow by default, and JAX on TPU runtimes: Colab's TPU runtimes no longer
ship TensorFlow and `TPUStrategy` fails there, while Keras on JAX uses the TPU
cores directly. The notebooks' Setup cell calls `choose()` right after
``import dl_vision_labs``; this module itself never imports Keras.
"""

from __future__ import annotations

import importlib.util
import os
import sys

BACKENDS = ("tensorflow", "jax")


def tpu_expected() -> bool:
    """Cheap signs of a TPU runtime (no device is opened)."""
    return (
        any(k in os.environ for k in ("COLAB_TPU_ADDR", "TPU_NAME", "TPU_ACCELERATOR_TYPE"))
        or os.path.exists("/dev/accel0")
        or os.path.exists("/dev/vfio/0")
    )


def choose(backend: str | None = None) -> str:
    """Select the Keras backend and return it.

    Args:
        backend: "tensorflow" or "jax"; None keeps ``$KERAS_BACKEND`` when set,
            else picks JAX on a TPU runtime and TensorFlow anywhere else.

    Once Keras is imported its backend is fixed: asking for another one then
    raises an error that says to restart the runtime.
    """
    if backend is not None and backend not in BACKENDS:
        raise ValueError(f"Unknown Keras backend {backend!r}; choose one of {BACKENDS}")
    if "keras" in sys.modules:
        current = sys.modules["keras"].backend.backend()
        if backend is not None and backend != current:
            raise RuntimeError(
                f"Keras is already imported with the {current!r} backend, so {backend!r} cannot "
                "be selected now. Restart the runtime and run the Setup cell first."
            )
        return current

    if backend is not None:
        reason = "asked for"
    elif os.environ.get("KERAS_BACKEND"):
        backend, reason = os.environ["KERAS_BACKEND"], "from KERAS_BACKEND"
    elif tpu_expected():
        backend, reason = "jax", "TPU runtime: Keras uses the TPU through JAX"
    else:
        backend, reason = "tensorflow", "the default on CPU and GPU"

    if importlib.util.find_spec(backend) is None:
        install = "jax[tpu]" if tpu_expected() else backend
        raise ModuleNotFoundError(
            f"The {backend!r} Keras backend is selected ({reason}) but {backend} is not "
            f"installed. Install it with `%pip install -q {install}` and restart the runtime."
        )
    os.environ["KERAS_BACKEND"] = backend
    print(f"Keras backend: {backend} ({reason})")
    if backend != "tensorflow" and importlib.util.find_spec("tensorflow") is None:
        print(
            "Note: TensorFlow is not installed; the input pipelines (tf.data, "
            "tensorflow_datasets) need it: `%pip install -q tensorflow-cpu`."
        )
    return backend
