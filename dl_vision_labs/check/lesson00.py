"""Checks of notebook 00's exercises: k-NN and linear classifiers."""

import numpy as np

from ..classic import numerical_gradient as _numerical_gradient  # f() against x, in place
from .core import Wrong, _compare, _compare_gradient, _np, exercise

# --- shared with lesson01: results that are None, changed inputs, known mistakes -------------


def _array(got, what: str) -> np.ndarray:
    if got is None:
        raise Wrong(f"{what}: the function returned None (a `return` is missing)")
    return _np(got)


def _unchanged(originals: dict, passed: dict) -> None:
    """Raise Wrong when the function changed one of the arrays it was given."""
    for name, original in originals.items():
        if not np.array_equal(np.asarray(passed[name]), original):
            raise Wrong(
                f"your function changed its input {name} in place (the lesson uses "
                f"{name} again afterwards): work on a copy or on new arrays"
            )


def _same(got: np.ndarray, value, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
    value = np.asarray(value, dtype=np.float64)
    return got.shape == value.shape and bool(np.allclose(got, value, rtol=rtol, atol=atol))


def _compare_or_name(got, want, what: str, mistakes, *, rtol=1e-4, atol=1e-6) -> None:
    """`_compare`, but a result that equals a known mistake (value, words) says which."""
    got = _array(got, what)
    try:
        _compare(got, want, what, rtol=rtol, atol=atol)
    except Wrong:
        for value, mistake in mistakes:
            if _same(got, value, rtol=max(rtol, 1e-5)):
                raise Wrong(f"{what} differs from the reference: {mistake}") from None
        raise


def _gradient(got, numerical, name: str, mistakes, tolerance=1e-5, overflow=False) -> None:
    """`_compare_gradient`, with the shape explained and known mistakes named."""
    got = _array(got, f"the gradient of {name}")
    if got.shape != numerical.shape:
        extra = " (transposed?)" if got.shape == numerical.shape[::-1] else ""
        extra = " (sum over the examples, axis=0)" if got.ndim == numerical.ndim + 1 else extra
        raise Wrong(
            f"the gradient of {name} has shape {got.shape}, expected {numerical.shape}{extra}"
        )
    if not np.all(np.isfinite(got)):
        raise Wrong(
            f"the gradient of {name} contains NaN or infinity"
            f"{': subtract each row’s largest score before np.exp' if overflow else ''}"
        )
    try:
        _compare_gradient(got, numerical, name, tolerance)
    except Wrong:
        for value, mistake in mistakes:
            if _same(got, value, rtol=1e-4, atol=1e-7):
                raise Wrong(
                    f"gradient differs from the numerical one on {name}: {mistake}"
                ) from None
        raise


def _returned(out, names: str):
    """The values of a tuple `(names)` the function returned, or Wrong saying what it returned."""
    count = names.count(",") + 1
    if not isinstance(out, (tuple, list)) or len(out) != count:
        missing = " (a `return` is missing)" if out is None else ""
        raise Wrong(f"return ({names}), {count} values; got {type(out).__name__}{missing}")
    return out


def _number(got, what: str, why: str) -> np.ndarray:
    got = _array(got, what)
    if got.size != 1:
        raise Wrong(f"{what} must be one number ({why}), got shape {got.shape}")
    return got.reshape(())


_M = {  # the usual mistakes, in words
    "squared": "these are squared distances: take the square root",
    "l1": "these are L1 distances (sum of |a − b|), not L2 (square root of the sum of squares)",
    "dW_n": "∂L/∂W is n times too large: divide the gradient of the data loss by n, like the loss",
    "dW_reg": "∂L/∂W lacks the gradient of the regularization, 2·reg·W",
    "dW_2": "the gradient of reg·ΣW² is 2·reg·W, not reg·W",
    "db_n": "∂L/∂b is n times too large: divide by n, like the loss",
    "b_reg": "b is not regularized: only W is",
    "no_reg": "it lacks the regularization reg·ΣW²",
    "summed": "the data loss is summed; take the mean over the examples (divide by n)",
    "reg_n": "reg·ΣW² is added once, not divided by n",
    "reg_2": "the penalty is reg·ΣW², not 2·reg·ΣW²",
    "margin": "it is 1 too large: the correct class's own margin (s_y − s_y + 1 = 1) is counted; "
    "set it to 0",
    "log10": "use the natural logarithm np.log, not log10",
    "column": "subtract each row's largest score (axis=1, keepdims=True), not each column's",
    "one_hot": "the gradient of the scores is P − one_hot(y): subtract 1 at the correct class",
    "norm": "ΣW² is the sum of the squares, not its square root (the norm ‖W‖)",
    "mean": "sum over all the weights (np.sum), not the mean",
    "abs": "the L1 term needs the absolute values: l1·Σ|W| (np.abs)",
    "half": "this lesson's penalty is l2·ΣW², without ½ (its gradient is 2·l2·W)",
    "swap": "l2 multiplies ΣW² and l1 multiplies Σ|W|: they are swapped",
    "no_l1": "it lacks the L1 term l1·Σ|W|",
    "no_l2": "it lacks the L2 term l2·ΣW²",
    "g_2": "the gradient of l2·ΣW² is 2·l2·W, not l2·W",
    "g_l1": "it lacks the gradient of the L1 term, l1·np.sign(W)",
    "g_sign": "the gradient of l1·|w| is l1·sign(w) (−l1 where w < 0), not l1",
}


# --- the exercises --------------------------------------------------------------------------


@exercise(
    "Expand ‖a − b‖² = ‖a‖² + ‖b‖² − 2 a·b: one matrix product A @ B.T gives every "
    "a·b; add the squared norms of the rows of A as a column and those of B as a "
    "row (broadcasting), then take the square root (clip tiny negatives to 0 "
    "first)."
)
def l2_distances(fn) -> None:
    """`fn(A, B)`: the (len(A), len(B)) matrix of Euclidean distances between rows."""
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(5, 12)) * 50, rng.normal(size=(7, 12)) * 50
    A32, B32 = A.astype(np.float32), B.astype(np.float32)
    passed = {"A": A32.copy(), "B": B32.copy()}
    got = _array(fn(passed["A"], passed["B"]), "the distance matrix")
    _unchanged({"A": A32, "B": B32}, passed)
    want = np.array([[np.sqrt(np.sum((a - b) ** 2)) for b in B] for a in A])
    if got.shape == want.shape[::-1]:
        raise Wrong(
            f"the distance matrix has shape {got.shape}, expected {want.shape}: it "
            f"is transposed (row i holds the distances of A[i] to every row of B)"
        )
    if got.shape != want.shape:
        raise Wrong(
            f"the distance matrix has shape {got.shape}, expected {want.shape} "
            f"(len(A) rows, len(B) columns)"
        )
    l1 = np.array([[np.sum(np.abs(a - b)) for b in B] for a in A])
    mistakes = [(want**2, _M["squared"]), (l1, _M["l1"])]
    _compare_or_name(got, want, "the distance matrix", mistakes, rtol=1e-3)
    same = rng.normal(size=(40, 30)) * 50  # a row against itself: distance 0, never NaN
    itself = _array(fn(same, same.copy()), "the distances of rows to themselves")
    if itself.shape != (40, 40):
        raise Wrong(
            f"the distances of 40 rows to the same 40 rows have shape {itself.shape}, "
            f"expected (40, 40)"
        )
    if not np.all(np.isfinite(itself)):
        raise Wrong(
            "the distance of a row to itself is NaN: rounding makes ‖a‖² + ‖b‖² − "
            "2a·b slightly negative, so clip it to 0 before the square root"
        )
    # float32 rounding of ‖a‖² + ‖a‖² − 2a·a leaves up to about 0.1% of ‖a‖ after the root
    slack = 0.01 * np.linalg.norm(same, axis=1)
    if np.any(itself.diagonal() > slack):
        i = int(np.argmax(itself.diagonal() - slack))
        raise Wrong(f"the distance of row {i} to itself is {itself[i, i]:.4g}, expected 0")


def _tied_winners(row, classes: int) -> list:
    counts = [list(row).count(c) for c in range(classes)]
    return [c for c in range(classes) if counts[c] == max(counts)]


def _reference_vote(labels: np.ndarray, classes: int) -> np.ndarray:  # ties: nearest first
    return np.array([next(c for c in row if c in _tied_winners(row, classes)) for row in labels])


def _votes(fn, labels: np.ndarray, classes: int) -> None:
    passed = labels.copy()
    got = _array(fn(passed, classes=classes), "the votes")
    _unchanged({"neighbour_labels": labels}, {"neighbour_labels": passed})
    want = _reference_vote(labels, classes)
    if got.shape != want.shape:
        raise Wrong(
            f"the votes have shape {got.shape}, expected {want.shape}: one class per "
            f"row, a 1-D array"
        )
    if not np.array_equal(got, np.round(got)):
        raise Wrong(f"the votes must be class labels (whole numbers), got {got[:4]}")
    got = got.astype(int)
    if np.array_equal(got, labels[:, 0]) and not np.array_equal(got, want):
        raise Wrong(
            "the votes are each row's first label (the nearest neighbour only): "
            "count the labels of all k neighbours and take the most frequent"
        )
    for row, g, w in zip(labels, got, want):
        if g == w:
            continue
        winners = _tied_winners(row, classes)
        at = f"neighbour labels {row.tolist()} (nearest first): got {g}, expected {w}"
        if g not in winners:
            raise Wrong(f"{at}: class {g} does not have the most votes")
        side = (
            " (np.argmax picks the smallest tied class)"
            if g == min(winners)
            else " (not the largest tied class)"
            if g == max(winners)
            else ""
        )
        raise Wrong(
            f"{at}: a tie goes to the class of the nearest neighbour among the tied "
            f"classes {winners}{side}"
        )


@exercise(
    "Count each class among a row's labels: (labels[:, :, None] == "
    "np.arange(classes)).sum(axis=1) gives a (queries, classes) table. The classes "
    "with the largest count win; among tied winners, take the one whose neighbour "
    "comes first in the row."
)
def vote(fn) -> None:
    """`fn(neighbour_labels, classes=10)`: majority class per row, ties to the nearest winner."""
    labels = np.array(
        [
            [3, 1, 3, 2, 3],
            [1, 4, 4, 1, 0],
            [7, 2, 2, 7, 5],
            [0, 9, 8, 6, 5],
            [2, 2, 5, 5, 5],
            [9, 9, 9, 9, 9],
            [3, 1, 1, 2, 2],
            [6, 8, 8, 6, 4],
        ]
    )
    _votes(fn, labels, 10)
    _votes(fn, np.array([[4], [0], [9]]), 10)  # k = 1: the nearest neighbour's label
    rng = np.random.default_rng(1)
    _votes(fn, rng.integers(0, 4, size=(50, 7)), 4)
    _votes(fn, np.array([[11, 4, 11, 10], [10, 10, 4, 2], [0, 11, 10, 11]]), 12)


def _linear_problem():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(8, 5)), np.array([0, 1, 2, 3, 1, 2, 2, 0])
    W, b = 0.5 * rng.normal(size=(5, 4)), rng.normal(size=4)
    return W, b, X, y, 0.1


def _loss_gradient_check(
    fn, reference_loss, loss_mistakes, score_gradient_mistakes=(), shift: float = 0.0
) -> None:
    """Loss against `reference_loss` (loops), gradients against its numerical gradient.
    `loss_mistakes(W, b, X, y, reg)` lists (value, words) of the usual wrong losses,
    `score_gradient_mistakes` (G, words): wrong gradients of the scores (dW = X.T G + 2reg W)."""
    W, b, X, y, reg = _linear_problem()
    n = len(X)
    passed = {"W": W.copy(), "b": b + shift, "X": X.copy(), "y": y.copy()}
    originals = {k: v.copy() for k, v in passed.items()}
    loss, dW, db = _returned(
        fn(passed["W"], passed["b"], passed["X"], passed["y"], reg), "loss, dW, db"
    )
    _unchanged(originals, passed)
    shifted = f" with every score shifted by {shift:g} (no probability changes)" if shift else ""
    got_loss = _number(loss, "the loss", "the mean over the examples")
    if shift and not np.isfinite(got_loss):
        raise Wrong(
            f"the loss is {got_loss}{shifted}: np.exp overflows; subtract each row's "
            f"largest score before np.exp"
        )
    # float32 holds scores near 1000 to about 1e-4: the shifted values are compared loosely
    want, mistakes = reference_loss(W, b, X, y, reg), loss_mistakes(W, b, X, y, reg)
    _compare_or_name(got_loss, want, "the loss" + shifted, mistakes, rtol=1e-4 if shift else 1e-6)
    num_W = _numerical_gradient(lambda: reference_loss(W, b, X, y, reg), W)
    num_b = _numerical_gradient(lambda: reference_loss(W, b, X, y, reg), b)
    data_W = num_W - 2 * reg * W
    mistakes_W = [(n * data_W + 2 * reg * W, _M["dW_n"]), (data_W, _M["dW_reg"])]
    mistakes_W += [(data_W + reg * W, _M["dW_2"])]
    mistakes_b = [(n * num_b, _M["db_n"]), (num_b + 2 * reg * b, _M["b_reg"])]
    for G, words in score_gradient_mistakes:
        mistakes_W, mistakes_b = (
            [*mistakes_W, (X.T @ G + 2 * reg * W, words)],
            [*mistakes_b, (G.sum(axis=0), words)],
        )
    tolerance = 1e-3 if shift else 1e-5
    _gradient(dW, num_W, "W", mistakes_W, tolerance, overflow=bool(shift))
    _gradient(db, num_b, "b", mistakes_b, tolerance, overflow=bool(shift))


def _common_loss_mistakes(data_loss, W, b, X, y, reg):
    penalty, data, n = reg * np.sum(W * W), data_loss(W, b, X, y), len(X)
    return [
        (data, _M["no_reg"]),
        (n * data + penalty, _M["summed"]),
        (data + penalty / n, _M["reg_n"]),
        (data + penalty + reg * np.sum(b * b), _M["b_reg"]),
        (data + 2 * penalty, _M["reg_2"]),
    ]


def _svm_data_loss(W, b, X, y):
    total = 0.0
    for x, label in zip(X, y):
        s = x @ W + b
        total += sum(max(0.0, s[j] - s[label] + 1) for j in range(len(s)) if j != label)
    return total / len(X)


@exercise(
    "Scores S = X @ W + b; margins max(0, S − S[rows, y][:, None] + 1) with the "
    "correct class set to 0; loss = margins.sum() / n + reg·ΣW². Gradient of the "
    "scores G: 1 where a margin is positive, minus their count at the correct "
    "class, divided by n; then dW = X.T @ G + 2·reg·W and db = G.sum(axis=0)."
)
def svm_loss(fn) -> None:
    """`fn(W, b, X, y, reg)` -> (loss, dW, db): multiclass SVM loss, mean over the examples."""

    def reference(W, b, X, y, reg):
        return _svm_data_loss(W, b, X, y) + reg * np.sum(W * W)

    def mistakes(W, b, X, y, reg):
        common = _common_loss_mistakes(_svm_data_loss, W, b, X, y, reg)
        return [(reference(W, b, X, y, reg) + 1, _M["margin"]), *common]

    _loss_gradient_check(fn, reference, mistakes)


def _softmax_data_loss(W, b, X, y):
    total = 0.0
    for x, label in zip(X, y):
        s = x @ W + b
        top = max(s)
        total += top + np.log(sum(np.exp(v - top) for v in s)) - s[label]  # −log softmax
    return total / len(X)


@exercise(
    "Subtract each row's largest score before np.exp (same probabilities, no "
    "overflow); P = exp / row sum; loss = mean of −log P[rows, y] + reg·ΣW². The "
    "gradient of the scores is (P − one_hot(y)) / n; dW = X.T @ G + 2·reg·W and db "
    "= G.sum(axis=0)."
)
def softmax_loss(fn) -> None:
    """`fn(W, b, X, y, reg)` -> (loss, dW, db): softmax cross-entropy, mean over the
    examples; the same when every score is shifted by 1000 (no overflow)."""

    def mistakes(W, b, X, y, reg):
        S = X @ W + b
        by_column = S - S.max(axis=0)
        log_p = by_column - np.log(np.exp(by_column).sum(axis=1, keepdims=True))
        penalty = reg * np.sum(W * W)
        return [
            (_softmax_data_loss(W, b, X, y) / np.log(10) + penalty, _M["log10"]),
            (-log_p[np.arange(len(y)), y].mean() + penalty, _M["column"]),
            *_common_loss_mistakes(_softmax_data_loss, W, b, X, y, reg),
        ]

    W, b, X, y, _ = _linear_problem()
    S = X @ W + b
    P = np.exp(S - S.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    without_one_hot = [(P / len(X), _M["one_hot"])]
    reference = lambda W, b, X, y, reg: _softmax_data_loss(W, b, X, y) + reg * np.sum(W * W)  # noqa: E731
    _loss_gradient_check(fn, reference, mistakes, without_one_hot)
    _loss_gradient_check(fn, reference, mistakes, without_one_hot, shift=1000.0)


@exercise(
    "penalty = l2 * np.sum(W * W) + l1 * np.sum(np.abs(W)): sums over every weight, no "
    "square root, no ½. Its gradient is 2 * l2 * W + l1 * np.sign(W) (np.sign(0) is 0)."
)
def regularization(fn) -> None:
    """`fn(W, l1, l2)` -> (l2·ΣW² + l1·Σ|W|, 2·l2·W + l1·sign(W)): the elastic-net penalty
    of the weights (the bias is not an argument: it is not penalized) and its gradient;
    at a weight of exactly 0 the gradient of |w| is taken as 0, as np.sign gives."""
    W = np.array([[1.5, -2.0, 0.0], [0.0, 0.5, -3.0], [2.5, 0.0, -0.5], [-1.0, 4.0, 0.0]])
    l1, l2, passed = 0.3, 0.7, W.copy()
    penalty, dW = _returned(fn(passed, l1, l2), "penalty, dW")
    _unchanged({"W": W}, {"W": passed})
    squares, sizes, n = np.sum(W * W), np.sum(np.abs(W)), W.size
    mistakes = [
        (l2 * np.sqrt(squares) + l1 * sizes, _M["norm"]),
        *[(l2 * squares / a + l1 * sizes / b, _M["mean"]) for a, b in [(n, n), (n, 1), (1, n)]],
        (l2 * squares + l1 * W.sum(), _M["abs"]),
        (l2 * squares / 2 + l1 * sizes, _M["half"]),
        (l1 * squares + l2 * sizes, _M["swap"]),
        (l2 * squares, _M["no_l1"]),
        (l1 * sizes, _M["no_l2"]),
    ]
    want = l2 * squares + l1 * sizes
    _compare_or_name(_number(penalty, "the penalty", "a sum"), want, "the penalty", mistakes)
    dW, want, zero = _array(dW, "the gradient dW"), 2 * l2 * W + l1 * np.sign(W), W == 0
    if dW.shape == W.shape and _same(dW[~zero], want[~zero]) and not _same(dW, want):
        raise Wrong(
            f"the gradient dW is {np.unique(dW[zero])} where a weight is exactly 0, expected 0: "
            f"use np.sign(W), which is 0 at 0 (W / |W| divides by 0; W >= 0 gives ±1)"
        )
    mistakes = [(l2 * W + l1 * np.sign(W), _M["g_2"]), (2 * l2 * W, _M["g_l1"])]
    mistakes += [(2 * l2 * W + l1, _M["g_sign"]), (2 * l1 * W + l2 * np.sign(W), _M["swap"])]
    _compare_or_name(dW, want, "the gradient dW", mistakes)
