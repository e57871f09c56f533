"""Array datasets for the notebooks, online (tensorflow_datasets) and offline (local files).

    data = dl_vision_labs.data.load("mnist")        # numpy arrays
    data.x_train.shape, data.y_train.dtype    # (60000, 28, 28, 1) uint8, int64
    train_ds = dl_vision_labs.data.to_dataset(x, y, batch_size=100, shuffle=True)

Where the data comes from:

* **Offline** when the environment variable ``LABS_DATA_DIR`` points at a folder
  holding the original files (the layout of ``shared/data``, see `DATASETS`).
  Each file's SHA-256 is checked before it is parsed, archives are extracted
  into a cache folder atomically, and the network is never touched
  (`dl_vision_labs.files`).
* **Online** otherwise: `tensorflow_datasets` downloads and caches the data
  (the normal path on Colab).

Both give the same dtypes, shapes and label order: images ``uint8`` of shape
``(N, H, W, C)``, labels ``int64`` class indices in the order of ``class_names``.
Nothing downloaded is ever unpickled. Folders of image files (cats and dogs, your
own photos) are in `dl_vision_labs.image_folders`.
"""

from __future__ import annotations

import dataclasses
import gzip
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dl_vision_labs.files import (
    DATA_DIR_VAR,
    DataError,
    DataFile,
    atomic_write,
    cache_dir,
    data_dir,
    verified_path,
)
from dl_vision_labs.image_folders import ImageFolderArchive, extracted_folder


@dataclasses.dataclass(frozen=True)
class IdxSpec:
    """A dataset published as gzip IDX files (MNIST's format)."""

    train_images: DataFile
    train_labels: DataFile
    test_images: DataFile
    test_labels: DataFile

    @property
    def files(self) -> tuple[DataFile, ...]:
        return (self.train_images, self.train_labels, self.test_images, self.test_labels)


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    name: str
    tfds_name: str
    class_names: tuple[str, ...]
    offline: IdxSpec | ImageFolderArchive


def _idx(folder: str, sums: tuple[str, str, str, str]) -> IdxSpec:
    names = (
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    )
    return IdxSpec(*(DataFile(f"{folder}/{n}", s) for n, s in zip(names, sums)))


_CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            "mnist",
            "mnist",
            tuple(str(d) for d in range(10)),
            _idx(
                "mnist",
                (
                    "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                    "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                    "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                    "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                ),
            ),
        ),
        DatasetSpec(
            "fashion_mnist",
            "fashion_mnist",
            (
                "T-shirt/top",
                "Trouser",
                "Pullover",
                "Dress",
                "Coat",
                "Sandal",
                "Shirt",
                "Sneaker",
                "Bag",
                "Ankle boot",
            ),
            _idx(
                "fashion_mnist",
                (
                    "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                    "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                    "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                    "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                ),
            ),
        ),
        DatasetSpec(
            "cifar10",
            "cifar10",
            _CIFAR10_CLASSES,
            ImageFolderArchive(
                DataFile(
                    "cifar10/cifar10_jpeg.tar.gz",
                    "50bd440e3ed650dbda47ec471ab1139970c53aeb14d28b9401b04f3579363595",
                ),
                root="cifar10_jpeg",
                splits=("train", "test"),
                class_names=_CIFAR10_CLASSES,
                note="offline CIFAR-10 is a JPEG (quality 75) re-encoding of the original "
                "images: accuracies are close to, not identical with, the official release",
            ),
        ),
    )
}


@dataclasses.dataclass
class Arrays:
    """A dataset as numpy arrays (what `load` returns)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str  # "offline: <folder>" or "tensorflow_datasets"

    def __repr__(self) -> str:
        return (
            f"Arrays(train={self.x_train.shape} {self.x_train.dtype}, "
            f"test={self.x_test.shape}, classes={len(self.class_names)}, "
            f"source={self.source!r})"
        )


# --- offline readers ----------------------------------------------------------------


def read_idx(path: Path) -> np.ndarray:
    """Parse a (gzip) IDX file: images -> (N, rows, cols) uint8, labels -> (N,) uint8."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path} is not an unsigned-byte IDX file")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    data = np.frombuffer(raw, dtype=np.uint8, offset=offset)
    if data.size != int(np.prod(shape)):
        raise DataError(f"{path}: header says {shape} but holds {data.size} bytes")
    return data.reshape(shape)


def _load_idx(spec: DatasetSpec, root: Path) -> tuple[np.ndarray, ...]:
    idx: IdxSpec = spec.offline
    paths = [verified_path(root, f) for f in idx.files]  # verify all before parsing any
    x_train, y_train, x_test, y_test = (read_idx(p) for p in paths)
    return (
        x_train[..., None],
        y_train.astype(np.int64),
        x_test[..., None],
        y_test.astype(np.int64),
    )


def _load_image_folder_archive(spec: DatasetSpec, root: Path) -> tuple[np.ndarray, ...]:
    from PIL import Image

    arch: ImageFolderArchive = spec.offline
    archive = verified_path(root, arch.archive)
    folder = extracted_folder(arch, archive, arch.archive.sha256)
    decoded = cache_dir() / f"{spec.name}-{arch.archive.sha256[:12]}-arrays.npz"
    if decoded.is_file():
        with np.load(decoded, allow_pickle=False) as z:
            return z["x_train"], z["y_train"], z["x_test"], z["y_test"]
    out = {}
    for split in arch.splits:
        images, labels = [], []
        for label, cls in enumerate(arch.class_names):
            files = sorted((folder / split / cls).iterdir())
            for f in files:
                with Image.open(f) as im:
                    images.append(np.asarray(im.convert("RGB"), dtype=np.uint8))
            labels += [label] * len(files)
        # Files are grouped by class; a fixed permutation makes every prefix a fair sample.
        order = np.random.default_rng(0).permutation(len(labels))
        out[f"x_{split}"] = np.stack(images)[order]
        out[f"y_{split}"] = np.asarray(labels, dtype=np.int64)[order]
    atomic_write(decoded, lambda tmp: np.savez(tmp, **out))
    return out["x_train"], out["y_train"], out["x_test"], out["y_test"]


# --- online reader ------------------------------------------------------------------


def _load_tfds(spec: DatasetSpec) -> tuple[np.ndarray, ...]:
    import tensorflow_datasets as tfds

    arrays = []
    for split in tfds.load(spec.tfds_name, split=["train", "test"], as_supervised=True):
        images, labels = zip(*tfds.as_numpy(split.batch(10_000)))
        arrays += [np.concatenate(images).astype(np.uint8), np.concatenate(labels).astype(np.int64)]
    return tuple(arrays)


def _expected_files(spec: DatasetSpec) -> str:
    return "\n".join(f"  $LABS_DATA_DIR/{f.path}" for f in spec.offline.files)


# --- public API ---------------------------------------------------------------------


def load(
    name: str,
    *,
    limit: int | None = None,
    online_loader: Callable[[DatasetSpec], tuple] | None = None,
) -> Arrays:
    """Load dataset `name` ("mnist", "fashion_mnist", "cifar10") as numpy arrays.

    Args:
        name: a key of `DATASETS`.
        limit: keep only the first `limit` training and test examples (smoke runs).
        online_loader: replaces the tensorflow_datasets download (for tests).

    Raises:
        DataError: unknown name, a missing or damaged offline file, or no offline
            folder and no way to download; the message says what to do.
    """
    if name not in DATASETS:
        raise DataError(f"Unknown dataset {name!r}; choose one of {sorted(DATASETS)}")
    spec = DATASETS[name]
    root = data_dir()
    if root is not None:
        reader = _load_idx if isinstance(spec.offline, IdxSpec) else _load_image_folder_archive
        arrays = reader(spec, root)
        source = f"offline: {root}"
        if getattr(spec.offline, "note", ""):
            print(f"Note: {spec.offline.note}.")
    else:
        try:
            arrays = (online_loader or _load_tfds)(spec)
        except OSError as err:  # no network, DNS failure, refused connection...
            raise DataError(
                f"Could not download {name!r} with tensorflow_datasets ({err}).\n"
                f"Without a network, set {DATA_DIR_VAR} to a folder holding:\n"
                f"{_expected_files(spec)}"
            ) from err
        source = "tensorflow_datasets"
    if limit is not None:
        arrays = tuple(a[:limit] for a in arrays)
    x_train, y_train, x_test, y_test = arrays
    return Arrays(x_train, y_train, x_test, y_test, spec.class_names, source)


def to_dataset(
    x,
    y=None,
    *,
    batch_size: int,
    shuffle: bool = False,
    seed: int | None = None,
    map_fn: Callable | None = None,
    repeat: bool = False,
):
    """A ready `tf.data` pipeline: cache -> shuffle -> batch -> map -> prefetch.

    The raw arrays are cached in memory once; shuffling happens every epoch with
    a fresh order (reproducible given `seed`); `map_fn` runs on whole batches
    (vectorized, e.g. scaling to [0, 1]); prefetch overlaps input with training.
    """
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(x if y is None else (x, y)).cache()
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size)
    if map_fn is not None:
        ds = ds.map(map_fn, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)
