"""DAVIS 2017 video-object-segmentation metrics: region similarity J and boundary F-measure F.

These follow the definitions of the official ``davis2017-evaluation`` code (``davis2017/metrics.py`` and
``davis2017/utils.py``), so that our numbers can be set beside published DAVIS tables:

* **J (region similarity)** of one object in one frame is the Jaccard index ``|gt & pred| / |gt | pred|``;
  1.0 when both masks are empty (the object is absent and predicted absent).
* **F (boundary F-measure)**: each mask's one-pixel boundary map is taken with :func:`seg2bmap` (a pixel is on
  the boundary when it differs from its east, south or south-east neighbour); a boundary pixel of one mask is
  *matched* when a boundary pixel of the other lies within a disk of radius
  ``r = ceil(bound_th * sqrt(H**2 + W**2))`` (``bound_th = 0.008``: 8 pixels at DAVIS's 480 x 854); precision is
  the matched fraction of the prediction's boundary, recall the matched fraction of the ground truth's, F their
  harmonic mean. Empty boundaries: none in the prediction but some in the ground truth -> P = 1, R = 0 (F = 0);
  some in the prediction, none in the ground truth -> P = 0, R = 1 (F = 0); none in either -> F = 1.
* **Per object** over a sequence (semi-supervised protocol: the first frame, whose mask is given, and the last
  frame are excluded): the mean, the **recall** (fraction of frames scoring above 0.5) and the **decay** (mean of
  the first quarter of the frames minus mean of the last quarter; the four quarters overlap by one frame, as in
  the official ``db_statistics``) - :func:`davis_statistics`.
* **Overall**: J = mean over all objects of all sequences of their per-object means, F likewise, and
  ``J&F = (J + F) / 2`` - :func:`davis_summary`.

Masks are ``bool`` ``H x W`` numpy arrays; values are fractions in ``[0, 1]`` (tables multiply by 100).

Example:
    >>> gt = np.zeros((48, 64), bool); gt[10:30, 10:40] = True
    >>> pred = np.zeros((48, 64), bool); pred[10:30, 12:42] = True
    >>> round(region_similarity(gt, pred), 4), round(boundary_f_measure(gt, pred), 4)
    (0.875, 0.62)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from .masks import _check_pair, mask_iou

__all__ = [
    "BOUND_TH",
    "boundary_f_measure",
    "boundary_radius",
    "davis_statistics",
    "davis_summary",
    "region_similarity",
    "seg2bmap",
]

#: DAVIS's boundary tolerance: a fraction of the image diagonal (0.008 -> 8 px at 480 x 854).
BOUND_TH = 0.008


def region_similarity(gt: np.ndarray, pred: np.ndarray) -> float:
    """DAVIS's J for one object in one frame: the Jaccard index (IoU) of two masks.

    Args:
        gt, pred: ``bool`` ``H x W`` of one shape.

    Returns:
        ``|gt & pred| / |gt | pred|`` in ``[0, 1]``; 1.0 when both are empty (the official ``db_eval_iou``).
    """
    return mask_iou(gt, pred)  # one IoU in the package: exactly DAVIS's definition, both-empty rule included


def seg2bmap(mask: np.ndarray) -> np.ndarray:
    """The one-pixel boundary map DAVIS's F-measure compares (the official ``_seg2bmap`` at full size).

    A pixel is a boundary pixel when it differs from its east, south or south-east neighbour (pixels past the
    right and bottom edges count as background); in the last row only the east neighbour counts, in the last
    column only the south one, and the bottom-right pixel is never a boundary pixel. The boundary so lies half a
    pixel towards the origin from the true contour.

    Args:
        mask: ``bool`` ``H x W``.

    Returns:
        ``bool`` ``H x W``.
    """
    if not isinstance(mask, np.ndarray) or mask.dtype != bool or mask.ndim != 2:
        got = f"{mask.dtype} {mask.shape}" if isinstance(mask, np.ndarray) else type(mask).__name__
        raise TypeError(f"mask must be a boolean H x W numpy array, got {got}")
    m = np.ascontiguousarray(mask).view(np.uint8)
    # m padded with a zero row and column at the bottom/right: east, south, south-east neighbours by slicing.
    p = cv2.copyMakeBorder(m, 0, 1, 0, 1, cv2.BORDER_CONSTANT, value=0)
    east, south, south_east = p[:-1, 1:], p[1:, :-1], p[1:, 1:]
    b = cv2.bitwise_or(cv2.bitwise_or(cv2.bitwise_xor(m, east), cv2.bitwise_xor(m, south)),
                       cv2.bitwise_xor(m, south_east))
    b[-1, :] = cv2.bitwise_xor(m[-1, :], east[-1, :]).reshape(-1)
    b[:, -1] = cv2.bitwise_xor(m[:, -1], south[:, -1]).reshape(-1)
    b[-1, -1] = 0
    return b.view(bool)


def boundary_radius(shape: tuple[int, ...], bound_th: float = BOUND_TH) -> int:
    """The matching radius in pixels: ``ceil(bound_th * sqrt(H**2 + W**2))`` for ``bound_th < 1``, else
    ``bound_th`` itself (an int number of pixels, as the official code reads values >= 1)."""
    if isinstance(bound_th, bool) or not isinstance(bound_th, int | float | np.integer | np.floating):
        raise TypeError(f"bound_th must be a number, got {type(bound_th).__name__}")
    if not bound_th > 0 or not math.isfinite(bound_th):
        raise ValueError(f"bound_th must be > 0 (a fraction of the diagonal below 1, or pixels), got {bound_th!r}")
    if bound_th >= 1:
        if float(bound_th) != int(bound_th):
            raise ValueError(f"bound_th >= 1 means a radius in whole pixels; got {bound_th!r}")
        return int(bound_th)
    return int(math.ceil(bound_th * math.hypot(int(shape[0]), int(shape[1]))))


def _disk(radius: int) -> np.ndarray:
    """``(2r+1) x (2r+1)`` uint8 kernel: 1 where ``dx**2 + dy**2 <= r**2`` (``skimage.morphology.disk``)."""
    d = np.arange(-radius, radius + 1)
    return ((d[:, None] ** 2 + d[None, :] ** 2) <= radius * radius).astype(np.uint8)


def boundary_f_measure(gt: np.ndarray, pred: np.ndarray, bound_th: float = BOUND_TH) -> float:
    """DAVIS's F for one object in one frame: the boundary F-measure (the official ``f_measure``).

    Args:
        gt, pred: ``bool`` ``H x W`` of one shape.
        bound_th: the matching tolerance, a fraction of the image diagonal (DAVIS: 0.008), or a whole number of
            pixels when >= 1.

    Returns:
        F in ``[0, 1]`` (see the module docstring for the rules on empty boundaries).
    """
    gt, pred = _check_pair(gt, pred)
    radius = boundary_radius(gt.shape, bound_th)
    gt_b = seg2bmap(gt).view(np.uint8)
    pred_b = seg2bmap(pred).view(np.uint8)
    n_gt, n_pred = cv2.countNonZero(gt_b), cv2.countNonZero(pred_b)
    if n_pred == 0 and n_gt == 0:
        return 1.0
    if n_pred == 0 or n_gt == 0:
        return 0.0  # P = 1, R = 0 or P = 0, R = 1: F = 0 either way
    kernel = _disk(radius)
    gt_near = cv2.dilate(gt_b, kernel)
    pred_near = cv2.dilate(pred_b, kernel)
    precision = cv2.countNonZero(cv2.bitwise_and(pred_b, gt_near)) / n_pred
    recall = cv2.countNonZero(cv2.bitwise_and(gt_b, pred_near)) / n_gt
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def davis_statistics(per_frame: Sequence[float] | np.ndarray) -> dict[str, float]:
    """Mean, recall and decay of one object's per-frame J (or F) values (the official ``db_statistics``).

    Args:
        per_frame: the object's values in frame order (the first and last frames already left out); NaN values
            are ignored by the mean and recall.

    Returns:
        ``{"mean", "recall", "decay"}``: the mean; the fraction of frames above 0.5; the mean of the first
        quarter of the frames minus the mean of the last quarter (quarter boundaries
        ``round(linspace(1, N, 5)) - 1``, each quarter including the frame at its end). NaN for no frames.

    The official code stores the quarter boundaries as ``uint8``, which wraps for sequences longer than 256
    frames; here they are plain ints (identical for every DAVIS 2017 sequence, all shorter than 105 frames).
    """
    v = np.asarray(per_frame, dtype=np.float64).reshape(-1)
    if v.size == 0:
        return {"mean": math.nan, "recall": math.nan, "decay": math.nan}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)  # all-NaN slices give NaN, as intended
        mean = float(np.nanmean(v))
        recall = float(np.nanmean(v > 0.5))
        ids = (np.round(np.linspace(1, v.size, 5) + 1e-10) - 1).astype(np.int64)
        bins = [v[ids[i]:ids[i + 1] + 1] for i in range(4)]
        decay = float(np.nanmean(bins[0]) - np.nanmean(bins[3]))
    return {"mean": mean, "recall": recall, "decay": decay}


def davis_summary(j: Mapping[str, Sequence[float] | np.ndarray],
                  f: Mapping[str, Sequence[float] | np.ndarray]) -> dict[str, float]:
    """The global DAVIS numbers over objects, as the official ``evaluation_method.py`` prints them.

    Args:
        j, f: per object (any key, e.g. ``"bike-packing_1"``), its per-frame J and F values (first and last
            frames left out). Both mappings have the same keys.

    Returns:
        ``{"J&F", "J", "F", "J_recall", "J_decay", "F_recall", "F_decay", "n_objects"}``: each a mean over objects
        of :func:`davis_statistics`; ``J&F = (J + F) / 2``. NaN when there is no object.
    """
    if set(j) != set(f):
        raise ValueError(f"j and f must describe the same objects; only in j: {sorted(set(j) - set(f))}, "
                         f"only in f: {sorted(set(f) - set(j))}")
    keys = list(j)
    sj = [davis_statistics(j[k]) for k in keys]
    sf = [davis_statistics(f[k]) for k in keys]

    def avg(stats: list[dict[str, float]], key: str) -> float:
        return float(np.mean([s[key] for s in stats])) if stats else math.nan

    out = {"J": avg(sj, "mean"), "J_recall": avg(sj, "recall"), "J_decay": avg(sj, "decay"),
           "F": avg(sf, "mean"), "F_recall": avg(sf, "recall"), "F_decay": avg(sf, "decay")}
    out["J&F"] = (out["J"] + out["F"]) / 2
    out["n_objects"] = len(keys)
    return out
