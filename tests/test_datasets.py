"""Dataset loaders on tiny fabricated folders in each layout, and every bad-folder case."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hqsam_nb.evaluation.datasets import (
    DatasetError,
    coift,
    dis5k_vd,
    find_paper_datasets,
    hrsod,
    image_mask_folder,
    open_dataset,
    read_mask,
    synthetic_dataset,
    thinobject5k_test,
)
from hqsam_nb.io.synthetic import thin_structure_scene


def _write(folder: Path, stems: list[str], *, size: tuple[int, int] = (24, 32),
           mask_levels: tuple[int, int] = (0, 255), image_ext: str = ".jpg",
           mask_size: tuple[int, int] | None = None) -> dict[str, np.ndarray]:
    """Write images under ``folder/images`` and masks under ``folder/masks``; return the true masks."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "masks").mkdir(parents=True, exist_ok=True)
    truth = {}
    for i, stem in enumerate(stems):
        rng = np.random.default_rng(i)
        image = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
        h, w = mask_size or size
        mask = np.zeros((h, w), bool)
        mask[2 + i:h // 2 + i, 3:w - 4] = True
        Image.fromarray(image).save(folder / "images" / f"{stem}{image_ext}")
        Image.fromarray(np.where(mask, mask_levels[1], mask_levels[0]).astype(np.uint8)).save(
            folder / "masks" / f"{stem}.png")
        truth[stem] = mask
    return truth


def _rename(folder: Path, images: str, masks: str) -> None:
    (folder / images).parent.mkdir(parents=True, exist_ok=True)
    (folder / "images").rename(folder / images)
    (folder / "masks").rename(folder / masks)


def test_generic_folder(tmp_path: Path) -> None:
    truth = _write(tmp_path / "mine", ["b", "a", "c"])
    (tmp_path / "mine" / "images" / "notes.txt").write_text("ignored: not an image")
    data = image_mask_folder(tmp_path / "mine")
    assert data.name == "mine" and data.names == ("a", "b", "c")
    ex = data[1]
    assert ex.name == "b" and ex.image.shape == (24, 32, 3) and ex.image.dtype == np.uint8
    np.testing.assert_array_equal(ex.mask, truth["b"])
    assert [e.name for e in data[:2]] == ["a", "b"]
    same = image_mask_folder(tmp_path / "mine" / "images", tmp_path / "mine" / "masks", name="x")
    assert same.name == "x" and len(same) == 3


@pytest.mark.parametrize(("loader", "name", "images", "masks", "point_at"), [
    (dis5k_vd, "DIS5K-VD", "DIS5K/DIS-VD/im", "DIS5K/DIS-VD/gt", "."),
    (dis5k_vd, "DIS5K-VD", "DIS5K/DIS-VD/im", "DIS5K/DIS-VD/gt", "DIS5K/DIS-VD"),
    (coift, "COIFT", "thin_object_detection/COIFT/images", "thin_object_detection/COIFT/masks", "."),
    (coift, "COIFT", "thin_object_detection/COIFT/images", "thin_object_detection/COIFT/masks",
     "thin_object_detection"),
    (hrsod, "HRSOD", "thin_object_detection/HRSOD/images", "thin_object_detection/HRSOD/masks_max255",
     "thin_object_detection/HRSOD"),
    (thinobject5k_test, "ThinObject5K-TE", "thin_object_detection/ThinObject5K/images_test",
     "thin_object_detection/ThinObject5K/masks_test", "."),
])
def test_paper_layouts(tmp_path: Path, loader, name: str, images: str, masks: str, point_at: str) -> None:
    truth = _write(tmp_path, ["im1", "im2"])
    _rename(tmp_path, images, masks)
    data = loader(tmp_path / point_at)
    assert data.name == name and data.names == ("im1", "im2")
    np.testing.assert_array_equal(data[0].mask, truth["im1"])
    assert open_dataset(tmp_path / point_at).name == name  # auto-detected
    assert name in find_paper_datasets(tmp_path)


def test_hrsod_zero_one_masks(tmp_path: Path) -> None:
    """HRSOD's original masks are 0/1: read as object = 1, not thresholded at 128 into nothing."""
    truth = _write(tmp_path, ["x"], mask_levels=(0, 1))
    _rename(tmp_path, "HRSOD/images", "HRSOD/masks")
    data = hrsod(tmp_path)
    np.testing.assert_array_equal(data[0].mask, truth["x"])


def test_synthetic_dataset_and_open() -> None:
    data = open_dataset("synthetic", n=3, seed=2)
    assert len(data) == 3 and data.names == ("000_wires", "001_fence", "002_branches")
    ex = data[2]
    spec_image, spec_mask = thin_structure_scene("branches", ex.mask.shape, 2 * 100_003 + 2)
    np.testing.assert_array_equal(ex.image, spec_image)
    np.testing.assert_array_equal(ex.mask, spec_mask)
    assert len(synthetic_dataset()) == 50


# -- bad folders --------------------------------------------------------------------------------
def test_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    (tmp_path / "images" / "readme.txt").write_text("no images here")
    with pytest.raises(DatasetError, match="holds no image files"):
        image_mask_folder(tmp_path)


def test_missing_folders(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no images/ and masks/"):
        image_mask_folder(tmp_path)
    with pytest.raises(DatasetError, match="does not exist"):
        image_mask_folder(tmp_path / "nope", tmp_path / "nope2")
    with pytest.raises(DatasetError, match="no known layout"):
        coift(tmp_path)
    with pytest.raises(DatasetError, match="does not exist"):
        dis5k_vd(tmp_path / "missing")
    with pytest.raises(ValueError, match="layout"):
        open_dataset(tmp_path, layout="pascal")


def test_unmatched_files(tmp_path: Path) -> None:
    _write(tmp_path, ["a", "b", "c"])
    (tmp_path / "masks" / "b.png").unlink()
    Image.fromarray(np.zeros((24, 32), np.uint8)).save(tmp_path / "masks" / "zz.png")
    expected = r"1 image\(s\) without a mask.*'b'.*1 mask\(s\) without an image.*'zz'"
    with pytest.raises(DatasetError, match=expected):
        image_mask_folder(tmp_path)


def test_duplicate_stems(tmp_path: Path) -> None:
    _write(tmp_path, ["a"])
    Image.fromarray(np.zeros((24, 32, 3), np.uint8)).save(tmp_path / "images" / "a.png")
    with pytest.raises(DatasetError, match="share the stem 'a'"):
        image_mask_folder(tmp_path)


def test_size_mismatch(tmp_path: Path) -> None:
    _write(tmp_path, ["a"], size=(24, 32), mask_size=(32, 24))
    data = image_mask_folder(tmp_path)  # listing is cheap; the sizes are checked when read
    with pytest.raises(DatasetError, match=r"'a.png' is 24 x 32 \(W x H\) but its image 'a.jpg' is 32 x 24"):
        data[0]


def test_non_binary_masks(tmp_path: Path) -> None:
    _write(tmp_path, ["soft", "colour"])
    gradient = np.tile(np.linspace(0, 255, 32).astype(np.uint8), (24, 1))
    Image.fromarray(gradient).save(tmp_path / "masks" / "soft.png")
    colour = np.zeros((24, 32, 3), np.uint8)
    colour[:10, :, 0] = 255
    colour[10:, :, 1] = 255
    Image.fromarray(colour).save(tmp_path / "masks" / "colour.png")
    data = image_mask_folder(tmp_path)
    with pytest.raises(DatasetError, match="channels differ"):
        data[0]  # colour.png
    with pytest.raises(DatasetError, match=r"not binary: 9\d\.\d% of its pixels"):
        data[1]  # soft.png
    # Accepting it explicitly thresholds at 128, as the official evaluation does.
    lenient = image_mask_folder(tmp_path, max_soft_fraction=1.0)
    np.testing.assert_array_equal(lenient[1].mask, gradient > 128)


def test_read_mask_rules(tmp_path: Path) -> None:
    edge = np.zeros((20, 20), np.uint8)
    edge[5:15, 5:15] = 255
    edge[5, 5:15] = 100  # a few anti-aliased pixels are fine (5 %) and thresholded at 128
    Image.fromarray(edge).save(tmp_path / "edge.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "edge.png"), edge > 128)
    wide = (edge.astype(np.uint16) * 257)
    Image.fromarray(wide).save(tmp_path / "wide.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "wide.png"), edge > 128)
    grey3 = np.dstack([edge] * 3)
    Image.fromarray(grey3).save(tmp_path / "grey3.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "grey3.png"), edge > 128)
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "empty.png")
    assert not read_mask(tmp_path / "empty.png").any()
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError, match="not a readable image"):
        read_mask(tmp_path / "broken.png")
    with pytest.raises(FileNotFoundError):
        read_mask(tmp_path / "absent.png")


@pytest.mark.parametrize("mode, colour", [("RGBA", 0), ("RGBA", 255), ("LA", 0), ("LA", 255)])
def test_mask_stored_only_in_the_alpha_channel_is_read(tmp_path: Path, mode: str, colour: int) -> None:
    mask = np.zeros((20, 24), bool)
    mask[4:12, 6:20] = True
    alpha = mask.astype(np.uint8) * 255
    channels = 3 if mode == "RGBA" else 1
    arr = np.dstack([np.full(mask.shape, colour, np.uint8)] * channels + [alpha])
    Image.fromarray(arr, mode).save(tmp_path / "alpha.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "alpha.png"), mask)
    # An opaque RGBA mask is still read from its colour channels.
    opaque = np.dstack([alpha] * 3 + [np.full(mask.shape, 255, np.uint8)])
    Image.fromarray(opaque, "RGBA").save(tmp_path / "opaque.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "opaque.png"), mask)
