"""Training curves: one run's history, several runs side by side, the gap between
training and validation, and live curves while `fit` runs (a callback)."""

from __future__ import annotations

from collections import defaultdict

import keras
import matplotlib.pyplot as plt
import numpy as np


def plot_history(history, metrics=("loss", "accuracy"), *, title: str | None = None, figsize=None):
    """Training curves from a Keras `History` (or its ``.history`` dict): train vs validation."""
    logs = history.history if hasattr(history, "history") else history
    metrics = [m for m in metrics if m in logs]
    fig, axes = plt.subplots(
        1, len(metrics), figsize=figsize or (5 * len(metrics), 3.5), squeeze=False
    )
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
            self._fig, self._axes = plt.subplots(
                1, len(self.metrics), figsize=(5 * len(self.metrics), 3.2), squeeze=False
            )
        for ax, m in zip(self._axes[0], self.metrics):
            ax.clear()
            for key, label in ((m, "train"), (f"val_{m}", "validation")):
                if self.history.get(key):
                    ax.plot(self.steps[key], self.history[key], label=label)
                    ax.annotate(
                        f"{self.history[key][-1]:.4f}",
                        (self.steps[key][-1], self.history[key][-1]),
                        fontsize=8,
                    )
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


def plot_histories(
    histories: dict,
    metrics=("val_accuracy", "val_loss"),
    *,
    ylim=None,
    xlabel: str = "epoch",
    x_scale: float = 1.0,
    titles=None,
    title=None,
    figsize=None,
):
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
    fig, axes = plt.subplots(
        1, len(metrics), figsize=figsize or (6 * len(metrics), 3.8), squeeze=False
    )
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
                ax.plot(
                    np.arange(1, len(logs[key]) + 1),
                    logs[key],
                    style,
                    color=colour,
                    label=f"{name}: {where}",
                )
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or f"{metric}: training (dashed) and test (solid)")
    fig.tight_layout()
    return fig
