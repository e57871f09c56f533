import dataclasses
import shutil
import warnings

import keras
import numpy as np
import pytest

from dl_vision_labs import environment, image_folders
from dl_vision_labs.files import DataError, DataFile, sha256sum
from dl_vision_labs.image_folders import ImageFolderArchive

pytest_plugins = ["tests.data_fixtures"]  # the `offline` and `no_network` fixtures


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
    folder = image_folders.image_folder("cats_vs_dogs")
    assert folder.name == "cats_and_dogs_filtered"
    counts = {
        f"{s}/{c}": len(list((folder / s / c).glob("*.jpg")))
        for s in ("train", "validation")
        for c in ("cats", "dogs")
    }
    assert counts == {
        "train/cats": 1000,
        "train/dogs": 1000,
        "validation/cats": 500,
        "validation/dogs": 500,
    }
    assert image_folders.image_folder("cats_vs_dogs") == folder  # extracted once, then reused


def test_online_image_folder_uses_the_injected_download(monkeypatch, tmp_path):
    monkeypatch.delenv(environment.DATA_DIR, raising=False)
    calls = []

    def downloader(spec):
        calls.append(spec.url)
        return _image_zip(tmp_path / "cats_and_dogs_filtered.zip")

    folder = image_folders.image_folder("cats_vs_dogs", downloader=downloader)
    assert calls == [image_folders.IMAGE_FOLDERS["cats_vs_dogs"].url]
    assert len(list((folder / "validation" / "dogs").iterdir())) == 3


def test_online_image_folder_failure_is_one_clear_error(monkeypatch):
    monkeypatch.delenv(environment.DATA_DIR, raising=False)

    def offline_machine(spec):
        raise Exception("URL fetch failure: [Errno -3] Temporary failure in name resolution")

    with pytest.raises(DataError, match="cats_and_dogs_filtered.zip") as err:
        image_folders.image_folder("cats_vs_dogs", downloader=offline_machine)
    assert environment.DATA_DIR in str(err.value)


def test_image_folder_with_a_wrong_layout(monkeypatch, tmp_path):
    monkeypatch.delenv(environment.DATA_DIR, raising=False)
    archive = _image_zip(tmp_path / "other.zip", root="something_else")
    with pytest.raises(DataError, match="expected layout"):
        image_folders.image_folder("cats_vs_dogs", downloader=lambda spec: archive)
    with pytest.raises(DataError, match="Unknown image-folder dataset"):
        image_folders.image_folder("horses")


def test_image_dataset_batches_uint8_with_class_names(tmp_path):
    import zipfile

    with zipfile.ZipFile(_image_zip(tmp_path / "a.zip", per_class=5)) as zf:
        zf.extractall(tmp_path)
    train = tmp_path / "cats_and_dogs_filtered" / "train"
    ds = image_folders.image_dataset(train, image_size=(24, 32), batch_size=4, shuffle=True, seed=1)
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

    val, test = image_folders.image_dataset(
        train, image_size=(24, 32), validation_split=0.4, subset="both", seed=3
    )
    n_val = sum(len(b[1]) for b in val.as_numpy_iterator())
    n_test = sum(len(b[1]) for b in test.as_numpy_iterator())
    assert (n_val, n_test) == (6, 4)
    small = image_folders.image_dataset(train, image_size=(24, 32), limit=4, seed=0)
    assert sum(len(b[1]) for b in small.as_numpy_iterator()) == 4


def test_image_dataset_crops_the_centre_unless_asked_to_stretch(tmp_path):
    from PIL import Image

    strip = Image.new("RGB", (60, 20), (255, 0, 0))
    strip.paste((0, 255, 0), (20, 0, 40, 20))  # red | green | red
    for label in ("a", "b"):
        (tmp_path / label).mkdir()
        strip.save(tmp_path / label / "strip.png")
    cropped = next(image_folders.image_dataset(tmp_path, image_size=(20, 20)).as_numpy_iterator())[
        0
    ]
    assert cropped[..., 1].min() > 200 and cropped[..., 0].max() < 50  # the green centre
    stretched = next(
        image_folders.image_dataset(
            tmp_path, image_size=(20, 20), crop_to_aspect_ratio=False
        ).as_numpy_iterator()
    )[0]
    assert stretched[:, :, 0, 0].min() > 200  # the red left edge is still there


def test_image_dataset_skips_a_corrupt_file(tmp_path):
    import zipfile

    with zipfile.ZipFile(_image_zip(tmp_path / "a.zip", per_class=3)) as zf:
        zf.extractall(tmp_path)
    train = tmp_path / "cats_and_dogs_filtered" / "train"
    good = (train / "dogs" / "dog.0.jpg").read_bytes()
    (train / "dogs" / "dog.9.jpg").write_bytes(good[: len(good) // 3])  # truncated
    ds = image_folders.image_dataset(train, image_size=(16, 16), batch_size=4, shuffle=True, seed=0)
    labels = np.concatenate([y for _, y in ds.as_numpy_iterator()])
    assert sorted(labels.tolist()) == [0, 0, 0, 1, 1, 1]
    assert int(ds.cardinality()) == 2  # 6 images kept, in batches of 4: the size is known
    model = keras.Sequential(
        [
            keras.Input((16, 16, 3)),
            keras.layers.Flatten(),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
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
    ds = image_folders.image_dataset(train, image_size=(16, 16), batch_size=4)
    shutil.rmtree(train)  # every image is already decoded, in the in-memory cache
    for _ in range(2):
        assert sum(len(y) for _, y in ds.as_numpy_iterator()) == 6


def test_image_dataset_bad_folders(tmp_path):
    with pytest.raises(DataError, match="No folder"):
        image_folders.image_dataset(tmp_path / "missing")
    (tmp_path / "only" / "cats").mkdir(parents=True)
    with pytest.raises(DataError, match="at least two"):
        image_folders.image_dataset(tmp_path / "only")


# --- the archive spec -----------------------------------------------------------------


def _spec(**changes):
    fields = dict(
        archive=DataFile("cats_and_dogs_filtered.zip", "0" * 64),
        root="cats_and_dogs_filtered",
        splits=("train", "validation"),
        class_names=("cats", "dogs"),
    )
    return ImageFolderArchive(**{**fields, **changes})


def test_archive_spec_defaults_and_files():
    spec = _spec()
    assert spec.url == "" and spec.note == ""  # offline only, nothing to say
    assert spec.files == (spec.archive,)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.root = "elsewhere"
    assert image_folders.IMAGE_FOLDERS["cats_vs_dogs"].url.endswith("cats_and_dogs_filtered.zip")


def test_extracted_folder_checks_every_split_and_class(tmp_path):
    archive = _image_zip(tmp_path / "cats_and_dogs_filtered.zip")
    digest = sha256sum(archive)
    folder = image_folders.extracted_folder(_spec(), archive, digest)
    assert folder.name == "cats_and_dogs_filtered"
    assert sorted(p.name for p in (folder / "validation").iterdir()) == ["cats", "dogs"]
    with pytest.raises(DataError, match="lacks test/cats, test/dogs"):
        image_folders.extracted_folder(_spec(splits=("train", "test")), archive, digest)


def test_an_offline_only_archive_says_so_without_data_dir(monkeypatch):
    monkeypatch.delenv(environment.DATA_DIR, raising=False)
    monkeypatch.setitem(image_folders.IMAGE_FOLDERS, "local", _spec())

    def downloader(spec):
        raise AssertionError("an archive without url must not be downloaded")

    with pytest.raises(DataError, match="offline only") as err:
        image_folders.image_folder("local", downloader=downloader)
    assert environment.DATA_DIR in str(err.value) and "cats_and_dogs_filtered.zip" in str(err.value)


def test_sample_photo_is_a_cat_of_the_offline_copy(offline, no_network, tmp_path, monkeypatch):
    monkeypatch.setenv(environment.CACHE_DIR, str(tmp_path))
    from dl_vision_labs import images

    path = images.sample_photo()
    assert path.suffix == ".jpg" and path.parent.name == "cats"
    assert path == images.sample_photo(0) != images.sample_photo(1)
    assert images.load_image(path, size=(64, 64)).pixels.shape == (64, 64, 3)
    with pytest.raises(images.ImageError, match="index must be"):
        images.sample_photo(10_000)
