"""Notebook 05's hand-written BatchNorm layer equals keras.layers.BatchNormalization.

The layer is defined once, in the notebook cell tagged ``batch-norm-layer``
(students read and edit it there), from the notebook's functions ``batch_moments`` and
``normalize`` (cells of their own); this test executes those cells and checks the layer.
"""

import keras
import nbformat
import numpy as np
import pytest

from dl_vision_labs import check, models
from tools import notebooks

NOTEBOOK = notebooks.NOTEBOOKS / "05_batch_normalization.ipynb"


@pytest.fixture(scope="module")
def BatchNorm():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cells = notebooks.tagged(nb, "batch-norm-layer")
    assert len(cells) == 1, "notebook 05 needs exactly one cell tagged 'batch-norm-layer'"
    namespace = {"keras": keras, "ops": keras.ops}
    helpers = [
        c
        for c in nb.cells
        if c.cell_type == "code" and c.source.startswith(("def batch_moments(", "def normalize("))
    ]
    assert len(helpers) == 2, "notebook 05 needs one cell for batch_moments and one for normalize"
    for cell in [*helpers, cells[0]]:
        exec(compile(cell.source, NOTEBOOK.name, "exec"), namespace)
    return namespace["BatchNorm"]


def test_equals_keras_batch_normalization(BatchNorm):
    gaps = check.compare_batch_norm(BatchNorm)
    assert set(gaps) == {"dense, training", "dense, inference", "conv, training", "conv, inference"}
    for case, gap in gaps.items():
        assert gap < 1e-5, f"{case}: differs from Keras by {gap}"


def test_normalizes_over_batch_height_and_width(BatchNorm):
    x = np.random.default_rng(1).normal(3, 5, size=(16, 7, 7, 4)).astype("float32")
    y = keras.ops.convert_to_numpy(BatchNorm()(x, training=True))
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(y.var(axis=(0, 1, 2)), 1, atol=1e-3)


def test_trains_in_a_model_and_survives_a_save(BatchNorm, tmp_path):
    model = models.five_layer_mlp("sigmoid", batch_norm=BatchNorm, widths=(16, 8), seed=0)
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.random((64, 28, 28, 1), dtype="float32")
    y = np.arange(64) % 10
    before = model.get_layer("norm1").get_weights()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    after = model.get_layer("norm1").get_weights()
    assert not np.allclose(before[1], after[1])  # β learned
    assert not np.allclose(before[2], after[2])  # moving mean updated
    config = model.get_layer("norm1").get_config()
    assert config["momentum"] == 0.99 and config["epsilon"] == 0.001
