"""Checks of notebook 01's exercises: backpropagation and a two-layer network."""

import numpy as np

from ..classic import numerical_gradient as _numerical_gradient  # f() against x, in place
from .core import Wrong, _compare, exercise
from .lesson00 import _array, _compare_or_name, _gradient, _same, _unchanged


def _sigmoid(t):
    return 1 / (1 + np.exp(-t))


@exercise(
    "The local gradient of σ at its output s is s·(1 − s); multiply it by the upstream gradient."
)
def sigmoid_backward(fn) -> None:
    """`fn(s, upstream)`: upstream · s(1 − s), the sigmoid gate's backward at output s, for
    a number or an array s and a number or an array upstream."""
    t = np.linspace(-6, 6, 13)
    s = _sigmoid(t)
    numerical = (_sigmoid(t + 1e-6) - _sigmoid(t - 1e-6)) / 2e-6
    upstream = np.linspace(-2, 3, 13)
    for up, what in [
        (1.0, "the local gradient (upstream 1)"),
        (2.5, "the gradient with upstream 2.5"),
        (upstream, "the gradient with an array of upstream gradients"),
    ]:
        passed = s.copy()
        got = _array(fn(passed, up), what)
        _unchanged({"s": s}, {"s": passed})
        mistakes = [
            (-up * s * (1 - s), "wrong sign: σ' = s·(1 − s) is positive"),
            (
                up * _sigmoid(s) * (1 - _sigmoid(s)),
                "s is already σ(d): the local gradient is s·(1 − s), without applying σ again",
            ),
            (up * (1 - s**2), "1 − s² is the derivative of tanh; σ's is s·(1 − s)"),
            (up * (1 - s), "the local gradient is s·(1 − s): a factor s is missing"),
            (
                up + s * (1 - s),
                "multiply the local gradient by the upstream gradient; do not add them",
            ),
        ]
        if not np.isscalar(up) or up != 1:
            mistakes.insert(
                0,
                (
                    s * (1 - s),
                    "it ignores the upstream gradient: multiply the "
                    "local gradient s·(1 − s) by upstream",
                ),
            )
        _compare_or_name(got, up * numerical, what, mistakes, atol=1e-8)
    got = _array(fn(np.float64(0.25), 2.0), "sigmoid_backward(0.25, 2.0)")  # a number
    _compare(got, 2.0 * 0.25 * 0.75, "sigmoid_backward(0.25, 2.0) (numbers in, a number out)")


def _graph(out) -> list:
    """Every node reachable from `out` through `_prev`, each once."""
    nodes, stack, seen = [], [out], set()
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            nodes.append(node)
            stack.extend(getattr(node, "_prev", ()))
    return nodes


def _traced(out) -> list:
    """Wrap each node's `_backward` to record, in `calls`, the nodes in the order they ran."""
    calls = []
    for node in _graph(out):
        inner = node._backward

        def traced(node=node, inner=inner):
            calls.append(node)
            inner()

        node._backward = traced
    return calls


def _why(out, calls: list, leaves: list) -> str:
    """The likely mistake of a backward() that gave wrong gradients, from its calls."""
    if out.grad != 1:
        return (
            f"the output's own grad is {out.grad:g} after backward(): set self.grad = 1.0 "
            f"after resetting every grad to 0"
        )
    ran = {}
    for node in calls:
        ran[id(node)] = ran.get(id(node), 0) + 1
    if any(n > 1 for n in ran.values()):
        return (
            "a node's _backward ran more than once: visit each node once (remember the "
            "nodes already visited)"
        )
    nodes = _graph(out)
    if any(getattr(n, "_prev", ()) and id(n) not in ran for n in nodes):
        return "the _backward of some nodes never ran: visit every node reachable via _prev"
    position = {id(node): i for i, node in enumerate(calls)}
    for user in nodes:
        for parent in getattr(user, "_prev", ()):
            if id(parent) in position and position[id(parent)] < position.get(id(user), -1):
                return (
                    "a node's _backward ran before that of a node computed from it: call "
                    "them in reverse topological order (a node after all of its users)"
                )
    if all(leaf.grad == 0 for leaf in leaves):
        return "every gradient is 0: call node._backward() for every node, output first"
    return "compare your order of the nodes with a depth-first topological sort"


def _backward_of(out, leaves, want, what: str) -> None:
    calls = _traced(out)
    out.backward()
    got = np.array([leaf.grad for leaf in leaves], dtype=np.float64)
    if not _same(got, want, rtol=1e-6, atol=1e-9):
        raise Wrong(
            f"{what}: got {np.round(got, 4).tolist()}, expected "
            f"{np.round(want, 4).tolist()}; {_why(out, calls, leaves)}"
        )


@exercise(
    "Value.backward: build a topological order (a depth-first visit that appends a "
    "node after all of its _prev), set every node's grad to 0 and self.grad = 1, "
    "then call node._backward() for the nodes in reversed order."
)
def value(Value) -> None:
    """`Value.backward()`: gradients of a graph that uses values several times, against
    finite differences of the same expression; a second call gives the same gradients."""
    x = Value(0.5)
    a = 2 * x
    _backward_of(
        a * a.exp(),
        [x],
        [2 * (1 + 2 * 0.5) * np.exp(1.0)],
        "d/dx of a·e^a with a = 2x (a is used twice)",
    )

    def expression(a, b, c, exp):
        u = a * b + c
        return (u * u + exp(a) * b) / (c * c + 1.0) - a

    point = np.array([0.7, -1.3, 0.4])
    numerical = _numerical_gradient(lambda: expression(*point, exp=np.exp), point)
    nodes = [Value(v) for v in point]
    out = expression(*nodes, exp=lambda t: t.exp())
    _backward_of(out, nodes, numerical, "the gradients of (a, b, c)")
    out.backward()
    got = np.array([n.grad for n in nodes], dtype=np.float64)
    if not _same(got, numerical, rtol=1e-6, atol=1e-9):
        raise Wrong(
            f"the gradients changed after a second backward() (got "
            f"{np.round(got, 4).tolist()}, expected {np.round(numerical, 4).tolist()}): "
            f"reset every node's grad to 0 before setting self.grad = 1"
        )


def _two_layer_params(seed: int = 0):
    rng = np.random.default_rng(seed)
    params = {
        "W1": rng.normal(size=(4, 6)),
        "b1": rng.normal(size=6),
        "W2": rng.normal(size=(6, 3)),
        "b2": rng.normal(size=3),
    }
    return params, rng.normal(size=(5, 4)) * 2


def _copies(params: dict) -> dict:
    return {k: v.copy() for k, v in params.items()}


@exercise("hidden = np.maximum(0, X @ W1 + b1); scores = hidden @ W2 + b2 (params['W1'] etc.).")
def two_layer_forward(fn) -> None:
    """`fn(params, X)` -> (scores, (X, hidden)): scores = max(0, X·W1 + b1)·W2 + b2."""
    params, X = _two_layer_params()
    W1, b1, W2, b2 = (params[k] for k in ("W1", "b1", "W2", "b2"))
    want = np.array(
        [
            [
                sum(
                    max(0.0, sum(x[d] * W1[d, j] for d in range(4)) + b1[j]) * W2[j, c]
                    for j in range(6)
                )
                + b2[c]
                for c in range(3)
            ]
            for x in X
        ]
    )  # loops: another way
    passed, passed_X = _copies(params), X.copy()
    out = fn(passed, passed_X)
    _unchanged({**params, "X": X}, {**passed, "X": passed_X})
    if not isinstance(out, tuple) or len(out) != 2:
        raise Wrong("return (scores, cache): the scores and what backward needs, (X, hidden)")
    z = X @ W1 + b1
    hidden = np.maximum(0, z)
    _compare_or_name(
        out[0],
        want,
        "the scores",
        [
            (z @ W2 + b2, "no ReLU: hidden = np.maximum(0, X @ W1 + b1)"),
            (X @ W1 @ W2 + b2, "no ReLU and no b1: hidden = np.maximum(0, X @ W1 + b1)"),
            (np.maximum(0, want), "the scores are clipped at 0: no ReLU after the last layer"),
            (np.maximum(0, X @ W1) @ W2 + b2, "b1 is missing"),
            (hidden @ W2, "b2 is missing"),
            (np.maximum(0, X @ W1) @ W2 + b1 @ W2 + b2, "add b1 before the ReLU, not after"),
            (_sigmoid(z) @ W2 + b2, "the hidden layer is a ReLU, np.maximum(0, ·), not a sigmoid"),
        ],
        rtol=1e-5,
    )  # float32 (keras.ops on JAX) passes
    cache = out[1]
    if not isinstance(cache, (tuple, list)) or len(cache) != 2:
        raise Wrong("the cache must be (X, hidden), as two_layer_backward reads it")
    _compare_or_name(
        cache[1],
        hidden,
        "hidden in the cache (two_layer_backward reads it)",
        [(z, "it is X·W1 + b1 before the ReLU; cache hidden = np.maximum(0, X @ W1 + b1)")],
        rtol=1e-5,
    )


@exercise(
    "dW2 = hidden.T @ dscores, db2 = dscores.sum(axis=0); dhidden = dscores @ W2.T, "
    "set to 0 where hidden <= 0 (ReLU); dW1 = X.T @ dhidden, db1 = "
    "dhidden.sum(axis=0)."
)
def two_layer_backward(fn, forward=None, softmax_loss=None) -> None:
    """`fn(params, dscores, cache)` -> dict of gradients, for the cache (X, hidden) of the
    forward pass and an upstream gradient dscores, against finite differences of
    Σ dscores·scores. `forward` and `softmax_loss` (the lesson's, passed by its cell) are
    not needed: the check builds its own cache, so a mistake in forward is not counted here."""
    params, X = _two_layer_params(1)
    W1, b1, W2, b2 = (params[k] for k in ("W1", "b1", "W2", "b2"))
    dscores = np.random.default_rng(3).normal(size=(5, 3))
    z = X @ W1 + b1
    hidden = np.maximum(0, z)
    passed = (_copies(params), dscores.copy(), (X.copy(), hidden.copy()))
    grads = fn(*passed)
    _unchanged(
        {**params, "dscores": dscores, "X": X, "hidden": hidden},
        {**passed[0], "dscores": passed[1], "X": passed[2][0], "hidden": passed[2][1]},
    )
    if not isinstance(grads, dict):
        raise Wrong(
            f"return a dict of the gradients (keys W1, b1, W2, b2), got {type(grads).__name__}"
        )
    if set(grads) != {"W1", "b1", "W2", "b2"}:
        raise Wrong(f"return a dict with keys W1, b1, W2, b2, got {sorted(grads)}")

    def upstream_times_scores():
        return float(np.sum(dscores * (np.maximum(0, X @ W1 + b1) @ W2 + b2)))

    dhidden = dscores @ W2.T
    unmasked, masked_wrong = dhidden, dhidden * (z <= 0)
    n = len(X)
    mistakes = {
        "W2": [],
        "b2": [
            (
                dscores.mean(axis=0),
                "db2 is the sum of dscores over the batch, not the "
                "mean (dscores already holds the 1/n)",
            )
        ],
        "W1": [
            (X.T @ unmasked, "the ReLU's mask is missing: set dhidden to 0 where hidden <= 0"),
            (
                X.T @ masked_wrong,
                "the ReLU's mask is inverted: zero dhidden where hidden "
                "<= 0, keep it where hidden > 0",
            ),
        ],
        "b1": [
            (
                unmasked.sum(axis=0),
                "the ReLU's mask is missing: set dhidden to 0 where hidden <= 0",
            ),
            (
                masked_wrong.sum(axis=0),
                "the ReLU's mask is inverted: zero dhidden where hidden <= 0",
            ),
            ((dhidden * (z > 0)).sum(axis=0) / n, "db1 is the sum over the batch, not the mean"),
        ],
    }
    for name in ("W2", "b2", "W1", "b1"):
        numerical = _numerical_gradient(upstream_times_scores, params[name])
        _gradient(grads[name], numerical, name, mistakes[name], 1e-6)


@exercise(
    "loss = reg·(ΣW1² + ΣW2²); its gradient is 2·reg·W for W1 and W2 (the biases "
    "are not regularized)."
)
def l2_regularization(fn) -> None:
    """`fn(params, reg)` -> (reg·(ΣW1² + ΣW2²), {"W1": 2·reg·W1, "W2": 2·reg·W2}); gradients
    of 0 for b1 and b2 may be included (adding them changes nothing)."""
    params, _ = _two_layer_params(2)
    reg = 0.3
    passed = _copies(params)
    out = fn(passed, reg)
    _unchanged(params, passed)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise Wrong("return (loss, grads): the penalty and a dict of its gradients")
    loss, grads = out
    squares = {k: float(np.sum(params[k] ** 2)) for k in params}
    weights = squares["W1"] + squares["W2"]
    _compare_or_name(
        loss,
        reg * weights,
        "the penalty",
        [
            (
                reg * (weights + squares["b1"] + squares["b2"]),
                "the biases are not regularized: only W1 and W2",
            ),
            (weights, "multiply the sum of squares by reg"),
            (reg * squares["W1"], "the penalty covers W2 too: reg·(ΣW1² + ΣW2²)"),
            (
                0.5 * reg * weights,
                "this lesson's penalty is reg·ΣW² (gradient 2·reg·W), not 0.5·reg·ΣW²",
            ),
            (
                reg * (np.sqrt(squares["W1"]) + np.sqrt(squares["W2"])),
                "square the norms: ΣW² is the sum of the squared weights",
            ),
        ],
    )
    if not isinstance(grads, dict):
        raise Wrong(f"the gradients must be a dict (keys W1, W2), got {type(grads).__name__}")
    if not {"W1", "W2"} <= set(grads) <= set(params):
        raise Wrong(
            f"return the gradients of W1 and W2 (the biases are not regularized), got "
            f"the keys {sorted(grads)}"
        )
    for name in set(grads) - {"W1", "W2"}:
        if np.any(_array(grads[name], f"the gradient of {name}") != 0):
            raise Wrong(f"the gradient of {name} must be 0: the biases are not regularized")
    for name in ("W1", "W2"):
        W = params[name]
        _gradient(
            grads[name],
            2 * reg * W,
            name,
            [
                (reg * W, "the gradient of reg·W² is 2·reg·W, not reg·W"),
                (2 * W, "multiply the gradient by reg: 2·reg·W"),
            ],
            1e-6,
        )
