"""Shared helpers for the deep-learning-for-vision notebook series.

Modules (each small, each documented):

* `dl_vision_labs.backend` - choose the Keras backend (JAX on TPU runtimes) before Keras loads
* `dl_vision_labs.runtime` - seeds, hardware report, distribution strategy (`prepare`)
* `dl_vision_labs.storage` - Google Drive / local working folder, checkpoint callbacks
* `dl_vision_labs.data`    - datasets as arrays, online (tfds) or offline (``LABS_DATA_DIR``)
* `dl_vision_labs.image_folders` - a folder of images per class (cats vs dogs, yours) as `tf.data`
* `dl_vision_labs.pretrained` - ImageNet weights for `keras.applications`, online or offline
* `dl_vision_labs.files`   - offline files: checksums, safe extraction, atomic writes, cache folder
* `dl_vision_labs.gan`     - measuring generated images: a judge that can say "not a digit", Fréchet
  distance, confident share, class coverage, grids, GIFs
* `dl_vision_labs.adversarial` - training a GAN's two networks with `fit`, on TensorFlow and JAX
* `dl_vision_labs.filters` - classic image filters and noise in NumPy (median, bilateral, PSNR)
* `dl_vision_labs.segmentation` - scenes of digits with pixel masks, IoU
* `dl_vision_labs.plots`   - training curves, image grids, weights, confusion matrix, live curves
* `dl_vision_labs.report`  - record a notebook's headline metrics for the headless runner
* `dl_vision_labs.models`  - the lecture's MLP and CNN builders, learning-rate schedule,
  layer activations
* `dl_vision_labs.training` - the MNIST notebooks' input pipelines and compile-and-fit loop
* `dl_vision_labs.metrics` - exact accuracy and predicted classes of a trained classifier
* `dl_vision_labs.check`   - hand-written code against a reference (e.g. batch norm against Keras')
* `dl_vision_labs.classic` - numerical gradient check and 2-D toy data for the classic classifiers
* `dl_vision_labs.images`  - read the student's own image (path or upload) with clear errors
* `dl_vision_labs.explain` - class activation maps (CAM) and Grad-CAM
* `dl_vision_labs.environment` - the LABS_* variables: who sets them, who reads them

Submodules are imported on first use, so ``import dl_vision_labs`` does not import
Keras: the Keras backend can still be chosen after it.
"""

import importlib
import importlib.metadata

__all__ = [
    "adversarial",
    "backend",
    "check",
    "classic",
    "data",
    "environment",
    "explain",
    "files",
    "filters",
    "gan",
    "image_folders",
    "images",
    "metrics",
    "models",
    "params",
    "plots",
    "pretrained",
    "report",
    "runtime",
    "segmentation",
    "storage",
    "training",
]
try:  # one source of the version: pyproject.toml, as installed
    __version__ = importlib.metadata.version("dl-vision-labs")
except importlib.metadata.PackageNotFoundError:  # imported from a folder, not installed
    __version__ = "unknown"


def __getattr__(name):
    if name in __all__:
        return importlib.import_module(f"dl_vision_labs.{name}")
    raise AttributeError(f"module 'dl_vision_labs' has no attribute {name!r}")
