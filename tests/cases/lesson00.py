"""Right and wrong answers to notebook 00's exercises: k-NN and linear classifiers."""

from collections import Counter

import numpy as np
from keras import ops

from dl_vision_labs import check
from tests.cases import Case, Wrong

# --- l2_distances ----------------------------------------------------------------------------


def l2_expanded(A, B):  # the notebook's
    squared = (A**2).sum(axis=1)[:, None] + (B**2).sum(axis=1)[None, :] - 2 * A @ B.T
    return np.sqrt(np.maximum(squared, 0))


def l2_broadcast(A, B):
    return np.sqrt(((A[:, None, :] - B[None, :, :]) ** 2).sum(axis=-1))


def l2_loops(A, B):
    D = np.zeros((len(A), len(B)))
    for i in range(len(A)):
        for j in range(len(B)):
            D[i, j] = np.linalg.norm(A[i] - B[j])
    return D


def l2_keras_ops(A, B):  # a tensor, float32
    A, B = ops.convert_to_tensor(A, "float32"), ops.convert_to_tensor(B, "float32")
    squared = (
        ops.sum(A * A, axis=1)[:, None]
        + ops.sum(B * B, axis=1)[None, :]
        - 2 * ops.matmul(A, ops.transpose(B))
    )
    return ops.sqrt(ops.maximum(squared, 0.0))


def l2_float64_einsum(A, B):
    A, B = A.astype(np.float64), B.astype(np.float64)
    squared = (
        np.einsum("ij,ij->i", A, A)[:, None]
        + np.einsum("ij,ij->i", B, B)
        - 2 * np.einsum("ik,jk->ij", A, B)
    )
    return np.sqrt(np.clip(squared, 0, None))


def l2_squared(A, B):
    return ((A[:, None] - B[None]) ** 2).sum(-1)


def l2_transposed(A, B):
    return np.sqrt(((A[None] - B[:, None]) ** 2).sum(-1))


def l2_equal_sizes_only(A, B):
    return np.sqrt(((A - B) ** 2).sum(axis=1))


def l2_not_clipped(A, B):
    return np.sqrt((A**2).sum(axis=1)[:, None] + (B**2).sum(axis=1) - 2 * A @ B.T)


def l2_manhattan(A, B):
    return np.abs(A[:, None] - B[None]).sum(-1)


def l2_centres_in_place(A, B):  # centring "for precision" changes the caller's arrays
    mean = B.mean(axis=0)
    A -= mean
    B -= mean
    return l2_expanded(A, B)


def l2_no_return(A, B):
    l2_expanded(A, B)


# --- vote --------------------------------------------------------------------------------------


def vote_table(neighbour_labels, classes=10):  # the notebook's
    counts = (neighbour_labels[:, :, None] == np.arange(classes)).sum(axis=1)
    winners = counts == counts.max(axis=1, keepdims=True)
    is_winner = np.take_along_axis(winners, neighbour_labels, axis=1)
    first = is_winner.argmax(axis=1)
    return np.take_along_axis(neighbour_labels, first[:, None], axis=1)[:, 0]


def vote_counter(neighbour_labels, classes=10):  # max() keeps the first of ties: nearest
    return np.array([Counter(row.tolist()).most_common(1)[0][0] for row in neighbour_labels])


def vote_loops(neighbour_labels, classes=10):
    out = []
    for row in neighbour_labels:
        counts = np.bincount(row, minlength=classes)
        for label in row:  # nearest first
            if counts[label] == counts.max():
                out.append(label)
                break
    return out  # a list


def vote_keras_ops(neighbour_labels, classes=10):  # a tensor
    labels = ops.convert_to_tensor(neighbour_labels, "int32")
    counts = ops.sum(ops.one_hot(labels, classes), axis=1)  # (n, classes)
    per_neighbour = ops.take_along_axis(counts, labels, axis=1)  # votes of each neighbour's class
    first = ops.argmax(per_neighbour, axis=1)  # the first of the maximal ones: nearest
    return ops.take_along_axis(labels, first[:, None], axis=1)[:, 0]


def vote_bincount_argmax(neighbour_labels, classes=10):
    return np.array([np.bincount(r, minlength=classes).argmax() for r in neighbour_labels])


def vote_largest_class(neighbour_labels, classes=10):
    return np.array(
        [classes - 1 - np.bincount(r, minlength=classes)[::-1].argmax() for r in neighbour_labels]
    )


def vote_first_label(neighbour_labels, classes=10):
    return neighbour_labels[:, 0]


def vote_tie_to_nearest_neighbour(neighbour_labels, classes=10):
    out = []
    for row in neighbour_labels:
        counts = np.bincount(row, minlength=classes)
        tie = (counts == counts.max()).sum() > 1
        out.append(row[0] if tie else counts.argmax())
    return np.array(out)


def vote_sorted_counter(neighbour_labels, classes=10):  # sorted is stable: the farthest tie
    return np.array(
        [sorted(Counter(r.tolist()).items(), key=lambda kv: kv[1])[-1][0] for r in neighbour_labels]
    )


def vote_column(neighbour_labels, classes=10):
    return vote_table(neighbour_labels, classes)[:, None]


def vote_sorts_in_place(neighbour_labels, classes=10):
    neighbour_labels.sort(axis=1)
    return vote_table(neighbour_labels, classes)


# --- svm_loss and softmax_loss -----------------------------------------------------------------


def svm_vectorized(W, b, X, y, reg):  # the notebook's
    n = len(X)
    rows = np.arange(n)
    scores = X @ W + b
    margins = np.maximum(0, scores - scores[rows, y][:, None] + 1)
    margins[rows, y] = 0
    loss = margins.sum() / n + reg * np.sum(W * W)
    G = (margins > 0).astype(X.dtype)
    G[rows, y] = -G.sum(axis=1)
    G /= n
    return loss, X.T @ G + 2 * reg * W, G.sum(axis=0)


def svm_loops(W, b, X, y, reg):
    dW, db, loss = np.zeros_like(W), np.zeros_like(b), 0.0
    for x, label in zip(X, y):
        s = x @ W + b
        for j in range(W.shape[1]):
            if j == label:
                continue
            margin = s[j] - s[label] + 1
            if margin > 0:
                loss += margin
                dW[:, j] += x
                dW[:, label] -= x
                db[j] += 1
                db[label] -= 1
    n = len(X)
    return loss / n + reg * np.sum(W**2), dW / n + 2 * reg * W, db / n


def svm_keras_ops(W, b, X, y, reg):  # tensors
    n = len(X)
    S = ops.convert_to_tensor(X @ W + b)
    correct = ops.take_along_axis(S, ops.convert_to_tensor(y[:, None]), axis=1)
    one_hot = ops.one_hot(ops.convert_to_tensor(y), W.shape[1], dtype=S.dtype)
    margins = ops.maximum(0.0, S - correct + 1) * (1 - one_hot)
    positive = ops.cast(margins > 0, S.dtype)
    G = (positive - one_hot * ops.sum(positive, axis=1, keepdims=True)) / n
    loss = ops.sum(margins) / n + reg * ops.sum(ops.convert_to_tensor(W) ** 2)
    return (
        loss,
        ops.matmul(ops.transpose(ops.convert_to_tensor(X)), G) + 2 * reg * W,
        ops.sum(G, axis=0),
    )


def _svm_with(W, b, X, y, reg, *, plus=0.0, grad_n=True, reg_grad=2.0, reg_b=False):
    loss, dW, db = svm_vectorized(W, b, X, y, reg)
    n = len(X)
    data_W = dW - 2 * reg * W
    if not grad_n:
        data_W, db = data_W * n, db * n
    if reg_b:
        loss, db = loss + reg * np.sum(b * b), db + 2 * reg * b
    return loss + plus, data_W + reg_grad * reg * W, db


def svm_counts_correct_class(W, b, X, y, reg):
    return _svm_with(W, b, X, y, reg, plus=1.0)


def svm_gradient_not_divided(W, b, X, y, reg):
    return _svm_with(W, b, X, y, reg, grad_n=False)


def svm_no_reg_gradient(W, b, X, y, reg):
    return _svm_with(W, b, X, y, reg, reg_grad=0.0)


def svm_reg_not_twice(W, b, X, y, reg):
    return _svm_with(W, b, X, y, reg, reg_grad=1.0)


def svm_regularizes_b(W, b, X, y, reg):
    return _svm_with(W, b, X, y, reg, reg_b=True)


def svm_db_zero(W, b, X, y, reg):
    return (*svm_vectorized(W, b, X, y, reg)[:2], 0 * b)


def svm_db_not_summed(W, b, X, y, reg):
    loss, dW, _ = svm_vectorized(W, b, X, y, reg)
    scores = X @ W + b
    rows = np.arange(len(X))
    margins = np.maximum(0, scores - scores[rows, y][:, None] + 1)
    margins[rows, y] = 0
    G = (margins > 0).astype(float)
    G[rows, y] = -G.sum(axis=1)
    return loss, dW, G / len(X)


def svm_no_return(W, b, X, y, reg):
    svm_vectorized(W, b, X, y, reg)


def softmax_vectorized(W, b, X, y, reg):  # the notebook's
    n = len(X)
    rows = np.arange(n)
    scores = X @ W + b
    scores -= scores.max(axis=1, keepdims=True)
    P = np.exp(scores)
    P /= P.sum(axis=1, keepdims=True)
    loss = -np.log(P[rows, y]).mean() + reg * np.sum(W * W)
    G = P
    G[rows, y] -= 1
    G /= n
    return loss, X.T @ G + 2 * reg * W, G.sum(axis=0)


def softmax_loops(W, b, X, y, reg):
    dW, db, loss = np.zeros_like(W), np.zeros_like(b), 0.0
    for x, label in zip(X, y):
        s = x @ W + b
        s = s - s.max()
        p = np.exp(s) / np.exp(s).sum()
        loss -= np.log(p[label])
        for j in range(len(s)):
            g = p[j] - (j == label)
            dW[:, j] += g * x
            db[j] += g
    n = len(X)
    return loss / n + reg * (W**2).sum(), dW / n + 2 * reg * W, db / n


def softmax_log_softmax_ops(W, b, X, y, reg):  # keras.ops, float32 tensors
    S = ops.convert_to_tensor((X @ W + b).astype(np.float32))
    log_p = ops.log_softmax(S, axis=1)
    one_hot = ops.one_hot(ops.convert_to_tensor(y), W.shape[1], dtype="float32")
    loss = -ops.mean(ops.sum(log_p * one_hot, axis=1)) + reg * float(np.sum(W * W))
    G = ops.convert_to_numpy(ops.exp(log_p) - one_hot).astype(np.float64) / len(X)
    return loss, X.T @ G + 2 * reg * W, ops.sum(G, axis=0)


def softmax_logsumexp(W, b, X, y, reg):  # scipy's logsumexp, the global max also works
    from scipy.special import logsumexp

    S = X @ W + b
    S = S - S.max()  # one constant for all: still the same probabilities
    log_p = S - logsumexp(S, axis=1, keepdims=True)
    n = len(X)
    G = np.exp(log_p)
    G[np.arange(n), y] -= 1
    return (
        -log_p[np.arange(n), y].mean() + reg * np.sum(W**2),
        X.T @ G / n + 2 * reg * W,
        G.sum(axis=0) / n,
    )


def softmax_naive_exp(W, b, X, y, reg):  # mathematically right, overflows at large scores
    n = len(X)
    with np.errstate(over="ignore", invalid="ignore"):
        E = np.exp(X @ W + b)
        P = E / E.sum(axis=1, keepdims=True)
    loss = -np.log(P[np.arange(n), y]).mean() + reg * np.sum(W * W)
    P[np.arange(n), y] -= 1
    return loss, X.T @ P / n + 2 * reg * W, P.sum(axis=0) / n


def softmax_no_reg_in_loss(W, b, X, y, reg):
    return (softmax_vectorized(W, b, X, y, 0)[0], *softmax_vectorized(W, b, X, y, reg)[1:])


def softmax_column_max(W, b, X, y, reg):
    n = len(X)
    S = X @ W + b
    S = S - S.max(axis=0)
    P = np.exp(S) / np.exp(S).sum(axis=1, keepdims=True)
    loss = -np.log(P[np.arange(n), y]).mean() + reg * np.sum(W * W)
    P[np.arange(n), y] -= 1
    return loss, X.T @ P / n + 2 * reg * W, P.sum(axis=0) / n


def softmax_log10(W, b, X, y, reg):
    loss, dW, db = softmax_vectorized(W, b, X, y, 0)
    return loss / np.log(10) + reg * np.sum(W * W), dW + 2 * reg * W, db


def softmax_no_one_hot(W, b, X, y, reg):
    S = X @ W + b
    P = np.exp(S - S.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    n = len(X)
    loss = -np.log(P[np.arange(n), y]).mean() + reg * np.sum(W * W)
    return loss, X.T @ P / n + 2 * reg * W, P.sum(axis=0) / n


def softmax_gradient_not_divided(W, b, X, y, reg):
    loss, dW, db = softmax_vectorized(W, b, X, y, 0)
    return loss + reg * np.sum(W * W), len(X) * dW + 2 * reg * W, len(X) * db


def softmax_no_reg_gradient(W, b, X, y, reg):
    return (*softmax_vectorized(W, b, X, y, reg)[:1], *softmax_vectorized(W, b, X, y, 0)[1:])


def softmax_summed_loss(W, b, X, y, reg):
    loss, dW, db = softmax_vectorized(W, b, X, y, 0)
    return len(X) * loss + reg * np.sum(W * W), dW + 2 * reg * W, db


# --- regularization ----------------------------------------------------------------------------


def reg_vectorized(W, l1, l2):  # the notebook's
    penalty = l2 * np.sum(W * W) + l1 * np.sum(np.abs(W))
    return penalty, 2 * l2 * W + l1 * np.sign(W)


def reg_loops(W, l1, l2):
    penalty, dW = 0.0, np.zeros_like(W)
    for index, w in np.ndenumerate(W):
        penalty += l2 * w * w + l1 * abs(w)
        dW[index] = 2 * l2 * w + (l1 if w > 0 else -l1 if w < 0 else 0.0)
    return penalty, dW


def reg_keras_ops(W, l1, l2):  # tensors
    W = ops.convert_to_tensor(W)
    return l2 * ops.sum(ops.square(W)) + l1 * ops.sum(ops.abs(W)), 2 * l2 * W + l1 * ops.sign(W)


def reg_norms(W, l1, l2):  # squared Frobenius norm and the L1 norm of the flattened weights
    penalty = l2 * np.linalg.norm(W) ** 2 + l1 * np.linalg.norm(W.ravel(), 1)
    return float(penalty), 2 * l2 * W + l1 * np.where(W > 0, 1, np.where(W < 0, -1, 0))


def reg_norm_not_squared(W, l1, l2):
    return l2 * np.linalg.norm(W) + l1 * np.sum(np.abs(W)), 2 * l2 * W + l1 * np.sign(W)


def reg_mean(W, l1, l2):
    return l2 * np.mean(W**2) + l1 * np.mean(np.abs(W)), 2 * l2 * W + l1 * np.sign(W)


def reg_no_abs(W, l1, l2):
    return l2 * np.sum(W**2) + l1 * np.sum(W), 2 * l2 * W + l1 * np.sign(W)


def reg_half(W, l1, l2):  # the ½ of other textbooks, gradient consistent with it
    return 0.5 * l2 * np.sum(W**2) + l1 * np.sum(np.abs(W)), l2 * W + l1 * np.sign(W)


def reg_gradient_without_2(W, l1, l2):
    return reg_vectorized(W, l1, l2)[0], l2 * W + l1 * np.sign(W)


def reg_divides_by_abs(W, l1, l2):
    with np.errstate(invalid="ignore"):
        return reg_vectorized(W, l1, l2)[0], 2 * l2 * W + l1 * W / np.abs(W)


def reg_sign_at_zero_positive(W, l1, l2):
    return reg_vectorized(W, l1, l2)[0], 2 * l2 * W + l1 * np.where(W >= 0, 1, -1)


def reg_swapped(W, l1, l2):
    return reg_vectorized(W, l2, l1)


def reg_no_l1_gradient(W, l1, l2):
    return reg_vectorized(W, l1, l2)[0], 2 * l2 * W


def reg_l1_gradient_constant(W, l1, l2):
    return reg_vectorized(W, l1, l2)[0], 2 * l2 * W + l1


def reg_squares_in_place(W, l1, l2):
    gradient = 2 * l2 * W + l1 * np.sign(W)
    W **= 2
    return l2 * W.sum() + l1 * np.sqrt(W).sum(), gradient


def reg_penalty_only(W, l1, l2):
    return reg_vectorized(W, l1, l2)[0]


CASES = {
    "l2_distances": Case(
        run=check.l2_distances,
        right=[l2_expanded, l2_broadcast, l2_loops, l2_keras_ops, l2_float64_einsum],
        wrong=[
            Wrong(
                l2_squared,
                r"differs from the reference.*squared distances.*square root",
                "no square root",
            ),
            Wrong(l2_transposed, r"transposed", "(len(B), len(A))"),
            Wrong(l2_equal_sizes_only, r"could not be broadcast", "A − B row by row"),
            Wrong(l2_not_clipped, r"NaN.*clip it to 0", "no clip before sqrt"),
            Wrong(l2_manhattan, r"L1 distances", "L1 instead of L2"),
            Wrong(l2_centres_in_place, r"changed its input A in place", "A -= mean"),
            Wrong(l2_no_return, r"returned None", "no return"),
        ],
    ),
    "vote": Case(
        run=check.vote,
        right=[vote_table, vote_counter, vote_loops, vote_keras_ops],
        wrong=[
            Wrong(
                vote_bincount_argmax,
                r"a tie goes to the class of the nearest.*smallest",
                "np.argmax of the counts: ties to the smallest class",
            ),
            Wrong(
                vote_largest_class,
                r"a tie goes to the class of the nearest.*largest",
                "ties to the largest class",
            ),
            Wrong(
                vote_first_label,
                r"first label \(the nearest neighbour only\)",
                "the nearest neighbour's label",
            ),
            Wrong(
                vote_tie_to_nearest_neighbour,
                r"a tie goes to the class of the nearest "
                r"neighbour among the tied classes|does not have the most votes",
                "a tie goes to row[0] even when it is not tied",
            ),
            Wrong(
                vote_sorted_counter,
                r"a tie goes to the class of the nearest",
                "sorted() keeps the farthest of the tied",
            ),
            Wrong(vote_column, r"shape \(8, 1\).*1-D", "a column, not a vector"),
            Wrong(
                vote_sorts_in_place,
                r"changed its input neighbour_labels in place",
                "sorts the rows in place",
            ),
        ],
    ),
    "svm_loss": Case(
        run=check.svm_loss,
        right=[svm_vectorized, svm_loops, svm_keras_ops],
        wrong=[
            Wrong(
                svm_counts_correct_class,
                r"1 too large.*correct class",
                "the correct class's margin counted",
            ),
            Wrong(
                svm_gradient_not_divided,
                r"n times too large",
                "loss divided by n, not the gradient",
            ),
            Wrong(
                svm_no_reg_gradient, r"lacks the gradient of the regularization", "no 2·reg·W in dW"
            ),
            Wrong(svm_reg_not_twice, r"2·reg·W, not reg·W", "reg·W instead of 2·reg·W"),
            Wrong(svm_regularizes_b, r"b is not regularized", "reg·Σb² too"),
            Wrong(svm_db_zero, r"gradient differs from the numerical one.* on b", "db = 0"),
            Wrong(svm_db_not_summed, r"sum over the examples", "db per example"),
            Wrong(svm_no_return, r"return \(loss, dW, db\).*return` is missing", "no return"),
        ],
    ),
    "softmax_loss": Case(
        run=check.softmax_loss,
        right=[softmax_vectorized, softmax_loops, softmax_log_softmax_ops, softmax_logsumexp],
        wrong=[
            Wrong(
                softmax_naive_exp,
                r"overflows; subtract each row's largest score",
                "no max subtracted: NaN at large scores",
            ),
            Wrong(
                softmax_no_reg_in_loss,
                r"the loss differs.*lacks the regularization",
                "no reg·ΣW² in the loss",
            ),
            Wrong(softmax_column_max, r"not each column's", "max over axis 0"),
            Wrong(softmax_log10, r"natural logarithm", "log10"),
            Wrong(softmax_no_one_hot, r"P − one_hot\(y\)", "P instead of P − one_hot"),
            Wrong(softmax_gradient_not_divided, r"n times too large", "gradient not / n"),
            Wrong(
                softmax_no_reg_gradient,
                r"lacks the gradient of the regularization",
                "no 2·reg·W in dW",
            ),
            Wrong(softmax_summed_loss, r"summed; take the mean", "sum, not mean"),
        ],
    ),
    "regularization": Case(
        run=check.regularization,
        right=[reg_vectorized, reg_loops, reg_keras_ops, reg_norms],
        wrong=[
            Wrong(reg_norm_not_squared, r"not its square root \(the norm", "‖W‖, not ΣW²"),
            Wrong(reg_mean, r"not the mean", "np.mean instead of np.sum"),
            Wrong(reg_no_abs, r"needs the absolute values", "l1·ΣW, abs forgotten"),
            Wrong(reg_half, r"without ½", "½·l2·ΣW²"),
            Wrong(reg_gradient_without_2, r"2·l2·W, not l2·W", "gradient l2·W"),
            Wrong(reg_divides_by_abs, r"exactly 0.*np\.sign", "W / |W|: NaN at 0"),
            Wrong(reg_sign_at_zero_positive, r"exactly 0.*np\.sign", "W >= 0: +1 at 0"),
            Wrong(reg_swapped, r"swapped", "l1 and l2 swapped"),
            Wrong(reg_no_l1_gradient, r"lacks the gradient of the L1 term", "no l1·sign(W)"),
            Wrong(reg_l1_gradient_constant, r"not l1", "l1 instead of l1·sign(W)"),
            Wrong(reg_squares_in_place, r"changed its input W in place", "W **= 2"),
            Wrong(reg_penalty_only, r"return \(penalty, dW\)", "the penalty only"),
        ],
    ),
}
