"""Checks of notebook 00's exercises: k-NN and linear classifiers."""

import numpy as np

from ..classic import numerical_gradient as _numerical_gradient  # f() against x, in place
from .core import _compare, _compare_gradient, exercise, _np, Wrong


@exercise(
    "Expand ‖a − b‖² = ‖a‖² + ‖b‖² − 2 a·b: one matrix product A @ B.T gives every "
    "a·b; add the squared norms of the rows of A as a column and those of B as a "
    "row (broadcasting), then take the square root (clip tiny negatives to 0 "
    "first).")
def l2_distances(fn) -> None:
    """`fn(A, B)`: the (len(A), len(B)) matrix of Euclidean distances between rows."""
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(5, 12)) * 50, rng.normal(size=(7, 12)) * 50
    want = np.array([[np.sqrt(np.sum((a - b) ** 2)) for b in B] for a in A])
    _compare(fn(A.astype(np.float32), B.astype(np.float32)), want, "the distance matrix",
             rtol=1e-3)
    _compare(fn(A[:2], A[:2]).diagonal(), np.zeros(2), "the distance of a row to itself",
             atol=1e-2)


def _reference_vote(labels: np.ndarray, classes: int) -> np.ndarray:
    out = []
    for row in labels:
        counts = [list(row).count(c) for c in range(classes)]
        best = max(counts)
        out.append(next(label for label in row if counts[label] == best))  # nearest first
    return np.array(out)


@exercise(
    "Count each class among a row's labels: (labels[:, :, None] == "
    "np.arange(classes)).sum(axis=1) gives a (queries, classes) table. The classes "
    "with the largest count win; among tied winners, take the one whose neighbour "
    "comes first in the row.")
def vote(fn) -> None:
    """`fn(neighbour_labels, classes=10)`: majority class per row, ties to the nearest winner."""
    labels = np.array([[3, 1, 3, 2, 3], [1, 4, 4, 1, 0], [7, 2, 2, 7, 5], [0, 9, 8, 6, 5],
                       [2, 2, 5, 5, 5], [9, 9, 9, 9, 9]])
    got = _np(fn(labels, classes=10)).astype(int)
    want = _reference_vote(labels, 10)
    if got.shape != want.shape:
        raise Wrong(f"the votes have shape {got.shape}, expected {want.shape} (one per row)")
    for row, g, w in zip(labels, got, want):
        if g != w:
            raise Wrong(f"neighbour labels {row.tolist()} (nearest first): got {g}, "
                        f"expected {w} (most votes; a tie goes to the class of the "
                        f"nearest neighbour among the tied classes)")
    rng = np.random.default_rng(1)
    many = rng.integers(0, 4, size=(50, 7))
    _compare(fn(many, classes=4), _reference_vote(many, 4), "the votes on random labels")


def _loss_gradient_check(fn, reference_loss) -> None:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(8, 5)), rng.integers(0, 4, size=8)
    W, b = 0.5 * rng.normal(size=(5, 4)), rng.normal(size=4)
    reg = 0.1
    loss, dW, db = fn(W.copy(), b.copy(), X.copy(), y, reg)
    _compare(loss, reference_loss(W, b, X, y, reg), "the loss", rtol=1e-6)
    loss_of = lambda: float(fn(W, b, X, y, reg)[0])  # noqa: E731
    _compare_gradient(dW, _numerical_gradient(loss_of, W), "W")
    _compare_gradient(db, _numerical_gradient(loss_of, b), "b")


@exercise(
    "Scores S = X @ W + b; margins max(0, S − S[rows, y][:, None] + 1) with the "
    "correct class set to 0; loss = margins.sum() / n + reg·ΣW². Gradient of the "
    "scores G: 1 where a margin is positive, minus their count at the correct "
    "class, divided by n; then dW = X.T @ G + 2·reg·W and db = G.sum(axis=0).")
def svm_loss(fn) -> None:
    """`fn(W, b, X, y, reg)` -> (loss, dW, db): multiclass SVM loss, mean over the examples."""
    def reference(W, b, X, y, reg):
        total = 0.0
        for x, label in zip(X, y):
            s = x @ W + b
            total += sum(max(0.0, s[j] - s[label] + 1) for j in range(len(s)) if j != label)
        return total / len(X) + reg * np.sum(W * W)
    _loss_gradient_check(fn, reference)


@exercise(
    "Subtract each row's largest score before np.exp (same probabilities, no "
    "overflow); P = exp / row sum; loss = mean of −log P[rows, y] + reg·ΣW². The "
    "gradient of the scores is (P − one_hot(y)) / n; dW = X.T @ G + 2·reg·W and db "
    "= G.sum(axis=0).")
def softmax_loss(fn) -> None:
    """`fn(W, b, X, y, reg)` -> (loss, dW, db): softmax cross-entropy, mean over the examples."""
    def reference(W, b, X, y, reg):
        total = 0.0
        for x, label in zip(X, y):
            s = x @ W + b
            total += np.log(np.sum(np.exp(s))) - s[label]  # −log(e^s_y / Σ e^s_j)
        return total / len(X) + reg * np.sum(W * W)
    _loss_gradient_check(fn, reference)
