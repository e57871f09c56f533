"""Checks of hand-written code against references."""

import keras
import numpy as np
import pytest

from dl_vision_labs import check


def test_compare_batch_norm_accepts_keras_and_catches_a_wrong_layer():
    gaps = check.compare_batch_norm(keras.layers.BatchNormalization)
    assert set(gaps) == {"dense, training", "dense, inference", "conv, training", "conv, inference"}
    assert max(gaps.values()) == 0

    class NoMovingAverage(keras.layers.BatchNormalization):  # always batch statistics
        def call(self, x, training=False):
            return super().call(x, training=True)

    wrong = check.compare_batch_norm(NoMovingAverage)
    assert wrong["dense, inference"] > 0.1 and wrong["conv, inference"] > 0.1


@pytest.mark.slow
def test_importing_the_checks_changes_nothing_in_ipython_until_asked():
    """The stop handler (one sentence for an unfilled exercise) is installed by an explicit
    call, `check.install_stop_handler()` (runtime.prepare makes it), not by the import."""
    import subprocess
    import sys

    script = (
        "from IPython.testing.globalipapp import start_ipython\n"
        "shell = start_ipython()\n"
        "import dl_vision_labs.check as check\n"
        "print(shell.CustomTB is None or shell.custom_exceptions == ())\n"
        "print(check.install_stop_handler())\n"
        "print(shell.custom_exceptions == (NotImplementedError,))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert out.stdout.split() == ["True", "True", "True"], out.stdout + out.stderr


def test_a_gradient_with_nan_is_wrong_not_passed():
    from dl_vision_labs.check import core

    numerical = np.array([1.0, 2.0])
    with pytest.raises(core.Wrong, match="NaN or infinity"):
        core._compare_gradient(np.array([1.0, np.nan]), numerical, "W")
    core._compare_gradient(np.array([1.0, 2.0]), numerical, "W")  # right: no error
