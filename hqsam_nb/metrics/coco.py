"""COCO instance-segmentation metrics: mask AP (pycocotools) and boundary AP (Boundary IoU), in percent.

The paper's COCO table ("various ViT backbones on COCO") reports, for every object an image holds:

* **AP, AP50, AP75, AP_S, AP_M, AP_L** - pycocotools' ``COCOeval(iouType="segm")``: the mean over IoU
  thresholds 0.50:0.05:0.95 (AP), at 0.50 and 0.75, and for small (< 32^2 px), medium and large (> 96^2 px)
  ground-truth objects; up to 100 results per image, matched greedily by score;
* **AP_B** - boundary AP (Cheng et al., "Boundary IoU", CVPR 2021; ``boundary-iou-api``): the same AP with the
  IoU of a result and a ground truth replaced by ``min(mask IoU, boundary IoU)``, where boundary IoU is the
  IoU of the two masks' boundary bands (a mask minus its erosion by ``round(0.02 x image diagonal)`` 3 x 3
  steps, zero-padded first: :func:`hqsam_nb.metrics.boundary_band`). Computed with ``faster-coco-eval``'s
  maintained ``iouType="boundary"`` (for crowd regions it keeps the plain mask IoU, as that package does);
  ``tests/test_metrics_coco.py`` checks it against an implementation written from the definition.

A value is NaN when the ground truth has no object of that size (pycocotools reports -1 there).

Example:
    >>> m = coco_instance_metrics("annotations.json", results)   # doctest: +SKIP
    >>> m["AP"], m["AP_B"]                                           # doctest: +SKIP
    (71.3, 48.0)
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from ..io.coco_format import load_annotations, load_results, segmentation_to_rle

logger = logging.getLogger(__name__)

__all__ = ["METRIC_KEYS", "coco_instance_metrics", "shifted_ground_truth_results"]

#: The keys :func:`coco_instance_metrics` returns, in the order of pycocotools' ``stats[:6]`` then AP_B.
METRIC_KEYS: tuple[str, ...] = ("AP", "AP50", "AP75", "AP_S", "AP_M", "AP_L", "AP_B")


def _results_dataset(gt: Mapping[str, Any], results: list[dict[str, Any]]) -> dict[str, Any]:
    """The results as an annotations dataset (what ``COCO.loadRes`` builds), also when there are none."""
    from pycocotools import mask as mask_utils

    anns = []
    for i, r in enumerate(results, start=1):
        seg = r["segmentation"]
        counts = seg["counts"]
        rle = {"size": [int(s) for s in seg["size"]],
               "counts": counts if isinstance(counts, str) else counts.decode("ascii")}
        raw = {"size": rle["size"], "counts": rle["counts"].encode("ascii")}
        anns.append({"id": i, "image_id": r["image_id"], "category_id": r["category_id"], "segmentation": rle,
                     "score": float(r["score"]), "area": float(mask_utils.area(raw)),
                     "bbox": [float(v) for v in mask_utils.toBbox(raw)], "iscrowd": 0})
    return {"images": gt["images"], "categories": gt["categories"], "annotations": anns}


def _stat(v: float) -> float:
    return math.nan if v < 0 else 100.0 * float(v)


def _mask_stats(gt: dict[str, Any], dt: dict[str, Any], image_ids: list[int] | None) -> list[float]:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    log = io.StringIO()
    with contextlib.redirect_stdout(log), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="__array__ implementation doesn't accept a copy keyword",
                                category=DeprecationWarning)
        coco_gt, coco_dt = COCO(), COCO()
        coco_gt.dataset, coco_dt.dataset = gt, dt
        coco_gt.createIndex()
        coco_dt.createIndex()
        ev = COCOeval(coco_gt, coco_dt, iouType="segm")
        if image_ids is not None:
            ev.params.imgIds = image_ids
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    logger.debug("pycocotools segm:\n%s", log.getvalue())
    return [float(v) for v in ev.stats[:6]]


def _boundary_ap(gt: dict[str, Any], dt: dict[str, Any], image_ids: list[int] | None,
                 dilation_ratio: float) -> float:
    try:
        from faster_coco_eval import COCO, COCOeval_faster
    except ImportError as exc:  # declared in pyproject; a clear message for a partial install
        raise ImportError("boundary AP needs faster-coco-eval: pip install 'faster-coco-eval>=1.8'") from exc

    quiet = logging.getLogger("faster_coco_eval").debug
    coco_gt = COCO(gt, print_function=quiet)
    coco_dt = COCO(dt, print_function=quiet)
    ev = COCOeval_faster(coco_gt, coco_dt, iouType="boundary", print_function=quiet,
                         boundary_dilation_ratio=dilation_ratio, boundary_cpu_count=1, rle_iou_max_workers=1)
    if image_ids is not None:
        ev.params.imgIds = image_ids
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return float(ev.stats[0])


def coco_instance_metrics(gt: str | os.PathLike | Mapping[str, Any],
                          results: str | os.PathLike | Iterable[Mapping[str, Any]], *,
                          image_ids: Iterable[int] | None = None,
                          dilation_ratio: float = 0.02) -> dict[str, float]:
    """Mask AP and boundary AP of instance-segmentation results, in percent, as the paper reports them.

    Args:
        gt: COCO instance annotations, a JSON path or the parsed dict (polygon or RLE segmentations,
            ``iscrowd`` honoured); checked by :func:`hqsam_nb.io.coco_format.load_annotations`.
        results: COCO segmentation results, a JSON path or a list of ``{"image_id", "category_id",
            "segmentation": RLE {"size": [H, W], "counts"}, "score"}``; may be empty (AP 0).
        image_ids: evaluate only these images (default: every image of ``gt``).
        dilation_ratio: the boundary band's width as a fraction of the image diagonal (0.02 in the paper).

    Returns:
        ``{"AP", "AP50", "AP75", "AP_S", "AP_M", "AP_L", "AP_B"}`` as floats in ``[0, 100]``; NaN where the
        ground truth has no object of that size.

    Raises:
        CocoFormatError: a malformed ``gt`` or ``results`` (unknown ids, bad RLE, non-finite score).
    """
    if not isinstance(dilation_ratio, int | float) or not 0 < dilation_ratio < 1:
        raise ValueError(f"dilation_ratio must be a number in (0, 1), got {dilation_ratio!r}")
    gt_data = load_annotations(gt)
    res = load_results(results, gt_data)
    ids = None
    if image_ids is not None:
        ids = sorted({int(i) for i in image_ids})
        known = {img["id"] for img in gt_data["images"]}
        if set(ids) - known:
            raise ValueError(f"image_ids {sorted(set(ids) - known)[:5]} are not images of the ground truth")
    dt = _results_dataset(gt_data, res)
    stats = _mask_stats(gt_data, dt, ids)
    out = dict(zip(METRIC_KEYS[:6], (_stat(v) for v in stats), strict=True))
    out["AP_B"] = _stat(_boundary_ap(gt_data, dt, ids, dilation_ratio))
    return out


def shifted_ground_truth_results(gt: str | os.PathLike | Mapping[str, Any], shift: int = 2) -> list[dict[str, Any]]:
    """Results that are the ground truth's own objects moved ``shift`` pixels to the right (score 1).

    A known answer for the scorer: mask AP forgives a shift of a pixel or two on a large object, boundary AP
    does not, and thin objects lose at both. With random weights (CI) every real result scores 0, so "the
    numbers recomputed from the file equal the reported ones" holds trivially; these results do not.

    Args:
        gt: COCO instance annotations (path or dict). shift: pixels to the right, ``>= 0``.

    Returns:
        One result per non-crowd annotation: ``{"image_id", "category_id", "segmentation" (RLE, str counts),
        "score": 1.0}``.
    """
    import numpy as np
    from pycocotools import mask as mask_utils

    if isinstance(shift, bool) or not isinstance(shift, int) or shift < 0:
        raise ValueError(f"shift must be an int >= 0 (pixels), got {shift!r}")
    data = load_annotations(gt)
    sizes = {im["id"]: (im["height"], im["width"]) for im in data["images"]}
    out = []
    for ann in data["annotations"]:
        if ann.get("iscrowd"):
            continue
        h, w = sizes[ann["image_id"]]
        mask = mask_utils.decode(segmentation_to_rle(ann["segmentation"], h, w)).astype(bool)
        moved = np.zeros_like(mask)
        moved[:, shift:] = mask[:, : w - shift]
        rle = mask_utils.encode(np.asfortranarray(moved.astype(np.uint8)))
        rle["counts"] = rle["counts"].decode("ascii")
        out.append({"image_id": ann["image_id"], "category_id": ann["category_id"], "segmentation": rle,
                    "score": 1.0})
    return out

