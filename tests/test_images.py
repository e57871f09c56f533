"""dl_vision_labs.images: every bad input is one clear ImageError; odd formats are converted."""

import io

import numpy as np
import pytest
from PIL import Image

from dl_vision_labs import images
from dl_vision_labs.images import ImageError, load_image


def _png(array, mode=None, **save):
    buffer = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buffer, format="PNG", **save)
    return buffer.getvalue()


def _jpeg(width=64, height=48, color=(200, 30, 30)):
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_rgb_jpeg_from_path_is_resized(tmp_path):
    path = tmp_path / "cat.jpg"
    path.write_bytes(_jpeg(80, 40))
    picture = load_image(path, size=(32, 48))
    assert picture.pixels.shape == (32, 48, 3) and picture.pixels.dtype == np.uint8
    assert picture.original_size == (80, 40) and picture.name == "cat.jpg"
    assert abs(int(picture.pixels[..., 0].mean()) - 200) < 5  # the colour survived
    assert any("resized from 80x40" in n for n in picture.notes)


def test_centre_crop_keeps_the_middle_and_squash_keeps_everything():
    strip = Image.new("RGB", (120, 40))
    for i, colour in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)]):
        strip.paste(colour, (40 * i, 0, 40 * i + 40, 40))  # red | green | blue, 40x40 each
    buffer = io.BytesIO()
    strip.save(buffer, format="PNG")
    cropped = load_image(buffer.getvalue(), size=(30, 30))
    assert cropped.pixels[..., 1].min() > 200 and cropped.pixels[..., 0].max() < 50  # green only
    assert any("centre cropped and resized from 120x40" in n for n in cropped.notes)
    squashed = load_image(buffer.getvalue(), size=(30, 30), crop_to_aspect_ratio=False)
    assert squashed.pixels[:, 0, 0].min() > 200 and squashed.pixels[:, -1, 2].min() > 200
    assert not any("cropped" in n for n in squashed.notes)


def test_bytes_are_accepted_like_a_path():
    picture = load_image(_jpeg(), size=(64, 64))
    assert picture.pixels.shape == (64, 64, 3) and picture.name == "the uploaded file"


def test_empty_upload_and_empty_file(tmp_path):
    with pytest.raises(ImageError, match="empty"):
        load_image(b"")
    empty = tmp_path / "empty.jpg"
    empty.touch()
    with pytest.raises(ImageError, match="empty.jpg is empty"):
        load_image(empty)


def test_missing_file():
    with pytest.raises(ImageError, match="No file at"):
        load_image("/no/such/picture.jpg")


def test_not_an_image(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("this is not a picture\n" * 10)
    with pytest.raises(ImageError, match="notes.txt is not an image"):
        load_image(text)
    with pytest.raises(ImageError, match="not an image"):
        load_image(b"%PDF-1.4 not really")


def test_truncated_file_is_corrupt_not_a_crash():
    raw = _jpeg(200, 200)
    with pytest.raises(ImageError, match="truncated or corrupt"):
        load_image(raw[: len(raw) // 2])
    png = _png(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    with pytest.raises(ImageError, match="truncated or corrupt"):
        load_image(png[:-200])


def test_tiny_image_is_refused():
    with pytest.raises(ImageError, match="only 20x10 pixels: too small"):
        load_image(_jpeg(20, 10))


def test_huge_image_is_refused_before_decoding():
    with pytest.raises(ImageError, match="400x300 pixels, more than the 0.1 megapixels"):
        load_image(_jpeg(400, 300), max_pixels=100_000)


def test_decompression_bomb_header_is_refused():
    # A PNG whose header claims 20000 x 20000 pixels (400 MP) of a single colour:
    # a few kilobytes on disk, 1.2 GB once decoded.
    big = Image.new("1", (20000, 20000))
    buffer = io.BytesIO()
    big.save(buffer, format="PNG")
    assert len(buffer.getvalue()) < 200_000
    with pytest.raises(ImageError, match="20000x20000 pixels, more than the 50 megapixels"):
        load_image(buffer.getvalue())


def test_grayscale_is_repeated_on_three_channels():
    grey = np.full((40, 40), 100, dtype=np.uint8)
    picture = load_image(_png(grey), size=(40, 40))
    assert picture.mode == "L" and picture.pixels.shape == (40, 40, 3)
    assert (picture.pixels == 100).all()
    assert any("grayscale" in n for n in picture.notes)


def test_rgba_is_laid_over_white():
    rgba = np.zeros((40, 40, 4), dtype=np.uint8)
    rgba[..., 0] = 255  # red...
    rgba[:, :20, 3] = 255  # ...opaque on the left, transparent on the right
    picture = load_image(_png(rgba), size=(40, 40))
    assert picture.mode == "RGBA"
    assert picture.pixels[5, 5].tolist() == [255, 0, 0]
    assert picture.pixels[5, 35].tolist() == [255, 255, 255]
    assert any("transparency" in n for n in picture.notes)


def test_16_bit_grey_is_scaled_not_clipped():
    deep = np.full((40, 40), 32768, dtype=np.uint16)  # mid-grey in 16 bits
    raw = _png(deep)
    with Image.open(io.BytesIO(raw)) as im:
        assert im.mode.startswith("I")
    picture = load_image(raw, size=(40, 40))
    assert abs(int(picture.pixels.mean()) - 128) <= 1  # Pillow's convert would give 255
    assert any("16-bit" in n for n in picture.notes)


def test_palette_and_cmyk_are_converted():
    palette = Image.new("P", (40, 40), 3)
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG")
    assert load_image(buffer.getvalue(), size=(40, 40)).pixels.shape == (40, 40, 3)
    cmyk = Image.new("CMYK", (40, 40), (0, 255, 255, 0))
    buffer = io.BytesIO()
    cmyk.save(buffer, format="JPEG")
    picture = load_image(buffer.getvalue(), size=(40, 40))
    assert picture.pixels[..., 0].mean() > 200 and picture.pixels[..., 1].mean() < 60
    assert any("CMYK" in n for n in picture.notes)


def test_wrong_source_type():
    with pytest.raises(ImageError, match="Expected a file path or the bytes"):
        load_image(12345)


def test_ask_for_image_path_upload_and_empty_upload(tmp_path, monkeypatch):
    assert images.ask_for_image(tmp_path / "a.jpg") == (str(tmp_path / "a.jpg"), "a.jpg")
    content, name = images.ask_for_image(upload=lambda: {"dog.png": b"123", "x.png": b"4"})
    assert (content, name) == (b"123", "dog.png")
    with pytest.raises(ImageError, match="Nothing was uploaded"):
        images.ask_for_image(upload=dict)
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    with pytest.raises(ImageError, match="set MY_IMAGE"):
        images.ask_for_image()
