"""Video-instance metrics: Tube-Mask AP (YouTube-VIS) and Tube-Boundary AP (HQ-YTVIS), in percent.

A VIS result is a *track*: one mask (or none) per frame of a video, one category and one score. It is matched
to a ground-truth track of its video and category by the **tube IoU**, the sum over the video's frames of the
intersections divided by the sum of the unions (Yang et al., "Video Instance Segmentation", ICCV 2019)::

    tube IoU(d, g) = sum_t |d_t & g_t| / sum_t |d_t | g_t|      (0 when both tracks are empty everywhere)

A frame where a track is absent (``None``) counts as an empty mask. From there everything is COCO's: greedy
matching by score per video and category at IoU 0.50:0.05:0.95, 101-point interpolated precision, crowd
tracks (``iscrowd: 1``) ignored (a result matched to one is neither right nor wrong), means over categories.
As YouTube-VIS defines it:

* a track's size is the mean of its areas over the frames where it is present (``areas`` > 0);
  small < 128^2, medium 128^2-256^2, large > 256^2 pixels;
* at most 1, 10, 100 results per video and category (AR1, AR10, AR100);
* the 12 numbers the YouTube-VIS evaluator prints: ``AP, AP50, AP75, AP_S, AP_M, AP_L, AR1, AR10, AR100,
  AR_S, AR_M, AR_L``.

**Tube-Boundary AP** (Ke et al., "Video Mask Transfiner", CVPR 2022; SysCV/vmt ``eval_hqvis.py``, HQ-YTVIS's
AP^B) is the same with the IoU of a result and a (non-crowd) ground-truth track replaced by
``min(tube mask IoU, tube boundary IoU)``, where the boundary tube IoU uses each frame's boundary band (the mask
minus its erosion by ``round(0.02 x frame diagonal)`` 3 x 3 steps, zero-padded first:
:func:`hqsam_nb.metrics.boundary_band`) in place of the mask. Against crowd tracks the mask IoU stays.

No maintained library computes a tube IoU (pycocotools and faster-coco-eval score single images); the matching,
accumulation and summary, which YouTube-VIS's ``ytvoseval`` copies line by line from COCO's, are pycocotools'
own ``COCOeval`` with each video as an "image" and our tube IoU as its ``computeIoU``.
``tests/test_metrics_ytvis.py`` checks the numbers against an implementation written from the definitions.

Example:
    >>> m = ytvis_metrics("ytvis_hq-test.json", "results.json")     # doctest: +SKIP
    >>> m["mask"]["AP"], m["boundary"]["AP"]                          # doctest: +SKIP
    (60.7, 30.2)
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..io.coco_format import segmentation_to_rle
from ..io.ytvis_format import load_ytvis_annotations, load_ytvis_results
from .masks import boundary_band

logger = logging.getLogger(__name__)

__all__ = ["IOU_TYPES", "YTVIS_AREA_RANGES", "YTVIS_METRIC_KEYS", "tube_iou", "tube_iou_matrix", "ytvis_metrics"]

#: The numbers :func:`ytvis_metrics` returns per IoU type, in the order the YouTube-VIS evaluator prints them.
YTVIS_METRIC_KEYS: tuple[str, ...] = ("AP", "AP50", "AP75", "AP_S", "AP_M", "AP_L", "AR1", "AR10", "AR100",
                                      "AR_S", "AR_M", "AR_L")
#: ``"mask"``: Tube-Mask AP (AP^M); ``"boundary"``: Tube-Boundary AP (AP^B).
IOU_TYPES: tuple[str, ...] = ("mask", "boundary")
#: Track sizes (mean area over the frames where the track is present, pixels), as YouTube-VIS bins them.
YTVIS_AREA_RANGES: dict[str, tuple[float, float]] = {"all": (0.0, 1e5**2), "small": (0.0, 128.0**2),
                                                     "medium": (128.0**2, 256.0**2), "large": (256.0**2, 1e5**2)}
_MAX_DETS = [1, 10, 100]
_PYCOCO_NUMPY2 = "__array__ implementation doesn't accept a copy keyword"


def _rle(seg: Any, h: int, w: int) -> dict[str, Any] | None:
    """A frame's segmentation (polygons, RLE, a ``bool`` mask or None) as pycocotools' compressed RLE."""
    from pycocotools import mask as mask_utils

    if seg is None:
        return None
    if isinstance(seg, np.ndarray):
        return mask_utils.encode(np.asfortranarray(seg.astype(np.uint8)))
    return segmentation_to_rle(seg, h, w)


@dataclass
class _Tube:
    """One track's frames as compressed RLEs (None where absent), their areas, and (on demand) boundary bands."""

    rles: list[dict[str, Any] | None]
    height: int
    width: int
    areas: list[float] = field(init=False)
    _bands: dict[float, _Tube] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        from pycocotools import mask as mask_utils

        self.areas = [0.0 if r is None else float(mask_utils.area(r)) for r in self.rles]

    @classmethod
    def of(cls, segmentations: Sequence[Any], height: int, width: int) -> _Tube:
        return cls([_rle(s, height, width) for s in segmentations], height, width)

    def band(self, dilation_ratio: float) -> _Tube:
        """The track of each frame's boundary band (empty frames stay None: their band is empty)."""
        if dilation_ratio not in self._bands:
            from pycocotools import mask as mask_utils

            out: list[dict[str, Any] | None] = []
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=_PYCOCO_NUMPY2, category=DeprecationWarning)
                for r, a in zip(self.rles, self.areas, strict=True):
                    if r is None or a == 0:
                        out.append(None)
                        continue
                    band = boundary_band(mask_utils.decode(r).astype(bool), dilation_ratio)
                    out.append(mask_utils.encode(np.asfortranarray(band.view(np.uint8))))
            self._bands[dilation_ratio] = _Tube(out, self.height, self.width)
        return self._bands[dilation_ratio]


def _tube_iou(d: _Tube, g: _Tube) -> float:
    from pycocotools import mask as mask_utils

    if len(d.rles) != len(g.rles):
        raise ValueError(f"a tube IoU needs two tracks of the same video: {len(d.rles)} and {len(g.rles)} frames")
    inter = union = 0.0
    for dr, gr, da, ga in zip(d.rles, g.rles, d.areas, g.areas, strict=True):
        i = float(mask_utils.area(mask_utils.merge([dr, gr], intersect=True))) if da and ga else 0.0
        inter += i
        union += da + ga - i
    return inter / union if union > 0 else 0.0


def tube_iou(result: Sequence[Any], ground_truth: Sequence[Any], height: int, width: int) -> float:
    """The tube IoU of two tracks of one video: sum of intersections over sum of unions across its frames.

    Args:
        result, ground_truth: one entry per frame, each a ``bool`` ``H x W`` mask, a COCO segmentation
            (polygons or RLE) or ``None`` (absent: an empty mask).
        height, width: the video's frame size.

    Returns:
        A float in ``[0, 1]``; 0 when both tracks are empty on every frame.
    """
    return _tube_iou(_Tube.of(result, height, width), _Tube.of(ground_truth, height, width))


def _matrix(dts: Sequence[_Tube], gts: Sequence[_Tube], crowd: Sequence[int], iou_type: str,
            dilation_ratio: float) -> np.ndarray:
    """``(D, G)`` tube IoUs; ``"boundary"``: ``min(mask, boundary)`` against non-crowd tracks."""
    ious = np.array([[_tube_iou(d, g) for g in gts] for d in dts], np.float64).reshape(len(dts), len(gts))
    if iou_type == "boundary" and ious.size:
        plain = np.flatnonzero(np.asarray(crowd) == 0)
        for j in plain:
            gb = gts[j].band(dilation_ratio)
            for i, d in enumerate(dts):
                if ious[i, j] > 0:  # min(0, .) = 0: no band needed
                    ious[i, j] = min(ious[i, j], _tube_iou(d.band(dilation_ratio), gb))
    return ious


def _check_iou_type(iou_type: str) -> None:
    if iou_type not in IOU_TYPES:
        raise ValueError(f"iou_type={iou_type!r} is not accepted; use one of {IOU_TYPES}")


def tube_iou_matrix(results: Sequence[Mapping[str, Any]], ground_truth: Sequence[Mapping[str, Any]], height: int,
                    width: int, *, iou_type: str = "mask", dilation_ratio: float = 0.02) -> np.ndarray:
    """The IoU of every result track with every ground-truth track of one video, as the AP matches them.

    Args:
        results, ground_truth: tracks (dicts with ``"segmentations"``, one entry per frame; ground-truth tracks
            may say ``"iscrowd": 1``).
        height, width: the video's frame size.
        iou_type: ``"mask"`` (tube IoU) or ``"boundary"`` (``min(tube IoU, boundary tube IoU)``, the plain tube
            IoU against crowd tracks).
        dilation_ratio: the boundary band's width as a fraction of the frame diagonal.

    Returns:
        ``float64`` ``(len(results), len(ground_truth))``.
    """
    _check_iou_type(iou_type)
    dts = [_Tube.of(r["segmentations"], height, width) for r in results]
    gts = [_Tube.of(g["segmentations"], height, width) for g in ground_truth]
    return _matrix(dts, gts, [int(g.get("iscrowd", 0)) for g in ground_truth], iou_type, dilation_ratio)


def _mean_area(areas: Iterable[float | None]) -> float:
    """A track's size as YouTube-VIS defines it: the mean of its non-zero areas (0 if it has none)."""
    present = [float(a) for a in areas if a]
    return float(np.mean(present)) if present else 0.0


def _tube_eval_class() -> type:
    """pycocotools' ``COCOeval`` with each video as an image and the tube IoU as its ``computeIoU`` (imported
    lazily: pycocotools is only needed when scoring)."""
    from pycocotools.cocoeval import COCOeval

    class TubeEval(COCOeval):
        """``computeIoU(video, category)``: tube IoUs of the results (by score, at most ``maxDets[-1]``) and the
        ground-truth tracks, in the orders ``evaluateImg`` uses (the annotations' order; a stable sort)."""

        def __init__(self, gt: Any, dt: Any, tubes: dict[tuple[str, int], _Tube], iou_type: str,
                     dilation_ratio: float) -> None:
            # "bbox" only keeps COCOeval from decoding image segmentations in its preparation; the IoU is ours
            super().__init__(gt, dt, iouType="bbox")
            self.tubes, self.tube_iou_type, self.dilation_ratio = tubes, iou_type, dilation_ratio
            self.params.areaRng = [list(r) for r in YTVIS_AREA_RANGES.values()]
            self.params.areaRngLbl = list(YTVIS_AREA_RANGES)
            self.params.maxDets = list(_MAX_DETS)

        def computeIoU(self, imgId: int, catId: int) -> Any:  # noqa: N802, N803 (pycocotools' names)
            gts = self.cocoGt.loadAnns(self.cocoGt.getAnnIds(imgIds=[imgId], catIds=[catId]))
            dts = self.cocoDt.loadAnns(self.cocoDt.getAnnIds(imgIds=[imgId], catIds=[catId]))
            if not gts and not dts:
                return []
            order = np.argsort([-d["score"] for d in dts], kind="mergesort")[:self.params.maxDets[-1]]
            return _matrix([self.tubes["dt", dts[i]["id"]] for i in order], [self.tubes["gt", g["id"]] for g in gts],
                           [g["iscrowd"] for g in gts], self.tube_iou_type, self.dilation_ratio)

    return TubeEval


def _stat(v: float) -> float:
    return math.nan if v < 0 else 100.0 * float(v)


def ytvis_metrics(gt: str | os.PathLike | Mapping[str, Any],
                  results: str | os.PathLike | Iterable[Mapping[str, Any]], *,
                  video_ids: Iterable[int] | None = None, iou_types: Sequence[str] = IOU_TYPES,
                  dilation_ratio: float = 0.02) -> dict[str, dict[str, float]]:
    """Tube-Mask AP and Tube-Boundary AP of VIS results, in percent, as YouTube-VIS and HQ-YTVIS report them.

    Args:
        gt: YouTube-VIS annotations with their ground truth, a JSON path or the parsed dict (checked by
            :func:`hqsam_nb.io.ytvis_format.load_ytvis_annotations`).
        results: YouTube-VIS results, a JSON path or a list of ``{"video_id", "category_id", "score",
            "segmentations": [RLE or None per frame]}``; may be empty (AP 0).
        video_ids: score only these videos (default: every video of ``gt``).
        iou_types: which of :data:`IOU_TYPES` to compute.
        dilation_ratio: the boundary band's width as a fraction of the frame diagonal (0.02 in HQ-YTVIS).

    Returns:
        ``{iou_type: {AP, AP50, AP75, AP_S, AP_M, AP_L, AR1, AR10, AR100, AR_S, AR_M, AR_L}}``, floats in
        ``[0, 100]``; NaN where no ground-truth track falls in that size (the evaluator's -1).

    Raises:
        YtvisFormatError: a malformed ``gt`` or ``results``. ValueError: ``gt`` without ground truth, unknown
            ``video_ids`` or ``iou_types``.
    """
    from pycocotools.coco import COCO

    for t in iou_types:
        _check_iou_type(t)
    if not isinstance(dilation_ratio, int | float) or not 0 < dilation_ratio < 1:
        raise ValueError(f"dilation_ratio must be a number in (0, 1), got {dilation_ratio!r}")
    gt_data = load_ytvis_annotations(gt)
    if not gt_data["annotations"]:
        raise ValueError("the annotations hold no ground-truth track (a split whose ground truth is withheld, "
                         "like YouTube-VIS 2019 valid, is scored by its challenge server)")
    res = load_ytvis_results(results, gt_data)
    videos = {v["id"]: v for v in gt_data["videos"]}
    ids = sorted(videos)
    if video_ids is not None:
        ids = sorted({int(i) for i in video_ids})
        if set(ids) - set(videos):
            raise ValueError(f"video_ids {sorted(set(ids) - set(videos))[:5]} are not videos of the ground truth")
    tubes: dict[tuple[str, int], _Tube] = {}
    gt_anns, dt_anns = [], []
    for ann in gt_data["annotations"]:
        v = videos[ann["video_id"]]
        tubes["gt", ann["id"]] = _Tube.of(ann["segmentations"], v["height"], v["width"])
        gt_anns.append({"id": ann["id"], "image_id": ann["video_id"], "category_id": ann["category_id"],
                        "iscrowd": int(ann["iscrowd"]), "area": _mean_area(ann["areas"])})
    for i, r in enumerate(res, start=1):
        v = videos[r["video_id"]]
        tubes["dt", i] = tube = _Tube.of(r["segmentations"], v["height"], v["width"])
        dt_anns.append({"id": i, "image_id": r["video_id"], "category_id": r["category_id"], "score": r["score"],
                        "iscrowd": 0, "area": _mean_area(tube.areas)})
    images = [{"id": i} for i in sorted(videos)]
    log = io.StringIO()
    out: dict[str, dict[str, float]] = {}
    with contextlib.redirect_stdout(log), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_PYCOCO_NUMPY2, category=DeprecationWarning)
        coco_gt, coco_dt = COCO(), COCO()
        coco_gt.dataset = {"images": images, "categories": gt_data["categories"], "annotations": gt_anns}
        coco_dt.dataset = {"images": images, "categories": gt_data["categories"], "annotations": dt_anns}
        coco_gt.createIndex()
        coco_dt.createIndex()
        for iou_type in iou_types:
            ev = _tube_eval_class()(coco_gt, coco_dt, tubes, iou_type, dilation_ratio)
            ev.params.imgIds = ids
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
            out[iou_type] = dict(zip(YTVIS_METRIC_KEYS, (_stat(v) for v in ev.stats), strict=True))
    logger.debug("pycocotools (tube IoU):\n%s", log.getvalue())
    return out
