"""Saving automatic masks: one COCO-style JSON file with RLE segmentations, through
:func:`hqsam_nb.io.exports.save_coco_json` (atomic write; ``pycocotools.coco.COCO`` reads it).

Each annotation's ``model`` is the branch key (``sam``, ``hq``, ``fused``), ``score`` the predicted IoU,
``prompt`` the grid point that produced the mask (``{"points": [[x, y]], "labels": [1], "box": None}``), and
``extra`` the rest of the official record (``stability_score``, ``crop_box`` XYWH, ``point_coords``).
:func:`~hqsam_nb.io.exports.load_coco_json` reads the masks back as :class:`~hqsam_nb.io.exports.MaskRecord`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ..io.exports import MaskRecord, save_coco_json
from ..pair.branches import branch
from .generator import EverythingResult, record_mask

__all__ = ["everything_records", "save_everything_coco"]


def everything_records(result: EverythingResult, branches: Iterable[str] | None = None, *,
                       name: str = "") -> list[MaskRecord]:
    """The masks of ``branches`` (default: all generated) as :class:`~hqsam_nb.io.exports.MaskRecord` s, branch
    by branch, each in the generator's order."""
    if not isinstance(result, EverythingResult):
        raise TypeError(f"result must be an EverythingResult, got {type(result).__name__}")
    keys = [branch(k).key for k in (result.branches if branches is None else branches)]
    out = []
    for key in keys:
        for i, rec in enumerate(result.branch(key)):
            point = [float(v) for v in rec["point_coords"][0]]
            out.append(MaskRecord(
                record_mask(rec), {"points": [point], "labels": [1], "box": None}, name=name or f"{key}-{i}",
                model=key, score=float(rec["predicted_iou"]),
                extra={"stability_score": float(rec["stability_score"]),
                       "crop_box": [float(v) for v in rec["crop_box"]], "point_coords": [point],
                       "weights": result.weights_note or "official"},
            ))
    return out


def save_everything_coco(path: str | os.PathLike, result: EverythingResult, branches: Iterable[str] | None = None,
                         *, file_name: str = "", image_id: int = 1) -> Path:
    """Save the automatic masks of ``branches`` (default all generated) to one COCO-style RLE JSON file.

    Raises:
        ValueError: no mask at all in those branches (nothing to save).
    """
    records = everything_records(result, branches)
    if not records:
        raise ValueError(f"no masks to save: the branches have {result.counts()} masks (lower pred_iou_thresh / "
                         "stability_score_thresh to keep more)")
    return save_coco_json(path, records, file_name=file_name, image_id=image_id, category="object")
