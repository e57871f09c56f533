"""Checks that a notebook's hand-written code agrees with a reference computed another way.

    gaps = check.compare_batch_norm(BatchNorm)   # notebook 05: our layer against Keras' own

Exercises (the lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` of a lesson,
removed from its copy in ``exercises/``, see tools/exercises.py): the cell after each one
calls the check of the same name, which prints one line::

    check.l2_distances(l2_distances)   # ✓ l2_distances: passed
                                       # ✗ l2_distances: not filled in yet (...)
                                       # ✗ l2_distances: wrong: the distance matrix differs ...
    check.hint("l2_distances")         # a hint, on request

A check compares the student's function with a reference computed another way (a loop,
finite differences, Keras' own layer built with known weights) on small inputs chosen so
that the usual mistakes show: any correct implementation passes. Each result is appended
(one JSON line) to ``LABS_CHECKS_FILE`` when set; with ``LABS_STRICT_CHECKS=1`` a check
that does not pass raises `CheckFailed` (the lesson notebooks' tests).

Layout: `core` (the registry, the verdict line, shared comparisons) and one module per
lesson, ``lesson00`` ... ``lesson09``, each holding its checks with their hints.
Importing this package changes nothing in IPython; `install_stop_handler` (called by
`runtime.prepare`) makes a cell that calls an unfilled exercise stop with one sentence.
"""

from . import (
    lesson00,
    lesson01,
    lesson02,
    lesson03,
    lesson04,
    lesson05,
    lesson06,
    lesson07,
    lesson08,
    lesson09,
)
from .core import (
    CHECKS_FILE_VAR,
    HINTS,
    NOT_FILLED,
    PASSED,
    REGISTRY,
    STRICT_VAR,
    WRONG,
    CheckFailed,
    Wrong,
    exercise_of,
    hint,
    install_stop_handler,
    stop_message,
)
from .lesson00 import l2_distances, regularization, softmax_loss, svm_loss, vote
from .lesson01 import (
    l2_regularization,
    sigmoid_backward,
    two_layer_backward,
    two_layer_forward,
    value,
)
from .lesson02 import cross_entropy, model, train_step
from .lesson03 import decayed_learning_rate, dropout, five_layer_model, he_init
from .lesson04 import conv_output_size, conv_params, dense_params
from .lesson05 import batch_moments, batch_norm, compare_batch_norm, normalize
from .lesson06 import conv2d, conv2d_loops, conv_block, gaussian_kernel, max_pool
from .lesson07 import (
    class_activation_map,
    conv_cost,
    grad_cam_map,
    receptive_field,
    residual_block,
    unfreeze_top,
)
from .lesson08 import (
    atrous_block,
    iou,
    mean_field_step,
    pixel_classifier,
    skip,
    transposed_output_size,
)
from .lesson09 import discriminator_loss, gan, gan_value, generator_loss, optimal_discriminator
