import keras
import matplotlib.pyplot as plt
import numpy as np

from dl_vision_labs import plots


def _inked(fig, path):
    """Save the figure, read the PNG back and return the share of its pixels that are not
    the white background: a figure that drew nothing gives 0."""
    fig.savefig(path)
    plt.close(fig)
    pixels = plt.imread(path)[..., :3]
    return float(np.mean(np.any(pixels < 0.95, axis=-1)))


def test_plot_history_renders(tmp_path):
    history = {
        "loss": [1.0, 0.5],
        "val_loss": [1.1, 0.7],
        "accuracy": [0.5, 0.8],
        "val_accuracy": [0.4, 0.7],
    }
    fig = plots.plot_history(history)
    assert len(fig.axes) == 2
    assert [line.get_label() for line in fig.axes[0].lines] == ["train", "validation"]
    assert _inked(fig, tmp_path / "h.png") > 0.01


def test_show_images_marks_wrong_predictions_red(tmp_path):
    images = np.random.default_rng(0).integers(0, 255, (4, 28, 28, 1), dtype=np.uint8)
    fig = plots.show_images(images, labels=[1, 2, 3, 4], predictions=[1, 0, 3, 0], ncols=4)
    colors = [ax.title.get_color() for ax in fig.axes]
    assert colors == ["black", "red", "black", "red"]
    assert fig.axes[1].get_title() == "0 (2)"
    assert _inked(fig, tmp_path / "g.png") > 0.01


def test_show_weights_one_panel_per_class(tmp_path):
    fig = plots.show_weights(np.random.default_rng(0).normal(size=(784, 10)))
    assert len([ax for ax in fig.axes if ax.images]) == 10
    colour = plots.show_weights(
        np.random.default_rng(0).normal(size=(32 * 32 * 3, 10)), image_shape=(32, 32, 3)
    )
    assert colour.axes[0].images[0].get_array().shape == (32, 32, 3)
    assert _inked(fig, tmp_path / "w.png") > 0.01


def test_confusion_matrix_counts(tmp_path):
    fig, cm = plots.plot_confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2], class_names=["a", "b", "c"])
    assert cm.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    assert _inked(fig, tmp_path / "cm.png") > 0.01


def test_live_curves_prints_when_headless(capsys):
    x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    live = plots.LiveCurves()
    assert live.live is False  # no notebook front end in pytest
    model.fit(x, y, epochs=2, validation_split=0.25, verbose=0, callbacks=[live])
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("epoch 1: ") and out[1].startswith("epoch 2: ")
    assert "val_accuracy=" in out[1]
    assert len(live.history["loss"]) == 2


def test_live_curves_redraws_in_a_notebook(monkeypatch):
    updates = []

    class Handle:
        def update(self, fig):
            updates.append(fig)

    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda fig, display_id: Handle())
    live = plots.LiveCurves(every=1)
    live.live = True
    for step in (1, 2, 3):
        live.update(step, {"loss": 1 / step, "accuracy": step / 4})
    assert len(updates) == 2  # first draw displays, the next ones update in place
    assert len(live._axes[0][0].lines) == 1
    assert list(live._axes[0][0].lines[0].get_xdata()) == [1, 2, 3]


def test_live_curves_every_counts_updates_not_step_numbers(monkeypatch):
    drawn = []
    import IPython.display

    monkeypatch.setattr(
        IPython.display,
        "display",
        lambda fig, display_id: (
            drawn.append(fig) or type("H", (), {"update": lambda self, f: drawn.append(f)})()
        ),
    )
    live = plots.LiveCurves(every=2, xlabel="step")
    live.live = True
    for step in (100, 200, 300, 400):  # steps that are no multiple of `every`'s value
        live.update(step, {"loss": 1.0})
    assert len(drawn) == 2  # redrawn after the 2nd and the 4th update


def test_plot_histories_one_line_per_run(tmp_path):
    runs = {
        "a": {"val_accuracy": [0.9, 0.95], "val_loss": [0.3, 0.2]},
        "b": {"val_accuracy": [0.8, 0.9, 0.97], "val_loss": [0.5, 0.3, 0.1]},
    }
    fig = plots.plot_histories(
        runs,
        ylim={"val_accuracy": (0.85, 1)},
        x_scale=100,
        xlabel="step",
        titles={"val_loss": "test loss"},
    )
    acc, loss = fig.axes
    assert [line.get_label() for line in acc.lines] == ["a", "b"]
    assert list(acc.lines[1].get_xdata()) == [100, 200, 300]
    assert acc.get_ylim() == (0.85, 1)
    assert loss.get_title() == "test loss" and acc.get_title() == "val_accuracy"
    assert _inked(fig, tmp_path / "hs.png") > 0.01


def test_plot_activations_two_panels_per_layer(tmp_path):
    rng = np.random.default_rng(0)
    pre = [rng.normal(size=(50, n)) for n in (20, 10)]
    runs = {
        "plain": [(p * 5, 1 / (1 + np.exp(-p * 5))) for p in pre],
        "normalized": [(p, 1 / (1 + np.exp(-p))) for p in pre],
    }
    fig = plots.plot_activations(runs, saturation=(-4, 4))
    assert len(fig.axes) == 4
    right = fig.axes[1]
    assert [line.get_label() for line in right.lines] == ["plain", "normalized"]
    assert len(right.lines[0].get_ydata()) == 20  # one point per neuron
    assert np.all(np.diff(right.lines[0].get_ydata()) <= 0)  # sorted, largest first
    assert fig.axes[3].lines[0].get_ydata().size == 10
    assert _inked(fig, tmp_path / "act.png") > 0.01


def test_show_masks_colours_classes_and_marks_errors(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (3, 16, 16, 1), dtype=np.uint8)
    masks = rng.integers(0, 11, (3, 16, 16))
    predicted = masks.copy()
    predicted[0, :2] = (masks[0, :2] + 1) % 11  # 32 wrong pixels in the first scene
    fig = plots.show_masks(images, masks, predicted, class_names=[str(c) for c in range(11)])
    grid = list(fig.axes)
    assert len(grid) == 4 * 3  # scene, truth, prediction, errors for each scene
    colours = plots.mask_colours(11)
    assert np.allclose(colours[0], 1.0) and len(np.unique(colours, axis=0)) == 11
    truth = grid[3].images[0].get_array()  # row 2, first scene: the true mask in colour
    assert np.allclose(truth, colours[masks[0]])
    errors = np.asarray(grid[9].images[0].get_array())
    assert (errors[..., 1] < 0.5).sum() == 32  # the red pixels are the wrong ones
    assert len(fig.legends[0].get_texts()) == 11
    assert _inked(fig, tmp_path / "m.png") > 0.01


def test_show_matrices_writes_every_value(tmp_path):
    fig = plots.show_matrices({"a": np.arange(6).reshape(2, 3), "b": [[1.5, np.nan]]})
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"]
    assert [t.get_text() for t in fig.axes[0].texts] == ["0", "1", "2", "3", "4", "5"]
    assert [t.get_text() for t in fig.axes[1].texts] == ["1.5"]  # NaN stays blank
    assert _inked(fig, tmp_path / "s.png") > 0.01


def test_show_filters_puts_each_kernel_above_its_result(tmp_path):
    photo = np.random.default_rng(0).integers(0, 255, (12, 12, 3)).astype(float)
    kernels = {"box": np.ones((3, 3)) / 9}
    fig = plots.show_filters(kernels, {"box": photo, "edges": photo[..., 0] - 300})
    top = fig.axes[:2]
    assert [ax.get_title() for ax in top] == ["box", "edges"]
    assert len(top[0].texts) == 9 and not top[1].images  # no kernel for "edges"
    assert fig.axes[2].images[0].get_array().dtype == np.uint8
    assert _inked(fig, tmp_path / "f.png") > 0.01


def test_plot_gap_draws_training_dashed_and_test_solid_per_run(tmp_path):
    runs = {
        "a": {"accuracy": [0.5, 0.9], "val_accuracy": [0.5, 0.7]},
        "b": {"accuracy": [0.4, 0.6], "val_accuracy": [0.4, 0.65]},
    }
    fig = plots.plot_gap(runs)
    lines = fig.axes[0].lines
    assert [line.get_label() for line in lines] == [
        "a: training",
        "a: test",
        "b: training",
        "b: test",
    ]
    assert [line.get_linestyle() for line in lines] == ["--", "-", "--", "-"]
    assert lines[0].get_color() == lines[1].get_color() != lines[2].get_color()
    assert _inked(fig, tmp_path / "gap.png") > 0.01


def test_show_images_takes_titles_as_labels():
    images = np.zeros((2, 8, 8, 3), np.uint8)
    fig = plots.show_images(images, ["a photo", 3], class_names=list("abcd"), ncols=2)
    assert [ax.get_title() for ax in fig.axes] == ["a photo", "d"]
    plt.close(fig)
