import warnings

import keras
import pytest

from dl_vision_labs import environment, pretrained
from dl_vision_labs.files import DataError

pytest_plugins = ["tests.data_fixtures"]  # the `offline` and `no_network` fixtures


def test_pretrained_weights_online_offline_and_unavailable(offline, monkeypatch):
    path = pretrained.pretrained_weights("MobileNetV2", alpha=0.35, size=224)
    assert path.endswith("mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5")
    with pytest.raises(DataError, match="alpha=1.0") as err:
        pretrained.pretrained_weights("MobileNetV2", alpha=1.0, size=224)
    assert "ALPHA = 0.35" in str(err.value)
    monkeypatch.delenv(environment.DATA_DIR)
    assert pretrained.pretrained_weights("MobileNetV2", alpha=1.0) == "imagenet"


def test_pretrained_weights_other_input_sizes_use_the_224_file(offline):
    path_224 = pretrained.pretrained_weights("MobileNetV2", alpha=0.35, size=224)
    assert pretrained.pretrained_weights("MobileNetV2", alpha=0.35, size=256) == path_224
    with pytest.raises(DataError, match="at 160 px"):
        pretrained.pretrained_weights("MobileNetV2", alpha=0.35, size=160)


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
        keras.applications.MobileNetV2(
            input_shape=(size, size, 3), alpha=0.35, include_top=False, weights="imagenet"
        )
    resolution = pretrained.weights_resolution("MobileNetV2", size)
    assert str(asked.value).endswith(f"_0.35_{resolution}_no_top.h5")


def test_pretrained_weights_checksum(shared_data, tmp_path, monkeypatch):
    spec = pretrained.PRETRAINED_WEIGHTS[("MobileNetV2", 0.35, 224)]
    bad = tmp_path / spec.path
    bad.parent.mkdir(parents=True)
    bad.write_bytes((shared_data / spec.path).read_bytes()[:-10])
    monkeypatch.setenv(environment.DATA_DIR, str(tmp_path))
    with pytest.raises(DataError, match="Checksum mismatch"):
        pretrained.pretrained_weights("MobileNetV2", alpha=0.35)
