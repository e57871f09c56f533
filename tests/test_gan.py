"""dl_vision_labs.gan: Fréchet distance, confident share, class coverage, grids and GIFs."""

import numpy as np
import pytest
from PIL import Image

from dl_vision_labs import gan


def random_spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T + 0.1 * np.eye(d)


def test_frechet_distance_of_a_set_with_itself_is_zero():
    x = np.random.default_rng(0).normal(size=(500, 8))
    assert gan.frechet_distance(x, x) == pytest.approx(0, abs=1e-8)


def test_frechet_distance_of_shifted_samples_is_the_squared_shift():
    # Same covariance, means 0 and (1, 2, 0, 0): d² = |shift|² = 5.
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20_000, 4))
    shift = np.array([1.0, 2.0, 0.0, 0.0])
    assert gan.frechet_distance(x, x + shift) == pytest.approx(5.0, rel=1e-6)
    y = rng.normal(size=(20_000, 4)) + shift  # an independent sample: close to 5
    assert gan.frechet_distance(x, y) == pytest.approx(5.0, abs=0.05)


def test_frechet_distance_matches_the_closed_form_for_diagonal_gaussians():
    # Diagonal covariances: d² = |mu1 − mu2|² + Σ (√s1 − √s2)².
    mu1, mu2 = np.array([0.0, 1.0, -1.0]), np.array([0.5, 1.0, 2.0])
    s1, s2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(s1) - np.sqrt(s2)) ** 2)
    got = gan.frechet_distance_from_statistics(mu1, np.diag(s1), mu2, np.diag(s2))
    assert got == pytest.approx(expected, rel=1e-10)


def test_frechet_distance_with_full_covariances():
    rng = np.random.default_rng(2)
    sigma = random_spd(rng, 5)
    mu = np.zeros(5)
    # sigma2 = c²·sigma1  ->  Tr((sigma1·sigma2)^½) = c·Tr(sigma1), d² = (1 − c)²·Tr(sigma1)
    c = 3.0
    assert gan.frechet_distance_from_statistics(mu, sigma, mu, c**2 * sigma) == pytest.approx(
        (1 - c) ** 2 * np.trace(sigma), rel=1e-8
    )
    # sigma1 = I, sigma2 = R·R with R symmetric positive definite: Tr(sigma2^½) = Tr(R)
    r = random_spd(rng, 5)
    assert gan.frechet_distance_from_statistics(mu, np.eye(5), mu, r @ r) == pytest.approx(
        5 + np.trace(r @ r) - 2 * np.trace(r), rel=1e-8
    )
    # two unrelated covariances: symmetric in its arguments
    s1, s2 = random_spd(rng, 5), random_spd(rng, 5)
    assert gan.frechet_distance_from_statistics(mu, s1, mu, s2) == pytest.approx(
        gan.frechet_distance_from_statistics(mu, s2, mu, s1), rel=1e-8
    )


def test_frechet_distance_rejects_mismatched_or_bad_features():
    x = np.zeros((10, 3))
    with pytest.raises(ValueError, match="same model and layer"):
        gan.frechet_distance(x, np.zeros((10, 4)))
    with pytest.raises(ValueError, match="2-D"):
        gan.frechet_distance(np.zeros((10, 2, 2)), x)
    with pytest.raises(ValueError, match="NaN"):
        gan.frechet_distance(np.full((10, 3), np.nan), x)


def test_confident_share():
    p = np.array([[0.95, 0.05], [0.5, 0.5], [0.1, 0.9], [0.2, 0.8]])
    assert gan.confident_share(p) == pytest.approx(0.5)
    assert gan.confident_share(p, threshold=0.5) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="softmax"):
        gan.confident_share(np.array([[3.0, -1.0]]))


def test_class_coverage_of_a_known_label_set():
    coverage = gan.class_coverage(np.array([0, 0, 1, 3, 3, 3, 3, 3]), num_classes=5)
    np.testing.assert_allclose(coverage, [0.25, 0.125, 0.0, 0.625, 0.0])
    assert coverage.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="0..4"):
        gan.class_coverage(np.array([0, 5]), num_classes=5)
    with pytest.raises(ValueError, match="argmax"):
        gan.class_coverage(np.array([0.2, 0.8]), num_classes=5)


def test_image_grid_maps_the_value_range_and_tiles():
    images = np.stack([np.full((4, 4, 1), -1.0), np.full((4, 4, 1), 1.0), np.zeros((4, 4, 1))])
    grid = gan.image_grid(images, ncols=2, padding=1)
    assert grid.shape == (2 * 5 + 1, 2 * 5 + 1) and grid.dtype == np.uint8
    assert grid[1, 1] == 0 and grid[1, 6] == 255 and grid[6, 1] == 128  # -1, 1 and 0
    assert gan.image_grid(images, ncols=2, padding=1, scale=3).shape == (33, 33)
    with pytest.raises(ValueError, match="N, H, W"):
        gan.image_grid(np.zeros((2, 4, 4, 2)))


def test_save_grid_is_atomic_and_make_gif_keeps_every_frame(tmp_path):
    rng = np.random.default_rng(3)
    paths = [
        gan.save_grid(rng.uniform(-1, 1, size=(6, 8, 8, 3)), tmp_path / f"epoch_{i}.png", ncols=3)
        for i in range(3)
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "epoch_0.png",
        "epoch_1.png",
        "epoch_2.png",
    ]  # no temp file left
    with Image.open(paths[0]) as im:
        assert im.size == (3 * 10 + 2, 2 * 10 + 2) and im.mode == "RGB"
    gif = gan.make_gif(paths, tmp_path / "training.gif")
    with Image.open(gif) as im:
        assert im.format == "GIF" and im.n_frames == 3
    with pytest.raises(ValueError, match="at least one frame"):
        gan.make_gif([], tmp_path / "empty.gif")
