"""Classic image filters and their measure, in NumPy, for photos of any size.

    noisy = filters.salt_and_pepper(photo, amount=0.05, seed=0)
    filters.psnr(photo, filters.median(noisy, 3))     # dB: higher is closer to the clean photo
    blurred = filters.apply(photo, np.ones((5, 5)) / 25)

`apply` filters each colour channel with a small kernel the way a convolutional layer
does (cross-correlation: the kernel is not flipped), keeping the image's size by
reflecting its border. `median` and `bilateral` are not linear filters: no kernel does
what they do. Images are ``(height, width)`` or ``(height, width, channels)``; integer
images are returned as float64 values in the same 0..255 range (clip and round to show
them), so that no filter's result is cut before it is measured.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _as_float(image) -> tuple[np.ndarray, bool]:
    """The image as float64 (height, width, channels), and whether it had a channel axis."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim not in (2, 3):
        raise ValueError(
            f"an image must be (height, width) or (height, width, channels), "
            f"got shape {image.shape}"
        )
    return (image if image.ndim == 3 else image[..., None]), image.ndim == 3


def _windows(image: np.ndarray, size: int) -> np.ndarray:
    """Every `size` × `size` neighbourhood of each pixel, border reflected:
    ``(height, width, channels, size, size)``."""
    if size < 1 or size % 2 == 0:
        raise ValueError(f"a filter's size must be odd (it has a centre pixel), got {size}")
    r = size // 2
    padded = np.pad(image, ((r, r), (r, r), (0, 0)), mode="reflect")
    return sliding_window_view(padded, (size, size), axis=(0, 1))


def apply(image, kernel) -> np.ndarray:
    """`image` filtered with `kernel` (an odd ``k`` × ``k`` array), each channel alone:
    ``out[y, x] = Σ_ab kernel[a, b] · image[y + a − k//2, x + b − k//2]``."""
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1]:
        raise ValueError(f"a kernel must be a square 2-D array, got shape {kernel.shape}")
    x, channels = _as_float(image)
    out = np.einsum("hwcab,ab->hwc", _windows(x, kernel.shape[0]), kernel)
    return out if channels else out[..., 0]


def median(image, size: int = 3) -> np.ndarray:
    """Each pixel replaced by the median of its `size` × `size` neighbourhood (per channel):
    an isolated wrong pixel (salt or pepper) never wins the median."""
    x, channels = _as_float(image)
    out = np.median(_windows(x, size), axis=(-2, -1))
    return out if channels else out[..., 0]


def bilateral(
    image, size: int = 5, *, sigma_space: float = 2.0, sigma_range: float = 30.0
) -> np.ndarray:
    """Edge-preserving smoothing: a weighted mean of the neighbourhood whose weights fall
    with distance (a Gaussian of `sigma_space` pixels) *and* with the difference in value
    from the centre pixel (a Gaussian of `sigma_range` levels, on the mean over channels),
    so that pixels across an edge barely count."""
    if sigma_space <= 0 or sigma_range <= 0:
        raise ValueError(
            f"sigma_space and sigma_range must be greater than 0, got "
            f"{sigma_space} and {sigma_range}"
        )
    x, channels = _as_float(image)
    windows = _windows(x, size)  # (h, w, c, k, k)
    r = size // 2
    offsets = np.arange(-r, r + 1)
    space = np.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / (2 * sigma_space**2))
    level = windows.mean(axis=2)  # (h, w, k, k)
    centre = x.mean(axis=2)[..., None, None]
    weights = space * np.exp(-((level - centre) ** 2) / (2 * sigma_range**2))
    out = np.einsum("hwcab,hwab->hwc", windows, weights) / weights.sum(axis=(-2, -1))[..., None]
    return out if channels else out[..., 0]


def salt_and_pepper(image, amount: float = 0.05, *, seed: int = 0) -> np.ndarray:
    """A copy of `image` (uint8) with a share `amount` of its pixels set to black or white
    (all channels of a pixel alike), half each; the same seed hits the same pixels."""
    if not 0 <= amount <= 1:
        raise ValueError(f"amount must be a share of the pixels, from 0 to 1, got {amount}")
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"salt_and_pepper expects a uint8 image (0..255), got {image.dtype}")
    rng = np.random.default_rng(seed)
    hit = rng.random(image.shape[:2]) < amount
    white = rng.random(image.shape[:2]) < 0.5
    out = image.copy()
    out[hit & white] = 255
    out[hit & ~white] = 0
    return out


def gaussian_noise(image, sigma: float = 20.0, *, seed: int = 0) -> np.ndarray:
    """A copy of `image` (uint8) plus Gaussian noise of `sigma` levels, clipped to 0..255."""
    rng = np.random.default_rng(seed)
    noisy = np.asarray(image, dtype=np.float64) + rng.normal(0, sigma, np.shape(image))
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def psnr(clean, other, *, peak: float = 255.0) -> float:
    """Peak signal-to-noise ratio of `other` against `clean`, in dB:
    ``10 · log10(peak² / mean((clean − other)²))``; infinite for identical images."""
    clean, other = np.asarray(clean, dtype=np.float64), np.asarray(other, dtype=np.float64)
    if clean.shape != other.shape:
        raise ValueError(f"the images differ in shape: {clean.shape} and {other.shape}")
    mse = np.mean((clean - np.clip(other, 0, peak)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(peak**2 / mse))


def to_uint8(image) -> np.ndarray:
    """A filter's float result as a showable uint8 image: rounded, clipped to 0..255."""
    return np.clip(np.rint(np.asarray(image, dtype=np.float64)), 0, 255).astype(np.uint8)
