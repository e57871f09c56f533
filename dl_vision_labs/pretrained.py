"""Pretrained ImageNet weights for `keras.applications`, online or from verified offline copies.

    weights = pretrained.pretrained_weights("MobileNetV2", alpha=0.35, size=256)
    backbone = keras.applications.MobileNetV2(input_shape=(256, 256, 3), alpha=0.35,
                                              include_top=False, weights=weights)

Online the answer is ``"imagenet"`` (Keras downloads and caches the file);
offline (``LABS_DATA_DIR`` set) it is the path of the local copy, whose SHA-256
is checked first.
"""

from __future__ import annotations

from dl_vision_labs.files import DATA_DIR_VAR, DataError, DataFile, data_dir, verified_path

PRETRAINED_WEIGHTS: dict[tuple[str, float, int], DataFile] = {
    ("MobileNetV2", 0.35, 224): DataFile(
        "weights/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5",
        "ee3637ed12967467016b423225f9c256b01e140a295e3c8c9c7f59549a30e498",
    ),
}


def weights_resolution(application: str, size: int) -> int:
    """The resolution of the ImageNet weights Keras loads for inputs of `size` pixels.

    MobileNet weights exist at 96, 128, 160, 192 and 224 px; for any other
    input size `keras.applications` loads the 224 px weights (the convolutions
    work at any size). Other applications have one set of weights, at 224 px.
    """
    if application.startswith("MobileNet") and size in (96, 128, 160, 192, 224):
        return int(size)
    return 224


def pretrained_weights(
    application: str = "MobileNetV2", *, alpha: float = 1.0, size: int = 224
) -> str:
    """The ``weights=`` argument for a `keras.applications` model without its top.

    Online this is ``"imagenet"`` (Keras downloads and caches the file). Offline
    (``LABS_DATA_DIR`` set) it is the path of the verified local copy of the file
    Keras would load for inputs of `size` pixels (see `weights_resolution`);
    only the files in `PRETRAINED_WEIGHTS` exist offline, anything else is a
    clear error.
    """
    root = data_dir()
    if root is None:
        return "imagenet"
    resolution = weights_resolution(application, int(size))
    key = (application, float(alpha), resolution)
    if key not in PRETRAINED_WEIGHTS:
        have = ", ".join(f"{a} alpha={al} at {s} px" for a, al, s in PRETRAINED_WEIGHTS)
        raise DataError(
            f"No offline ImageNet weights for {application} alpha={alpha} at {resolution} px: "
            f"{DATA_DIR_VAR}={root} only has {have}. Use those settings (e.g. ALPHA = 0.35), "
            f"or unset {DATA_DIR_VAR} on a machine with internet to download any weights."
        )
    return str(verified_path(root, PRETRAINED_WEIGHTS[key]))
