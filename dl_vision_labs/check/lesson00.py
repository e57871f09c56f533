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


def _compare_or_name(
    got, want, what: str, mistakes, *, rtol: float = 1e-4, atol: float = 1e-6
) -> None:
    """`_compare`, but a result that equals a known mistake (value, words) says which."""
    got = _array(got, what)
    try:
        _compare(got, want, what, rtol=rtol, atol=atol)
    except Wrong:
        for value, mistake in mistakes:
            if _same(got, value, rtol=max(rtol, 1e-5)):
                raise Wrong(f"{what} differs from the reference: {mistake}") from None
        raise


def _gradient(
    got, numerical: np.ndarray, name: str, mistakes, tolerance: float = 1e-5, overflow: bool = False
) -> None:
    """`_compare_gradient`, with the shape explained and known mistakes named."""
    got = _array(got, f"the gradient of {name}")
    if got.shape != numerical.shape:
        extra = (
            " (sum over the examples, axis=0)"
            if got.ndim == numerical.ndim + 1
            else " (transposed?)"
            if got.shape == numerical.shape[::-1]
            else ""
        )
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
    _compare_or_name(
        got,
        want,
        "the distance matrix",
        [
            (want**2, "these are squared distances: take the square root"),
            (
                l1,
                "these are L1 distances (sum of |a − b|), not L2 (square root of the sum of "
                "squares)",
            ),
        ],
        rtol=1e-3,
    )
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


def _reference_vote(labels: np.ndarray, classes: int) -> np.ndarray:
    out = []
    for row in labels:
        winners = _tied_winners(row, classes)
        out.append(next(label for label in row if label in winners))  # nearest first
    return np.array(out)


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
    out = fn(passed["W"], passed["b"], passed["X"], passed["y"], reg)
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        raise Wrong(
            f"return (loss, dW, db), three values; got {type(out).__name__}"
            f"{' (a `return` is missing)' if out is None else ''}"
        )
    _unchanged(originals, passed)
    loss, dW, db = out
    shifted = f" with every score shifted by {shift:g} (no probability changes)" if shift else ""
    got_loss = _array(loss, "the loss")
    if got_loss.size != 1:
        raise Wrong(
            f"the loss must be one number (the mean over the examples), got shape {got_loss.shape}"
        )
    got_loss = got_loss.reshape(())
    if shift and not np.isfinite(got_loss):
        raise Wrong(
            f"the loss is {got_loss}{shifted}: np.exp overflows; subtract each row's "
            f"largest score before np.exp"
        )
    # float32 holds scores near 1000 to about 1e-4: the shifted values are compared loosely
    _compare_or_name(
        got_loss,
        reference_loss(W, b, X, y, reg),
        "the loss" + shifted,
        loss_mistakes(W, b, X, y, reg),
        rtol=1e-4 if shift else 1e-6,
    )
    num_W = _numerical_gradient(lambda: reference_loss(W, b, X, y, reg), W)
    num_b = _numerical_gradient(lambda: reference_loss(W, b, X, y, reg), b)
    data_W = num_W - 2 * reg * W
    _gradient(
        dW,
        num_W,
        "W",
        [
            (
                n * data_W + 2 * reg * W,
                "∂L/∂W is n times too large: divide the gradient of the "
                "data loss by n, like the loss",
            ),
            (data_W, "∂L/∂W lacks the gradient of the regularization, 2·reg·W"),
            (data_W + reg * W, "the gradient of reg·ΣW² is 2·reg·W, not reg·W"),
            *[(X.T @ G + 2 * reg * W, words) for G, words in score_gradient_mistakes],
        ],
        tolerance=1e-3 if shift else 1e-5,
        overflow=bool(shift),
    )
    _gradient(
        db,
        num_b,
        "b",
        [
            (n * num_b, "∂L/∂b is n times too large: divide by n, like the loss"),
            (num_b + 2 * reg * b, "b is not regularized: only W is"),
            *[(G.sum(axis=0), words) for G, words in score_gradient_mistakes],
        ],
        tolerance=1e-3 if shift else 1e-5,
        overflow=bool(shift),
    )


def _common_loss_mistakes(data_loss, W, b, X, y, reg):
    penalty = reg * np.sum(W * W)
    data = data_loss(W, b, X, y)
    return [
        (data, "it lacks the regularization reg·ΣW²"),
        (
            len(X) * data + penalty,
            "the data loss is summed; take the mean over the examples (divide by n)",
        ),
        (data + penalty / len(X), "reg·ΣW² is added once, not divided by n"),
        (data + penalty + reg * np.sum(b * b), "b is not regularized: only W is"),
        (data + 2 * penalty, "the penalty is reg·ΣW², not 2·reg·ΣW²"),
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

    def mistakes(W, b, X, y, reg):
        right = _svm_data_loss(W, b, X, y) + reg * np.sum(W * W)
        return [
            (
                right + 1,
                "it is 1 too large: the correct class's own margin "
                "(s_y − s_y + 1 = 1) is counted; set it to 0",
            ),
            *_common_loss_mistakes(_svm_data_loss, W, b, X, y, reg),
        ]

    _loss_gradient_check(
        fn, lambda W, b, X, y, reg: _svm_data_loss(W, b, X, y) + reg * np.sum(W * W), mistakes
    )


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
        wrong_max = -log_p[np.arange(len(y)), y].mean() + reg * np.sum(W * W)
        return [
            (
                _softmax_data_loss(W, b, X, y) / np.log(10) + reg * np.sum(W * W),
                "use the natural logarithm np.log, not log10",
            ),
            (
                wrong_max,
                "subtract each row's largest score (axis=1, keepdims=True), not each column's",
            ),
            *_common_loss_mistakes(_softmax_data_loss, W, b, X, y, reg),
        ]

    W, b, X, y, _ = _linear_problem()
    S = X @ W + b
    P = np.exp(S - S.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    without_one_hot = [
        (
            P / len(X),
            "the gradient of the scores is P − one_hot(y): subtract 1 at the correct class",
        )
    ]
    reference = lambda W, b, X, y, reg: _softmax_data_loss(W, b, X, y) + reg * np.sum(W * W)  # noqa: E731
    _loss_gradient_check(fn, reference, mistakes, without_one_hot)
    _loss_gradient_check(fn, reference, mistakes, without_one_hot, shift=1000.0)
