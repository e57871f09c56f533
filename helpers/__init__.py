"""Shared helpers for the deep-learning-for-vision notebook series.

Modules (each small, each documented):

* `helpers.backend` - choose the Keras backend (JAX on TPU runtimes) before Keras loads
* `helpers.runtime` - seeds, hardware report, distribution strategy (`prepare`)
* `helpers.storage` - Google Drive / local working folder, checkpoint callbacks
* `helpers.data`    - datasets online (tensorflow_datasets) and offline (``LABS_DATA_DIR``)
* `helpers.gan`     - generated images: Fréchet distance, confident share, class coverage, grids, GIFs
* `helpers.plots`   - training curves, image grids, weights, confusion matrix, live curves
* `helpers.report`  - record a notebook's headline metrics for the headless runner
* `helpers.models`  - the lecture's MLP and CNN builders and learning-rate schedule
* `helpers.classic` - numerical gradient check and 2-D toy data for the classic classifiers
* `helpers.images`  - read the student's own image (path or upload) with clear errors
* `helpers.explain` - class activation maps (CAM) and Grad-CAM

Submodules are imported on first use, so ``import helpers`` does not import
Keras: the Keras backend can still be chosen after it.
"""

import importlib

__all__ = ["backend", "classic", "data", "explain", "gan", "images", "models", "plots", "report",
           "runtime", "storage"]
__version__ = "0.1.0"


def __getattr__(name):
    if name in __all__:
        return importlib.import_module(f"helpers.{name}")
    raise AttributeError(f"module 'helpers' has no attribute {name!r}")
