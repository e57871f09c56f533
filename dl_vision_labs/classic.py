"""Small tools for the numpy classifiers of notebooks 00 and 01.

    grad = dl_vision_labs.classic.numerical_gradient(lambda: loss(W), W)
    dl_vision_labs.classic.relative_error(analytic, grad)          # ~1e-10 when both agree
    X, y = dl_vision_labs.classic.toy_2d("rings", n=300, seed=0)  # no line splits it
    X, y = dl_vision_labs.classic.spiral(100, classes=3, seed=0)   # the lecture's 3-arm spiral

The lessons themselves (distances, losses, gradients, SGD) are written in the
notebook; these are the generic pieces around them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

TOY_KINDS = ("quadrants", "rings", "modes")


def numerical_gradient(f: Callable[[], float], x: np.ndarray, *, h: float = 1e-5) -> np.ndarray:
    """Gradient of ``f()`` with respect to the array `x`, by centred differences.

    ``f`` takes no argument and reads `x` (e.g. ``lambda: loss(W, X, y)[0]``);
    each entry of `x` is moved by ``±h`` in place, then restored, so
    ``df/dx_i ≈ (f(x + h e_i) - f(x - h e_i)) / 2h``. Two evaluations of `f`
    per entry: use it on small problems, in float64.
    """
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        raise TypeError(
            f"x must be a floating-point numpy array, got {type(x).__name__} "
            f"{getattr(x, 'dtype', '')}; convert it with x.astype(np.float64)"
        )
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        saved = x[i]
        x[i] = saved + h
        f_plus = f()
        x[i] = saved - h
        f_minus = f()
        x[i] = saved
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def relative_error(a, b) -> float:
    """``‖a − b‖ / (‖a‖ + ‖b‖)``: 0 when equal, 1 when unrelated, scale-free.

    For a correct analytic gradient checked in float64 it is typically below
    1e-7; a wrong one gives something near 1e-2 or more.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


def toy_2d(kind: str, n: int = 400, *, seed: int = 0, noise: float = 0.1):
    """A 2-D two-class dataset that no straight line separates.

    Args:
        kind: ``"quadrants"`` (class 1 in the first and third quadrants, the XOR
            pattern), ``"rings"`` (class 1 inside a ring of class 0) or
            ``"modes"`` (class 1 in two opposite blobs, class 0 in the two others).
        n: number of points (about half per class).
        seed: random seed (the same seed gives the same points).
        noise: standard deviation of the Gaussian jitter.

    Returns:
        ``X`` of shape ``(n, 2)`` float64 and ``y`` of shape ``(n,)`` int64 in {0, 1}.
    """
    if kind not in TOY_KINDS:
        raise ValueError(f"unknown toy dataset {kind!r}; choose one of {TOY_KINDS}")
    rng = np.random.default_rng(seed)
    if kind == "quadrants":
        X = rng.uniform(-1, 1, size=(n, 2))
        y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
        X = X + noise * rng.normal(size=X.shape)
    elif kind == "rings":
        y = (np.arange(n) % 2).astype(np.int64)
        radius = np.where(y == 1, 0.4, 1.0) + noise * rng.normal(size=n)
        angle = rng.uniform(0, 2 * np.pi, size=n)
        X = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    else:  # modes
        centres = np.array([[1, 1], [-1, -1], [1, -1], [-1, 1]], dtype=np.float64) * 0.6
        which = np.arange(n) % 4
        y = (which < 2).astype(np.int64)
        X = centres[which] + 2 * noise * rng.normal(size=(n, 2))
    return X.astype(np.float64), y


def spiral(n_per_class: int = 100, *, classes: int = 3, seed: int = 0, noise: float = 0.2):
    """The lecture's spiral: `classes` arms winding out of the origin, one class per arm.

    Point ``i`` of arm ``k`` lies at radius ``r = i / (n_per_class - 1)`` (0 to 1) and
    angle ``4k + 4r`` radians plus Gaussian noise of standard deviation `noise`
    (cs231n's toy data). No straight line separates the arms.

    Returns:
        ``X`` of shape ``(classes * n_per_class, 2)`` float64, ``y`` of shape
        ``(classes * n_per_class,)`` int64 in ``0 .. classes - 1``, arm after arm.
    """
    if n_per_class < 2 or classes < 2:
        raise ValueError(
            f"need at least 2 points per class and 2 classes, got "
            f"n_per_class={n_per_class}, classes={classes}"
        )
    rng = np.random.default_rng(seed)
    radius = np.tile(np.linspace(0.0, 1.0, n_per_class), classes)
    y = np.repeat(np.arange(classes, dtype=np.int64), n_per_class)
    angle = 4.0 * y + 4.0 * radius + noise * rng.standard_normal(len(y))
    X = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    return X, y
