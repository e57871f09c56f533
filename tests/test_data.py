import shutil
import socket
import tarfile
import warnings

import keras
import numpy as np
import pytest
import tensorflow_datasets as tfds

from dl_vision_labs import data


@pytest.fixture
def offline(shared_data, monkeypatch):
    monkeypatch.setenv("LABS_DATA_DIR", str(shared_data))
    return shared_data


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("the offline path tried to use the network")
    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_offline_mnist_arrays(offline, no_network):
    mnist = data.load("mnist")
    assert mnist.x_train.shape == (60000, 28, 28, 1) and mnist.x_train.dtype == np.uint8
    assert mnist.y_train.shape == (60000,) and mnist.y_train.dtype == np.int64
    assert mnist.x_test.shape == (10000, 28, 28, 1)
    assert mnist.source.startswith("offline")
    # Known facts of the original release: first labels, class balance, pixel range.
    assert mnist.y_train[:5].tolist() == [5, 0, 4, 1, 9]
    assert mnist.y_test[:5].tolist() == [7, 2, 1, 0, 4]
    assert np.bincount(mnist.y_test).tolist() == [980, 1135, 1032, 1010, 982,
                                                  892, 958, 1028, 974, 1009]
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
    monkeypatch.setenv("LABS_DATA_DIR", str(root))
    with pytest.raises(data.DataError) as err:
        data.load("mnist")
    message = str(err.value)
    assert "Checksum mismatch" in message and "t10k-labels-idx1-ubyte.gz" in message
    assert data.DATASETS["mnist"].offline.test_labels.sha256 in message


def test_missing_file_names_the_file_and_variable(shared_data, tmp_path, monkeypatch):
    root = _copy_mnist(shared_data, tmp_path / "data")
    (root / "mnist" / "train-images-idx3-ubyte.gz").unlink()
    monkeypatch.setenv("LABS_DATA_DIR", str(root))
    with pytest.raises(data.DataError, match="train-images-idx3-ubyte.gz") as err:
        data.load("mnist")
    assert "LABS_DATA_DIR" in str(err.value)


def test_unknown_dataset_lists_choices():
    with pytest.raises(data.DataError, match="mnist"):
        data.load("imagenet")


def test_no_data_dir_and_no_network_is_one_clear_error(monkeypatch):
    monkeypatch.delenv("LABS_DATA_DIR", raising=False)

    def offline_machine(spec):
        raise ConnectionError("Failed to resolve 'storage.googleapis.com'")

    with pytest.raises(data.DataError) as err:
        data.load("mnist", online_loader=offline_machine)
    message = str(err.value)
    assert "LABS_DATA_DIR" in message and "mnist/t10k-images-idx3-ubyte.gz" in message


def test_online_path_with_tfds_mock_matches_offline_format(monkeypatch, tmp_path):
    monkeypatch.delenv("LABS_DATA_DIR", raising=False)
    with tfds.testing.mock_data(num_examples=20, data_dir=str(tmp_path / "tfds")):
        online = data.load("mnist")
    assert online.source == "tensorflow_datasets"
    assert online.x_train.shape == (20, 28, 28, 1) and online.x_train.dtype == np.uint8
    assert online.y_train.dtype == np.int64 and online.y_train.max() < 10
    assert online.class_names == data.DATASETS["mnist"].class_names


def test_extract_is_atomic_and_cached(tmp_path):
    src = tmp_path / "src" / "top" / "a"
    src.mkdir(parents=True)
    (src / "x.txt").write_text("hello")
    archive = tmp_path / "arch.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "src" / "top", arcname="top")
    digest = data.sha256sum(archive)
    out = data.extract(archive, digest, into=tmp_path / "cache")
    assert (out / "top" / "a" / "x.txt").read_text() == "hello"
    # no temporary folder is left behind, and a second call reuses the result
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [out.name]
    archive.unlink()
    assert data.extract(archive, digest, into=tmp_path / "cache") == out


def test_extract_refuses_paths_outside_the_target(tmp_path):
    import zipfile
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../escape.txt", "x")
    with pytest.raises(data.DataError, match="unsafe path"):
        data.extract(archive, data.sha256sum(archive), into=tmp_path / "cache")
    assert not (tmp_path / "escape.txt").exists()
    assert list((tmp_path / "cache").iterdir()) == []


def test_read_idx_rejects_a_bad_header(tmp_path):
    bad = tmp_path / "bad.idx"
    bad.write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x05abc")
    with pytest.raises(data.DataError, match="header"):
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


def test_extract_refuses_links_in_a_tar(tmp_path):
    archive = tmp_path / "links.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo("top/link")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tar.addfile(info)
    with pytest.raises(data.DataError, match="link"):
        data.extract(archive, data.sha256sum(archive), into=tmp_path / "cache")


# --- image folders and pretrained weights ---------------------------------------------


def _image_zip(path, root="cats_and_dogs_filtered", per_class=3, size=(40, 30)):
    """A small archive with the layout of the tutorial's zip, of generated JPEGs."""
    import io
    import zipfile

    from PIL import Image

    with zipfile.ZipFile(path, "w") as zf:
        for split in ("train", "validation"):
            for c, cls in enumerate(("cats", "dogs")):
                for i in range(per_class):
                    buffer = io.BytesIO()
                    Image.new("RGB", size, (250 * c, 10 * i, 0)).save(buffer, format="JPEG")
                    zf.writestr(f"{root}/{split}/{cls}/{cls[:-1]}.{i}.jpg", buffer.getvalue())
    return path


def test_offline_cats_vs_dogs_folder(offline, no_network):
    folder = data.image_folder("cats_vs_dogs")
    assert folder.name == "cats_and_dogs_filtered"
    counts = {f"{s}/{c}": len(list((folder / s / c).glob("*.jpg")))
              for s in ("train", "validation") for c in ("cats", "dogs")}
    assert counts == {"train/cats": 1000, "train/dogs": 1000,
                      "validation/cats": 500, "validation/dogs": 500}
    assert data.image_folder("cats_vs_dogs") == folder  # extracted once, then reused


def test_online_image_folder_uses_the_injected_download(monkeypatch, tmp_path):
    monkeypatch.delenv("LABS_DATA_DIR", raising=False)
    calls = []

    def downloader(spec):
        calls.append(spec.url)
        return _image_zip(tmp_path / "cats_and_dogs_filtered.zip")

    folder = data.image_folder("cats_vs_dogs", downloader=downloader)
    assert calls == [data.IMAGE_FOLDERS["cats_vs_dogs"].url]
    assert len(list((folder / "validation" / "dogs").iterdir())) == 3


def test_online_image_folder_failure_is_one_clear_error(monkeypatch):
    monkeypatch.delenv("LABS_DATA_DIR", raising=False)

    def offline_machine(spec):
        raise Exception("URL fetch failure: [Errno -3] Temporary failure in name resolution")

    with pytest.raises(data.DataError, match="cats_and_dogs_filtered.zip") as err:
        data.image_folder("cats_vs_dogs", downloader=offline_machine)
    assert "LABS_DATA_DIR" in str(err.value)


def test_image_folder_with_a_wrong_layout(monkeypatch, tmp_path):
    monkeypatch.delenv("LABS_DATA_DIR", raising=False)
    archive = _image_zip(tmp_path / "other.zip", root="something_else")
    with pytest.raises(data.DataError, match="expected layout"):
        data.image_folder("cats_vs_dogs", downloader=lambda spec: archive)
    with pytest.raises(data.DataError, match="Unknown image-folder dataset"):
        data.image_folder("horses")


def test_image_dataset_batches_uint8_with_class_names(tmp_path):
    import zipfile

    with zipfile.ZipFile(_image_zip(tmp_path / "a.zip", per_class=5)) as zf:
        zf.extractall(tmp_path)
    train = tmp_path / "cats_and_dogs_filtered" / "train"
    ds = data.image_dataset(train, image_size=(24, 32), batch_size=4, shuffle=True, seed=1)
    assert ds.class_names == ["cats", "dogs"]
    batches = list(ds.as_numpy_iterator())
    assert [len(x) for x, _ in batches] == [4, 4, 2]
    x, y = np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])
    assert x.shape == (10, 24, 32, 3) and x.dtype == np.uint8 and y.dtype == np.int32
    assert sorted(y.tolist()) == [0] * 5 + [1] * 5
    assert (x[y == 1][..., 0] > 200).all() and (x[y == 0][..., 0] < 50).all()  # labels match
    # reshuffled every epoch, same content
    again = np.concatenate([b[1] for b in ds.as_numpy_iterator()])
    assert sorted(again.tolist()) == sorted(y.tolist())

    val, test = data.image_dataset(train, image_size=(24, 32), validation_split=0.4,
                                   subset="both", seed=3)
    n_val = sum(len(b[1]) for b in val.as_numpy_iterator())
    n_test = sum(len(b[1]) for b in test.as_numpy_iterator())
    assert (n_val, n_test) == (6, 4)
    small = data.image_dataset(train, image_size=(24, 32), limit=4, seed=0)
    assert sum(len(b[1]) for b in small.as_numpy_iterator()) == 4


def test_image_dataset_crops_the_centre_unless_asked_to_stretch(tmp_path):
    from PIL import Image

    strip = Image.new("RGB", (60, 20), (255, 0, 0))
    strip.paste((0, 255, 0), (20, 0, 40, 20))  # red | green | red
    for label in ("a", "b"):
        (tmp_path / label).mkdir()
        strip.save(tmp_path / label / "strip.png")
    cropped = next(data.image_dataset(tmp_path, image_size=(20, 20)).as_numpy_iterator())[0]
    assert cropped[..., 1].min() > 200 and cropped[..., 0].max() < 50  # the green centre
    stretched = next(data.image_dataset(tmp_path, image_size=(20, 20),
                                        crop_to_aspect_ratio=False).as_numpy_iterator())[0]
    assert stretched[:, :, 0, 0].min() > 200  # the red left edge is still there


def test_image_dataset_skips_a_corrupt_file(tmp_path):
    import zipfile

    with zipfile.ZipFile(_image_zip(tmp_path / "a.zip", per_class=3)) as zf:
        zf.extractall(tmp_path)
    train = tmp_path / "cats_and_dogs_filtered" / "train"
    good = (train / "dogs" / "dog.0.jpg").read_bytes()
    (train / "dogs" / "dog.9.jpg").write_bytes(good[: len(good) // 3])  # truncated
    ds = data.image_dataset(train, image_size=(16, 16), batch_size=4, shuffle=True, seed=0)
    labels = np.concatenate([y for _, y in ds.as_numpy_iterator()])
    assert sorted(labels.tolist()) == [0, 0, 0, 1, 1, 1]
    assert int(ds.cardinality()) == 2  # 6 images kept, in batches of 4: the size is known
    model = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(ds, epochs=2, verbose=0)
    assert not [w for w in caught if "ran out of data" in str(w.message)]


def test_image_dataset_decodes_once_when_made(tmp_path):
    import zipfile

    with zipfile.ZipFile(_image_zip(tmp_path / "a.zip", per_class=3)) as zf:
        zf.extractall(tmp_path)
    train = tmp_path / "cats_and_dogs_filtered" / "train"
    ds = data.image_dataset(train, image_size=(16, 16), batch_size=4)
    shutil.rmtree(train)  # every image is already decoded, in the in-memory cache
    for _ in range(2):
        assert sum(len(y) for _, y in ds.as_numpy_iterator()) == 6


def test_image_dataset_bad_folders(tmp_path):
    with pytest.raises(data.DataError, match="No folder"):
        data.image_dataset(tmp_path / "missing")
    (tmp_path / "only" / "cats").mkdir(parents=True)
    with pytest.raises(data.DataError, match="at least two"):
        data.image_dataset(tmp_path / "only")


def test_pretrained_weights_online_offline_and_unavailable(offline, monkeypatch):
    path = data.pretrained_weights("MobileNetV2", alpha=0.35, size=224)
    assert path.endswith("mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5")
    with pytest.raises(data.DataError, match="alpha=1.0") as err:
        data.pretrained_weights("MobileNetV2", alpha=1.0, size=224)
    assert "ALPHA = 0.35" in str(err.value)
    monkeypatch.delenv("LABS_DATA_DIR")
    assert data.pretrained_weights("MobileNetV2", alpha=1.0) == "imagenet"


def test_pretrained_weights_other_input_sizes_use_the_224_file(offline):
    path_224 = data.pretrained_weights("MobileNetV2", alpha=0.35, size=224)
    assert data.pretrained_weights("MobileNetV2", alpha=0.35, size=256) == path_224
    with pytest.raises(data.DataError, match="at 160 px"):
        data.pretrained_weights("MobileNetV2", alpha=0.35, size=160)


@pytest.mark.parametrize("size", [96, 160, 224, 256, 288])
def test_weights_resolution_is_the_file_keras_loads(size, monkeypatch):
    """Keras names the weight file it downloads after the resolution it chose."""
    from keras.src.applications import mobilenet_v2

    class Asked(Exception):
        pass

    def get_file(name, *args, **kwargs):
        raise Asked(name)

    monkeypatch.setattr(mobilenet_v2.file_utils, "get_file", get_file)
    with pytest.raises(Asked) as asked, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras warns when it falls back to 224 px
        keras.applications.MobileNetV2(input_shape=(size, size, 3), alpha=0.35,
                                       include_top=False, weights="imagenet")
    resolution = data.weights_resolution("MobileNetV2", size)
    assert str(asked.value).endswith(f"_0.35_{resolution}_no_top.h5")


def test_pretrained_weights_checksum(shared_data, tmp_path, monkeypatch):
    spec = data.PRETRAINED_WEIGHTS[("MobileNetV2", 0.35, 224)]
    bad = tmp_path / spec.path
    bad.parent.mkdir(parents=True)
    bad.write_bytes((shared_data / spec.path).read_bytes()[:-10])
    monkeypatch.setenv("LABS_DATA_DIR", str(tmp_path))
    with pytest.raises(data.DataError, match="Checksum mismatch"):
        data.pretrained_weights("MobileNetV2", alpha=0.35)
