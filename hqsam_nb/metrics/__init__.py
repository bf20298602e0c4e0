"""Metrics, pure numpy: mask IoU and boundary IoU as HQ-SAM's evaluation computes them (:mod:`.masks`); DAVIS's
video metrics J (region similarity) and F (boundary F-measure), J&F, recall and decay (:mod:`.video`);
COCO mask AP and boundary AP (:mod:`.coco`); YouTube-VIS Tube-Mask AP and HQ-YTVIS Tube-Boundary AP
(:mod:`.ytvis`)."""

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
from .ytvis import IOU_TYPES, YTVIS_METRIC_KEYS, tube_iou, tube_iou_matrix, ytvis_metrics

__all__ = ["BOUND_TH", "ERROR_FN", "ERROR_FP", "ERROR_TP", "IOU_TYPES", "METRIC_KEYS", "YTVIS_METRIC_KEYS",
           "boundary_band", "boundary_errors", "boundary_f_measure", "boundary_iou", "boundary_radius",
           "boundary_width", "coco_instance_metrics", "davis_statistics", "davis_summary", "gt_to_mask",
           "logits_to_mask", "mask_iou", "region_similarity", "seg2bmap", "shifted_ground_truth_results", "tube_iou",
           "tube_iou_matrix", "ytvis_metrics"]
