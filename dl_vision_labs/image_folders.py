"""Image-folder datasets: archives of ``<root>/<split>/<class>/<image>`` files, and a
`tf.data` pipeline for any folder with one sub-folder of images per class.

    folder = image_folders.image_folder("cats_vs_dogs")   # verified or downloaded, extracted once
    train_ds = image_folders.image_dataset(folder / "train", image_size=(224, 224),
                                           shuffle=True, seed=0)
    train_ds.class_names                                   # ['cats', 'dogs']

Offline (``LABS_DATA_DIR`` set) the archive's SHA-256 is checked before it is
opened; online it is downloaded with ``keras.utils.get_file``. Either way it is
extracted into the cache folder once, atomically (see `dl_vision_labs.files`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dl_vision_labs.files import (
    DATA_DIR_VAR,
    DataError,
    DataFile,
    data_dir,
    extract,
    sha256sum,
    verified_path,
)


@dataclasses.dataclass(frozen=True)
class ImageFolderArchive:
    """A dataset shipped as an archive of ``<root>/<split>/<class>/<image>`` files.

    Offline the archive is ``$LABS_DATA_DIR/<archive.path>``; online it is
    downloaded from `url` (and cached) by ``keras.utils.get_file``. Without a
    `url` the archive exists offline only (CIFAR-10's: online, `data.load`
    reads the original release with tensorflow_datasets instead).
    """

    archive: DataFile
    root: str  # top folder inside the archive
    splits: tuple[str, ...]  # a sub-folder of `root` each
    class_names: tuple[str, ...]  # a sub-folder of every split each, in label order
    url: str = ""
    note: str = ""  # printed whenever the dataset is loaded (how it differs from the original)

    @property
    def files(self) -> tuple[DataFile, ...]:
        return (self.archive,)


IMAGE_FOLDERS: dict[str, ImageFolderArchive] = {
    # The subset of Kaggle's Dogs vs. Cats used by the TensorFlow transfer-learning
    # tutorial: train 1000 cats + 1000 dogs, validation 500 + 500.
    "cats_vs_dogs": ImageFolderArchive(
        DataFile(
            "cats_and_dogs_filtered.zip",
            "a3eed4fb61f02017d6a7e3d2c934756575876534ab393e27da9f6dcf3b65ce05",
        ),
        root="cats_and_dogs_filtered",
        splits=("train", "validation"),
        class_names=("cats", "dogs"),
        url="https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip",
    ),
}


def extracted_folder(spec: ImageFolderArchive, archive: Path, sha256: str) -> Path:
    """Extract `archive` (a copy of `spec.archive` with this SHA-256) once into the
    cache and return its ``<root>`` folder, after checking that every split has a
    sub-folder for every class."""
    folder = extract(archive, sha256) / spec.root
    missing = [
        f"{s}/{c}" for s in spec.splits for c in spec.class_names if not (folder / s / c).is_dir()
    ]
    if missing:
        raise DataError(
            f"{archive} does not have the expected layout: {spec.root}/ lacks {', '.join(missing)}"
        )
    return folder


def _download_archive(spec: ImageFolderArchive) -> Path:
    import keras

    return Path(keras.utils.get_file(fname=Path(spec.archive.path).name, origin=spec.url))


def image_folder(
    name: str, *, downloader: Callable[[ImageFolderArchive], Path] | None = None
) -> Path:
    """The folder of image-folder dataset `name`, with one sub-folder per split.

    Offline (``LABS_DATA_DIR`` set) the archive is verified and extracted once
    into the cache; online it is downloaded with ``keras.utils.get_file`` and
    extracted the same way. ``image_folder("cats_vs_dogs") / "train"`` holds
    ``cats/`` and ``dogs/``.

    Args:
        name: a key of `IMAGE_FOLDERS`.
        downloader: replaces the download (for tests); returns the archive's path.
    """
    if name not in IMAGE_FOLDERS:
        raise DataError(
            f"Unknown image-folder dataset {name!r}; choose one of "
            f"{sorted(IMAGE_FOLDERS)}, or pass your own folder to image_dataset"
        )
    spec = IMAGE_FOLDERS[name]
    root = data_dir()
    if root is not None:
        archive = verified_path(root, spec.archive)
        digest = spec.archive.sha256
    elif not spec.url:
        raise DataError(
            f"{name!r} exists offline only: set {DATA_DIR_VAR} to a folder "
            f"holding {spec.archive.path}."
        )
    else:
        try:
            archive = Path((downloader or _download_archive)(spec))
        # get_file raises a bare Exception for HTTP/URL errors, OSError for the rest.
        except Exception as err:  # noqa: BLE001
            raise DataError(
                f"Could not download {name!r} from {spec.url} ({type(err).__name__}: {err}).\n"
                f"Without a network, set {DATA_DIR_VAR} to a folder holding "
                f"{spec.archive.path}."
            ) from err
        digest = sha256sum(archive)
    return extracted_folder(spec, archive, digest)


def image_dataset(
    folder,
    *,
    image_size=(224, 224),
    batch_size: int = 32,
    shuffle: bool = False,
    seed: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    limit: int | None = None,
    class_names=None,
    crop_to_aspect_ratio: bool = True,
):
    """Images in class sub-folders of `folder` as a ready `tf.data` pipeline.

    ``folder/<class>/<image>`` files become batches of ``(images, labels)``:
    images ``uint8`` of shape ``(batch, *image_size, 3)``, labels ``int32``
    class indices in the (alphabetical) order of ``dataset.class_names``.

    `keras.utils.image_dataset_from_directory` lists, decodes and resizes;
    the resized images are then cached (decoded once, in memory, by this call),
    shuffled every epoch when `shuffle`, batched and prefetched. Augment *after* this
    pipeline (in the model), so that every epoch sees new random versions.
    Files that cannot be decoded are skipped, with a warning.

    Args:
        folder: the folder with one sub-folder of images per class.
        image_size: (height, width) every image is resized to.
        shuffle: a new order every epoch (training data).
        seed: makes the order and the `validation_split` reproducible.
        validation_split, subset: hold out a fraction of the files, as in
            `image_dataset_from_directory`; ``subset="both"`` returns two datasets.
        limit: keep `limit` images, drawn at random from every class (smoke runs).
        class_names: the classes to use, in this order (default: every sub-folder).
        crop_to_aspect_ratio: resize the largest centred region with the aspect
            ratio of `image_size` (nothing is squashed: a cat keeps its shape);
            False stretches the whole image to `image_size`, which distorts the
            shapes the pretrained features know (notebook 07 explains it).
    """
    import keras
    import tensorflow as tf

    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DataError(
            f"No folder {folder}: give a folder with one sub-folder of "
            "images per class (e.g. my_photos/cats/*.jpg, my_photos/dogs/*.jpg)."
        )
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if class_names is None and len(classes) < 2:
        raise DataError(
            f"{folder} has {len(classes)} sub-folder(s) {classes}; a classifier "
            "needs one sub-folder of images per class, at least two."
        )
    # Shuffle the file list (reproducibly) whenever a subset is taken from it.
    made = keras.utils.image_dataset_from_directory(
        folder,
        class_names=class_names,
        image_size=tuple(image_size),
        batch_size=None,
        shuffle=shuffle or validation_split is not None or limit is not None,
        seed=seed,
        validation_split=validation_split,
        subset=subset,
        verbose=False,
        crop_to_aspect_ratio=crop_to_aspect_ratio,
    )
    datasets = made if isinstance(made, (list, tuple)) else [made]

    ready = []
    for ds in datasets:
        names = ds.class_names
        if limit is not None:
            ds = ds.take(limit)
        n = int(ds.cardinality())
        ds = ds.map(
            lambda x, y: (tf.cast(tf.round(x), tf.uint8), tf.cast(y, tf.int32)),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        # A file that cannot be decoded (truncated, not really an image) is skipped
        # with a warning naming the error, instead of stopping training mid-epoch.
        ds = ds.ignore_errors(log_warning=True).cache()
        # Skipping makes the size unknown, so Keras would warn at the end of the first
        # epoch that the input "ran out of data". One pass now decodes every image into
        # the cache and counts the ones kept; the size is then known again.
        kept = int(ds.reduce(np.int64(0), lambda count, _: count + 1))
        ds = ds.apply(tf.data.experimental.assert_cardinality(kept))
        if shuffle:
            ds = ds.shuffle(max(n, 1), seed=seed, reshuffle_each_iteration=True)
        ds = ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
        ds.class_names = names
        ready.append(ds)
    return tuple(ready) if isinstance(made, (list, tuple)) else ready[0]
