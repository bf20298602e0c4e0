"""Metrics, pure numpy: mask IoU and boundary IoU as HQ-SAM's evaluation computes them (:mod:`.masks`);
COCO mask AP and boundary AP (:mod:`.coco`)."""

from .coco import METRIC_KEYS, coco_instance_metrics
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

__all__ = ["ERROR_FN", "ERROR_FP", "ERROR_TP", "METRIC_KEYS", "boundary_band", "boundary_errors", "boundary_iou",
           "boundary_width", "coco_instance_metrics", "gt_to_mask", "logits_to_mask", "mask_iou"]
