import io
import shutil
import tarfile

import numpy as np
import pytest
import tensorflow_datasets as tfds

from dl_vision_labs import data, environment
from dl_vision_labs.files import DataError, DataFile, sha256sum
from dl_vision_labs.image_folders import ImageFolderArchive

pytest_plugins = ["tests.data_fixtures"]  # the `offline` and `no_network` fixtures


def test_offline_mnist_arrays(offline, no_network):
    mnist = data.load("mnist")
    assert mnist.x_train.shape == (60000, 28, 28, 1) and mnist.x_train.dtype == np.uint8
    assert mnist.y_train.shape == (60000,) and mnist.y_train.dtype == np.int64
    assert mnist.x_test.shape == (10000, 28, 28, 1)
    assert mnist.source.startswith("offline")
    # Known facts of the original release: first labels, class balance, pixel range.
    assert mnist.y_train[:5].tolist() == [5, 0, 4, 1, 9]
    assert mnist.y_test[:5].tolist() == [7, 2, 1, 0, 4]
    assert np.bincount(mnist.y_test).tolist() == [
        980,
        1135,
        1032,
        1010,
        982,
        892,
        958,
        1028,
        974,
        1009,
    ]
    assert mnist.x_train.max() == 255 and mnist.x_train.min() == 0
    assert mnist.class_names == tuple("0123456789")


def test_offline_fashion_mnist(offline, no_network):
    fashion = data.load("fashion_mnist", limit=100)
    assert fashion.x_train.shape == (100, 28, 28, 1)
    assert fashion.class_names[9] == "Ankle boot"
    assert fashion.y_train[:3].tolist() == [9, 0, 0]


def test_limit_applies_to_both_splits(offline):
    small = data.load("mnist", limit=123)
    assert len(small.x_train) == len(small.y_train) == len(small.x_test) == 123


def _copy_mnist(src, dst):
    shutil.copytree(src / "mnist", dst / "mnist")
    return dst


def test_checksum_mismatch_is_a_clear_error(shared_data, tmp_path, monkeypatch):
    root = _copy_mnist(shared_data, tmp_path / "data")
    damaged = root / "mnist" / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(damaged.read_bytes())
    raw[-1] ^= 0xFF
    damaged.write_bytes(bytes(raw))
    monkeypatch.setenv(environment.DATA_DIR, str(root))
    with pytest.raises(DataError) as err:
        data.load("mnist")
    message = str(err.value)
    assert "Checksum mismatch" in message and "t10k-labels-idx1-ubyte.gz" in message
    assert data.DATASETS["mnist"].offline.test_labels.sha256 in message


def test_missing_file_names_the_file_and_variable(shared_data, tmp_path, monkeypatch):
    root = _copy_mnist(shared_data, tmp_path / "data")
    (root / "mnist" / "train-images-idx3-ubyte.gz").unlink()
    monkeypatch.setenv(environment.DATA_DIR, str(root))
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz") as err:
        data.load("mnist")
    assert environment.DATA_DIR in str(err.value)


def test_unknown_dataset_lists_choices():
    with pytest.raises(DataError, match="mnist"):
        data.load("imagenet")


def test_no_data_dir_and_no_network_is_one_clear_error(monkeypatch):
    monkeypatch.delenv(environment.DATA_DIR, raising=False)

    def offline_machine(spec):
        raise ConnectionError("Failed to resolve 'storage.googleapis.com'")

    with pytest.raises(DataError) as err:
        data.load("mnist", online_loader=offline_machine)
    message = str(err.value)
    assert environment.DATA_DIR in message and "mnist/t10k-images-idx3-ubyte.gz" in message


def test_online_path_with_tfds_mock_matches_offline_format(monkeypatch, tmp_path):
    monkeypatch.delenv(environment.DATA_DIR, raising=False)
    with tfds.testing.mock_data(num_examples=20, data_dir=str(tmp_path / "tfds")):
        online = data.load("mnist")
    assert online.source == "tensorflow_datasets"
    assert online.x_train.shape == (20, 28, 28, 1) and online.x_train.dtype == np.uint8
    assert online.y_train.dtype == np.int64 and online.y_train.max() < 10
    assert online.class_names == data.DATASETS["mnist"].class_names


def test_read_idx_rejects_a_bad_header(tmp_path):
    bad = tmp_path / "bad.idx"
    bad.write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x05abc")
    with pytest.raises(DataError, match="header"):
        data.read_idx(bad)


def test_to_dataset_batches_and_shuffles():
    x = np.arange(10, dtype="float32")
    y = x * 2
    ds = data.to_dataset(x, y, batch_size=4, shuffle=True, seed=1)
    batches = list(ds.as_numpy_iterator())
    assert [len(bx) for bx, _ in batches] == [4, 4, 2]
    xs = np.concatenate([bx for bx, _ in batches])
    ys = np.concatenate([by for _, by in batches])
    assert sorted(xs.tolist()) == x.tolist() and np.array_equal(ys, xs * 2)
    scaled = data.to_dataset(x, batch_size=5, map_fn=lambda b: b / 10)
    assert np.allclose(next(iter(scaled.as_numpy_iterator())), x[:5] / 10)


# --- offline archives of image files (CIFAR-10's form) ----------------------------------


def _cifar_like(root, classes=("cat", "dog"), per_class=(3, 2)):
    """A tiny archive laid out as the offline CIFAR-10 one: <top>/<split>/<class>/*.png."""
    from PIL import Image

    archive = root / "tiny" / "tiny_png.tar.gz"
    archive.parent.mkdir(parents=True)
    with tarfile.open(archive, "w:gz") as tar:
        for split, n in zip(("train", "test"), per_class):
            for c, cls in enumerate(classes):
                for i in range(n):
                    buffer = io.BytesIO()
                    Image.new("RGB", (4, 4), (100 * c, 10 * i, 0)).save(buffer, format="PNG")
                    info = tarfile.TarInfo(f"tiny_png/{split}/{cls}/{i}.png")
                    info.size = buffer.tell()
                    buffer.seek(0)
                    tar.addfile(info, buffer)
    return archive


@pytest.fixture
def tiny_dataset(tmp_path, monkeypatch):
    """A dataset "tiny" in `data.DATASETS` whose offline form is an image-folder archive."""
    archive = _cifar_like(tmp_path / "data")
    spec = data.DatasetSpec(
        "tiny",
        "tiny",
        ("cat", "dog"),
        ImageFolderArchive(
            DataFile("tiny/tiny_png.tar.gz", sha256sum(archive)),
            root="tiny_png",
            splits=("train", "test"),
            class_names=("cat", "dog"),
            note="a test archive",
        ),
    )
    monkeypatch.setitem(data.DATASETS, "tiny", spec)
    monkeypatch.setenv(environment.DATA_DIR, str(tmp_path / "data"))
    monkeypatch.setenv(environment.CACHE_DIR, str(tmp_path / "cache"))
    return archive


def test_offline_image_folder_archive_as_arrays(tiny_dataset, no_network, capsys):
    tiny = data.load("tiny")
    assert "Note: a test archive." in capsys.readouterr().out
    assert tiny.x_train.shape == (6, 4, 4, 3) and tiny.x_train.dtype == np.uint8
    assert tiny.y_train.dtype == np.int64 and sorted(tiny.y_train.tolist()) == [0, 0, 0, 1, 1, 1]
    assert tiny.x_test.shape == (4, 4, 4, 3) and sorted(tiny.y_test.tolist()) == [0, 0, 1, 1]
    assert (tiny.x_train[tiny.y_train == 1][..., 0] == 100).all()  # labels match the images
    # The decoded arrays are cached (written atomically: no temporary is left beside them).
    cache = [p.name for p in (tiny_dataset.parents[2] / "cache").iterdir()]
    assert len(cache) == 2 and not [n for n in cache if n.startswith(".")]
    assert [n for n in cache if n.endswith("-arrays.npz")]
    again = data.load("tiny")
    assert np.array_equal(again.x_train, tiny.x_train)


def test_offline_image_folder_archive_checks_the_checksum_and_layout(tiny_dataset, monkeypatch):
    spec = data.DATASETS["tiny"]
    bad_sum = ImageFolderArchive(
        DataFile(spec.offline.archive.path, "0" * 64),
        root="tiny_png",
        splits=("train", "test"),
        class_names=("cat", "dog"),
    )
    monkeypatch.setitem(
        data.DATASETS, "tiny", data.DatasetSpec("tiny", "tiny", ("cat", "dog"), bad_sum)
    )
    with pytest.raises(DataError, match="Checksum mismatch"):
        data.load("tiny")
    wrong_classes = ImageFolderArchive(
        spec.offline.archive, root="tiny_png", splits=("train", "test"), class_names=("cat", "bird")
    )
    monkeypatch.setitem(
        data.DATASETS, "tiny", data.DatasetSpec("tiny", "tiny", ("cat", "bird"), wrong_classes)
    )
    with pytest.raises(DataError, match="expected layout.*train/bird, test/bird"):
        data.load("tiny")
