"""Shared helpers for the deep-learning-for-vision notebook series.

Modules (each small, each documented):

* `helpers.runtime` - seeds, hardware report, distribution strategy (`prepare`)
* `helpers.storage` - Google Drive / local working folder, checkpoint callbacks
* `helpers.data`    - datasets online (tensorflow_datasets) and offline (``LABS_DATA_DIR``)
* `helpers.plots`   - training curves, image grids, weights, confusion matrix, live curves
* `helpers.report`  - record a notebook's headline metrics for the headless runner
* `helpers.models`  - the lecture's networks and learning-rate schedule (notebooks 02-04)

Submodules are imported on first use, so ``import helpers`` does not import
Keras: the Keras backend can still be chosen after it.
"""

import importlib

__all__ = ["data", "models", "plots", "report", "runtime", "storage"]
__version__ = "0.1.0"


def __getattr__(name):
    if name in __all__:
        return importlib.import_module(f"helpers.{name}")
    raise AttributeError(f"module 'helpers' has no attribute {name!r}")
