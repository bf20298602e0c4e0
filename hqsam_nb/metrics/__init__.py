"""Metrics, pure numpy: mask IoU and boundary IoU as HQ-SAM's evaluation computes them (:mod:`.masks`); DAVIS's
video metrics J (region similarity) and F (boundary F-measure), J&F, recall and decay (:mod:`.video`);
COCO mask AP and boundary AP (:mod:`.coco`); YouTube-VIS Tube-Mask AP and HQ-YTVIS Tube-Boundary AP
(:mod:`.ytvis`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_face

if TYPE_CHECKING:
    from .coco import METRIC_KEYS, coco_instance_metrics, shifted_ground_truth_results
    from .masks import (
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
    from .video import (
        BOUND_TH,
        boundary_f_measure,
        boundary_radius,
        davis_statistics,
        davis_summary,
        region_similarity,
        seg2bmap,
    )
    from .ytvis import IOU_TYPES, YTVIS_AREA_RANGES, YTVIS_METRIC_KEYS, tube_iou, tube_iou_matrix, ytvis_metrics

#: Each public name -> the module that defines it (imported on first use: :mod:`hqsam_nb._lazy`).
_HOMES = {
    "BOUND_TH": "video",
    "ERROR_FN": "masks",
    "ERROR_FP": "masks",
    "ERROR_TP": "masks",
    "IOU_TYPES": "ytvis",
    "METRIC_KEYS": "coco",
    "YTVIS_AREA_RANGES": "ytvis",
    "YTVIS_METRIC_KEYS": "ytvis",
    "boundary_band": "masks",
    "boundary_errors": "masks",
    "boundary_f_measure": "video",
    "boundary_iou": "masks",
    "boundary_radius": "video",
    "boundary_width": "masks",
    "coco_instance_metrics": "coco",
    "davis_statistics": "video",
    "davis_summary": "video",
    "gt_to_mask": "masks",
    "logits_to_mask": "masks",
    "mask_iou": "masks",
    "region_similarity": "video",
    "seg2bmap": "video",
    "shifted_ground_truth_results": "coco",
    "tube_iou": "ytvis",
    "tube_iou_matrix": "ytvis",
    "ytvis_metrics": "ytvis",
}
__all__ = [
    "BOUND_TH", "ERROR_FN", "ERROR_FP", "ERROR_TP", "IOU_TYPES", "METRIC_KEYS", "YTVIS_AREA_RANGES",
    "YTVIS_METRIC_KEYS", "boundary_band", "boundary_errors", "boundary_f_measure", "boundary_iou", "boundary_radius",
    "boundary_width", "coco_instance_metrics", "davis_statistics", "davis_summary", "gt_to_mask", "logits_to_mask",
    "mask_iou", "region_similarity", "seg2bmap", "shifted_ground_truth_results", "tube_iou", "tube_iou_matrix",
    "ytvis_metrics",
]
__getattr__, __dir__ = lazy_face(__name__, _HOMES)
