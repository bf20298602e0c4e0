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
        (np.zeros((4, 5, 3), np.uint16), TypeError, "dtype uint16"),
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
