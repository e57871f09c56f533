"""Checks of notebook 01's exercises: backpropagation and a two-layer network."""

import numpy as np

from ..classic import numerical_gradient as _numerical_gradient  # f() against x, in place
from .core import _compare, _compare_gradient, exercise, Wrong


@exercise(
    "The local gradient of σ at its output s is s·(1 − s); multiply it by the "
    "upstream gradient.")
def sigmoid_backward(fn) -> None:
    """`fn(s, upstream)`: upstream · s(1 − s), the sigmoid gate's backward at output s."""
    t = np.linspace(-6, 6, 13)
    s = 1 / (1 + np.exp(-t))
    numerical = (1 / (1 + np.exp(-(t + 1e-6))) - 1 / (1 + np.exp(-(t - 1e-6)))) / 2e-6
    _compare(fn(s, 1.0), numerical, "the local gradient (upstream 1)", atol=1e-8)
    _compare(fn(s, 2.5), 2.5 * numerical,
             "the gradient with upstream 2.5 (multiply by the upstream gradient)", atol=1e-8)


@exercise(
    "Value.backward: build a topological order (a depth-first visit that appends a "
    "node after all of its _prev), set every node's grad to 0 and self.grad = 1, "
    "then call node._backward() for the nodes in reversed order.")
def value(Value) -> None:
    """`Value.backward()`: gradients of a graph that uses values several times, against
    finite differences of the same expression; a second call gives the same gradients."""
    def expression(a, b, c, exp):
        u = a * b + c
        return (u * u + exp(a) * b) / (c * c + 1.0) - a

    point = np.array([0.7, -1.3, 0.4])
    f = lambda: expression(*point, exp=np.exp)  # noqa: E731
    numerical = _numerical_gradient(f, point)
    nodes = [Value(v) for v in (0.7, -1.3, 0.4)]
    out = expression(*nodes, exp=lambda t: t.exp())
    out.backward()
    _compare([n.grad for n in nodes], numerical, "the gradients of (a, b, c)", rtol=1e-6)
    out.backward()
    _compare([n.grad for n in nodes], numerical,
             "the gradients after a second backward() (reset grad to 0 first)", rtol=1e-6)
    x = Value(0.5)
    a = 2 * x
    used_twice = a * a.exp()
    used_twice.backward()
    _compare(x.grad, 2 * (1 + 2 * 0.5) * np.exp(1.0),
             "d/dx of a·e^a with a = 2x (a is used twice: visit the nodes in reverse "
             "topological order)", rtol=1e-9)


def _two_layer_params(seed: int = 0):
    rng = np.random.default_rng(seed)
    params = {"W1": rng.normal(size=(4, 6)), "b1": rng.normal(size=6),
              "W2": rng.normal(size=(6, 3)), "b2": rng.normal(size=3)}
    return params, rng.normal(size=(5, 4)) * 2, np.array([0, 1, 2, 2, 1])


@exercise(
    "hidden = np.maximum(0, X @ W1 + b1); scores = hidden @ W2 + b2 (params['W1'] "
    "etc.).")
def two_layer_forward(fn) -> None:
    """`fn(params, X)` -> (scores, cache): scores = max(0, X·W1 + b1)·W2 + b2."""
    params, X, _ = _two_layer_params()
    want = np.array([[sum(max(0.0, sum(x[d] * params["W1"][d, j] for d in range(4))
                                   + params["b1"][j]) * params["W2"][j, c]
                          for j in range(6)) + params["b2"][c] for c in range(3)]
                     for x in X])  # loops: another way
    out = fn(params, X)
    if not isinstance(out, tuple) or len(out) != 2:
        raise Wrong("return (scores, cache): the scores and what backward needs")
    _compare(out[0], want, "the scores", rtol=1e-9)


@exercise(
    "dW2 = hidden.T @ dscores, db2 = dscores.sum(axis=0); dhidden = dscores @ W2.T, "
    "set to 0 where hidden <= 0 (ReLU); dW1 = X.T @ dhidden, db1 = "
    "dhidden.sum(axis=0).")
def two_layer_backward(fn, forward, softmax_loss) -> None:
    """`fn(params, dscores, cache)` -> dict of gradients, against finite differences of
    softmax_loss(forward(params, X)[0], y) (the lesson's own forward and loss)."""
    params, X, y = _two_layer_params(1)
    scores, cache = forward(params, X)
    grads = fn(params, softmax_loss(scores, y)[1], cache)
    if set(grads) != {"W1", "b1", "W2", "b2"}:
        raise Wrong(f"return a dict with keys W1, b1, W2, b2, got {sorted(grads)}")
    f = lambda: softmax_loss(forward(params, X)[0], y)[0]  # noqa: E731
    for name in ("W2", "b2", "W1", "b1"):
        _compare_gradient(grads[name], _numerical_gradient(f, params[name]), name, 1e-6)


@exercise(
    "loss = reg·(ΣW1² + ΣW2²); its gradient is 2·reg·W for W1 and W2 (the biases "
    "are not regularized).")
def l2_regularization(fn) -> None:
    """`fn(params, reg)` -> (reg·(ΣW1² + ΣW2²), {"W1": 2·reg·W1, "W2": 2·reg·W2})."""
    params, _, _ = _two_layer_params(2)
    loss, grads = fn(params, 0.3)
    _compare(loss, 0.3 * sum(float(np.sum(params[k] ** 2)) for k in ("W1", "W2")),
             "the penalty")
    if set(grads) != {"W1", "W2"}:
        raise Wrong(f"return the gradients of W1 and W2 only (biases are not "
                    f"regularized), got {sorted(grads)}")
    for name in ("W1", "W2"):
        numerical = _numerical_gradient(lambda: fn(params, 0.3)[0], params[name])
        _compare_gradient(grads[name], numerical, name, 1e-6)
