"""Segment everything: SAM's and HQ-SAM's automatic masks of an image from one encoder pass per crop.

* :mod:`.generator` - :class:`PairMaskGenerator` (the official ``SamAutomaticMaskGenerator`` for three branches);
* :mod:`.params` - the official parameters and defaults, checked;
* :mod:`.matching` - SAM's masks paired one to one with HQ-SAM's by IoU;
* :mod:`.figures` - all masks of each branch side by side; the objects that changed most;
* :mod:`.export` - COCO RLE JSON;

The "everything" button of the prompting widget is :func:`hqsam_nb.widgets.add_everything_button`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_face

if TYPE_CHECKING:
    from .export import everything_records, save_everything_coco
    from .figures import RANDOM_WEIGHTS_NOTE, branch_colors, changed_objects_figure, everything_figure, grid_figure
    from .generator import CANDIDATES_PER_POINT, EverythingResult, PairMaskGenerator, record_mask, suggested_thresholds
    from .matching import MaskMatching, MatchedPair, iou_matrix, match_branches, match_masks
    from .params import DEFAULT_PARAMS, OUTPUT_MODES, check_params

#: Each public name -> the module that defines it (imported on first use: :mod:`hqsam_nb._lazy`).
_HOMES = {
    "CANDIDATES_PER_POINT": "generator",
    "DEFAULT_PARAMS": "params",
    "EverythingResult": "generator",
    "MaskMatching": "matching",
    "MatchedPair": "matching",
    "OUTPUT_MODES": "params",
    "PairMaskGenerator": "generator",
    "RANDOM_WEIGHTS_NOTE": "figures",
    "branch_colors": "figures",
    "changed_objects_figure": "figures",
    "check_params": "params",
    "everything_figure": "figures",
    "everything_records": "export",
    "grid_figure": "figures",
    "iou_matrix": "matching",
    "match_branches": "matching",
    "match_masks": "matching",
    "record_mask": "generator",
    "save_everything_coco": "export",
    "suggested_thresholds": "generator",
}
__all__ = [
    "CANDIDATES_PER_POINT", "DEFAULT_PARAMS", "EverythingResult", "MaskMatching", "MatchedPair", "OUTPUT_MODES",
    "PairMaskGenerator", "RANDOM_WEIGHTS_NOTE", "branch_colors", "changed_objects_figure", "check_params",
    "everything_figure", "everything_records", "grid_figure", "iou_matrix", "match_branches", "match_masks",
    "record_mask", "save_everything_coco", "suggested_thresholds",
]
__getattr__, __dir__ = lazy_face(__name__, _HOMES)
