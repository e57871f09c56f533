"""Read one image of the student's own (a path or uploaded bytes) for a model.

    picture = dl_vision_labs.images.load_image("my_cat.jpg", size=(224, 224))
    picture.pixels.shape, picture.pixels.dtype     # (224, 224, 3) uint8
    picture.notes                                  # what was converted, in words

Whatever is wrong with the file (not an image, truncated, empty, too small,
too large), `load_image` raises one `ImageError` whose message says what was
wrong and what to do, never an exception from deep inside an image library.
Images that are valid but not 8-bit RGB (grayscale, palette, transparency,
16-bit, CMYK) are converted, and each conversion is listed in ``notes``.
"""

from __future__ import annotations

import dataclasses
import io
import os
import warnings
from pathlib import Path

import numpy as np

MIN_SIDE = 32  # pixels: smaller images carry too little to classify
MAX_PIXELS = 50_000_000  # 50 megapixels: above this, refuse (decompression bombs)


class ImageError(ValueError):
    """The image could not be used; the message says why and what to do."""


@dataclasses.dataclass
class LoadedImage:
    """An image ready for a model, and how it was obtained."""

    pixels: np.ndarray  # (height, width, 3) uint8, resized to the requested size
    original_size: tuple[int, int]  # (width, height) of the file
    mode: str  # the file's PIL mode ("RGB", "L", "RGBA", "I;16", ...)
    name: str
    notes: list[str] = dataclasses.field(default_factory=list)


def load_image(
    source,
    size=(224, 224),
    *,
    name: str | None = None,
    crop_to_aspect_ratio: bool = True,
    min_side: int = MIN_SIDE,
    max_pixels: int = MAX_PIXELS,
) -> LoadedImage:
    """Read `source` (a path, or the bytes of an uploaded file) as 8-bit RGB of `size`.

    Args:
        source: ``str`` / ``Path`` of a file, or ``bytes`` (e.g. from Colab's upload).
        size: (height, width) of the result.
        name: how to call the image in messages (default: the file name).
        crop_to_aspect_ratio: cut the largest centred region with the aspect
            ratio of `size` before resizing, so that nothing is squashed (as
            `image_folders.image_dataset` does); False: stretch the whole image to `size`.
        min_side, max_pixels: the smallest side and the largest area accepted.

    Raises:
        ImageError: empty or missing file, not an image, truncated or corrupt,
            smaller than `min_side`, larger than `max_pixels`.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    raw, name = _read(source, name)
    if not raw:
        raise ImageError(
            f"{name} is empty (0 bytes): the upload or copy did not finish. Choose the file again."
        )
    limit = Image.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Opening reads only the header: check the size ourselves (with a
            # message) before anything is decoded; Pillow's own guard stays on.
            Image.MAX_IMAGE_PIXELS = None
            with Image.open(io.BytesIO(raw)) as im:
                width, height = im.size
                if width * height > max_pixels:
                    raise _too_large(name, width, height, max_pixels)
                Image.MAX_IMAGE_PIXELS = max_pixels
                im.load()  # decode now, so that a damaged file fails here
                mode = im.mode
                im = ImageOps.exif_transpose(im)  # phone photos: apply the camera's rotation
                rgb, notes = _to_rgb(im)
    except UnidentifiedImageError:
        raise ImageError(
            f"{name} is not an image that can be read (JPEG, PNG, GIF, BMP, "
            "WebP, TIFF...). If it is a HEIC photo or a PDF, save or export it "
            "as JPEG or PNG first."
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_large(name, None, None, max_pixels) from None
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        if isinstance(err, ImageError):
            raise
        raise ImageError(
            f"{name} is truncated or corrupt and cannot be decoded ({err}). "
            "Download or copy it again, or open it in an image viewer and "
            "save it as a new JPEG or PNG."
        ) from None
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    if min(width, height) < min_side:
        raise ImageError(
            f"{name} is only {width}x{height} pixels: too small to classify "
            f"(at least {min_side} pixels a side). Use a larger image."
        )
    target = (size[1], size[0])  # PIL sizes are (width, height)
    if (width, height) != target:
        cropped = crop_to_aspect_ratio and width * size[0] != height * size[1]
        notes.append(
            f"{'centre cropped and ' if cropped else ''}resized from {width}x{height} "
            f"to {size[1]}x{size[0]} pixels"
        )
    if crop_to_aspect_ratio:
        rgb = ImageOps.fit(rgb, target, Image.Resampling.BILINEAR)  # centre crop, then resize
    else:
        rgb = rgb.resize(target, Image.Resampling.BILINEAR)
    pixels = np.asarray(rgb, dtype=np.uint8)
    return LoadedImage(pixels, (width, height), mode, name, notes)


def ask_for_image(path=None, *, upload=None):
    """The image to classify, as ``(source, name)`` for `load_image`.

    With a `path`, that file. Otherwise, in Colab, an upload button
    (``google.colab.files.upload``); the first uploaded file is used. Anywhere
    else without a path: an `ImageError` asking for one (a headless run never
    waits for a click). `upload` replaces Colab's upload function (for tests).
    """
    if path:
        return str(path), Path(path).name
    if upload is None:
        from dl_vision_labs.runtime import in_colab

        if not in_colab():
            raise ImageError(
                "No image given: set MY_IMAGE to the path of an image file "
                "(outside Colab there is no upload button)."
            )
        from google.colab import files

        upload = files.upload
    uploaded = upload()
    if not uploaded:
        raise ImageError(
            "Nothing was uploaded (the dialog was cancelled or the file was "
            "empty). Run the cell again and choose an image file."
        )
    name, content = next(iter(uploaded.items()))
    if len(uploaded) > 1:
        print(f"{len(uploaded)} files uploaded; using the first one, {name}.")
    return content, name


def _read(source, name):
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), name or "the uploaded file"
    if isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        name = name or path.name or str(path)
        if not path.is_file():
            raise ImageError(f"No file at {path}. Check the path (or upload the image).")
        return path.read_bytes(), name
    raise ImageError(f"Expected a file path or the bytes of an image, got {type(source).__name__}.")


def _too_large(name, width, height, max_pixels):
    size = f"{width}x{height} pixels" if width else "too many pixels"
    return ImageError(
        f"{name} is {size}, more than the {max_pixels / 1e6:g} megapixels "
        "accepted (very large images exhaust memory). Resize it first."
    )


def _to_rgb(im):
    """8-bit RGB from any PIL mode; returns the image and the conversions made."""
    from PIL import Image

    mode = im.mode
    if mode == "RGB":
        return im, []
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # 16-bit (or 32-bit) grey: rescale the full range to 0-255; Pillow's
        # convert("L") would clip everything above 255 to white.
        values = np.asarray(im, dtype=np.float64)
        if mode == "F":
            top = max(float(values.max()), 1.0)
        else:
            top = 65535.0 if mode.startswith("I;16") or values.max() > 255 else 255.0
        grey = np.clip(values / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return (
            Image.fromarray(grey).convert("RGB"),
            [
                f"{mode} ({'16' if mode.startswith('I;16') else '32'}-bit) grey "
                "scaled to 8 bits and repeated on the red, green and blue channels"
            ],
        )
    if mode in ("RGBA", "LA", "PA", "P", "La", "RGBa") and (
        "A" in mode or "a" in mode or "transparency" in im.info
    ):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return (
            Image.alpha_composite(white, rgba).convert("RGB"),
            [f"{mode} with transparency: laid over a white background"],
        )
    if mode in ("L", "1"):
        return im.convert("RGB"), [
            f"grayscale ({mode}) repeated on the red, green and blue channels"
        ]
    return im.convert("RGB"), [f"{mode} converted to RGB"]


def sample_photo(index: int = 0) -> Path:
    """A photo to try things on: the `index`-th cat (by file name) of the cats-vs-dogs
    validation images (`image_folders.image_folder`: the offline copy when
    ``LABS_DATA_DIR`` is set, else downloaded once)."""
    from .image_folders import image_folder

    cats = sorted((image_folder("cats_vs_dogs") / "validation" / "cats").glob("*.jpg"))
    if not 0 <= index < len(cats):
        raise ImageError(
            f"index must be from 0 to {len(cats) - 1} (the validation cats), got {index}"
        )
    return cats[index]
