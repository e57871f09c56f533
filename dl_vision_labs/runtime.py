"""Prepare a notebook's runtime: seeds, a hardware report and a distribution strategy.

One call at the top of every notebook::

    rt = dl_vision_labs.runtime.prepare(seed=SEED)
    with rt.scope():
        model = make_model()

`prepare` never fails because of the hardware: when a TPU is present but cannot be
used it says why in plain words and carries on with what is there.

The rest of the package and the notebooks only use `Runtime.scope()`,
`Runtime.accelerator` and `Runtime.replicas`, never a TensorFlow strategy
object directly, so the same code works when Keras runs on the JAX backend.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import platform
import shutil
import subprocess
import sys
from typing import Any

import keras

from dl_vision_labs.backend import tpu_expected
from dl_vision_labs.check.core import install_stop_handler


@dataclasses.dataclass
class Runtime:
    """What `prepare` found and chose."""

    backend: str
    accelerator: str  # "TPU", "GPU" or "CPU"
    devices: list[str]
    replicas: int
    colab: bool
    strategy: Any = None  # a tf.distribute.Strategy on the TensorFlow backend, else None
    notes: list[str] = dataclasses.field(default_factory=list)
    distribution: Any = None  # a keras.distribution.Distribution on the JAX backend, else None

    def batch_size(self, per_replica: int) -> int:
        """The global batch size: `per_replica` examples on each device.

        On an 8-core TPU, ``rt.batch_size(100)`` is 800: each core still sees
        100 images per step, as in the single-device lesson.
        """
        return per_replica * self.replicas

    def steps(self, single_device_steps: int) -> int:
        """A step count written for one device, at the global batch size.

        With `replicas` devices each step consumes `replicas` times more images,
        so a schedule or an interval of ``n`` single-device steps lasts
        ``n / replicas`` steps (at least 1): the same number of images.
        """
        return max(1, round(single_device_steps / self.replicas))

    def scope(self):
        """Context in which to build and compile models (the strategy's scope, if any)."""
        if self.strategy is not None:
            return self.strategy.scope()
        return contextlib.nullcontext()

    def report(self) -> str:
        """The hardware and software block `prepare` prints."""
        lines = [
            f"Accelerator : {self.accelerator}"  # how many chips or cores: a TPU v5e-1 has 1
            + (
                ""
                if self.accelerator == "CPU" and self.replicas == 1
                else f" ({self.replicas} device{'s' if self.replicas > 1 else ''})"
            ),
        ]
        lines += [f"  device    : {d}" for d in self.devices]
        lines += [
            f"CPU cores   : {os.cpu_count()}",
            f"Python      : {platform.python_version()}",
            f"Keras       : {keras.__version__} (backend: {self.backend})",
        ]
        tf_version = _tf_version()
        if tf_version:
            lines.append(f"TensorFlow  : {tf_version}")
        lines.append(f"Colab       : {'yes' if self.colab else 'no'}")
        if self.strategy is not None:
            lines.append(f"Strategy    : {type(self.strategy).__name__}")
        if self.distribution is not None:
            lines.append(
                f"Distribution: {type(self.distribution).__name__} over "
                f"{self.replicas} devices (batches are split across them)"
            )
        if self.replicas > 1:
            lines.append(
                f"Batches     : BATCH_SIZE is per device, so a step takes "
                f"{self.replicas}x more images and step counts shrink {self.replicas}x"
            )
        lines += [f"Note        : {n}" for n in self.notes]
        return "\n".join(lines)


def in_colab() -> bool:
    """True inside a Google Colab runtime."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def prepare(
    seed: int | None = 42, *, verbose: bool = True, backends: tuple[str, ...] | None = None
) -> Runtime:
    """Seed every random generator, report the hardware and pick a strategy.

    Args:
        seed: seeds Python, NumPy and the backend (`keras.utils.set_random_seed`);
            ``None`` leaves them unseeded.
        verbose: print the hardware report.
        backends: the Keras backends the notebook supports (None: all). On any
            other backend `prepare` stops the notebook with an explanation.

    Returns:
        A `Runtime`; build models inside ``with rt.scope():``.
    """
    backend = keras.backend.backend()
    if backends is not None and backend not in backends:
        where = (
            "This is a TPU runtime, where Keras runs on JAX: switch to a GPU or CPU "
            "runtime (Runtime > Change runtime type)"
            if tpu_expected()
            else f"Set KERAS_BACKEND={backends[0]} (or call "
            f"dl_vision_labs.backend.choose({backends[0]!r}) before Keras is imported)"
        )
        raise RuntimeError(
            f"This notebook needs the Keras backend {' or '.join(backends)}, but Keras runs on "
            f"{backend}. {where}, then restart the runtime and run the notebook again."
        )
    if seed is not None:
        keras.utils.set_random_seed(seed)
    install_stop_handler()  # a cell that calls an unfilled exercise: one sentence, no traceback
    if backend == "tensorflow":
        rt = _tensorflow_runtime()
    elif backend == "jax":
        rt = _jax_runtime()
    else:
        rt = Runtime(backend, "CPU", [platform.processor() or "cpu"], 1, in_colab())
    if verbose:
        print(rt.report())
    return rt


# --- TensorFlow backend -------------------------------------------------------------


def _tf_version() -> str | None:
    tf = sys.modules.get("tensorflow")
    return getattr(tf, "__version__", None)


def _connect_tpu(tf):
    """Return a TPUStrategy, or raise with the reason."""
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu="local")
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def _tensorflow_runtime() -> Runtime:
    import tensorflow as tf

    colab = in_colab()
    notes: list[str] = []
    if tpu_expected():
        try:
            strategy = _connect_tpu(tf)
        except (ValueError, RuntimeError, tf.errors.OpError) as err:
            notes.append(
                "a TPU seems to be attached but TensorFlow could not use it "
                f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else 'no detail'}). "
                "Colab's TPU runtimes now work through Keras on the JAX backend; "
                "continuing on the CPU."
            )
        else:
            devices = [d.name for d in tf.config.list_logical_devices("TPU")]
            return Runtime(
                "tensorflow", "TPU", devices, strategy.num_replicas_in_sync, colab, strategy, notes
            )

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        for gpu in gpus:  # take GPU memory as needed, not all at once
            with contextlib.suppress(RuntimeError):  # already initialised: keep as is
                tf.config.experimental.set_memory_growth(gpu, True)
        names = [_gpu_description(tf, g, i) for i, g in enumerate(gpus)]
        strategy = (
            tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
        )
        return Runtime("tensorflow", "GPU", names, len(gpus), colab, strategy, notes)

    return Runtime(
        "tensorflow", "CPU", [_cpu_name()], 1, colab, tf.distribute.get_strategy(), notes
    )


def _gpu_description(tf, gpu, index: int) -> str:
    name = tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
    memory = _nvidia_memory(index)
    return f"{name}, {memory}" if memory else name


def _nvidia_memory(index: int) -> str | None:
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        out = subprocess.run(
            ["nvidia-smi", f"--id={index}", "--query-gpu=memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{out} memory" if out else None


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# --- JAX backend --------------------------------------------------------------------


def _jax_runtime() -> Runtime:
    import jax

    devices = jax.devices()
    accelerator = {"tpu": "TPU", "gpu": "GPU", "cuda": "GPU"}.get(devices[0].platform, "CPU")
    names = []
    for d in devices:
        desc = getattr(d, "device_kind", str(d))
        stats = d.memory_stats() if accelerator != "CPU" else None
        if stats and "bytes_limit" in stats:
            desc += f", {stats['bytes_limit'] / 2**30:.1f} GiB memory"
        names.append(desc)
    if accelerator == "CPU" and len(devices) == 1:
        names = [_cpu_name()]
    rt = Runtime("jax", accelerator, names, len(devices), in_colab())
    if len(devices) > 1:
        # Data parallelism: each batch is split across the devices, the model is
        # replicated on each, and gradients are averaged (the TPU's 8 cores, say).
        rt.distribution = keras.distribution.DataParallel(devices=devices)
        keras.distribution.set_distribution(rt.distribution)
        rt.notes.append(
            f"data parallel over {len(devices)} {accelerator} devices: use a "
            f"global batch of rt.batch_size(per_replica)"
        )
    return rt
