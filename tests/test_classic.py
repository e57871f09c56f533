import numpy as np
import pytest

from dl_vision_labs import classic


def test_numerical_gradient_matches_a_known_gradient():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(4, 3))
    x = rng.normal(size=(3, 2))
    f = lambda: float(np.sum((A @ x) ** 2))  # noqa: E731
    expected = 2 * A.T @ (A @ x)
    before = x.copy()
    grad = classic.numerical_gradient(f, x)
    assert np.array_equal(x, before), "x must be restored"
    assert classic.relative_error(grad, expected) < 1e-9


def test_numerical_gradient_refuses_integer_arrays():
    with pytest.raises(TypeError, match="floating-point"):
        classic.numerical_gradient(lambda: 0.0, np.arange(3))


def test_relative_error():
    a = np.array([1.0, 2.0, 3.0])
    assert classic.relative_error(a, a) == 0.0
    assert classic.relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert classic.relative_error(a, -a) == pytest.approx(1.0)
    assert classic.relative_error(a, a * (1 + 1e-6)) == pytest.approx(5e-7, rel=1e-3)
    with pytest.raises(ValueError, match="shapes differ"):
        classic.relative_error(a, a[:2])


@pytest.mark.parametrize("kind", classic.TOY_KINDS)
def test_toy_2d_shapes_balance_and_seed(kind):
    X, y = classic.toy_2d(kind, n=400, seed=1)
    assert X.shape == (400, 2) and X.dtype == np.float64
    assert y.shape == (400,) and set(np.unique(y)) == {0, 1}
    assert 150 < y.sum() < 250
    X2, y2 = classic.toy_2d(kind, n=400, seed=1)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    assert not np.array_equal(X, classic.toy_2d(kind, n=400, seed=2)[0])


@pytest.mark.parametrize("kind", classic.TOY_KINDS)
def test_toy_2d_is_not_linearly_separable(kind):
    # the best least-squares line classifies barely better than chance
    X, y = classic.toy_2d(kind, n=2000, seed=0)
    A = np.c_[X, np.ones(len(X))]
    w = np.linalg.lstsq(A, 2.0 * y - 1, rcond=None)[0]
    accuracy = np.mean((A @ w > 0) == (y == 1))
    assert accuracy < 0.7


def test_toy_2d_unknown_kind():
    with pytest.raises(ValueError, match="choose one of"):
        classic.toy_2d("spirals")
