"""Mask IoU and boundary IoU: hand-computed cases, an independent implementation, speed, bad input."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from hqsam_nb.metrics import (
    ERROR_FN,
    ERROR_FP,
    ERROR_TP,
    boundary_band,
    boundary_errors,
    boundary_iou,
    boundary_width,
    gt_to_mask,
    logits_to_mask,
    mask_iou,
)


def _mask(shape: tuple[int, int], *slices: tuple[slice, slice]) -> np.ndarray:
    m = np.zeros(shape, bool)
    for s in slices:
        m[s] = True
    return m


# ---------------------------------------------------------------------------------------------------------
# An independent, straightforward implementation of the definition (no OpenCV): a pixel survives d 3x3
# erosions of the zero-padded mask iff every pixel within chessboard distance d is inside the image and set.
def _reference_band(mask: np.ndarray, ratio: float) -> np.ndarray:
    h, w = mask.shape
    d = max(1, int(round(ratio * math.sqrt(h * h + w * w))))
    padded = np.zeros((h + 2 * d, w + 2 * d), np.int64)
    padded[d:d + h, d:d + w] = mask
    integral = np.zeros((h + 2 * d + 1, w + 2 * d + 1), np.int64)
    integral[1:, 1:] = padded.cumsum(0).cumsum(1)
    k = 2 * d + 1
    window = integral[k:, k:] - integral[:-k, k:] - integral[k:, :-k] + integral[:-k, :-k]
    eroded = window == k * k
    return mask & ~eroded


def _reference_iou(a: np.ndarray, b: np.ndarray) -> float:
    inter, union = int(np.sum(a & b)), int(np.sum(a | b))
    if union == 0:
        return 1.0
    return inter / union


def _random_mask(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Blobs, holes and speckle: smoothed noise thresholded at a random level."""
    import cv2

    noise = rng.normal(size=shape).astype(np.float32)
    sigma = float(rng.uniform(0.5, 8))
    smooth = cv2.GaussianBlur(noise, (0, 0), sigma)
    return smooth > rng.uniform(-0.3, 0.3) * smooth.std()


# ---------------------------------------------------------------------------------------------------------
def test_width_follows_the_diagonal() -> None:
    assert boundary_width((100, 100)) == 3  # 0.02 * 141.4 = 2.83
    assert boundary_width((512, 512)) == 14  # 14.48
    assert boundary_width((1024, 1024)) == 29  # 28.96
    assert boundary_width((10, 10)) == 1  # 0.28 rounds to 0: at least one erosion
    assert boundary_width((100, 100), dilation_ratio=0.1) == 14


def test_square_vs_shifted_square() -> None:
    # 20 x 20 squares, the second shifted 5 px right; width 3 on a 100 x 100 image.
    # Each band: 400 - 14*14 = 204 px. Shared: the top and bottom strips over columns 25..39: 2*3*15 = 90.
    gt = _mask((100, 100), np.s_[20:40, 20:40])
    pred = _mask((100, 100), np.s_[20:40, 25:45])
    assert boundary_band(gt).sum() == 204
    assert mask_iou(gt, pred) == pytest.approx(300 / 500, abs=1e-12)
    assert boundary_iou(gt, pred) == pytest.approx(90 / (204 + 204 - 90), abs=1e-12)


def test_one_pixel_line() -> None:
    # A one-pixel line is all boundary: its band is the line itself.
    gt = _mask((100, 100), np.s_[50, 10:90])
    np.testing.assert_array_equal(boundary_band(gt), gt)
    below = _mask((100, 100), np.s_[51, 10:90])
    assert mask_iou(gt, below) == 0.0 and boundary_iou(gt, below) == 0.0
    half = _mask((100, 100), np.s_[50, 10:50])
    assert mask_iou(gt, half) == 0.5 and boundary_iou(gt, half) == 0.5


def test_masks_touching_the_border() -> None:
    # The padding makes the image border a boundary: a full mask's band is a 3 px ring, 100^2 - 94^2 = 1164.
    full = np.ones((100, 100), bool)
    assert boundary_band(full).sum() == 1164
    inset = _mask((100, 100), np.s_[1:99, 1:99])  # band 98^2 - 92^2 = 1140
    # Shared: the inset ring minus what lies 3+ px inside the full mask: 98^2 - 94^2 = 768.
    assert boundary_iou(full, inset) == pytest.approx(768 / (1164 + 1140 - 768), abs=1e-12)
    assert mask_iou(full, inset) == pytest.approx(98 * 98 / 10000, abs=1e-12)
    # A half-plane mask cut by the border: its band runs along three image edges as well as the cut.
    left = _mask((100, 100), np.s_[:, :50])
    band = boundary_band(left)
    assert band[:, :3].all() and band[:3, :50].all() and band[:, 47:50].all() and not band[10:90, 10:40].any()


def test_empty_cases() -> None:
    empty = np.zeros((32, 32), bool)
    some = _mask((32, 32), np.s_[4:9, 4:9])
    assert mask_iou(empty, empty) == 1.0 and boundary_iou(empty, empty) == 1.0
    assert mask_iou(empty, some) == 0.0 and boundary_iou(empty, some) == 0.0
    assert mask_iou(some, empty) == 0.0 and boundary_iou(some, empty) == 0.0
    assert mask_iou(some, some) == 1.0 and boundary_iou(some, some) == 1.0


@pytest.mark.parametrize("seed", range(12))
def test_agrees_with_independent_implementation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(8, 300)), int(rng.integers(8, 300)))
    ratio = float(rng.choice([0.02, 0.02, 0.005, 0.05]))
    gt, pred = _random_mask(rng, shape), _random_mask(rng, shape)
    if seed == 0:
        pred = gt.copy()
        pred[rng.random(shape) < 0.05] ^= True  # a near miss
    ref_g, ref_p = _reference_band(gt, ratio), _reference_band(pred, ratio)
    np.testing.assert_array_equal(boundary_band(gt, ratio), ref_g)
    assert abs(boundary_iou(gt, pred, ratio) - _reference_iou(ref_g, ref_p)) < 1e-9
    assert abs(mask_iou(gt, pred) - _reference_iou(gt, pred)) < 1e-9
    errors = boundary_errors(gt, pred, ratio)
    tp, fp, fn = (int(np.sum(errors == e)) for e in (ERROR_TP, ERROR_FP, ERROR_FN))
    assert tp == int(np.sum(ref_g & ref_p)) and fp == int(np.sum(ref_p & ~ref_g))
    assert fn == int(np.sum(ref_g & ~ref_p))


def test_fast_on_a_megapixel_pair() -> None:
    rng = np.random.default_rng(0)
    gt, pred = _random_mask(rng, (1024, 1024)), _random_mask(rng, (1024, 1024))
    times = []
    for _ in range(7):
        t0 = time.perf_counter()
        boundary_iou(gt, pred)
        mask_iou(gt, pred)
        times.append(time.perf_counter() - t0)
    assert min(times) < 0.010  # best of 7: the machine may be shared; a pair typically takes ~3 ms


def test_thresholds_of_the_official_evaluation() -> None:
    grey = np.array([[0, 128, 129, 255]], np.uint8)
    np.testing.assert_array_equal(gt_to_mask(grey), [[False, False, True, True]])
    np.testing.assert_array_equal(gt_to_mask(np.dstack([grey] * 3)), [[False, False, True, True]])
    logits = np.array([[-1.0, 0.0, 0.5]], np.float32)
    np.testing.assert_array_equal(logits_to_mask(logits), [[False, False, True]])
    big = logits_to_mask(np.where(np.arange(4)[None, :] < 2, -5.0, 5.0).repeat(4, 0), size=(8, 8))
    assert big.shape == (8, 8) and not big[:, :4].any() and big[:, 4:].all()


@pytest.mark.parametrize(("gt", "pred", "error"), [
    (np.zeros((4, 4), np.uint8), np.zeros((4, 4), bool), TypeError),
    (np.zeros((4, 4), bool), np.zeros((4, 5), bool), ValueError),
    (np.zeros((4, 4, 1), bool), np.zeros((4, 4, 1), bool), TypeError),
    ([[True]], np.zeros((1, 1), bool), TypeError),
])
def test_bad_input(gt: object, pred: object, error: type) -> None:
    with pytest.raises(error, match="gt|pred"):
        mask_iou(gt, pred)
    with pytest.raises(error, match="gt|pred"):
        boundary_iou(gt, pred)


def test_bad_ratio() -> None:
    with pytest.raises(ValueError, match="dilation_ratio"):
        boundary_iou(np.zeros((4, 4), bool), np.zeros((4, 4), bool), dilation_ratio=2)
