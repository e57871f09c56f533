"""Exercises: the generator (tools/exercises.py), the checks (dl_vision_labs.check) and the
exercise notebooks in exercises/ (current, clean, and each runs with every check unfilled)."""

import json

import keras
import nbformat
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from dl_vision_labs import check, environment
from tools import exercises, notebooks, runner

LESSONS = exercises.lesson_paths()
EXERCISES = exercises.exercise_paths()


# --- the generator ---------------------------------------------------------------------

LESSON_CELL = '''import numpy as np

def softmax(s):
    """Probabilities of each row of scores."""
    e = np.exp(s)
    ### BEGIN SOLUTION
    return e / e.sum(axis=1, keepdims=True)
    ### END SOLUTION

class Layer:
    def call(self, x):
        ### BEGIN SOLUTION
        y = 2 * x
        return y
        ### END SOLUTION
'''


def test_student_code_keeps_signature_and_docstring_and_raises():
    student, names = exercises.student_code(LESSON_CELL)
    assert names == ["softmax", "layer"]  # a method: its class names the exercise
    assert "BEGIN SOLUTION" not in student and "e.sum(axis=1" not in student
    assert (
        '    """Probabilities of each row of scores."""\n    e = np.exp(s)\n    # TODO' in student
    )
    assert "        raise NotImplementedError(\"exercise 'layer' is not filled in yet\")" in student
    namespace = {}
    exec(student, namespace)  # defining the functions does not fail...
    with pytest.raises(NotImplementedError) as err:  # ...calling one does, naming it
        namespace["softmax"](np.ones((2, 3)))
    assert check.exercise_of(err.value) == "softmax"
    assert exercises.solution_lines(LESSON_CELL) == [
        "return e / e.sum(axis=1, keepdims=True)",
        "y = 2 * x",
        "return y",
    ]


@pytest.mark.parametrize(
    "source, message",
    [
        ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", "inside a function"),
        ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", "without ### END"),
        ("def f():\n    return 1\n    ### END SOLUTION\n", "without a matching"),
        ("def f():\n    ### BEGIN SOLUTION  (x)\n    return 1\n", "alone on its line"),
    ],
)
def test_bad_markup_is_refused(source, message):
    with pytest.raises(exercises.MarkupError, match=message):
        exercises.student_code(source)


def test_markdown_answers_are_hidden():
    text = "Why?\n<!-- BEGIN SOLUTION -->\nBecause.\n<!-- END SOLUTION -->\nNext."
    assert exercises.student_markdown(text) == f"Why?\n{exercises.MD_ANSWER}\nNext."


def test_lesson_problems_wants_a_check_after_each_hole():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "def vote(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION"
            ),
            nbformat.v4.new_code_cell("print(1)"),
        ]
    )
    assert exercises.lesson_problems(nb) == [
        "notebook: the code cell after exercise 'vote' must call check.vote(...)"
    ]
    nb.cells[1].source = "check.vote(vote)"
    assert exercises.lesson_problems(nb) == []


# --- the lessons' exercises and the committed exercises/ --------------------------------


def test_exercises_folder_is_what_the_generator_makes():
    assert LESSONS, "no lesson has exercises"
    assert exercises.stale() == [], "run `make exercises` (python -m tools exercises sync)"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_exercises_follow_the_conventions(path):
    nb = nbformat.read(path, as_version=4)
    assert exercises.lesson_problems(nb, path.name) == []
    names = [n for _, n in exercises.holes(nb)]
    assert 3 <= len(names) <= 6, f"{path.name} has {len(names)} exercises: {names}"
    for name in names:
        assert name in check.HINTS, f"exercise '{name}' has no hint in check.HINTS"
        assert callable(getattr(check, name, None)), f"no check.{name}"


def test_exercise_names_are_unique_in_the_course():
    names = [n for p in LESSONS for _, n in exercises.holes(nbformat.read(p, as_version=4))]
    assert len(names) == len(set(names)), names


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.stem)
def test_exercise_notebook_is_clean_and_holds_no_solution(path):
    assert exercises.problems(path) == []
    lesson = nbformat.read(notebooks.NOTEBOOKS / path.name, as_version=4)
    solved = {
        line
        for c in lesson.cells
        if c.cell_type == "code"
        for line in exercises.solution_lines(c.source)
    }
    elsewhere = {
        line.strip()
        for c in lesson.cells
        if c.cell_type == "code"
        for line in exercises.student_code(c.source)[0].splitlines()
    }
    student = {
        line.strip()
        for c in nbformat.read(path, as_version=4).cells
        if c.cell_type == "code"
        for line in c.source.splitlines()
    }
    survived = (solved - elsewhere) & student
    assert not survived, f"solution lines in {path.name}: {sorted(survived)}"


def test_readme_lists_every_exercise_in_its_lesson_row():
    lines = (notebooks.ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index("| lesson | exercises |")
    table = [line for line in lines[start + 2 :] if line.startswith("|")]
    table = table[
        : next(
            (i for i, line in enumerate(lines[start + 2 :]) if not line.startswith("|")), len(table)
        )
    ]
    for path in LESSONS:
        row = next((line for line in table if line.startswith(f"| {path.name[:2]} ")), None)
        assert row, f"README's exercise table has no row for {path.name}"
        for _, name in exercises.holes(nbformat.read(path, as_version=4)):
            assert f"`{name}`" in row, f"README's row for {path.name[:2]} misses `{name}`"


def test_badges_list_lessons_and_exercises_side_by_side():
    text = notebooks.badges_file_text()
    for path in EXERCISES:
        row = next(line for line in text.splitlines() if f"notebooks/{path.name}" in line)
        repository = notebooks.settings()["repository"]
        assert (
            f"(https://colab.research.google.com/github/{repository}/blob/main/exercises/"
            f"{path.name})"
        ) in row


# --- the checks ------------------------------------------------------------------------


def _svm(W, b, X, y, reg):
    n = len(X)
    S = X @ W + b
    M = np.maximum(0, S - S[np.arange(n), y][:, None] + 1)
    M[np.arange(n), y] = 0
    G = (M > 0).astype(float)
    G[np.arange(n), y] = -G.sum(axis=1)
    G /= n
    return M.sum() / n + reg * np.sum(W**2), X.T @ G + 2 * reg * W, G.sum(axis=0)


def _softmax_loss(W, b, X, y, reg):
    n = len(X)
    S = X @ W + b
    P = np.exp(S - S.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    loss = -np.log(P[np.arange(n), y]).mean() + reg * np.sum(W**2)
    P[np.arange(n), y] -= 1
    return loss, X.T @ P / n + 2 * reg * W, P.sum(axis=0) / n


def _vote(labels, classes=10):
    out = []
    for row in labels:
        counts = np.bincount(row, minlength=classes)
        out.append(next(v for v in row if counts[v] == counts.max()))
    return np.array(out)


def _five_layer(activation, dropout_rate=0.0, last_dropout=False):
    import keras

    stack = [keras.Input(shape=(28, 28, 1)), keras.layers.Flatten()]
    for width in (200, 100, 60, 30):
        stack += [keras.layers.Dense(width), keras.layers.Activation(activation)]
        stack += [keras.layers.Dropout(dropout_rate)] if dropout_rate else []
    stack += [keras.layers.Dense(10, activation="softmax")]
    stack += [keras.layers.Dropout(dropout_rate)] if last_dropout and dropout_rate else []
    return keras.Sequential(stack)


class _NoMovingAverage(keras.layers.BatchNormalization):  # batch statistics at test time too
    def call(self, x, training=False):
        return super().call(x, training=True)


def _unfreeze_top(backbone, first):
    backbone.trainable = True
    for layer in backbone.layers[:first]:
        layer.trainable = False
    for layer in backbone.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False


def _gan_class(right):
    """A minimal GAN with the notebook's interface; `right=False` forgets the generator."""
    from keras import ops

    from dl_vision_labs import adversarial

    class GAN(adversarial.AdversarialModel):
        def __init__(self, generator, discriminator, latent_dim, d_steps=1, seed=None):
            super().__init__(generator, discriminator, latent_dim, seed=seed)
            self.d_steps = d_steps

        def adversarial_step(self, real):
            n = ops.shape(real)[0]
            for _ in range(self.d_steps):
                fake = self.generator(self.noise(n))
                self.minimize(
                    lambda: (
                        ops.mean(ops.softplus(-self.discriminator(real)))
                        + ops.mean(ops.softplus(self.discriminator(fake)))
                    ),
                    self.discriminator,
                    self.d_optimizer,
                )
            if right:
                self.minimize(
                    lambda: ops.mean(
                        ops.softplus(-self.discriminator(self.generator(self.noise(n))))
                    ),
                    self.generator,
                    self.g_optimizer,
                )
            return {"d_steps": self.d_steps}

    return GAN


def _tf_cases():
    import tensorflow as tf

    W, b = tf.Variable(tf.zeros([784, 10])), tf.Variable(tf.zeros([10]))
    lr = 0.5

    def right_step(X, Y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(Y, X @ W + b))
        dW, db = tape.gradient(loss, [W, b])
        W.assign_sub(lr * dW)
        b.assign_sub(lr * db)

    def uphill_step(X, Y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(Y, X @ W + b))
        W.assign_add(lr * tape.gradient(loss, W))

    return {
        "model": (
            lambda fn: check.model(fn, W, b),
            lambda X: tf.nn.softmax(X @ W + b),
            lambda X: tf.exp(X @ W + b),
            "rows do not sum to 1",
        ),
        "cross_entropy": (
            check.cross_entropy,
            lambda Yt, Y: -tf.reduce_sum(Yt * tf.math.log(Y), axis=-1),
            lambda Yt, Y: -tf.reduce_mean(Yt * tf.math.log(Y)),
            "one number for the batch",
        ),
        "train_step": (
            lambda fn: check.train_step(tf.function(fn), W, b, lr),
            right_step,
            uphill_step,
            "moved up the gradient",
        ),
    }


# Notebook 01's exercises: references written here, another way than the notebook's cells.


def _sigmoid_backward(s, upstream):
    return upstream * s * (1 - s)


def _forward(params, X):
    hidden = np.maximum(0, X @ params["W1"] + params["b1"])
    return hidden @ params["W2"] + params["b2"], (X, hidden)


def _backward(params, dscores, cache):
    X, hidden = cache
    dhidden = (dscores @ params["W2"].T) * (hidden > 0)
    return {
        "W2": hidden.T @ dscores,
        "b2": dscores.sum(axis=0),
        "W1": X.T @ dhidden,
        "b1": dhidden.sum(axis=0),
    }


def _softmax_grad(scores, y):
    p = np.exp(scores - scores.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    n = len(y)
    d = p.copy()
    d[np.arange(n), y] -= 1
    return -np.log(p[np.arange(n), y]).mean(), d / n


def _l2(params, reg):
    return (
        reg * sum(float(np.sum(params[k] ** 2)) for k in ("W1", "W2")),
        {k: 2 * reg * params[k] for k in ("W1", "W2")},
    )


def _value_class(reset: bool):
    """A scalar autodiff `Value`; `reset=False` forgets to zero the gradients first."""

    class Value:
        def __init__(self, data, _prev=(), _backward=lambda: None):
            self.data, self.grad, self._prev, self._backward = float(data), 0.0, _prev, _backward

        def _lift(self, other):
            return other if isinstance(other, Value) else Value(other)

        def __add__(self, other):
            other = self._lift(other)
            out = Value(self.data + other.data, (self, other))

            def backward():
                self.grad += out.grad
                other.grad += out.grad

            out._backward = backward
            return out

        def __mul__(self, other):
            other = self._lift(other)
            out = Value(self.data * other.data, (self, other))

            def backward():
                self.grad += other.data * out.grad
                other.grad += self.data * out.grad

            out._backward = backward
            return out

        def __pow__(self, k):
            out = Value(self.data**k, (self,))

            def backward():
                self.grad += k * self.data ** (k - 1) * out.grad

            out._backward = backward
            return out

        def exp(self):
            out = Value(np.exp(self.data), (self,))

            def backward():
                self.grad += out.data * out.grad

            out._backward = backward
            return out

        __radd__ = __add__
        __rmul__ = __mul__

        def __neg__(self):
            return self * -1

        def __sub__(self, other):
            return self + (-self._lift(other))

        def __truediv__(self, other):
            return self * self._lift(other) ** -1

        def backward(self):
            order, seen = [], set()

            def visit(node):
                if id(node) not in seen:
                    seen.add(id(node))
                    for child in node._prev:
                        visit(child)
                    order.append(node)

            visit(self)
            if reset:
                for node in order:
                    node.grad = 0.0
            self.grad = 1.0
            for node in reversed(order):
                node._backward()

    return Value


def _conv_loops(flip: bool):
    def conv(image, kernel):
        kernel = kernel[::-1, ::-1] if flip else kernel
        F, G = kernel.shape
        return np.array(
            [
                [
                    np.sum(image[y : y + F, x : x + G] * kernel)
                    for x in range(image.shape[1] - G + 1)
                ]
                for y in range(image.shape[0] - F + 1)
            ]
        )

    return conv


def _conv2d(x, kernels, stride=1, padding="valid"):
    F = kernels.shape[0]
    if padding == "same":
        pads = []
        for size in x.shape[:2]:
            total = max((-(-size // stride) - 1) * stride + F - size, 0)
            pads.append((total // 2, total - total // 2))
        x = np.pad(x, pads + [(0, 0)])
    windows = sliding_window_view(x, (F, F), axis=(0, 1))[::stride, ::stride]
    return np.einsum("hwcab,abco->hwo", windows, kernels)


def _gauss(normalized: bool):
    def kernel(size, sigma):
        r = np.arange(size) - size // 2
        g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma**2))
        return g / g.sum() if normalized else g

    return kernel


def _conv_block(pool_first: bool):
    def block(x, filters):
        if pool_first:
            x = keras.layers.MaxPooling2D()(x)
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        if not pool_first:
            x = keras.layers.MaxPooling2D()(x)
        x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        return keras.layers.ReLU()(keras.layers.BatchNormalization()(x))

    return block


def _iou(t, p, c):
    union = np.sum((t == c) | (p == c))
    return np.sum((t == c) & (p == c)) / union if union else np.nan


def _skip(scores, features, classes):
    up = keras.layers.Conv2DTranspose(classes, 4, strides=2, padding="same")(scores)
    return up + keras.layers.Conv2D(classes, 1)(features)


def _atrous(parallel: bool):
    def block(x, filters, rates):
        branches, h = [], x
        for rate in rates:  # the wrong one chains them: each reads the previous one
            h = keras.layers.Conv2D(filters, 3, padding="same", dilation_rate=rate, use_bias=False)(
                x if parallel else h
            )
            branches.append(h)
        x = keras.layers.Concatenate()(branches)
        return keras.layers.ReLU()(keras.layers.BatchNormalization()(x))

    return block


def _cases():
    return {
        "l2_distances": (
            check.l2_distances,
            lambda A, B: np.linalg.norm(A[:, None] - B[None], axis=-1),
            lambda A, B: ((A[:, None] - B[None]) ** 2).sum(-1),
            "differs from the reference",
        ),
        "vote": (
            check.vote,
            _vote,
            lambda labels, classes=10: np.array(
                [np.bincount(r, minlength=classes).argmax() for r in labels]
            ),
            "a tie goes to the class of the nearest",
        ),
        "svm_loss": (
            check.svm_loss,
            _svm,
            lambda W, b, X, y, reg: (*_svm(W, b, X, y, reg)[:2], 0 * b),
            "gradient differs from the numerical one",
        ),
        "softmax_loss": (
            check.softmax_loss,
            _softmax_loss,
            lambda W, b, X, y, reg: (
                _softmax_loss(W, b, X, y, 0)[0],
                *_softmax_loss(W, b, X, y, reg)[1:],
            ),
            "the loss differs",
        ),
        "conv_output_size": (
            check.conv_output_size,
            lambda W, F, S, two_p: (W - F + two_p) // S + 1,
            lambda W, F, S, two_p: (W - F + two_p) / S + 1,
            "a whole number",
        ),
        "conv_params": (
            check.conv_params,
            lambda F, c_in, c_out: (F * F * c_in + 1) * c_out,
            lambda F, c_in, c_out: F * F * c_in * c_out,
            "Keras counts",
        ),
        "dense_params": (
            check.dense_params,
            lambda n_in, n_out: (n_in + 1) * n_out,
            lambda n_in, n_out: n_in * n_out,
            "Keras counts",
        ),
        "five_layer_model": (
            check.five_layer_model,
            _five_layer,
            lambda activation, dropout_rate=0.0: _five_layer(
                activation, dropout_rate, last_dropout=True
            ),
            "none the output",
        ),
        "decayed_learning_rate": (
            check.decayed_learning_rate,
            lambda step, lr_max, lr_min, decay_speed: (
                lr_min + (lr_max - lr_min) * np.exp(-step / decay_speed)
            ),
            lambda step, lr_max, lr_min, decay_speed: lr_max * np.exp(-step / decay_speed),
            "the learning rate is",
        ),
        "dropout": (
            check.dropout,
            lambda x, rate, training, rng: (
                x * (rng.random(x.shape) >= rate) / (1 - rate) if training else x
            ),
            lambda x, rate, training, rng: x * (rng.random(x.shape) >= rate),
            "expected 1/(1 − 0.25)",
        ),
        "batch_moments": (
            check.batch_moments,
            lambda x: keras.ops.moments(x, axes=list(range(x.ndim - 1))),
            lambda x: keras.ops.moments(x, axes=[0]),
            "one per channel",
        ),
        "normalize": (
            check.normalize,
            lambda x, m, v, a, b, eps: a * (x - m) / np.sqrt(v + eps) + b,
            lambda x, m, v, a, b, eps: a * (x - m) / (v + eps) + b,
            "differs from the reference",
        ),
        "batch_norm": (
            check.batch_norm,
            keras.layers.BatchNormalization,
            _NoMovingAverage,
            "in inference (dense input)",
        ),
        "discriminator_loss": (
            check.discriminator_loss,
            lambda r, f: (
                -keras.ops.mean(keras.ops.log(keras.ops.sigmoid(r)))
                - keras.ops.mean(keras.ops.log(1 - keras.ops.sigmoid(f)))
            ),
            lambda r, f: (
                keras.ops.mean(keras.ops.softplus(r)) + keras.ops.mean(keras.ops.softplus(-f))
            ),
            "real and fake swapped",
        ),
        "generator_loss": (
            check.generator_loss,
            lambda f: keras.ops.mean(keras.ops.softplus(-f)),
            lambda f: keras.ops.mean(keras.ops.log(1 - keras.ops.sigmoid(f))),
            "saturating",
        ),
        "unfreeze_top": (
            check.unfreeze_top,
            _unfreeze_top,
            lambda backbone, first: setattr(backbone, "trainable", True),
            "stay frozen",
        ),
        "class_activation_map": (
            check.class_activation_map,
            lambda A, w, p: (
                np.einsum("nyxk,k->nyx", A, w[:, 0]) * np.where(p == 1, 1, -1)[:, None, None]
            ),
            lambda A, w, p: np.einsum("nyxk,k->nyx", A, w[:, 0]),
            "wrong sign",
        ),
        "grad_cam_map": (
            check.grad_cam_map,
            lambda A, G: np.maximum(0, np.einsum("nyxk,nk->nyx", A, G.mean(axis=(1, 2)))),
            lambda A, G: np.einsum("nyxk,nk->nyx", A, G.mean(axis=(1, 2))),
            "ReLU",
        ),
        "conv2d_loops": (
            check.conv2d_loops,
            _conv_loops(flip=False),
            _conv_loops(flip=True),
            "flipped the kernel",
        ),
        "conv2d": (
            check.conv2d,
            _conv2d,
            lambda x, k, stride=1, padding="valid": _conv2d(x, k, stride, "valid"),
            "padding 'same'",
        ),
        "gaussian_kernel": (
            check.gaussian_kernel,
            _gauss(normalized=True),
            _gauss(normalized=False),
            "divide by the sum",
        ),
        "max_pool": (
            check.max_pool,
            lambda x, size=2, stride=2: sliding_window_view(x, (size, size), axis=(0, 1))[
                ::stride, ::stride
            ].max(axis=(-2, -1)),
            lambda x, size=2, stride=2: sliding_window_view(x, (size, size), axis=(0, 1))[
                ::size, ::size
            ].max(axis=(-2, -1)),
            "stride 2",
        ),
        "conv_block": (
            check.conv_block,
            _conv_block(pool_first=False),
            _conv_block(pool_first=True),
            "expected conv → max pool",
        ),
        "iou": (
            check.iou,
            _iou,
            lambda t, p, c: np.sum((t == c) & (p == c)) / max(np.sum(t == c), 1),
            "|T ∪ P|",
        ),
        "pixel_classifier": (
            check.pixel_classifier,
            lambda f, classes: keras.layers.Conv2D(classes, 1)(f),
            lambda f, classes: keras.layers.Conv2D(classes, 1, activation="relu")(f),
            "logits",
        ),
        "transposed_output_size": (
            check.transposed_output_size,
            lambda W, F, S, padding: W * S if padding == "same" else (W - 1) * S + F,
            lambda W, F, S, padding: W * S,
            "Keras' Conv2DTranspose",
        ),
        "skip": (
            check.skip,
            _skip,
            lambda s, f, classes: (
                keras.layers.UpSampling2D(2)(s) + keras.layers.Conv2D(classes, 1)(f)
            ),
            "Conv2DTranspose",
        ),
        "atrous_block": (
            check.atrous_block,
            _atrous(parallel=True),
            _atrous(parallel=False),
            "read x itself",
        ),
        "gan": (check.gan, _gan_class(right=True), _gan_class(right=False), "generator"),
        "sigmoid_backward": (
            check.sigmoid_backward,
            _sigmoid_backward,
            lambda s, upstream: s * (1 - s),
            "upstream",
        ),
        "value": (
            check.value,
            _value_class(reset=True),
            _value_class(reset=False),
            "second backward()",
        ),
        "two_layer_forward": (
            check.two_layer_forward,
            _forward,
            lambda params, X: (X @ params["W1"] @ params["W2"] + params["b2"], None),
            "the scores",
        ),
        "two_layer_backward": (
            lambda fn: check.two_layer_backward(fn, _forward, _softmax_grad),
            _backward,
            lambda params, dscores, cache: {
                **_backward(params, dscores, cache),
                "b1": 0 * params["b1"],
            },
            "b1",
        ),
        "l2_regularization": (
            check.l2_regularization,
            _l2,
            lambda params, reg: (_l2(params, reg)[0], {k: reg * params[k] for k in ("W1", "W2")}),
            "W1",
        ),
        **_tf_cases(),
    }


def _unfilled(name):
    def fn(*args, **kwargs):
        raise NotImplementedError(f"exercise '{name}' is not filled in yet")

    return fn


def test_every_hinted_exercise_is_unit_tested():
    assert set(check.HINTS) <= set(_cases())


@pytest.mark.parametrize("name", sorted(check.HINTS))
def test_check_accepts_right_and_explains_wrong_and_unfilled(name, capsys, tmp_path, monkeypatch):
    results = tmp_path / "checks.jsonl"
    monkeypatch.setenv(check.CHECKS_FILE_VAR, str(results))
    monkeypatch.delenv(check.STRICT_VAR, raising=False)
    run, right, wrong, explanation = _cases()[name]
    run(right)
    run(wrong)
    run(_unfilled(name))
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 3, printed  # one line per check
    assert printed[0] == f"✓ {name}: passed"
    assert printed[1].startswith(f"✗ {name}: wrong: ") and explanation in printed[1], printed[1]
    assert printed[2].startswith(f"✗ {name}: not filled in yet"), printed[2]
    recorded = [json.loads(line) for line in results.read_text().splitlines()]
    assert [r["status"] for r in recorded] == [check.PASSED, check.WRONG, check.NOT_FILLED]
    assert {r["exercise"] for r in recorded} == {name}


def test_strict_mode_raises_on_a_check_that_does_not_pass(monkeypatch, capsys):
    monkeypatch.setenv(check.STRICT_VAR, "1")
    monkeypatch.delenv(check.CHECKS_FILE_VAR, raising=False)
    check.dense_params(lambda n_in, n_out: (n_in + 1) * n_out)
    with pytest.raises(check.CheckFailed, match="dense_params: wrong"):
        check.dense_params(lambda n_in, n_out: n_in * n_out)
    with pytest.raises(check.CheckFailed, match="not filled in yet"):
        check.dense_params(_unfilled("dense_params"))


def test_a_check_reports_an_exception_of_the_students_code_in_one_line(capsys):
    check.conv_params(lambda F, c_in, c_out: F["x"])
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "your function raised TypeError" in out


def test_hint_and_the_stop_sentence(capsys):
    check.hint("vote")
    assert capsys.readouterr().out.startswith("Hint for vote: ")
    with pytest.raises(KeyError, match="no exercise named 'nope'"):
        check.hint("nope")
    error = NotImplementedError("in user code: ... exercise 'train_step' is not filled in yet")
    assert check.core._stop_handler(None, NotImplementedError, error, None) == [
        check.stop_message("train_step")
    ]
    assert "exercise 'train_step'" in check.stop_message("train_step")


# --- exercise notebooks run, every check says "not filled in yet" ------------------------


@pytest.mark.notebook
@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.stem)
def test_exercise_notebook_runs_with_every_check_unfilled(path, tmp_path, shared_data, monkeypatch):
    monkeypatch.setenv(environment.DATA_DIR, str(shared_data))
    names = [
        n for _, n in exercises.holes(nbformat.read(notebooks.NOTEBOOKS / path.name, as_version=4))
    ]
    result = runner.run_notebook(
        path, tmp_path, {"SMOKE": True}, backend="tensorflow", allow_errors=True
    )
    executed = nbformat.read(tmp_path / path.name, as_version=4)
    assert all(c.execution_count for c in executed.cells if c.cell_type == "code"), (
        "a code cell did not run"
    )
    assert exercises.unexpected_errors(executed, set(names)) == [], result.error
    assert [c["exercise"] for c in result.checks] == names
    assert {c["status"] for c in result.checks} == {check.NOT_FILLED}, result.checks


# --- the plumbing through the runner, on a tiny notebook (one kernel per run) -----------


def _tiny(path, body: str):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    params = nbformat.v4.new_code_cell("SMOKE = False")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        params,
        nbformat.v4.new_code_cell(
            "from dl_vision_labs import check, report\ncheck.install_stop_handler()"
        ),
        nbformat.v4.new_code_cell(body),
        nbformat.v4.new_code_cell("check.dense_params(dense_params)"),
        nbformat.v4.new_code_cell("total = dense_params(784, 10)"),
        nbformat.v4.new_code_cell("report.record('cells_after_a_stop_ran', 1.0)"),
    ]
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_runner_records_checks_stops_cleanly_and_is_strict_on_request(tmp_path):
    empty = _tiny(
        tmp_path / "90_empty.ipynb",
        "def dense_params(n_in, n_out):\n"
        "    raise NotImplementedError(\"exercise 'dense_params' is not filled in yet\")",
    )
    result = runner.run_notebook(empty, tmp_path, {}, allow_errors=True)
    assert [(c["exercise"], c["status"]) for c in result.checks] == [
        ("dense_params", check.NOT_FILLED)
    ]
    assert "NotImplementedError" in result.error  # the first error, reported
    assert result.metrics  # allow_errors: the cells after the stop ran
    executed = nbformat.read(tmp_path / empty.name, as_version=4)
    errors = [
        o
        for c in executed.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert [e.traceback for e in errors] == [[check.stop_message("dense_params")]]

    wrong = _tiny(
        tmp_path / "91_wrong.ipynb", "def dense_params(n_in, n_out):\n    return n_in * n_out"
    )
    result = runner.run_notebook(wrong, tmp_path, {}, env={environment.STRICT_CHECKS: "1"})
    assert result.error.startswith("CheckFailed: dense_params: wrong")
    assert [c["status"] for c in result.checks] == [check.WRONG] and not result.metrics
