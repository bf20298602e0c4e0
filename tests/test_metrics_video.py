"""DAVIS J and F: equal to an independent implementation of the definitions, written here from the text of
davis2017-evaluation (``davis2017/metrics.py``, ``utils.db_statistics``), on many random cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

import hqsam_nb
from hqsam_nb.metrics import (
    boundary_f_measure,
    boundary_radius,
    davis_statistics,
    davis_summary,
    region_similarity,
    seg2bmap,
)


# -- the definitions, written independently (loops and a distance transform; no OpenCV) ------------------------
def ref_j(gt: np.ndarray, pred: np.ndarray) -> float:
    union = int(np.logical_or(gt, pred).sum())
    return 1.0 if union == 0 else int(np.logical_and(gt, pred).sum()) / union


def ref_bmap(seg: np.ndarray) -> np.ndarray:
    """Pixel (y, x) is a boundary pixel if it differs from its east, south or south-east neighbour (outside the
    image = background); in the last row only east counts, in the last column only south; never the corner."""
    h, w = seg.shape

    def at(y: int, x: int) -> bool:
        return bool(seg[y, x]) if y < h and x < w else False

    out = np.zeros((h, w), bool)
    for y in range(h):
        for x in range(w):
            v = bool(seg[y, x])
            if y == h - 1 and x == w - 1:
                out[y, x] = False
            elif y == h - 1:
                out[y, x] = v != at(y, x + 1)
            elif x == w - 1:
                out[y, x] = v != at(y + 1, x)
            else:
                out[y, x] = v != at(y, x + 1) or v != at(y + 1, x) or v != at(y + 1, x + 1)
    return out


def ref_f(gt: np.ndarray, pred: np.ndarray, bound_th: float = 0.008) -> float:
    """Matched = within Euclidean distance r of the other boundary (the disk of radius r); P, R, F."""
    h, w = gt.shape
    r = bound_th if bound_th >= 1 else math.ceil(bound_th * math.sqrt(h * h + w * w))
    bg, bp = ref_bmap(gt), ref_bmap(pred)
    n_gt, n_p = int(bg.sum()), int(bp.sum())
    if n_p == 0 and n_gt > 0:
        precision, recall = 1.0, 0.0
    elif n_p > 0 and n_gt == 0:
        precision, recall = 0.0, 1.0
    elif n_p == 0 and n_gt == 0:
        precision, recall = 1.0, 1.0
    else:
        dist_to_gt = ndimage.distance_transform_edt(~bg)  # distance of every pixel to the nearest gt boundary
        dist_to_p = ndimage.distance_transform_edt(~bp)
        precision = float((dist_to_gt[bp] <= r + 1e-9).sum()) / n_p
        recall = float((dist_to_p[bg] <= r + 1e-9).sum()) / n_gt
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def ref_stats(v: np.ndarray) -> tuple[float, float, float]:
    n = len(v)
    mean = float(np.nanmean(v))
    recall = float(np.mean(v > 0.5))
    edges = [int(np.floor(1 + k * (n - 1) / 4 + 0.5 + 1e-10)) - 1 for k in range(5)]  # round half up
    quarters = [v[edges[k]:edges[k + 1] + 1] for k in range(4)]
    return mean, recall, float(np.nanmean(quarters[0]) - np.nanmean(quarters[3]))


# -- random cases ---------------------------------------------------------------------------------------------
def random_pair(rng: np.random.Generator, i: int) -> tuple[np.ndarray, np.ndarray]:
    h, w = (int(s) for s in rng.integers(1, 48, 2))
    style = i % 4
    if style == 0:  # salt and pepper: many tiny boundaries
        gt, pred = rng.random((h, w)) < rng.random(), rng.random((h, w)) < rng.random()
    elif style == 1:  # blobs
        gt = ndimage.gaussian_filter(rng.random((h, w)), 2) > 0.5
        pred = ndimage.gaussian_filter(rng.random((h, w)), 2) > 0.5
    elif style == 2:  # a shifted, eroded or dilated copy: the near-miss that F is about
        gt = ndimage.gaussian_filter(rng.random((h, w)), 1.5) > 0.5
        pred = np.roll(gt, tuple(int(s) for s in rng.integers(-3, 4, 2)), axis=(0, 1))
        pred = ndimage.binary_dilation(pred) if rng.random() < 0.5 else ndimage.binary_erosion(pred)
    else:  # rectangles touching the borders
        gt, pred = np.zeros((h, w), bool), np.zeros((h, w), bool)
        for m in (gt, pred):
            y0, x0 = rng.integers(0, h), rng.integers(0, w)
            m[y0:rng.integers(y0, h + 1), x0:rng.integers(x0, w + 1)] = True
    if i % 9 == 0:
        gt[:] = False
    if i % 13 == 0:
        pred[:] = False
    if i % 17 == 0:
        gt[:] = True
    return gt, pred


def test_j_and_f_equal_the_definitions_on_many_random_cases() -> None:
    rng = np.random.default_rng(2017)
    for i in range(300):
        gt, pred = random_pair(rng, i)
        th = (0.008, 0.03, 0.1, 2)[i % 4]
        assert region_similarity(gt, pred) == pytest.approx(ref_j(gt, pred), abs=1e-6), i
        assert boundary_f_measure(gt, pred, bound_th=th) == pytest.approx(ref_f(gt, pred, th), abs=1e-6), i
        np.testing.assert_array_equal(seg2bmap(gt), ref_bmap(gt))


def test_empty_masks() -> None:
    empty = np.zeros((30, 40), bool)
    full = np.ones((30, 40), bool)
    blob = empty.copy()
    blob[5:20, 5:25] = True
    assert region_similarity(empty, empty) == 1.0
    assert boundary_f_measure(empty, empty) == 1.0
    assert region_similarity(empty, blob) == region_similarity(blob, empty) == 0.0
    assert boundary_f_measure(empty, blob) == boundary_f_measure(blob, empty) == 0.0
    # a full mask's boundary map is its last row and column only: none of them differ from their neighbours but
    # the image edge, where seg2bmap looks east in the last row and south in the last column
    assert seg2bmap(full).sum() == ref_bmap(full).sum()
    assert boundary_f_measure(full, full) == 1.0


def test_radius_at_davis_resolution() -> None:
    assert boundary_radius((480, 854)) == 8
    assert boundary_radius((480, 854), 3) == 3
    with pytest.raises(ValueError, match="whole pixels"):
        boundary_radius((10, 10), 2.5)
    with pytest.raises(ValueError, match="> 0"):
        boundary_radius((10, 10), 0)


def test_statistics_equal_the_definition() -> None:
    rng = np.random.default_rng(5)
    for n in (1, 2, 3, 4, 5, 7, 10, 33, 66, 102):
        v = rng.random(n)
        s = davis_statistics(v)
        assert (s["mean"], s["recall"], s["decay"]) == pytest.approx(ref_stats(v), abs=1e-12)
    assert math.isnan(davis_statistics([])["mean"])
    # decay: a track that degrades steadily has a positive decay
    assert davis_statistics(np.linspace(1, 0, 20))["decay"] > 0.5


def test_summary_averages_objects_not_sequences() -> None:
    j = {"a_1": [1.0, 1.0], "a_2": [0.0, 0.0], "b_1": [0.5, 0.5]}
    f = {"a_1": [1.0, 0.0], "a_2": [0.0, 0.0], "b_1": [1.0, 1.0]}
    s = davis_summary(j, f)
    assert s["J"] == pytest.approx(0.5)
    assert s["F"] == pytest.approx(0.5)
    assert s["J&F"] == pytest.approx(0.5)
    assert s["n_objects"] == 3
    with pytest.raises(ValueError, match="same objects"):
        davis_summary({"a": [1]}, {"b": [1]})


def test_bad_input_is_explained() -> None:
    with pytest.raises(TypeError, match="boolean"):
        region_similarity(np.zeros((4, 4), np.uint8), np.zeros((4, 4), bool))
    with pytest.raises(ValueError, match="same shape"):
        boundary_f_measure(np.zeros((4, 4), bool), np.zeros((4, 5), bool))


def test_public_names() -> None:
    assert hqsam_nb.metrics.region_similarity is region_similarity
    assert hqsam_nb.metrics.region_similarity is region_similarity
    assert hqsam_nb.metrics.boundary_f_measure is boundary_f_measure
