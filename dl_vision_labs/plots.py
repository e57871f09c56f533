"""Plots the notebooks share: training curves, image grids, weights, confusion matrix,
segmentation masks, small matrices, decision regions of a 2-D classifier, computational graphs.

Every function returns its matplotlib Figure, so it can be saved
(``fig.savefig(...)``) or shown; in a notebook it is displayed as usual.
"""

from __future__ import annotations

import math
from collections import defaultdict

import keras
import matplotlib.pyplot as plt
import numpy as np


def plot_history(history, metrics=("loss", "accuracy"), *, title: str | None = None,
                 figsize=None):
    """Training curves from a Keras `History` (or its ``.history`` dict): train vs validation."""
    logs = history.history if hasattr(history, "history") else history
    metrics = [m for m in metrics if m in logs]
    fig, axes = plt.subplots(1, len(metrics), figsize=figsize or (5 * len(metrics), 3.5),
                             squeeze=False)
    for ax, m in zip(axes[0], metrics):
        epochs = np.arange(1, len(logs[m]) + 1)
        ax.plot(epochs, logs[m], label="train")
        if f"val_{m}" in logs:
            ax.plot(epochs, logs[f"val_{m}"], label="validation")
        ax.set_xlabel("epoch")
        ax.set_title(m)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _as_image(img):
    img = np.asarray(img)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.ndim == 1:  # a flattened square image
        side = math.isqrt(img.size)
        img = img.reshape(side, side)
    return img


def show_images(images, labels=None, predictions=None, *, class_names=None, ncols: int = 10,
                size: float = 1.2, title: str | None = None):
    """A grid of images, titled by `labels` (class numbers, or strings shown as they are).
    With `predictions`, each title reads "pred (true)" and wrong ones are red."""
    n = len(images)
    nrows = max(1, math.ceil(n / ncols))
    ncols = min(ncols, n) or 1
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows * 1.15),
                             squeeze=False)
    def name(label):  # a class number (named by class_names when given), or a title as is
        if isinstance(label, str):
            return label
        return class_names[int(label)] if class_names is not None else str(int(label))
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        img = _as_image(images[i])
        ax.imshow(img, cmap="gray_r" if img.ndim == 2 else None)
        if predictions is not None and labels is not None:
            wrong = int(predictions[i]) != int(labels[i])
            ax.set_title(f"{name(predictions[i])} ({name(labels[i])})", fontsize=8,
                         color="red" if wrong else "black")
        elif labels is not None:
            ax.set_title(name(labels[i]), fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_mistakes(images, labels, predicted, *, n: int = 30, class_names=None, ncols: int = 10,
                  what: str = "test images"):
    """Print how many of `predicted` differ from `labels`; show the first `n` of those images.

    Each title reads "prediction (truth)"; returns the Figure (None when nothing is wrong).
    """
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    wrong = np.flatnonzero(predicted != labels)
    print(f"{len(wrong)} of {len(predicted)} {what} are misclassified")
    if not len(wrong):
        return None
    shown = wrong[:n]
    return show_images(np.asarray(images)[shown], labels[shown], predicted[shown],
                       class_names=class_names, ncols=ncols)


def show_weights(weights, *, image_shape=(28, 28), class_names=None, ncols: int = 10):
    """A linear model's weight vectors, one image per class.

    `weights` has one column per class (shape ``[pixels, classes]``, as in
    ``X @ W``). Blue is positive evidence for the class, red negative.
    """
    w = np.asarray(weights)
    classes = w.shape[-1]
    nrows = math.ceil(classes / ncols)
    fig, axes = plt.subplots(nrows, min(ncols, classes), figsize=(1.4 * min(ncols, classes),
                                                                 1.6 * nrows), squeeze=False)
    for c, ax in enumerate(axes.flat):
        ax.axis("off")
        if c >= classes:
            continue
        img = w[:, c].reshape(image_shape)
        if img.ndim == 3:  # colour templates: rescale each to [0, 1] to show them
            ax.imshow((img - img.min()) / (np.ptp(img) or 1))
        else:
            lim = np.abs(img).max() or 1
            ax.imshow(img, cmap="RdBu", vmin=-lim, vmax=lim)
        ax.set_title(class_names[c] if class_names is not None else str(c), fontsize=9)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(y_true, y_pred, *, class_names=None, normalize: bool = False):
    """Confusion matrix: rows are true classes, columns predicted ones."""
    y_true, y_pred = np.asarray(y_true).astype(int), np.asarray(y_pred).astype(int)
    k = int(max(y_true.max(), y_pred.max()) + 1) if class_names is None else len(class_names)
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    fig, ax = plt.subplots(figsize=(0.5 * k + 2, 0.5 * k + 1.5))
    im = ax.imshow(shown, cmap="Blues")
    names = class_names if class_names is not None else [str(i) for i in range(k)]
    ax.set_xticks(range(k), names, rotation=45 if max(map(len, names)) > 2 else 0, ha="right")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = shown.max() / 2
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{shown[i, j]:.2f}" if normalize else str(cm[i, j]), ha="center",
                    va="center", fontsize=7, color="white" if shown[i, j] > threshold else "black")
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig, cm


def mask_colours(classes: int = 11) -> np.ndarray:
    """RGB colours of a segmentation's classes: white for class 0 (background), then
    matplotlib's ten distinct "tab10" colours (classes 1..10: the digits 0..9)."""
    tab = plt.get_cmap("tab10").colors
    return np.array([(1.0, 1.0, 1.0)] + [tab[(c - 1) % 10] for c in range(1, classes)])


def show_masks(images, masks, predicted=None, *, class_names=None, titles=None,
               size: float = 1.5, title: str | None = None):
    """Scenes (top row), their true masks and, with `predicted`, the predicted masks and the
    pixels where the two differ (red), one scene per column; a legend names the colours."""
    images, masks = np.asarray(images), np.asarray(masks)
    rows = [("scene", None), ("true mask", masks)]
    if predicted is not None:
        predicted = np.asarray(predicted)
        rows += [("predicted", predicted), ("errors (red)", None)]
    n = len(images)
    classes = len(class_names) if class_names is not None else int(
        max(masks.max(), 0 if predicted is None else predicted.max())) + 1
    colours = mask_colours(classes)
    fig, axes = plt.subplots(len(rows), n, figsize=(size * n, size * len(rows) + 0.6),
                             squeeze=False)
    for r, (label, labels) in enumerate(rows):
        for i in range(n):
            ax = axes[r, i]
            ax.set_xticks([])
            ax.set_yticks([])
            if label == "scene":
                ax.imshow(_as_image(images[i]), cmap="gray_r")
                if titles is not None:
                    ax.set_title(titles[i], fontsize=8)
            elif labels is not None:
                ax.imshow(colours[np.clip(labels[i], 0, classes - 1)])
            else:
                wrong = predicted[i] != masks[i]
                ax.imshow(np.where(wrong[..., None], (0.85, 0.1, 0.1), (0.93, 0.93, 0.93)))
            if i == 0:
                ax.set_ylabel(label, fontsize=8)
    names = class_names if class_names is not None else [str(c) for c in range(classes)]
    handles = [plt.Rectangle((0, 0), 1, 1, facecolor=colours[c], edgecolor="grey")
               for c in range(classes)]
    fig.legend(handles, names, loc="lower center", ncol=min(classes, 11), fontsize=8,
               frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def show_matrices(matrices: dict, *, cmap: str = "Blues", fmt: str = "{:g}", size: float = 0.45,
                  title: str | None = None):
    """Small 2-D arrays side by side, one titled panel each, every cell's value written in it
    (for pictures of how a small operation moves numbers around); NaN cells stay blank."""
    fig, axes = plt.subplots(1, len(matrices), squeeze=False, figsize=(
        sum(size * np.shape(m)[1] + 0.6 for m in matrices.values()),
        size * max(np.shape(m)[0] for m in matrices.values()) + 0.9))
    for ax, (name, m) in zip(axes[0], matrices.items()):
        m = np.asarray(m, dtype=float)
        finite = m[np.isfinite(m)]
        top = np.abs(finite).max() if finite.size else 1.0
        ax.imshow(np.abs(m), cmap=cmap, vmin=0, vmax=top or 1.0)
        for (i, j), v in np.ndenumerate(m):
            if np.isfinite(v):
                ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=8,
                        color="white" if top and abs(v) > 0.6 * top else "black")
        ax.set_xticks(np.arange(m.shape[1] + 1) - 0.5, minor=True)
        ax.set_yticks(np.arange(m.shape[0] + 1) - 0.5, minor=True)
        ax.grid(which="minor", color="grey", linewidth=0.5)
        ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
        ax.set_title(name, fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_filters(kernels: dict, results: dict, *, size: float = 2.2):
    """Each filter's kernel (top, its weights written in when it is small) above its result
    (bottom), one column per entry of `results`; a result without a kernel in `kernels`
    (e.g. a median, or a combination of results) gets an empty top panel. Colour results
    are clipped to 0..255; single-channel ones (edges) are shown in grey, scaled to their
    own range."""
    fig, axes = plt.subplots(2, len(results), figsize=(size * len(results), 2 * size + 0.4),
                             squeeze=False)
    for (label, image), top, bottom in zip(results.items(), axes[0], axes[1]):
        top.axis("off")
        bottom.axis("off")
        kernel = kernels.get(label)
        if kernel is not None:
            kernel = np.asarray(kernel, dtype=float)
            lim = np.abs(kernel).max() or 1.0
            top.imshow(kernel, cmap="RdBu", vmin=-lim, vmax=lim)
            if kernel.shape[0] <= 5:
                for (i, j), v in np.ndenumerate(kernel):
                    top.text(j, i, f"{v:.2g}", ha="center", va="center", fontsize=7)
        top.set_title(label, fontsize=9)
        image = np.asarray(image, dtype=float)
        if image.ndim == 3:
            bottom.imshow(np.clip(np.rint(image), 0, 255).astype(np.uint8))
        else:
            bottom.imshow(image, cmap="gray")
    fig.tight_layout()
    return fig


def _live_display_available() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


class LiveCurves(keras.callbacks.Callback):
    """Redraws loss and accuracy curves in place while a model trains.

    In Jupyter/Colab the figure is updated in place after each epoch (or after
    every `every`-th update); without a notebook front end (a plain script, a
    terminal) it prints a line instead. It is also usable outside `fit`: call
    ``update(step, logs)`` from a custom loop.

        model.fit(..., callbacks=[dl_vision_labs.plots.LiveCurves()])
    """

    def __init__(self, metrics=("loss", "accuracy"), *, every: int = 1, xlabel: str = "epoch"):
        super().__init__()
        self.metrics = tuple(metrics)
        self.every = every
        self.xlabel = xlabel
        self.history: dict[str, list] = defaultdict(list)
        self.steps: dict[str, list] = defaultdict(list)
        self.live = _live_display_available()
        self._handle = None
        self._fig = None
        self._updates = 0

    # Keras hooks
    def on_epoch_end(self, epoch, logs=None):
        self.update(epoch + 1, logs or {})

    def on_train_end(self, logs=None):
        if self._fig is not None:
            plt.close(self._fig)  # the displayed image stays; avoid a duplicate at cell end

    # usable from a hand-written training loop too
    def update(self, step: int, logs: dict):
        for key, value in logs.items():
            self.history[key].append(float(value))
            self.steps[key].append(step)
        self._updates += 1
        if self._updates % self.every:
            return
        if self.live:
            self._redraw()
        else:
            shown = "  ".join(f"{k}={float(v):.4f}" for k, v in logs.items())
            print(f"{self.xlabel} {step}: {shown}", flush=True)

    def _redraw(self):
        from IPython.display import display

        if self._fig is None:
            self._fig, self._axes = plt.subplots(1, len(self.metrics),
                                                 figsize=(5 * len(self.metrics), 3.2),
                                                 squeeze=False)
        for ax, m in zip(self._axes[0], self.metrics):
            ax.clear()
            for key, label in ((m, "train"), (f"val_{m}", "validation")):
                if self.history.get(key):
                    ax.plot(self.steps[key], self.history[key], label=label)
                    ax.annotate(f"{self.history[key][-1]:.4f}",
                                (self.steps[key][-1], self.history[key][-1]), fontsize=8)
            ax.set_title(m)
            ax.set_xlabel(self.xlabel)
            ax.grid(alpha=0.3)
            if ax.lines:
                ax.legend()
        self._fig.tight_layout()
        if self._handle is None:
            self._handle = display(self._fig, display_id=True)
        else:
            self._handle.update(self._fig)


def _logs(history) -> dict:
    return history.history if hasattr(history, "history") else history


def plot_histories(histories: dict, metrics=("val_accuracy", "val_loss"), *, ylim=None,
                   xlabel: str = "epoch", x_scale: float = 1.0, titles=None, title=None,
                   figsize=None):
    """Several training runs on one chart: one panel per metric, one line per run.

    Args:
        histories: ``{"run name": History or its .history dict, ...}``.
        metrics: the logged metrics to draw, e.g. ``("val_accuracy", "val_loss")``.
        ylim: ``{metric: (low, high)}`` to zoom in on the interesting range.
        xlabel, x_scale: the x axis is ``x_scale * (1, 2, ...)``, e.g. the number
            of training steps between two logged values, with ``xlabel="step"``.
        titles: ``{metric: panel title}``; by default the metric's name.

    Returns the Figure; its axes are ``fig.axes`` in the order of `metrics`, so a
    notebook can annotate them.
    """
    fig, axes = plt.subplots(1, len(metrics), figsize=figsize or (6 * len(metrics), 3.8),
                             squeeze=False)
    for ax, m in zip(axes[0], metrics):
        for name, history in histories.items():
            values = _logs(history).get(m)
            if values:
                ax.plot(x_scale * np.arange(1, len(values) + 1), values, label=name, lw=1.2)
        if ylim and m in ylim:
            ax.set_ylim(*ylim[m])
        ax.set_title((titles or {}).get(m, m))
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_gap(histories: dict, metric: str = "accuracy", *, title: str | None = None):
    """Training (dashed) and test (solid, Keras' ``val_`` metric) curves of several runs on
    one chart, one colour per run: the distance between a run's two lines is its
    overfitting gap."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for colour, (name, history) in zip(plt.get_cmap("tab10").colors, histories.items()):
        logs = _logs(history)
        for key, style, where in ((metric, "--", "training"), (f"val_{metric}", "-", "test")):
            if logs.get(key):
                ax.plot(np.arange(1, len(logs[key]) + 1), logs[key], style, color=colour,
                        label=f"{name}: {where}")
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or f"{metric}: training (dashed) and test (solid)")
    fig.tight_layout()
    return fig


def plot_activations(runs: dict, *, layer_labels=None, bins: int = 60, saturation=None):
    """How each layer's neurons are driven: pre-activation histograms and max activations.

    Args:
        runs: ``{"model name": [(pre, post), ...]}`` with one pair of arrays per
            layer (pre-activations, activations; see
            `dl_vision_labs.models.layer_activations`), the same layers for every model.
        layer_labels: a title per layer (default "layer 1", "layer 2", ...).
        saturation: ``(low, high)``: pre-activations outside it are shaded as
            saturating (for a sigmoid, about ``(-4, 4)``).

    One row per layer. Left: the distribution of the pre-activations of all the
    neurons over the batch, one histogram per model. Right: each neuron's largest
    activation over the batch, neurons sorted from largest to smallest.
    """
    names = list(runs)
    n_layers = len(runs[names[0]])
    labels = layer_labels or [f"layer {i + 1}" for i in range(n_layers)]
    fig, axes = plt.subplots(n_layers, 2, figsize=(11, 2.3 * n_layers), squeeze=False)
    for row, label in enumerate(labels):
        left, right = axes[row]
        pres = [np.asarray(runs[n][row][0]).ravel() for n in names]
        lo, hi = min(p.min() for p in pres), max(p.max() for p in pres)
        edges = np.linspace(lo, hi, bins + 1)
        for name, pre in zip(names, pres):
            left.hist(pre, bins=edges, histtype="stepfilled", alpha=0.45, density=True, label=name)
            post = np.asarray(runs[name][row][1])
            per_neuron_max = np.sort(post.reshape(-1, post.shape[-1]).max(axis=0))[::-1]
            right.plot(per_neuron_max, marker=".", lw=1, label=name)
        if saturation is not None:
            for a, b in ((lo, saturation[0]), (saturation[1], hi)):
                if a < b:
                    left.axvspan(a, b, color="grey", alpha=0.15, lw=0)
        left.set_title(f"{label}: pre-activations", fontsize=10)
        right.set_title(f"{label}: max activation of each neuron (sorted)", fontsize=10)
        right.set_xlabel("neuron")
        for ax in (left, right):
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_decision_boundary(predict, X, y, *, ax=None, title: str | None = None,
                           resolution: int = 200, margin: float = 0.2, cmap: str = "brg"):
    """The regions a 2-D classifier assigns to each class, and the points `X` on top.

    Args:
        predict: maps an array of points ``[n, 2]`` to class indices ``[n]`` (or to
            scores ``[n, classes]``, whose argmax is taken).
        X, y: the points ``[n, 2]`` and their labels, drawn coloured by class.
        ax: the Axes to draw on (a new figure when None).
        resolution: grid points per axis; `margin`: space around the points.

    Returns the Figure.
    """
    X, y = np.asarray(X), np.asarray(y)
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                         np.linspace(lo[1], hi[1], resolution))
    out = np.asarray(predict(np.c_[gx.ravel(), gy.ravel()].astype(X.dtype)))
    regions = (out.argmax(axis=1) if out.ndim == 2 else out).reshape(gx.shape)
    classes = int(max(regions.max(), y.max())) + 1
    levels = np.arange(classes + 1) - 0.5
    ax.contourf(gx, gy, regions, levels=levels, cmap=cmap, alpha=0.25)
    ax.scatter(X[:, 0], X[:, 1], c=y, s=10, cmap=cmap, vmin=0, vmax=classes - 1,
               edgecolors="k", linewidths=0.3)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)
    return ax.figure


def _graph_layers(output):
    """The nodes of a graph reachable from `output` (through ``_prev``), by layer: each
    computed node one layer right of its deepest input, each input just left of its first use."""
    order, seen = [], set()

    def visit(node):
        if id(node) not in seen:
            seen.add(id(node))
            for parent in node._prev:
                visit(parent)
            order.append(node)  # inputs before the nodes made from them

    visit(output)
    depth, consumers = {}, defaultdict(list)
    for node in order:
        depth[id(node)] = 1 + max((depth[id(p)] for p in node._prev), default=-1)
        for parent in node._prev:
            consumers[id(parent)].append(node)
    for node in order:  # an input (a constant too) sits just left of its first use
        if not node._prev and consumers[id(node)]:
            depth[id(node)] = min(depth[id(c)] for c in consumers[id(node)]) - 1
    layers = defaultdict(list)
    for node in order:
        layers[depth[id(node)]].append(node)
    return [layers[d] for d in sorted(layers)]


def plot_graph(output, *, title: str | None = None, figsize=None):
    """A computational graph, drawn left (inputs) to right (`output`), each node with
    its value and gradient.

    `output` is a node of a scalar autodiff graph as in micrograd: every node has
    ``data`` (its value), ``grad`` (d output / d node), ``_prev`` (the nodes it was
    computed from), ``_op`` (the operation that made it, "" for an input) and
    optionally ``label`` (a name). Values are printed in green, gradients in red.

    Returns the Figure.
    """
    layers = _graph_layers(output)
    height = max(len(layer) for layer in layers)
    fig, ax = plt.subplots(figsize=figsize or (2.1 * len(layers) + 1, 1.3 * height + 1))
    where = {}
    for col, layer in enumerate(layers):
        for row, node in enumerate(layer):
            where[id(node)] = (col, (len(layer) - 1) / 2 - row)  # centred vertically
    for col, layer in enumerate(layers):
        for node in layer:
            x, y = where[id(node)]
            for parent in node._prev:
                px, py = where[id(parent)]
                ax.annotate("", xy=(x - 0.33, y), xytext=(px + 0.33, py),
                            arrowprops=dict(arrowstyle="->", color="grey", lw=1))
            op = getattr(node, "_op", "")
            name = getattr(node, "label", "") or ""
            head = f"{name} = {op}" if name and op else (name or op)
            ax.text(x, y + 0.17, head, ha="center", va="center", fontsize=9, weight="bold")
            ax.text(x, y - 0.02, f"{node.data:.4g}", ha="center", va="center", fontsize=9,
                    color="green")
            ax.text(x, y - 0.2, f"{node.grad:.4g}", ha="center", va="center", fontsize=9,
                    color="red")
            ax.add_patch(plt.Rectangle((x - 0.33, y - 0.32), 0.66, 0.64, fill=False,
                                       ec="black", lw=0.8))
    ax.set_xlim(-0.5, len(layers) - 0.5)
    ax.set_ylim(-(height - 1) / 2 - 0.5, (height - 1) / 2 + 0.5)
    ax.axis("off")
    ax.set_title(title or "values (green) and gradients (red)", fontsize=10)
    fig.tight_layout()
    return fig
