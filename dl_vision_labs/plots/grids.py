"""Image grids: images with labels and predictions, mistakes, the weights of a linear
classifier as images, segmentation masks, filters and their results."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np


def _as_image(img):
    img = np.asarray(img)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.ndim == 1:  # a flattened square image
        side = math.isqrt(img.size)
        img = img.reshape(side, side)
    return img


def show_images(
    images,
    labels=None,
    predictions=None,
    *,
    class_names=None,
    ncols: int = 10,
    size: float = 1.2,
    title: str | None = None,
):
    """A grid of images, titled by `labels` (class numbers, or strings shown as they are).
    With `predictions`, each title reads "pred (true)" and wrong ones are red."""
    n = len(images)
    nrows = max(1, math.ceil(n / ncols))
    ncols = min(ncols, n) or 1
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * ncols, size * nrows * 1.15), squeeze=False
    )

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
            ax.set_title(
                f"{name(predictions[i])} ({name(labels[i])})",
                fontsize=8,
                color="red" if wrong else "black",
            )
        elif labels is not None:
            ax.set_title(name(labels[i]), fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_mistakes(
    images,
    labels,
    predicted,
    *,
    n: int = 30,
    class_names=None,
    ncols: int = 10,
    what: str = "test images",
):
    """Print how many of `predicted` differ from `labels`; show the first `n` of those images.

    Each title reads "prediction (truth)"; returns the Figure (None when nothing is wrong).
    """
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    wrong = np.flatnonzero(predicted != labels)
    print(f"{len(wrong)} of {len(predicted)} {what} are misclassified")
    if not len(wrong):
        return None
    shown = wrong[:n]
    return show_images(
        np.asarray(images)[shown],
        labels[shown],
        predicted[shown],
        class_names=class_names,
        ncols=ncols,
    )


def show_weights(weights, *, image_shape=(28, 28), class_names=None, ncols: int = 10):
    """A linear model's weight vectors, one image per class.

    `weights` has one column per class (shape ``[pixels, classes]``, as in
    ``X @ W``). Blue is positive evidence for the class, red negative.
    """
    w = np.asarray(weights)
    classes = w.shape[-1]
    nrows = math.ceil(classes / ncols)
    fig, axes = plt.subplots(
        nrows, min(ncols, classes), figsize=(1.4 * min(ncols, classes), 1.6 * nrows), squeeze=False
    )
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


def mask_colours(classes: int = 11) -> np.ndarray:
    """RGB colours of a segmentation's classes: white for class 0 (background), then
    matplotlib's ten distinct "tab10" colours (classes 1..10: the digits 0..9)."""
    tab = plt.get_cmap("tab10").colors
    return np.array([(1.0, 1.0, 1.0)] + [tab[(c - 1) % 10] for c in range(1, classes)])


def show_masks(
    images,
    masks,
    predicted=None,
    *,
    class_names=None,
    titles=None,
    size: float = 1.5,
    title: str | None = None,
):
    """Scenes (top row), their true masks and, with `predicted`, the predicted masks and the
    pixels where the two differ (red), one scene per column; a legend names the colours."""
    images, masks = np.asarray(images), np.asarray(masks)
    rows = [("scene", None), ("true mask", masks)]
    if predicted is not None:
        predicted = np.asarray(predicted)
        rows += [("predicted", predicted), ("errors (red)", None)]
    n = len(images)
    classes = (
        len(class_names)
        if class_names is not None
        else int(max(masks.max(), 0 if predicted is None else predicted.max())) + 1
    )
    colours = mask_colours(classes)
    fig, axes = plt.subplots(
        len(rows), n, figsize=(size * n, size * len(rows) + 0.6), squeeze=False
    )
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
    handles = [
        plt.Rectangle((0, 0), 1, 1, facecolor=colours[c], edgecolor="grey") for c in range(classes)
    ]
    fig.legend(handles, names, loc="lower center", ncol=min(classes, 11), fontsize=8, frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def show_filters(kernels: dict, results: dict, *, size: float = 2.2):
    """Each filter's kernel (top, its weights written in when it is small) above its result
    (bottom), one column per entry of `results`; a result without a kernel in `kernels`
    (e.g. a median, or a combination of results) gets an empty top panel. Colour results
    are clipped to 0..255; single-channel ones (edges) are shown in grey, scaled to their
    own range."""
    fig, axes = plt.subplots(
        2, len(results), figsize=(size * len(results), 2 * size + 0.4), squeeze=False
    )
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
