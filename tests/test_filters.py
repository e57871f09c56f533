import numpy as np
import pytest

from dl_vision_labs import filters


def _photo(seed=0, shape=(20, 24, 3)):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def test_apply_is_a_cross_correlation_that_keeps_the_size():
    image = _photo()
    kernel = np.arange(9.0).reshape(3, 3)  # not symmetric: a flip would show
    out = filters.apply(image, kernel)
    assert out.shape == image.shape
    y, x, c = 7, 11, 2  # an inner pixel, by the formula
    want = sum(
        kernel[a, b] * float(image[y + a - 1, x + b - 1, c]) for a in range(3) for b in range(3)
    )
    assert out[y, x, c] == pytest.approx(want)
    identity = np.zeros((5, 5))
    identity[2, 2] = 1
    assert np.array_equal(filters.apply(image, identity), image.astype(float))
    flat = np.full((9, 9), 77, np.uint8)  # a box filter leaves a flat image alone, border too
    assert np.allclose(filters.apply(flat, np.ones((3, 3)) / 9), 77)


def test_apply_matches_keras_depthwise_convolution_inside_the_border():
    import keras

    image = _photo(1).astype("float32")
    kernel = np.random.default_rng(2).normal(size=(5, 5))
    ours = filters.apply(image, kernel)
    theirs = keras.ops.convert_to_numpy(
        keras.ops.depthwise_conv(
            image[None],
            np.repeat(kernel[:, :, None, None], 3, axis=2).astype("float32"),
            padding="valid",
        )
    )[0]
    assert np.abs(ours[2:-2, 2:-2] - theirs).max() < 1e-3


def test_median_removes_salt_and_pepper_on_a_flat_image():
    flat = np.full((30, 30), 100, np.uint8)
    noisy = filters.salt_and_pepper(flat, 0.05, seed=0)
    assert 0.02 < np.mean(noisy != 100) < 0.08
    assert np.array_equal(noisy, filters.salt_and_pepper(flat, 0.05, seed=0))  # deterministic
    assert np.array_equal(filters.median(noisy, 3), flat.astype(float))
    assert filters.psnr(flat, filters.median(noisy, 3)) == float("inf")
    assert filters.psnr(flat, noisy) < 20


def test_bilateral_keeps_an_edge_that_a_blur_smears():
    step = np.zeros((16, 16), np.uint8)
    step[:, 8:] = 200
    blurred = filters.apply(step, np.ones((5, 5)) / 25)
    kept = filters.bilateral(step, 5, sigma_space=2, sigma_range=20)
    assert blurred[8, 7] > 30 and blurred[8, 8] < 170  # the blur mixes the two sides
    assert kept[8, 7] < 1 and kept[8, 8] > 199  # the bilateral filter does not
    # with a huge range sigma it is a plain Gaussian-weighted mean
    r = np.arange(-2, 3)
    gauss = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * 2.0**2))
    image = _photo(3, (12, 12))
    assert np.allclose(
        filters.bilateral(image, 5, sigma_range=1e9), filters.apply(image, gauss / gauss.sum())
    )


def test_psnr_by_hand():
    a = np.zeros((4, 4))
    assert filters.psnr(a, a + 1) == pytest.approx(10 * np.log10(255**2))
    assert filters.psnr(a, a) == float("inf")


def test_gaussian_noise_and_to_uint8():
    image = np.full((50, 50), 128, np.uint8)
    noisy = filters.gaussian_noise(image, 10, seed=1)
    assert noisy.dtype == np.uint8 and 8 < noisy.astype(float).std() < 12
    assert np.array_equal(filters.to_uint8([[-3.0, 12.4, 300.0]]), [[0, 12, 255]])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: filters.apply(_photo(), np.ones((4, 4))), "odd"),
        (lambda: filters.apply(_photo(), np.ones((3, 5))), "square"),
        (lambda: filters.median(np.zeros((2, 3, 4, 5)), 3), "height, width"),
        (lambda: filters.salt_and_pepper(np.zeros((4, 4)), 0.1), "uint8"),
        (lambda: filters.salt_and_pepper(_photo(), 1.5), "from 0 to 1"),
        (lambda: filters.bilateral(_photo(), 3, sigma_range=0), "greater than 0"),
        (lambda: filters.psnr(np.zeros((2, 2)), np.zeros((3, 3))), "shape"),
    ],
)
def test_bad_input_is_refused_with_one_sentence(call, message):
    with pytest.raises(ValueError, match=message):
        call()
