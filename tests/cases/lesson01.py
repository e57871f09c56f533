"""Right and wrong answers to notebook 01's exercises: backpropagation, a two-layer network."""

import math
from collections import deque

import numpy as np
from keras import ops

from dl_vision_labs import check
from tests.cases import Case, Wrong

# --- sigmoid_backward ------------------------------------------------------------------------


def sigmoid_product(s, upstream):  # the notebook's
    return upstream * s * (1 - s)


def sigmoid_expanded(s, upstream):
    return np.multiply(upstream, s - s**2)


def sigmoid_keras_ops(s, upstream):  # a tensor
    s = ops.convert_to_tensor(s, "float64")
    return ops.multiply(ops.convert_to_tensor(upstream, "float64"), s * (1.0 - s))


def sigmoid_from_logit(s, upstream):  # back to d, then σ(d)(1 − σ(d)) again
    d = np.log(s / (1 - s))
    sig = 1 / (1 + np.exp(-d))
    return upstream * sig * (1 - sig)


def sigmoid_no_upstream(s, upstream):
    return s * (1 - s)


def sigmoid_twice(s, upstream):
    sig = 1 / (1 + np.exp(-s))
    return upstream * sig * (1 - sig)


def sigmoid_tanh(s, upstream):
    return upstream * (1 - s**2)


def sigmoid_missing_s(s, upstream):
    return upstream * (1 - s)


def sigmoid_adds_upstream(s, upstream):
    return upstream + s * (1 - s)


def sigmoid_in_place(s, upstream):
    s *= 1 - s
    return upstream * s


def sigmoid_no_return(s, upstream):
    upstream * s * (1 - s)


# --- value: a Value class without backward, then backward() written six ways ------------------


class _Value:
    def __init__(self, data, _prev=(), _op=""):
        self.data, self.grad, self._prev, self._op = float(data), 0.0, _prev, _op
        self._backward = lambda: None

    def __add__(self, other):
        other = other if isinstance(other, _Value) else type(self)(other)
        out = type(self)(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, _Value) else type(self)(other)
        out = type(self)(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, k):
        out = type(self)(self.data**k, (self,), "**")

        def _backward():
            self.grad += k * self.data ** (k - 1) * out.grad

        out._backward = _backward
        return out

    def exp(self):
        out = type(self)(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __truediv__(self, other):
        return self * other**-1

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return type(self)(other) - self

    def __rtruediv__(self, other):
        return type(self)(other) / self

    def _post_order(self, seen=True):
        order, visited = [], set()

        def visit(node):
            if not seen or node not in visited:
                visited.add(node)
                for parent in node._prev:
                    visit(parent)
                order.append(node)

        visit(self)
        return order


class ValueRecursive(_Value):  # the notebook's
    def backward(self):
        order = self._post_order()
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            node._backward()


class ValueIterative(_Value):  # an explicit stack, ids instead of the nodes in the set
    def backward(self):
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, parents_done = stack.pop()
            if parents_done:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((p, False) for p in node._prev if id(p) not in seen)
        for node in order:
            node.grad = 0
        self.grad = 1
        for node in order[::-1]:
            node._backward()


class ValueKahn(_Value):  # count each node's users; run a node once all of them have run
    def backward(self):
        users, nodes, queue = {}, [], deque([self])
        seen = {id(self)}
        while queue:
            node = queue.popleft()
            nodes.append(node)
            for p in node._prev:
                users[id(p)] = users.get(id(p), 0) + 1
                if id(p) not in seen:
                    seen.add(id(p))
                    queue.append(p)
        for node in nodes:
            node.grad = 0.0
        self.grad = 1.0
        ready = deque([self])
        while ready:
            node = ready.popleft()
            node._backward()
            for p in node._prev:
                users[id(p)] -= 1
                if users[id(p)] == 0:
                    ready.append(p)


class ValueNoReset(_Value):
    def backward(self):
        self.grad = 1.0
        for node in reversed(self._post_order()):
            node._backward()


class ValueVisitsTwice(_Value):  # no set of visited nodes: shared nodes appear twice
    def backward(self):
        order = self._post_order(seen=False)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            node._backward()


class ValueBreadthFirst(_Value):  # the notebook's counter-example, with the reset
    def backward(self):
        for node in self._post_order():
            node.grad = 0.0
        self.grad = 1.0
        queue, done = [self], set()
        while queue:
            node = queue.pop(0)
            if node not in done:
                done.add(node)
                node._backward()
                queue.extend(node._prev)


class ValueNotReversed(_Value):
    def backward(self):
        order = self._post_order()
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in order:
            node._backward()


class ValueOneBeforeReset(_Value):
    def backward(self):
        self.grad = 1.0
        order = self._post_order()
        for node in order:
            node.grad = 0.0
        for node in reversed(order):
            node._backward()


class ValuePreOrder(_Value):  # appends a node before its parents: not a topological order
    def backward(self):
        order, seen = [], set()

        def visit(node):
            if node not in seen:
                seen.add(node)
                order.append(node)
                for parent in node._prev:
                    visit(parent)

        visit(self)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            node._backward()


# --- two_layer_forward, two_layer_backward, l2_regularization ---------------------------------


def forward_vectorized(params, X):  # the notebook's
    hidden = np.maximum(0, X @ params["W1"] + params["b1"])
    return hidden @ params["W2"] + params["b2"], (X, hidden)


def forward_where(params, X):
    z = np.dot(X, params["W1"]) + params["b1"]
    hidden = np.where(z > 0, z, 0.0)
    return np.dot(hidden, params["W2"]) + params["b2"], (X, hidden)


def forward_loops(params, X):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    hidden = np.zeros((len(X), W1.shape[1]))
    scores = np.zeros((len(X), W2.shape[1]))
    for i, x in enumerate(X):
        for j in range(W1.shape[1]):
            hidden[i, j] = max(0.0, x @ W1[:, j] + b1[j])
        for c in range(W2.shape[1]):
            scores[i, c] = hidden[i] @ W2[:, c] + b2[c]
    return scores, (X, hidden)


def forward_keras_ops(params, X):  # tensors
    hidden = ops.relu(ops.matmul(X, params["W1"]) + params["b1"])
    return ops.matmul(hidden, params["W2"]) + params["b2"], (X, hidden)


def forward_no_relu(params, X):  # the old test's wrong answer
    return X @ params["W1"] @ params["W2"] + params["b2"], None


def forward_without_relu(params, X):
    hidden = X @ params["W1"] + params["b1"]
    return hidden @ params["W2"] + params["b2"], (X, hidden)


def forward_relu_on_scores(params, X):
    hidden = np.maximum(0, X @ params["W1"] + params["b1"])
    return np.maximum(0, hidden @ params["W2"] + params["b2"]), (X, hidden)


def forward_no_b1(params, X):
    hidden = np.maximum(0, X @ params["W1"])
    return hidden @ params["W2"] + params["b2"], (X, hidden)


def forward_b1_after_relu(params, X):
    hidden = np.maximum(0, X @ params["W1"]) + params["b1"]
    return hidden @ params["W2"] + params["b2"], (X, hidden)


def forward_caches_pre_activation(params, X):
    hidden = X @ params["W1"] + params["b1"]
    return np.maximum(0, hidden) @ params["W2"] + params["b2"], (X, hidden)


def forward_no_return(params, X):
    np.maximum(0, X @ params["W1"] + params["b1"])


def backward_notebook(params, dscores, cache):
    X, hidden = cache
    grads = {"W2": hidden.T @ dscores, "b2": dscores.sum(axis=0)}
    dhidden = dscores @ params["W2"].T
    dhidden[hidden <= 0] = 0
    grads["W1"] = X.T @ dhidden
    grads["b1"] = dhidden.sum(axis=0)
    return grads


def backward_pre_activation_mask(params, dscores, cache):  # z >= 0 or z > 0: the same
    X, hidden = cache
    z = X @ params["W1"] + params["b1"]
    dz = (dscores @ params["W2"].T) * (z >= 0)
    return {
        "W1": X.T @ dz,
        "b1": dz.sum(axis=0),
        "W2": hidden.T @ dscores,
        "b2": dscores.sum(axis=0),
    }


def backward_einsum(params, dscores, cache):
    X, hidden = cache
    dz = np.einsum("nc,hc->nh", dscores, params["W2"]) * (hidden > 0)
    return {
        "W2": np.einsum("nh,nc->hc", hidden, dscores),
        "b2": np.einsum("nc->c", dscores),
        "W1": np.einsum("nd,nh->dh", X, dz),
        "b1": np.einsum("nh->h", dz),
    }


def backward_keras_ops(params, dscores, cache):  # tensors
    X, hidden = cache
    dz = ops.matmul(dscores, ops.transpose(params["W2"])) * ops.cast(hidden > 0, "float64")
    return {
        "W2": ops.matmul(ops.transpose(hidden), dscores),
        "b2": ops.sum(dscores, axis=0),
        "W1": ops.matmul(ops.transpose(X), dz),
        "b1": ops.sum(dz, axis=0),
    }


def _backward_with(params, dscores, cache, mask="right"):
    X, hidden = cache
    dhidden = dscores @ params["W2"].T
    if mask == "right":
        dhidden = dhidden * (hidden > 0)
    elif mask == "inverted":
        dhidden = dhidden * (hidden <= 0)
    elif mask == "post_relu_ge":
        dhidden = dhidden * (hidden >= 0)
    return {
        "W2": hidden.T @ dscores,
        "b2": dscores.sum(axis=0),
        "W1": X.T @ dhidden,
        "b1": dhidden.sum(axis=0),
    }


def backward_no_mask(params, dscores, cache):
    return _backward_with(params, dscores, cache, mask="none")


def backward_mask_hidden_ge_0(params, dscores, cache):  # hidden ≥ 0 always: no mask at all
    return _backward_with(params, dscores, cache, mask="post_relu_ge")


def backward_inverted_mask(params, dscores, cache):
    return _backward_with(params, dscores, cache, mask="inverted")


def backward_db_not_summed(params, dscores, cache):
    return {**_backward_with(params, dscores, cache), "b2": dscores}


def backward_db_mean(params, dscores, cache):
    return {**_backward_with(params, dscores, cache), "b2": dscores.mean(axis=0)}


def backward_b1_zero(params, dscores, cache):  # the old test's wrong answer
    return {**_backward_with(params, dscores, cache), "b1": 0 * params["b1"]}


def backward_dW2_transposed(params, dscores, cache):
    return {**_backward_with(params, dscores, cache), "W2": dscores.T @ cache[1]}


def backward_no_return(params, dscores, cache):
    _backward_with(params, dscores, cache)


def l2_notebook(params, reg):
    loss = reg * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))
    return loss, {"W1": 2 * reg * params["W1"], "W2": 2 * reg * params["W2"]}


def l2_norms_and_zero_bias_grads(params, reg):  # zero gradients for the biases change nothing
    loss = reg * (np.linalg.norm(params["W1"]) ** 2 + np.linalg.norm(params["W2"]) ** 2)
    grads = {k: (2 * reg * v if k.startswith("W") else np.zeros_like(v)) for k, v in params.items()}
    return loss, grads


def l2_keras_ops(params, reg):  # tensors
    loss = sum(reg * ops.sum(ops.square(params[k])) for k in ("W1", "W2"))
    return loss, {k: ops.multiply(2.0 * reg, params[k]) for k in ("W1", "W2")}


def l2_vdot(params, reg):
    return (
        reg * sum(float(np.vdot(params[k], params[k])) for k in ("W1", "W2")),
        {k: params[k] * (2 * reg) for k in ("W1", "W2")},
    )


def l2_half_gradient(params, reg):  # the old test's wrong answer
    return l2_notebook(params, reg)[0], {k: reg * params[k] for k in ("W1", "W2")}


def l2_with_biases(params, reg):
    return (
        reg * sum(np.sum(v**2) for v in params.values()),
        {k: 2 * reg * v for k, v in params.items()},
    )


def l2_without_reg(params, reg):
    return np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2), l2_notebook(params, reg)[1]


def l2_only_W1(params, reg):
    return reg * np.sum(params["W1"] ** 2), {"W1": 2 * reg * params["W1"], "W2": 0 * params["W2"]}


def l2_gradient_without_reg(params, reg):
    return l2_notebook(params, reg)[0], {k: 2 * params[k] for k in ("W1", "W2")}


def l2_norms_not_squared(params, reg):
    return (
        reg * (np.linalg.norm(params["W1"]) + np.linalg.norm(params["W2"])),
        l2_notebook(params, reg)[1],
    )


def l2_decays_in_place(params, reg):  # "weight decay" applied to the caller's weights
    loss, grads = l2_notebook(params, reg)
    for k in ("W1", "W2"):
        params[k] -= grads[k]
    return loss, grads


def l2_no_return(params, reg):
    l2_notebook(params, reg)


def _lesson_softmax_loss(scores, y):  # notebook 01's own
    n = len(y)
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    dscores = np.exp(log_p)
    dscores[np.arange(n), y] -= 1
    return -log_p[np.arange(n), y].mean(), dscores / n


CASES = {
    "sigmoid_backward": Case(
        run=check.sigmoid_backward,
        right=[sigmoid_product, sigmoid_expanded, sigmoid_keras_ops, sigmoid_from_logit],
        wrong=[
            Wrong(sigmoid_no_upstream, r"ignores the upstream", "no upstream"),
            Wrong(sigmoid_twice, r"s is already σ\(d\)", "σ applied to the output again"),
            Wrong(sigmoid_tanh, r"derivative of tanh", "1 − s²"),
            Wrong(sigmoid_missing_s, r"a factor s is missing", "upstream·(1 − s)"),
            Wrong(sigmoid_adds_upstream, r"do not add", "upstream + s(1 − s)"),
            Wrong(sigmoid_in_place, r"changed its input s in place", "s *= 1 − s"),
            Wrong(sigmoid_no_return, r"returned None", "no return"),
        ],
    ),
    "value": Case(
        run=check.value,
        right=[ValueRecursive, ValueIterative, ValueKahn],
        wrong=[
            Wrong(
                ValueNoReset, r"changed after a second backward\(\).*reset every", "grads not reset"
            ),
            Wrong(ValueVisitsTwice, r"ran more than once", "no set of visited nodes"),
            Wrong(ValueBreadthFirst, r"reverse topological order", "breadth first"),
            Wrong(
                ValueNotReversed, r"reverse topological order", "topological order, not reversed"
            ),
            Wrong(
                ValueOneBeforeReset,
                r"own grad is 0 after backward\(\): set self.grad = 1.0",
                "self.grad = 1 before the reset",
            ),
            Wrong(
                ValuePreOrder, r"reverse topological order", "a node appended before its parents"
            ),
        ],
    ),
    "two_layer_forward": Case(
        run=check.two_layer_forward,
        right=[forward_vectorized, forward_where, forward_loops, forward_keras_ops],
        wrong=[
            Wrong(forward_no_relu, r"the scores differs.*no ReLU and no b1", "no ReLU, no b1"),
            Wrong(forward_without_relu, r"no ReLU", "no ReLU"),
            Wrong(forward_relu_on_scores, r"no ReLU after the last layer", "ReLU on the scores"),
            Wrong(forward_no_b1, r"b1 is missing", "no b1"),
            Wrong(forward_b1_after_relu, r"add b1 before the ReLU", "b1 after the ReLU"),
            Wrong(
                forward_caches_pre_activation,
                r"before the ReLU; cache hidden",
                "the cache holds X·W1 + b1",
            ),
            Wrong(forward_no_return, r"return \(scores, cache\)", "no return"),
        ],
    ),
    "two_layer_backward": Case(
        run=lambda fn: check.two_layer_backward(fn, forward_vectorized, _lesson_softmax_loss),
        right=[
            backward_notebook,
            backward_pre_activation_mask,
            backward_einsum,
            backward_keras_ops,
        ],
        wrong=[
            Wrong(backward_no_mask, r"mask is missing", "no ReLU mask"),
            Wrong(backward_mask_hidden_ge_0, r"mask is missing", "hidden >= 0 keeps everything"),
            Wrong(backward_inverted_mask, r"mask is inverted", "hidden > 0 zeroed"),
            Wrong(
                backward_db_not_summed,
                r"b2 has shape \(5, 3\).*sum over the examples",
                "db2 not summed over the batch",
            ),
            Wrong(backward_db_mean, r"sum of dscores over the batch, not the mean", "db2 mean"),
            Wrong(backward_b1_zero, r"b1", "db1 = 0"),
            Wrong(
                backward_dW2_transposed, r"W2 has shape \(3, 6\).*transposed", "dscores.T @ hidden"
            ),
            Wrong(backward_no_return, r"return a dict.*NoneType", "no return"),
        ],
    ),
    "l2_regularization": Case(
        run=check.l2_regularization,
        right=[l2_notebook, l2_norms_and_zero_bias_grads, l2_keras_ops, l2_vdot],
        wrong=[
            Wrong(l2_half_gradient, r"on W1: the gradient of reg·W² is 2·reg·W", "reg·W"),
            Wrong(l2_with_biases, r"biases are not regularized", "biases in the penalty"),
            Wrong(l2_without_reg, r"multiply the sum of squares by reg", "no reg"),
            Wrong(l2_only_W1, r"covers W2 too", "W1 only"),
            Wrong(l2_gradient_without_reg, r"multiply the gradient by reg", "2·W"),
            Wrong(l2_norms_not_squared, r"square the norms", "‖W‖ not squared"),
            Wrong(l2_decays_in_place, r"changed its input W1 in place", "W -= grad"),
            Wrong(l2_no_return, r"return \(loss, grads\)", "no return"),
        ],
    ),
}
