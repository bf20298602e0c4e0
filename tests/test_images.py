"""Image inputs: every accepted form converts exactly; everything else gets a clear error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hqsam_nb import as_rgb_uint8, load_image

RGB = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)


def test_rgb_uint8_passes_through_without_copy() -> None:
    assert as_rgb_uint8(RGB) is RGB


def test_grayscale_rgba_and_single_channel() -> None:
    gray = RGB[..., 0]
    assert np.array_equal(as_rgb_uint8(gray), np.repeat(gray[..., None], 3, axis=2))
    assert np.array_equal(as_rgb_uint8(gray[..., None]), as_rgb_uint8(gray))
    rgba = np.concatenate([RGB, np.full((4, 5, 1), 7, np.uint8)], axis=2)
    assert np.array_equal(as_rgb_uint8(rgba), RGB)


def test_float_in_unit_range_is_scaled_and_rounded() -> None:
    out = as_rgb_uint8(RGB.astype(np.float32) / 255.0)
    assert out.dtype == np.uint8 and np.array_equal(out, RGB)


def test_pil_and_path_with_exif_orientation(tmp_path: Path) -> None:
    img = Image.fromarray(np.zeros((10, 20, 3), np.uint8))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    path = tmp_path / "rotated.jpg"
    img.save(path, exif=exif)
    assert as_rgb_uint8(path).shape == (20, 10, 3)
    assert as_rgb_uint8(str(path)).shape == (20, 10, 3)
    with Image.open(path) as opened:
        assert as_rgb_uint8(opened).shape == (20, 10, 3)
    assert as_rgb_uint8(Image.fromarray(RGB[..., 0])).shape == (4, 5, 3)


@pytest.mark.parametrize(
    ("image", "error", "message"),
    [
        (np.zeros((4, 5, 2), np.uint8), ValueError, r"shape \(4, 5, 2\)"),
        (np.zeros((2, 4, 5, 3), np.uint8), ValueError, "shape"),
        (np.zeros((0, 5, 3), np.uint8), ValueError, "empty"),
        (np.zeros((4, 5, 3), bool), TypeError, "dtype bool"),
        (np.zeros((4, 5, 3), np.int32), TypeError, "dtype int32"),
        (np.full((4, 5, 3), 2.0), ValueError, r"outside \[0, 1\]"),
        (np.full((4, 5, 3), np.nan), ValueError, "NaN"),
        ([[1, 2], [3, 4]], TypeError, "type list"),
        (None, TypeError, "type NoneType"),
    ],
)
def test_bad_images_are_explained(image, error, message) -> None:
    with pytest.raises(error, match=message) as info:
        as_rgb_uint8(image)
    assert "accepted:" in str(info.value)


def test_bad_paths(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_image(tmp_path / "nope.png")
    junk = tmp_path / "junk.png"
    junk.write_text("not an image")
    with pytest.raises(ValueError, match="not a readable image"):
        as_rgb_uint8(junk)


def test_torch_tensor_hint() -> None:
    import torch

    with pytest.raises(TypeError, match="numpy"):
        as_rgb_uint8(torch.zeros(3, 4, 5))


RAMP16 = (np.arange(24 * 40, dtype=np.uint32).reshape(24, 40) * 68).astype(np.uint16)  # 0 .. 65212


def test_16_bit_is_scaled_to_8_bit_the_same_way_for_files_pil_images_and_arrays(tmp_path: Path) -> None:
    expected = np.repeat((RAMP16 >> 8).astype(np.uint8)[..., None], 3, axis=2)  # the high byte, as Pillow reads
    path = tmp_path / "ramp16.png"
    Image.fromarray(RAMP16).save(path)  # a 16-bit greyscale PNG (mode I;16)
    with Image.open(path) as opened:
        assert opened.mode == "I;16"
        from_pil = as_rgb_uint8(opened)
    from_file = as_rgb_uint8(path)
    from_array = as_rgb_uint8(RAMP16)
    from_mode_i = as_rgb_uint8(Image.fromarray(RAMP16.astype(np.int32)))  # mode I: how 16-bit files may open
    big_endian = as_rgb_uint8(RAMP16.astype(">u2"))
    for out in (from_file, from_pil, from_array, from_mode_i, big_endian):
        np.testing.assert_array_equal(out, expected)
    assert (from_file == 255).mean() < 0.01  # not clipped to white as convert("RGB") did
    # A 16-bit RGB file (Pillow reads it as 8-bit RGB, keeping the high byte) agrees with the 16-bit array.
    import cv2

    rgb16 = np.dstack([RAMP16, RAMP16[::-1], RAMP16[:, ::-1]])
    cv2.imwrite(str(tmp_path / "rgb16.png"), rgb16[..., ::-1])
    np.testing.assert_array_equal(as_rgb_uint8(tmp_path / "rgb16.png"), as_rgb_uint8(rgb16))


def test_pil_float_and_wide_int_images_follow_the_array_rules() -> None:
    unit = RAMP16.astype(np.float32) / 65535
    np.testing.assert_array_equal(as_rgb_uint8(Image.fromarray(unit)), as_rgb_uint8(unit))  # mode F in [0, 1]
    with pytest.raises(ValueError, match=r"PIL image of mode 'F' has values in \[0, 6.5.*outside \[0, 1\]"):
        as_rgb_uint8(Image.fromarray(RAMP16.astype(np.float32)))
    with pytest.raises(ValueError, match=r"PIL image of mode 'I' has values in \[-5, .*16-bit"):
        as_rgb_uint8(Image.fromarray(RAMP16.astype(np.int32) - 5))


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG that declares ``width x height`` 1-bit pixels (a decompression bomb: tiny file, huge image)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b""))
                     + chunk(b"IEND", b""))


def test_decompression_bomb_is_a_value_error(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    _png_header_only(bomb, 20_000, 10_000)  # 200 megapixels in 60 bytes
    assert bomb.stat().st_size < 100
    with pytest.raises(ValueError, match=r"has 200,000,000 pixels, more than the 178,956,970 pixels accepted"):
        as_rgb_uint8(bomb)
