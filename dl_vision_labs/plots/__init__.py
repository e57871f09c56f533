"""Plots the notebooks share, by what a reader looks for:

* `curves` - training curves (one run, several runs, the train/validation gap) and
  `LiveCurves`, a callback that draws them while `fit` runs;
* `grids` - images with labels and predictions, mistakes, a linear classifier's weights,
  segmentation masks, filters and what they do;
* `diagnostics` - a confusion matrix, small matrices with their values, activations per
  layer, decision regions of a 2-D classifier, a computational graph.

Every function returns its matplotlib Figure, so it can be saved (``fig.savefig(...)``)
or shown; notebooks call them as ``plots.<name>``.
"""

from .curves import LiveCurves, plot_gap, plot_histories, plot_history
from .diagnostics import (
    plot_activations,
    plot_confusion_matrix,
    plot_decision_boundary,
    plot_graph,
    show_matrices,
)
from .grids import mask_colours, show_filters, show_images, show_masks, show_mistakes, show_weights

__all__ = [
    "LiveCurves",
    "mask_colours",
    "plot_activations",
    "plot_confusion_matrix",
    "plot_decision_boundary",
    "plot_gap",
    "plot_graph",
    "plot_histories",
    "plot_history",
    "show_filters",
    "show_images",
    "show_masks",
    "show_matrices",
    "show_mistakes",
    "show_weights",
]
