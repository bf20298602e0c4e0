"""The numpy drawing core: colours where the mask is, untouched pixels elsewhere, contours on the boundary,
exact difference classes, zoom boxes over the largest disagreement."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from helpers import make_image

from hqsam_nb import make_prompt
from hqsam_nb.drawing import (
    DIFF_COLORS,
    MASK_COLORS,
    OBJECT_COLORS,
    comparison_panel,
    composite,
    crop_zoom,
    difference_rgba,
    disagreement_boxes,
    draw_box,
    draw_points,
    label_panels,
    mask_contour,
    mask_rgba,
    masks_rgba,
    overlay_mask,
    overlay_masks,
    wipe_image,
)


def disk(h: int, w: int, cy: float, cx: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2


def blob_masks(seed: int, h: int = 48, w: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    m = np.zeros((h, w), bool)
    for _ in range(3):
        m |= disk(h, w, rng.uniform(0, h), rng.uniform(0, w), rng.uniform(3, 14))
    return m


def test_constants() -> None:
    assert len(MASK_COLORS) >= 6
    assert len(set(MASK_COLORS)) == len(MASK_COLORS)
    assert all(len(c) == 3 and all(0 <= v <= 255 for v in c) for c in MASK_COLORS)
    assert set(DIFF_COLORS) == {"hq_only", "sam_only", "both"}
    assert len(set(DIFF_COLORS.values())) == 3


@pytest.mark.parametrize("width", [0, 1, 2, 4])
def test_mask_contour_is_the_inner_boundary_band(width: int) -> None:
    m = np.zeros((40, 50), bool)
    m[10:30, 5:45] = True
    c = mask_contour(m, width)
    assert c.dtype == bool and c.shape == m.shape
    assert not (c & ~m).any()  # inside the mask only
    band = m.copy()
    band[10 + width:30 - width, 5 + width:45 - width] = False
    np.testing.assert_array_equal(c, band)


def test_mask_contour_touches_image_border_and_thin_lines_are_all_contour() -> None:
    m = np.zeros((20, 20), bool)
    m[:, 5] = True  # a 1-px wire through the whole image
    m[:8, 12:] = True  # a block in the top-right corner
    c = mask_contour(m, 1)
    assert c[:, 5].all()
    assert c[0, 12:].all() and c[:8, 19].all()  # edges at the image border count as boundary
    assert not c[3, 15]


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("alpha", [0.0, 0.35, 1.0])
def test_mask_rgba_values(seed: int, alpha: float) -> None:
    m = blob_masks(seed)
    color = (12, 200, 77)
    rgba = mask_rgba(m, color, alpha=alpha, contour_width=2)
    assert rgba.dtype == np.uint8 and rgba.shape == (*m.shape, 4)
    assert (rgba[~m] == 0).all()
    assert (rgba[m, :3] == color).all()
    c = mask_contour(m, 2)
    assert (rgba[c, 3] == 255).all()
    assert (rgba[m & ~c, 3] == round(255 * alpha)).all()


@pytest.mark.parametrize("seed", range(3))
def test_overlay_mask_colours_inside_and_leaves_outside_untouched(seed: int) -> None:
    image = make_image(48, 64, seed)
    before = image.copy()
    m = blob_masks(seed)
    color = (255, 0, 0)
    out = overlay_mask(image, m, color, alpha=0.5, contour_width=2)
    np.testing.assert_array_equal(image, before)  # input not modified
    assert out.shape == image.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[~m], image[~m])
    c = mask_contour(m, 2)
    assert (out[c] == color).all()
    inner = m & ~c
    a = round(255 * 0.5) / 255
    expected = image[inner].astype(float) * (1 - a) + np.array(color) * a
    assert np.abs(out[inner] - expected).max() <= 0.51


@pytest.mark.parametrize("alpha,width", [(0.0, 0), (0.3, 1), (0.5, 2), (0.77, 3), (1.0, 2)])
def test_overlay_mask_equals_composite_of_mask_rgba(alpha: float, width: int) -> None:
    for seed in range(3):
        image = make_image(48, 64, seed + 10)
        m = blob_masks(seed)
        fast = overlay_mask(image, m, (7, 130, 250), alpha, width)
        slow = composite(image, mask_rgba(m, (7, 130, 250), alpha, width))
        np.testing.assert_array_equal(fast, slow)


def test_empty_mask_and_full_mask() -> None:
    image = make_image(20, 30, 1)
    np.testing.assert_array_equal(overlay_mask(image, np.zeros((20, 30), bool)), image)
    full = overlay_mask(image, np.ones((20, 30), bool), (0, 0, 0), alpha=1.0, contour_width=0)
    assert (full == 0).all()


def test_composite_alpha_extremes_and_blend() -> None:
    image = np.full((4, 5, 3), 100, np.uint8)
    rgba = np.zeros((4, 5, 4), np.uint8)
    rgba[0, 0] = (200, 0, 50, 255)
    rgba[1, 1] = (200, 0, 50, 51)  # a = 0.2
    out = composite(image, rgba)
    assert out[0, 0].tolist() == [200, 0, 50]
    assert out[1, 1].tolist() == [120, 80, 90]
    assert (out[2:] == 100).all()


def test_masks_rgba_and_overlay_masks_use_distinct_colours() -> None:
    a = np.zeros((30, 40), bool)
    a[2:10, 2:10] = True
    b = np.zeros((30, 40), bool)
    b[15:25, 20:35] = True
    layer = masks_rgba([a, b], contour_width=0)
    assert (layer[a, :3] == OBJECT_COLORS[0]).all()  # objects: never a branch's colour
    assert (layer[b, :3] == OBJECT_COLORS[1]).all()
    assert (layer[~(a | b)] == 0).all()
    image = make_image(30, 40, 3)
    out = overlay_masks(image, [a, b])
    np.testing.assert_array_equal(out[~(a | b)], image[~(a | b)])
    with pytest.raises(ValueError, match="colors"):
        masks_rgba([a, b], colors=[(1, 2, 3)])


@pytest.mark.parametrize("seed", range(4))
def test_difference_rgba_classes_exact(seed: int) -> None:
    sam, hq = blob_masks(seed), blob_masks(seed + 100)
    d = difference_rgba(sam, hq, alpha=0.6)
    a = round(255 * 0.6)
    for key, sel in (("hq_only", hq & ~sam), ("sam_only", sam & ~hq), ("both", sam & hq)):
        assert (d[sel] == (*DIFF_COLORS[key], a)).all(), key
    assert (d[~(sam | hq)] == 0).all()


def test_validation_errors_say_what_was_given() -> None:
    image = make_image(10, 10, 0)
    with pytest.raises(ValueError, match=r"shape \(10, 11\)"):
        overlay_mask(image, np.zeros((10, 11), bool))
    with pytest.raises(ValueError, match="uint8 H x W x 3"):
        overlay_mask(image.astype(np.float32), np.zeros((10, 10), bool))
    with pytest.raises(ValueError, match="only 0 and 1"):
        mask_rgba(np.full((4, 4), 0.7))
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\]"):
        mask_rgba(np.zeros((4, 4), bool), alpha=1.5)
    with pytest.raises(ValueError, match="triple"):
        mask_rgba(np.zeros((4, 4), bool), color=(300, 0, 0))
    with pytest.raises(TypeError, match="numpy"):
        mask_rgba([[True]])
    with pytest.raises(ValueError, match="to match the image"):
        composite(image, np.zeros((9, 10, 4), np.uint8))
    # accepted: 0/1 integer masks and (1, H, W) as predictors return them
    assert mask_rgba(np.ones((1, 4, 4), np.uint8)).shape == (4, 4, 4)


def test_draw_points_and_box() -> None:
    image = np.zeros((100, 120, 3), np.uint8)
    out = draw_points(image, [[30, 40], [90, 60]], [1, 0], radius=6)
    assert tuple(out[40, 30]) == (0, 200, 0)
    assert tuple(out[60, 90]) == (230, 0, 0)
    assert (out[40, 30 + 8] == 255).all()  # white edge around the disc
    assert (out[5, 5] == 0).all() and (image == 0).all()
    boxed = draw_box(image, [10, 20, 60, 80], thickness=2)
    assert boxed[20, 35].any() and boxed[50, 10].any()  # on the outline
    assert not boxed[50, 35].any()  # inside stays untouched
    with pytest.raises(ValueError, match="labels"):
        draw_points(image, [[1, 1]], [1, 0])


def test_disagreement_boxes_cover_the_largest_disagreement() -> None:
    h, w = 200, 300
    sam = np.zeros((h, w), bool)
    hq = sam.copy()
    hq[150:160, 200:240] = True  # 400 px: the largest disagreement
    sam[20:30, 30:40] = True  # 100 px elsewhere
    hq[100, 100] = True  # a single pixel
    boxes = disagreement_boxes(sam, hq, n=3, size=64)
    assert len(boxes) == 3
    x0, y0, x1, y1 = boxes[0]
    assert (x1 - x0, y1 - y0) == (64, 64)
    assert x0 <= 200 and x1 >= 240 and y0 <= 150 and y1 >= 160
    x0, y0, x1, y1 = boxes[1]
    assert x0 <= 30 and x1 >= 40 and y0 <= 20 and y1 >= 30
    assert all(0 <= b[0] < b[2] <= w and 0 <= b[1] < b[3] <= h for b in boxes)
    assert disagreement_boxes(sam, sam) == []
    assert len(disagreement_boxes(sam, hq, n=5, size=64, min_pixels=50)) == 2


def test_disagreement_boxes_small_image_and_bad_args() -> None:
    sam = np.zeros((20, 30), bool)
    hq = sam.copy()
    hq[5, 5] = True
    assert disagreement_boxes(sam, hq, n=1, size=100) == [(0, 0, 30, 20)]
    with pytest.raises(ValueError, match="size"):
        disagreement_boxes(sam, hq, size=0)


def test_crop_zoom_nearest() -> None:
    img = np.arange(24, dtype=np.uint8).reshape(4, 6)
    z = crop_zoom(img, (1, 1, 3, 3), out_size=8)
    assert z.shape == (8, 8)
    assert (z[:4, :4] == img[1, 1]).all() and (z[4:, 4:] == img[2, 2]).all()
    assert crop_zoom(np.ones((4, 6), bool), (0, 0, 6, 4), 12).dtype == bool
    with pytest.raises(ValueError, match="overlap"):
        crop_zoom(img, (10, 10, 20, 20))


def test_wipe_image() -> None:
    left = np.zeros((10, 20, 3), np.uint8)
    right = np.full((10, 20, 3), 200, np.uint8)
    out = wipe_image(left, right, 0.5, line_width=0)
    assert (out[:, :10] == 0).all() and (out[:, 10:] == 200).all()
    np.testing.assert_array_equal(wipe_image(left, right, 0.0), right)
    np.testing.assert_array_equal(wipe_image(left, right, 1.0), left)
    lined = wipe_image(left, right, 0.5, line_color=(255, 0, 0), line_width=2)
    assert (lined[:, 9:11] == (255, 0, 0)).all()


def test_label_panels_and_comparison_panel() -> None:
    a = make_image(60, 80, 1)
    b = make_image(30, 40, 2)  # resized to the common height
    out = label_panels([a, b], ["one", "two"], gap=4)
    bar = out.shape[0] - 60
    assert bar > 0 and out.shape[1] == 80 + 4 + 80
    np.testing.assert_array_equal(out[bar:, :80], a)
    assert (out[:bar] < 128).any()  # some title text drawn
    # a title longer than its panel is drawn smaller, whole, inside its panel (the widget still's side view
    # title ran past the picture's right edge): the title's ink ends before the gap, the next title starts after
    long = "Widget still: side by side view (left SAM, right HQ-SAM (HQ token))"
    out = label_panels([a, a], [long, long], gap=4)
    ink = np.flatnonzero((out[:bar] < 128).any(axis=(0, 2)))
    assert ink.size and not ((ink >= 80 - 2) & (ink < 84 + 2)).any() and ink.max() < 164 - 2
    assert (ink < 80).any() and (ink >= 84).any()

    m = np.zeros((60, 80), bool)
    m[10:40, 20:60] = True
    res = SimpleNamespace(mask=m, score=0.5)
    prompt = make_prompt(box=[20, 10, 60, 40], image_size=(60, 80))
    pred = SimpleNamespace(sam=res, hq=res, fused=res, prompt=prompt)
    assert comparison_panel(a, pred).shape[1] == 3 * 80 + 2 * 4
    assert comparison_panel(a, pred, fused=True).shape[1] == 4 * 80 + 3 * 4
