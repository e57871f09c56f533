"""Diagnostics: a confusion matrix, small matrices with their values, activation
histograms per layer, the decision regions of a 2-D classifier, a computational graph."""

from __future__ import annotations

from collections import defaultdict

import matplotlib.pyplot as plt
import numpy as np


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
            ax.text(
                j,
                i,
                f"{shown[i, j]:.2f}" if normalize else str(cm[i, j]),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if shown[i, j] > threshold else "black",
            )
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig, cm


def show_matrices(
    matrices: dict,
    *,
    cmap: str = "Blues",
    fmt: str = "{:g}",
    size: float = 0.45,
    title: str | None = None,
):
    """Small 2-D arrays side by side, one titled panel each, every cell's value written in it
    (for pictures of how a small operation moves numbers around); NaN cells stay blank."""
    fig, axes = plt.subplots(
        1,
        len(matrices),
        squeeze=False,
        figsize=(
            sum(size * np.shape(m)[1] + 0.6 for m in matrices.values()),
            size * max(np.shape(m)[0] for m in matrices.values()) + 0.9,
        ),
    )
    for ax, (name, m) in zip(axes[0], matrices.items()):
        m = np.asarray(m, dtype=float)
        finite = m[np.isfinite(m)]
        top = np.abs(finite).max() if finite.size else 1.0
        ax.imshow(np.abs(m), cmap=cmap, vmin=0, vmax=top or 1.0)
        for (i, j), v in np.ndenumerate(m):
            if np.isfinite(v):
                ax.text(
                    j,
                    i,
                    fmt.format(v),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if top and abs(v) > 0.6 * top else "black",
                )
        ax.set_xticks(np.arange(m.shape[1] + 1) - 0.5, minor=True)
        ax.set_yticks(np.arange(m.shape[0] + 1) - 0.5, minor=True)
        ax.grid(which="minor", color="grey", linewidth=0.5)
        ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
        ax.set_title(name, fontsize=9)
    if title:
        fig.suptitle(title)
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


def plot_decision_boundary(
    predict,
    X,
    y,
    *,
    ax=None,
    title: str | None = None,
    resolution: int = 200,
    margin: float = 0.2,
    cmap: str = "brg",
):
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
    gx, gy = np.meshgrid(
        np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    )
    out = np.asarray(predict(np.c_[gx.ravel(), gy.ravel()].astype(X.dtype)))
    regions = (out.argmax(axis=1) if out.ndim == 2 else out).reshape(gx.shape)
    classes = int(max(regions.max(), y.max())) + 1
    levels = np.arange(classes + 1) - 0.5
    ax.contourf(gx, gy, regions, levels=levels, cmap=cmap, alpha=0.25)
    ax.scatter(
        X[:, 0],
        X[:, 1],
        c=y,
        s=10,
        cmap=cmap,
        vmin=0,
        vmax=classes - 1,
        edgecolors="k",
        linewidths=0.3,
    )
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
    for layer in layers:
        for node in layer:
            x, y = where[id(node)]
            for parent in node._prev:
                px, py = where[id(parent)]
                ax.annotate(
                    "",
                    xy=(x - 0.33, y),
                    xytext=(px + 0.33, py),
                    arrowprops=dict(arrowstyle="->", color="grey", lw=1),
                )
            op = getattr(node, "_op", "")
            name = getattr(node, "label", "") or ""
            head = f"{name} = {op}" if name and op else (name or op)
            ax.text(x, y + 0.17, head, ha="center", va="center", fontsize=9, weight="bold")
            ax.text(
                x, y - 0.02, f"{node.data:.4g}", ha="center", va="center", fontsize=9, color="green"
            )
            ax.text(
                x, y - 0.2, f"{node.grad:.4g}", ha="center", va="center", fontsize=9, color="red"
            )
            ax.add_patch(
                plt.Rectangle((x - 0.33, y - 0.32), 0.66, 0.64, fill=False, ec="black", lw=0.8)
            )
    ax.set_xlim(-0.5, len(layers) - 0.5)
    ax.set_ylim(-(height - 1) / 2 - 0.5, (height - 1) / 2 + 0.5)
    ax.axis("off")
    ax.set_title(title or "values (green) and gradients (red)", fontsize=10)
    fig.tight_layout()
    return fig
