"""Notebook 01's hand-written backpropagation equals TensorFlow's gradients.

The `Value` class (cell tagged ``value-class``) and the numpy two-layer network
(cells tagged ``two-layer-net``) are defined once, in the notebook, where students
read and edit them; these tests execute those cells and compare their gradients with
``tf.GradientTape`` on random inputs. Also the package functions the notebook added:
`classic.spiral`, `plots.plot_decision_boundary` and `plots.plot_graph`.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from dl_vision_labs import classic, plots  # noqa: E402
from tools import notebooks  # noqa: E402

NOTEBOOK = notebooks.NOTEBOOKS / "01_backpropagation_two_layer_network.ipynb"


def _cells(tag: str) -> dict:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cells = notebooks.tagged(nb, tag)
    assert cells, f"notebook 01 has no cell tagged {tag!r}"
    namespace = {"np": np}
    for i, cell in enumerate(cells):
        exec(compile(cell.source, f"{NOTEBOOK.name}[{tag} {i}]", "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def Value():
    return _cells("value-class")["Value"]


@pytest.fixture(scope="module")
def net():
    return _cells("two-layer-net")


# --- the Value class -------------------------------------------------------------------


def _expression(a, b, c, *, exp, relu, sigmoid, maximum):
    """Every operation of Value, with inputs used several times (the same code runs on
    Values and on TensorFlow tensors)."""
    u = a * b + c
    v = relu(u) * exp(a * 0.5) - b / (c * c + 1.0)
    w = maximum(v, a * c) + sigmoid(-u) * 3.0
    return w * w - 2.0 * a + (1.0 - c) ** 2 / (b**2 + 0.5)


def _tf_gradients(values):
    variables = [tf.Variable(v, dtype=tf.float64) for v in values]
    with tf.GradientTape() as tape:
        out = _expression(
            *variables, exp=tf.exp, relu=tf.nn.relu, sigmoid=tf.sigmoid, maximum=tf.maximum
        )
    return float(out), [float(g) for g in tape.gradient(out, variables)]


@pytest.mark.parametrize("seed", range(8))
def test_value_gradients_equal_tensorflow(Value, seed):
    values = np.random.default_rng(seed).normal(size=3)
    nodes = [Value(v) for v in values]
    out = _expression(
        *nodes,
        exp=lambda t: t.exp(),
        relu=lambda t: t.relu(),
        sigmoid=lambda t: t.sigmoid(),
        maximum=lambda s, t: s.max(t),
    )
    out.backward()
    want_value, want_grads = _tf_gradients(values)
    assert out.data == pytest.approx(want_value, rel=1e-12)
    np.testing.assert_allclose([n.grad for n in nodes], want_grads, rtol=1e-9, atol=1e-12)


def test_value_backward_twice_gives_the_same_gradients(Value):
    x = Value(0.5)
    a = 2 * x
    f = a * a.exp()  # a is used twice
    f.backward()
    first = x.grad
    f.backward()
    assert x.grad == first == pytest.approx(2 * (1 + 2 * 0.5) * np.exp(1.0))


def test_value_reproduces_the_lecture_numbers(Value):
    x, y, z = Value(-2.0), Value(5.0), Value(-4.0)
    f = (x + y) * z
    f.backward()
    assert (f.data, x.grad, y.grad, z.grad) == (-12.0, -4.0, -4.0, 3.0)
    w0, x0, w1, x1, w2 = (Value(v) for v in (2.0, -1.0, -3.0, -2.0, -3.0))
    out = 1 / (1 + (-(w0 * x0 + w1 * x1 + w2)).exp())
    out.backward()
    assert out.data == pytest.approx(0.7311, abs=1e-4)
    np.testing.assert_allclose(
        [w0.grad, x0.grad, w1.grad, x1.grad, w2.grad],
        [-0.1966, 0.3932, -0.3932, -0.5898, 0.1966],
        atol=1e-4,
    )


# --- the numpy two-layer network ------------------------------------------------------


def _tf_loss_and_gradients(params, X, y, reg):
    variables = {k: tf.Variable(v, dtype=tf.float64) for k, v in params.items()}
    with tf.GradientTape() as tape:
        hidden = tf.nn.relu(X @ variables["W1"] + variables["b1"])
        scores = hidden @ variables["W2"] + variables["b2"]
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, scores))
        loss += reg * (tf.reduce_sum(variables["W1"] ** 2) + tf.reduce_sum(variables["W2"] ** 2))
    grads = tape.gradient(loss, variables)
    return float(loss), {k: g.numpy() for k, g in grads.items()}


@pytest.mark.parametrize("seed", range(5))
def test_two_layer_gradients_equal_tensorflow(net, seed):
    rng = np.random.default_rng(seed)
    n, d, h, c = 7, 5, 9, 4
    params = net["init_two_layer"](d, h, c, seed=seed)
    params["b1"] = rng.normal(size=h)
    params["b2"] = rng.normal(size=c)
    X, y = rng.normal(size=(n, d)) * 3, rng.integers(0, c, size=n)
    reg = float(rng.uniform(0, 0.5))
    loss, grads = net["two_layer_loss"](params, X, y, reg)
    want_loss, want = _tf_loss_and_gradients(params, X, y, reg)
    assert loss == pytest.approx(want_loss, rel=1e-10)
    assert set(grads) == {"W1", "b1", "W2", "b2"}
    for name, grad in grads.items():
        assert grad.shape == params[name].shape
        np.testing.assert_allclose(grad, want[name], rtol=1e-8, atol=1e-12, err_msg=name)


def test_two_layer_forward_scores_and_softmax_loss(net):
    rng = np.random.default_rng(0)
    params = net["init_two_layer"](6, 8, 3, seed=0)
    X, y = rng.normal(size=(10, 6)), rng.integers(0, 3, size=10)
    scores, _ = net["two_layer_forward"](params, X)
    want = np.maximum(0, X @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"]
    np.testing.assert_allclose(scores, want)
    big = scores * 1e4  # large scores must not overflow
    loss, dscores = net["softmax_loss"](big, y)
    assert np.isfinite(loss) and np.all(np.isfinite(dscores))
    np.testing.assert_allclose(dscores.sum(axis=1), 0, atol=1e-12)


def test_two_layer_gradient_check_passes_in_float64(net):
    rng = np.random.default_rng(3)
    params = net["init_two_layer"](4, 10, 3, seed=3)
    X, y = rng.normal(size=(5, 4)), np.array([0, 1, 2, 2, 1])
    _, grads = net["two_layer_loss"](params, X, y, 0.05)
    for name in params:
        numerical = classic.numerical_gradient(
            lambda: net["two_layer_loss"](params, X, y, 0.05)[0], params[name]
        )
        assert classic.relative_error(grads[name], numerical) < 1e-7, name


def test_float32_parameters_stay_float32(net):
    params = net["init_two_layer"](12, 5, 3, seed=0, dtype=np.float32)
    X = np.ones((4, 12), dtype=np.float32)
    _, grads = net["two_layer_loss"](params, X, np.array([0, 1, 2, 0]), 1e-3)
    assert all(g.dtype == np.float32 for g in grads.values())


# --- package functions ----------------------------------------------------------------


def test_spiral_shapes_classes_and_seed():
    X, y = classic.spiral(50, classes=4, seed=1)
    assert X.shape == (200, 2) and X.dtype == np.float64
    assert y.dtype == np.int64 and np.array_equal(np.bincount(y), [50] * 4)
    assert np.all(np.linalg.norm(X, axis=1) <= 1 + 1e-12)
    X2, y2 = classic.spiral(50, classes=4, seed=1)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    assert not np.array_equal(X, classic.spiral(50, classes=4, seed=2)[0])
    with pytest.raises(ValueError, match="at least 2"):
        classic.spiral(1)


def test_spiral_is_not_linearly_separable():
    X, y = classic.spiral(300, seed=0)
    A = np.c_[X, np.ones(len(X))]
    W = np.linalg.lstsq(A, np.eye(3)[y], rcond=None)[0]  # one least-squares line per class
    assert np.mean((A @ W).argmax(axis=1) == y) < 0.65


def test_plot_decision_boundary_accepts_labels_or_scores():
    X, y = classic.spiral(20, seed=0)
    fig = plots.plot_decision_boundary(
        lambda P: (P[:, 0] > 0).astype(int), X, y, resolution=20, title="labels"
    )
    assert fig.axes[0].get_title() == "labels"
    _, ax = plt.subplots()
    fig2 = plots.plot_decision_boundary(
        lambda P: np.c_[P, -P.sum(axis=1)], X, y, ax=ax, resolution=20
    )
    assert fig2 is ax.figure
    plt.close("all")


def test_plot_graph_draws_every_node(Value):
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    out = (a * b + a).relu() + 1
    out.backward()
    fig = plots.plot_graph(out)
    texts = [t.get_text() for t in fig.axes[0].texts]
    for node_label in ["a", "b"]:
        assert node_label in texts
    assert "-3" in texts and "1" in texts  # a's value... and out's gradient
    layers = plots.diagnostics._graph_layers(out)
    assert sum(len(layer) for layer in layers) == 7  # a, b, a·b, +a, relu, 1, +1
    assert layers[-1] == [out]
    plt.close("all")
