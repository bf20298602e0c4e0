"""Mask IoU and boundary IoU, exactly as HQ-SAM's evaluation computes them.

Boundary IoU (Cheng et al., "Boundary IoU: Improving Object-Centric Image Segmentation Evaluation", CVPR 2021)
scores only a thin band along each mask's contour, so a mask that gets the bulk of an object right but blurs
its wires, holes and edges scores much lower than in mask IoU. HQ-SAM reports both (mIoU, mBIoU):

* the boundary band of a mask is the mask minus its erosion by a 3 x 3 kernel repeated
  ``d = round(0.02 * image diagonal)`` times (at least once); the mask is zero-padded by one pixel before the
  erosion, so a mask cut by the image border has a band along that border too;
* boundary IoU = IoU of the ground truth's band and the prediction's band;
* predictions are logits thresholded at 0, ground truth grey levels at 128 (:func:`logits_to_mask`,
  :func:`gt_to_mask`); mIoU / mBIoU are plain means over images.

Empty masks (the official code divides by zero there): both empty -> 1.0 (nothing to find, nothing found),
exactly one empty -> 0.0. A non-empty mask always has a non-empty band, so the same rule serves both metrics.

Example:
    >>> gt = np.zeros((100, 100), bool); gt[20:40, 20:40] = True
    >>> pred = np.zeros((100, 100), bool); pred[20:40, 25:45] = True
    >>> mask_iou(gt, pred), round(boundary_iou(gt, pred), 4)
    (0.6, 0.283)
"""

from __future__ import annotations

import math

import cv2
import numpy as np

__all__ = [
    "ERROR_FN",
    "ERROR_FP",
    "ERROR_TP",
    "boundary_band",
    "boundary_errors",
    "boundary_iou",
    "boundary_width",
    "gt_to_mask",
    "logits_to_mask",
    "mask_iou",
]

_KERNEL = np.ones((3, 3), np.uint8)

#: Labels of :func:`boundary_errors`: in both bands, only in the prediction's band, only in the
#: ground truth's.
ERROR_TP, ERROR_FP, ERROR_FN = 1, 2, 3


def _check_pair(gt: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    for name, m in (("gt", gt), ("pred", pred)):
        if not isinstance(m, np.ndarray) or m.dtype != bool or m.ndim != 2:
            what = (f"{m.dtype} array of shape {m.shape}" if isinstance(m, np.ndarray)
                    else type(m).__name__)
            raise TypeError(f"{name} must be a boolean H x W numpy array, got {what}; convert grey-level "
                            "ground truth with gt_to_mask(gt) (> 128) and logits with logits_to_mask(logits) "
                            "(> 0)")
    if gt.shape != pred.shape:
        raise ValueError(f"gt and pred must have the same shape, got {gt.shape} and {pred.shape}")
    return gt, pred


def _iou_from_counts(intersection: int, union: int) -> float:
    return 1.0 if union == 0 else intersection / union


def mask_iou(gt: np.ndarray, pred: np.ndarray) -> float:
    """Intersection over union of two masks.

    Args:
        gt, pred: ``bool`` arrays ``H x W`` of the same shape.

    Returns:
        ``|gt & pred| / |gt | pred|`` in ``[0, 1]``; 1.0 when both are empty, 0.0 when exactly one is.
    """
    gt, pred = _check_pair(gt, pred)
    g, p = gt.view(np.uint8), pred.view(np.uint8)
    intersection = cv2.countNonZero(cv2.bitwise_and(g, p))
    union = cv2.countNonZero(cv2.bitwise_or(g, p))
    return _iou_from_counts(intersection, union)


def boundary_width(shape: tuple[int, ...], dilation_ratio: float = 0.02) -> int:
    """How many 3 x 3 erosions make the band: ``max(1, round(dilation_ratio * sqrt(H**2 + W**2)))``.

    Python's ``round`` (half to even), as in the official code: a 512 x 512 image gives 14,
    1024 x 1024 gives 29.
    """
    if not isinstance(dilation_ratio, int | float) or not 0 < dilation_ratio < 1:
        raise ValueError(f"dilation_ratio must be a number in (0, 1), got {dilation_ratio!r}")
    h, w = int(shape[0]), int(shape[1])
    return max(1, int(round(dilation_ratio * math.sqrt(h * h + w * w))))


def _band_u8(m: np.ndarray, d: int) -> np.ndarray:
    """Band of a 0/1 ``uint8`` mask: the mask minus its zero-padded ``d``-fold 3 x 3 erosion (0/1 uint8)."""
    h, w = m.shape
    padded = cv2.copyMakeBorder(m, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    # d erosions by 3 x 3 = one erosion by (2d+1) x (2d+1); OpenCV does this itself for rectangular kernels.
    eroded = cv2.erode(padded, _KERNEL, iterations=d)[1:h + 1, 1:w + 1]
    return cv2.subtract(m, eroded)


def boundary_band(mask: np.ndarray, dilation_ratio: float = 0.02) -> np.ndarray:
    """The boundary band boundary IoU scores: ``mask`` minus its erosion (see the module docstring).

    Args:
        mask: ``bool`` ``H x W``.
        dilation_ratio: band width as a fraction of the image diagonal.

    Returns:
        ``bool`` ``H x W``, True on mask pixels within :func:`boundary_width` pixels (chessboard distance)
        of a background pixel or of the image border.
    """
    if not isinstance(mask, np.ndarray) or mask.dtype != bool or mask.ndim != 2:
        got = getattr(mask, "dtype", type(mask).__name__)
        raise TypeError(f"mask must be a boolean H x W numpy array, got {got}")
    return _band_u8(mask.view(np.uint8), boundary_width(mask.shape, dilation_ratio)).view(bool)


def boundary_iou(gt: np.ndarray, pred: np.ndarray, dilation_ratio: float = 0.02) -> float:
    """Boundary IoU (Cheng et al. 2021) as HQ-SAM's evaluation computes it.

    Args:
        gt, pred: ``bool`` arrays ``H x W`` of the same shape.
        dilation_ratio: band width as a fraction of the image diagonal (0.02 in the paper).

    Returns:
        IoU of the two boundary bands in ``[0, 1]``; 1.0 when both masks are empty, 0.0 when exactly one is.
    """
    gt, pred = _check_pair(gt, pred)
    d = boundary_width(gt.shape, dilation_ratio)
    g = _band_u8(gt.view(np.uint8), d)
    p = _band_u8(pred.view(np.uint8), d)
    intersection = cv2.countNonZero(cv2.bitwise_and(g, p))
    union = cv2.countNonZero(cv2.bitwise_or(g, p))
    return _iou_from_counts(intersection, union)


def boundary_errors(gt: np.ndarray, pred: np.ndarray, dilation_ratio: float = 0.02) -> np.ndarray:
    """What boundary IoU counts, pixel by pixel.

    Returns:
        ``uint8`` ``H x W``: 0 outside both bands, :data:`ERROR_TP` (1) in both bands (the intersection),
        :data:`ERROR_FP` (2) only in the prediction's band, :data:`ERROR_FN` (3) only in the ground truth's.
        ``boundary_iou == count(1) / count(1, 2 or 3)``.
    """
    gt, pred = _check_pair(gt, pred)
    d = boundary_width(gt.shape, dilation_ratio)
    g = _band_u8(gt.view(np.uint8), d).view(bool)
    p = _band_u8(pred.view(np.uint8), d).view(bool)
    out = np.zeros(gt.shape, np.uint8)
    out[g & p] = ERROR_TP
    out[p & ~g] = ERROR_FP
    out[g & ~p] = ERROR_FN
    return out


def gt_to_mask(gt: np.ndarray) -> np.ndarray:
    """A ground-truth image as a ``bool`` mask, as the official evaluation reads it: grey level ``> 128``.

    Args:
        gt: ``bool`` ``H x W`` (returned as is), or an integer ``H x W`` / ``H x W x C`` grey-level image
            (the first channel is used, as the official loader does).
    """
    gt = np.asarray(gt)
    if gt.dtype == bool and gt.ndim == 2:
        return gt
    if gt.ndim == 3:
        gt = gt[:, :, 0]
    if gt.ndim != 2 or not (np.issubdtype(gt.dtype, np.integer) or gt.dtype == bool):
        raise TypeError(f"gt must be an H x W (or H x W x C) integer or bool image, "
                        f"got {gt.dtype} {gt.shape}")
    return gt > 128


def logits_to_mask(logits: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
    """Logits as a ``bool`` mask: optionally resized bilinearly to ``size = (H, W)`` first, then ``> 0``.

    That is the official evaluation's path for the decoder's 256 x 256 output: straight to the ground truth's
    size, no crop (right for a 1024 x 1024 stretched input, where the low-res grid covers the whole image).
    """
    logits = np.asarray(logits, dtype=np.float32)
    if logits.ndim != 2:
        raise ValueError(f"logits must be H x W, got shape {logits.shape}")
    if size is not None and tuple(size) != logits.shape:
        import torch
        import torch.nn.functional as F

        t = torch.from_numpy(logits)[None, None]
        t = F.interpolate(t, size=(int(size[0]), int(size[1])), mode="bilinear", align_corners=False)
        logits = t[0, 0].numpy()
    return logits > 0
