"""dl_vision_labs.explain: CAM and Grad-CAM shapes, and maps that are high where the evidence is."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from dl_vision_labs import explain


def _evidence_images(n=4, size=16):
    """Black images with one bright square, at a different corner in each image."""
    images = np.zeros((n, size, size, 1), dtype="float32")
    corners = [(0, 0), (0, size - 4), (size - 4, 0), (size - 4, size - 4)]
    for i in range(n):
        y, x = corners[i % 4]
        images[i, y : y + 4, x : x + 4] = 1.0
    return images, corners


def _synthetic_model(outputs=1):
    """A 'network' whose feature map is the image itself (identity 1x1 conv), then GAP + dense.

    Returns (features_model, head_model, dense): images -> feature maps -> logits.
    """
    inputs = keras.Input((16, 16, 1))
    features = keras.layers.Conv2D(1, 1, use_bias=False, kernel_initializer="ones", name="conv")(
        inputs
    )
    pooled = keras.layers.GlobalAveragePooling2D()(features)
    dense = keras.layers.Dense(outputs, kernel_initializer="ones", name="dense")
    logits = dense(pooled)
    return keras.Model(inputs, features), keras.Model(features, logits), dense


def test_cam_is_high_where_the_evidence_is():
    images, corners = _evidence_images()
    kernel = np.ones((1, 1), dtype="float32")  # feature 0 is evidence for class 1
    maps = explain.class_activation_map(images, kernel, [1, 1, 1, 1])
    assert maps.shape == (4, 16, 16) and maps.dtype == np.float32
    assert maps.min() >= 0 and np.allclose(maps.max(axis=(1, 2)), 1.0)
    for m, (y, x) in zip(maps, corners):
        assert m[y : y + 4, x : x + 4].mean() == 1.0 and m.sum() == 16.0
    # The same evidence counts against class 0 of a single-logit head: no positive map.
    assert explain.class_activation_map(images, kernel, [0, 0, 0, 0]).max() == 0.0


def test_cam_with_several_classes_takes_each_image_its_column():
    features = np.zeros((2, 4, 4, 2), dtype="float32")
    features[0, 0, 0, 0] = 1.0  # channel 0 at top-left
    features[1, 3, 3, 1] = 1.0  # channel 1 at bottom-right
    kernel = np.array([[1.0, 0.0], [0.0, 1.0]], dtype="float32")  # channel k -> class k
    maps = explain.class_activation_map(features, kernel, [0, 1])
    assert maps[0, 0, 0] == 1.0 and maps[1, 3, 3] == 1.0
    assert maps[0].sum() == 1.0 and maps[1].sum() == 1.0


def test_grad_cam_matches_the_evidence_and_cam():
    images, corners = _evidence_images()
    features_model, head_model, dense = _synthetic_model()
    maps = explain.grad_cam(features_model, head_model, images, [1, 1, 1, 1])
    assert maps.shape == (4, 16, 16)
    for m, (y, x) in zip(maps, corners):
        assert m[y : y + 4, x : x + 4].min() > 0.99 and m.sum() == pytest.approx(16.0)
    # With conv -> GAP -> dense, Grad-CAM at the last conv layer is CAM.
    features = features_model(images)
    cam = explain.class_activation_map(features, dense.get_weights()[0], [1, 1, 1, 1])
    assert np.allclose(maps, cam, atol=1e-6)
    # Explaining class 0 of a single-logit head: the evidence points the other way.
    assert explain.grad_cam(features_model, head_model, images, [0, 0, 0, 0]).max() == 0.0


def test_grad_cam_multiclass_score():
    images, _ = _evidence_images(2)
    features_model, head_model, _ = _synthetic_model(outputs=3)
    assert explain.grad_cam(features_model, head_model, images, [2, 0]).shape == (2, 16, 16)


@pytest.mark.slow
def test_grad_cam_on_the_jax_backend_equals_cam():
    """Same check on JAX (jax.grad), in a fresh process since the backend is fixed at import."""
    code = (
        "import numpy as np, keras\n"
        "from tests.test_explain import _evidence_images, _synthetic_model\n"
        "from dl_vision_labs import explain\n"
        "assert keras.backend.backend() == 'jax'\n"
        "images, _ = _evidence_images()\n"
        "f, h, dense = _synthetic_model()\n"
        "maps = explain.grad_cam(f, h, images, [1, 1, 1, 1])\n"
        "cam = explain.class_activation_map(f(images), dense.get_weights()[0], [1, 1, 1, 1])\n"
        "assert np.allclose(maps, cam, atol=1e-6) and maps.max() == 1.0\n"
        "print('OK')\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=root,
        env=dict(os.environ, KERAS_BACKEND="jax", PYTHONPATH=root),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("OK")


def test_grad_cam_on_an_unsupported_backend_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    features_model, head_model, _ = _synthetic_model()
    with pytest.raises(NotImplementedError, match="TensorFlow and JAX"):
        explain.grad_cam(features_model, head_model, _evidence_images()[0], [1, 1, 1, 1])


def test_overlay_blends_the_colored_heatmap_into_the_image():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (2, 8, 8, 3), dtype=np.uint8)
    unit = images / np.float32(255)  # uint8 images are scaled to [0, 1] first
    heat = np.stack([np.zeros((2, 2)), np.ones((2, 2))]).astype("float32")
    # Gray colormap: heat h is the colour (h, h, h), so each pixel is (1 - a) x + a h.
    out = explain.overlay(images, heat, alpha=0.25, cmap="gray")
    assert out.shape == (2, 8, 8, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out[0], 0.75 * unit[0], atol=1e-6)
    np.testing.assert_allclose(out[1], 0.75 * unit[1] + 0.25, atol=1e-6)
    # alpha 0 gives the image back, alpha 1 the coloured heatmap (jet: 0 is dark blue, 1 dark red).
    np.testing.assert_allclose(explain.overlay(images, heat, alpha=0.0), unit, atol=1e-6)
    only_heat = explain.overlay(images, heat, alpha=1.0)
    np.testing.assert_allclose(only_heat[0], np.broadcast_to([0, 0, 0.5], (8, 8, 3)), atol=1e-6)
    np.testing.assert_allclose(only_heat[1], np.broadcast_to([0.5, 0, 0], (8, 8, 3)), atol=1e-6)
    # Images already in [0, 1] are used as they are; heat outside [0, 1] is clipped.
    np.testing.assert_allclose(
        explain.overlay(unit, 3 * heat - 1, alpha=0.5, cmap="gray"),
        0.5 * unit + 0.5 * heat[:, :1, :1, None],
        atol=1e-6,
    )


def test_overlay_resizes_the_heatmap_in_place():
    """A hot top-left quarter of a 2x2 map covers the top-left corner of the 32x32 image."""
    heat = np.zeros((1, 2, 2), dtype="float32")
    heat[0, 0, 0] = 1.0
    out = explain.overlay(np.zeros((1, 32, 32, 3), np.uint8), heat, alpha=1.0, cmap="gray")
    assert out.shape == (1, 32, 32, 3)
    gray = out[0, ..., 0]
    np.testing.assert_allclose(out[0], gray[..., None].repeat(3, axis=-1))
    assert gray[:8, :8].min() == pytest.approx(1.0) and gray[24:, :].max() == 0.0
    assert gray[:, 24:].max() == 0.0
    assert np.all(np.diff(gray[0]) <= 1e-6) and np.all(np.diff(gray[:, 0]) <= 1e-6)
