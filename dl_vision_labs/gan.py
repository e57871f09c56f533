"""Measure and show what a generative model makes: a judge, quality measures, grids, GIFs.

(Training the two networks against each other is `dl_vision_labs.adversarial`.)

    judge = gan.train_judge(images)                            # a classifier that can say
    judge = gan.extend_judge(classifier, images)               # "not a digit" (non_images)
    judge = gan.load_judge("mnist", images)                    # notebook 05's, else trained

    fd = gan.frechet_distance(real_features, fake_features)   # 0 = same distribution
    gan.confident_share(probabilities)                         # share the classifier is sure of
    gan.class_coverage(labels, num_classes=10)                 # share of each class
    gan.save_grid(images, folder / "epoch_001.png")            # PNG written atomically
    gan.make_gif(sorted(folder.glob("epoch_*.png")), folder / "training.gif")

The measures work on plain NumPy arrays (features and probabilities computed by
any classifier), so they do not depend on the Keras backend; only the judge uses Keras.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dl_vision_labs.files import atomic_write

if TYPE_CHECKING:
    import keras


# --- quality measures -----------------------------------------------------------------


def _features(x, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(
            f"{name} must be a 2-D array [samples, features] with at least 2 "
            f"samples, got shape {x.shape}; flatten or pool the activations first"
        )
    if not np.all(np.isfinite(x)):
        raise ValueError(
            f"{name} holds NaN or infinite values: the model producing the "
            "features diverged or was fed invalid images"
        )
    return x


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean vector and covariance matrix of `features` (one row per sample)."""
    x = _features(features, "features")
    return x.mean(axis=0), np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix (eigendecomposition)."""
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ eigenvectors.T


def frechet_distance_from_statistics(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet distance between the Gaussians N(mu1, sigma1) and N(mu2, sigma2).

    d² = |mu1 − mu2|² + Tr(sigma1 + sigma2 − 2·(sigma1·sigma2)^½)

    Tr((sigma1·sigma2)^½) is computed as the sum of the square roots of the
    eigenvalues of the symmetric matrix sigma1^½·sigma2·sigma1^½, which has the
    same eigenvalues as sigma1·sigma2 (NumPy only, no SciPy needed).
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = (
        np.atleast_2d(sigma1).astype(np.float64),
        np.atleast_2d(sigma2).astype(np.float64),
    )
    d = mu1.shape[0]
    if mu1.shape != (d,) or mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise ValueError(
            f"statistics do not match: means {mu1.shape} and {mu2.shape}, "
            f"covariances {sigma1.shape} and {sigma2.shape}; both sets of "
            "features must come from the same layer"
        )
    root1 = _sqrt_psd(sigma1)
    middle = root1 @ sigma2 @ root1
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    value = np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt
    return float(max(value, 0.0))  # rounding can make a zero distance slightly negative


def frechet_distance(features_a, features_b) -> float:
    """Fréchet distance between two sets of features, each modelled as a Gaussian.

    With features of an Inception network this is the FID (Heusel et al., 2017);
    the notebooks use a small classifier's features instead. 0 means the two
    sets have the same mean and covariance; the larger, the more they differ.
    """
    a = _features(features_a, "features_a")
    b = _features(features_b, "features_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"features_a has {a.shape[1]} features per sample but features_b has "
            f"{b.shape[1]}: compute both with the same model and layer"
        )
    return frechet_distance_from_statistics(*feature_statistics(a), *feature_statistics(b))


def confident_share(
    probabilities, threshold: float = 0.9, reject_class: int | None = None
) -> float:
    """Share of samples whose most probable class has probability >= `threshold`.

    With `reject_class` (a judge's "not a digit" output), samples whose most
    probable class is that one never count as confident.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2 or len(p) == 0:
        raise ValueError(
            f"probabilities must be a non-empty [samples, classes] array, got shape {p.shape}"
        )
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    if np.any(p < 0) or not np.allclose(p.sum(axis=1), 1, atol=1e-3):
        raise ValueError(
            "probabilities must be non-negative and sum to 1 per row; "
            "apply a softmax to logits first"
        )
    if reject_class is not None and not 0 <= reject_class < p.shape[1]:
        raise ValueError(
            f"reject_class must be a class index 0..{p.shape[1] - 1}, got {reject_class}"
        )
    sure = p.max(axis=1) >= threshold
    if reject_class is not None:
        sure &= p.argmax(axis=1) != reject_class
    return float(np.mean(sure))


def class_coverage(labels, num_classes: int) -> np.ndarray:
    """Share of each class 0..num_classes-1 among `labels` (sums to 1).

    A generator that has collapsed onto a few modes shows shares near 0 for
    the classes it no longer makes.
    """
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) == 0 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"labels must be a non-empty 1-D array of class indices, got "
            f"shape {y.shape} dtype {y.dtype}; use argmax of the probabilities"
        )
    if y.min() < 0 or y.max() >= num_classes:
        raise ValueError(f"labels must lie in 0..{num_classes - 1}, found {y.min()}..{y.max()}")
    return np.bincount(y, minlength=num_classes) / len(y)


# --- images -------------------------------------------------------------------------------


def image_grid(
    images, *, ncols: int = 8, value_range=(-1.0, 1.0), padding: int = 2, scale: int = 1
) -> np.ndarray:
    """Tile images [N, H, W, C] into one uint8 image, mapping `value_range` to 0..255."""
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3) or len(x) == 0:
        raise ValueError(f"images must be [N, H, W, 1 or 3], got shape {x.shape}")
    low, high = value_range
    x = np.clip((x - low) / (high - low), 0, 1) * 255
    n, h, w, c = x.shape
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    grid = np.zeros(
        (nrows * (h + padding) + padding, ncols * (w + padding) + padding, c), np.float32
    )
    for i, img in enumerate(x):
        r, col = divmod(i, ncols)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[top : top + h, left : left + w] = img
    grid = grid.round().astype(np.uint8)
    if scale > 1:
        grid = grid.repeat(scale, axis=0).repeat(scale, axis=1)
    return grid[..., 0] if c == 1 else grid


def save_grid(images, path, **grid_args) -> Path:
    """Save `images` as one PNG grid (see `image_grid`), atomically: a crash never
    leaves a half-written file under the final name."""
    from PIL import Image

    grid = Image.fromarray(image_grid(images, **grid_args))
    return atomic_write(path, lambda tmp: grid.save(tmp, format="PNG"))


def make_gif(frames, path, *, duration_ms: int = 300, last_frame_ms: int = 1500) -> Path:
    """An animated GIF (looping) from image files `frames`, in the order given."""
    from PIL import Image

    frames = [Path(f) for f in frames]
    if not frames:
        raise ValueError("make_gif needs at least one frame; no image file was given")
    images = []
    for f in frames:
        with Image.open(f) as im:
            images.append(im.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE))
    durations = [duration_ms] * (len(images) - 1) + [last_frame_ms]
    return atomic_write(
        path,
        lambda tmp: images[0].save(
            tmp, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0
        ),
    )


# --- "not a digit": images a judge must refuse ----------------------------------------------


def _interpolation_matrix(size: int, low: int) -> np.ndarray:
    """[size, low] weights that resample `low` points to `size` by linear interpolation."""
    positions = np.linspace(0, low - 1, size)
    left = np.floor(positions).astype(int).clip(0, low - 2) if low > 1 else np.zeros(size, int)
    frac = positions - left
    m = np.zeros((size, low))
    m[np.arange(size), left] = 1 - frac if low > 1 else 1
    if low > 1:
        m[np.arange(size), left + 1] += frac
    return m


def non_images(n: int, shape, seed: int = 0) -> np.ndarray:
    """`n` uint8 images of `shape` (H, W, C) that show nothing: smooth blobs, speckle, flat grey.

    A classifier trained on digits alone calls anything a digit, often with
    confidence, even the grey smudges of an untrained generator. Trained with
    these as one extra class, "not a digit", it can say so. They are drawn at
    random (seeded), none from a generator: three kinds in equal parts,
    * low-frequency noise (a 2×2 to 14×14 grid of random values, interpolated up),
    * speckle: sparse random bright pixels on a dark or grey ground,
    * a flat level with a little Gaussian noise,
    each with a random brightness and contrast.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    h, w, c = (tuple(shape) + (1,))[:3] if len(shape) == 2 else tuple(shape)
    rng = np.random.default_rng(seed)
    out = np.empty((n, h, w, c), np.float64)
    kinds = rng.integers(0, 3, size=n)
    for i, kind in enumerate(kinds):
        level, contrast = rng.uniform(0, 1), rng.uniform(0.05, 0.6)
        if kind == 0:
            low = int(rng.integers(2, 15))
            grid = rng.normal(size=(c, low, low))
            img = np.einsum(
                "hl,clm,wm->hwc", _interpolation_matrix(h, low), grid, _interpolation_matrix(w, low)
            )
            img = level + contrast * img / (img.std() + 1e-8)
        elif kind == 1:
            img = np.full((h, w, c), level * 0.5)
            img[rng.uniform(size=(h, w)) < rng.uniform(0.01, 0.3)] = rng.uniform(0.5, 1)
        else:
            img = level + rng.uniform(0, 0.1) * rng.normal(size=(h, w, c))
        out[i] = img
    return np.round(np.clip(out, 0, 1) * 255).astype(np.uint8)


# --- a judge for generated images -------------------------------------------------------------


def _with_reject_class(images, negatives: int | None, seed: int):
    """Pixels in [0, 1] and labels: the training images plus `negatives` images of nothing
    (default: a tenth as many), labelled len(class_names) ("not a digit")."""
    if negatives is None:
        negatives = len(images.x_train) // 10
    reject = len(images.class_names)
    nothing = non_images(negatives, images.x_train.shape[1:], seed=seed)
    x = np.concatenate([images.x_train, nothing]).astype("float32") / 255
    y = np.concatenate([images.y_train, np.full(negatives, reject, images.y_train.dtype)])
    return x, y


def train_judge(
    images, *, epochs: int = 5, negatives: int | None = None, seed: int | None = None, verbose=2
) -> keras.Model:
    """A classifier of `images` (a `data.load` result) with one more class: "not a digit".

    Notebook 05's network (`models.conv_net` with batch normalization and random
    shifts) with len(class_names) + 1 outputs, trained for `epochs` on the
    training images (pixels in [0, 1]) and `negatives` images of nothing
    (`gan.non_images`; default: a tenth as many as training images). On MNIST,
    five epochs give about 99.5% on the test digits. Its penultimate layer
    gives the features.
    """
    import keras

    from dl_vision_labs import models

    x, y = _with_reject_class(images, negatives, seed or 0)
    model = models.conv_net(
        filters=(24, 48, 64),
        batch_norm=True,
        dropout_rate=0.1,
        shift=0.08,
        seed=seed,
        input_shape=images.x_train.shape[1:],
        num_classes=len(images.class_names) + 1,
        name="judge",
    )
    steps = epochs * -(-len(x) // 100)
    model.compile(
        optimizer=keras.optimizers.Adam(
            models.ExponentialDecayToMin(0.02, 0.0001, decay_steps=max(steps // 3, 1))
        ),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=50,
    )
    model.fit(x, y, batch_size=100, epochs=epochs, shuffle=True, verbose=verbose)
    return model


def extend_judge(
    classifier: keras.Model,
    images,
    *,
    epochs: int = 3,
    negatives: int | None = None,
    seed: int | None = None,
    pixel_scale: float = 1.0,
    verbose=0,
) -> keras.Model:
    """A trained classifier (notebook 05's or 06's) given one more output, "not a digit".

    Its layers are kept frozen. Its output layer (softmax or logits) is
    replaced by a softmax layer with len(class_names) + 1 outputs that starts
    as a copy of it (and a zero column for the new class), then is trained on
    the penultimate layer's features of the training images and of `negatives`
    images of nothing (`gan.non_images`). The classes' accuracy stays about
    the classifier's; the new layer mostly learns to refuse.

    The judge takes pixels in [0, 1]; `pixel_scale` is what the classifier's
    inputs are multiplied by: 255 for a network trained on raw pixel values.
    """
    import keras

    last = classifier.layers[-1]
    if not isinstance(last, keras.layers.Dense) or last.units != len(images.class_names):
        raise ValueError(
            f"the classifier must end in a Dense layer with one output per class "
            f"({len(images.class_names)}), found {last.name!r}"
        )
    x, y = _with_reject_class(images, negatives, seed or 0)
    features = keras.Model(classifier.inputs, classifier.layers[-2].output, name="features")
    features.trainable = False
    head = keras.layers.Dense(len(images.class_names) + 1, activation="softmax", name="output")
    inputs = keras.Input(classifier.input_shape[1:])
    pixels = inputs if pixel_scale == 1 else keras.layers.Rescaling(pixel_scale)(inputs)
    model = keras.Model(inputs, head(features(pixels)), name="judge")
    kernel, bias = (np.asarray(w) for w in last.get_weights())
    head.set_weights(
        [
            np.concatenate([kernel, np.zeros_like(kernel[:, :1])], axis=1),
            np.concatenate([bias, [0.0]]).astype(bias.dtype),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x, y, batch_size=256, epochs=epochs, shuffle=True, verbose=verbose)
    return model


# --- the judge of notebook 09: an earlier notebook's classifier, or one trained here ---------

# The classifier an earlier notebook saves for each dataset: its notebook, its file, the test
# accuracy it must reach, and what it multiplies pixels in [0, 1] by (06's takes 0..255).
SAVED_CLASSIFIERS = {
    "mnist": ("05_batch_normalization", "mnist_cnn.keras", 0.993, 1.0),
    "cifar10": ("06_convolutions_filters_cifar10", "cifar10_cnn.keras", 0.8, 255.0),
}


def saved_classifier(name: str, images, *, min_accuracy: float | None = None):
    """The classifier an earlier notebook saved for dataset `name` (`SAVED_CLASSIFIERS`, in
    that notebook's `storage.workdir`) if it loads, takes `images`' shape and reaches
    `min_accuracy` (default: the table's) on `images.x_test`; else None, saying why."""
    import keras

    from dl_vision_labs import storage

    if name not in SAVED_CLASSIFIERS:
        return None
    notebook, file, target, scale = SAVED_CLASSIFIERS[name]
    target = target if min_accuracy is None else min_accuracy
    path = storage.workdir(notebook) / file
    if not path.exists():
        print(f"No saved classifier at {path}.")
        return None
    try:  # compile=False: only predictions are needed, not the optimizer and its schedule
        model = keras.models.load_model(path, safe_mode=True, compile=False)
    except (ValueError, TypeError, OSError) as err:
        print(f"Could not load {path}: {err}")
        return None
    shape = tuple(images.x_train.shape[1:])
    if tuple(model.input_shape[1:]) != shape:
        print(f"{path} expects inputs {model.input_shape[1:]}, not {shape}.")
        return None
    predictions = model.predict(
        images.x_test.astype("float32") / 255 * scale, batch_size=500, verbose=0
    )
    accuracy = float(np.mean(np.argmax(predictions, 1) == np.asarray(images.y_test).reshape(-1)))
    if accuracy < target:
        print(f"{path} reaches only {accuracy:.4f} on the test images, not {target}.")
        return None
    print(
        f"Loaded notebook {notebook[:2]}'s classifier from {path} (test accuracy {accuracy:.4f})."
    )
    return model


def load_judge(
    name: str,
    images,
    *,
    epochs: int = 5,
    seed: int | None = None,
    min_accuracy: float | None = None,
) -> keras.Model:
    """Notebook 09's judge for dataset `name`: the classifier an earlier notebook saved
    (`saved_classifier`) given a "not a digit" class by `extend_judge`, or, when there is
    none that reaches its accuracy, one trained here by `train_judge`, for `epochs`."""
    classifier = saved_classifier(name, images, min_accuracy=min_accuracy)
    if classifier is None:
        print("Training the judge here.")
        return train_judge(images, epochs=epochs, seed=seed)
    scale = SAVED_CLASSIFIERS[name][3]
    return extend_judge(classifier, images, epochs=epochs, seed=seed, pixel_scale=scale)
