"""Segment everything: SAM's and HQ-SAM's automatic masks of an image from one encoder pass per crop.

* :mod:`.generator` - :class:`PairMaskGenerator` (the official ``SamAutomaticMaskGenerator`` for three branches);
* :mod:`.params` - the official parameters and defaults, checked;
* :mod:`.matching` - SAM's masks paired one to one with HQ-SAM's by IoU;
* :mod:`.figures` - all masks of each branch side by side; the objects that changed most;
* :mod:`.export` - COCO RLE JSON;
* :mod:`.widget` - an "everything" button for the prompting widget (``add_everything_button``; imports ipywidgets).
"""

from .export import everything_records, save_everything_coco
from .figures import RANDOM_WEIGHTS_NOTE, branch_colors, changed_objects_figure, everything_figure, grid_figure
from .generator import CANDIDATES_PER_POINT, EverythingResult, PairMaskGenerator, record_mask, suggested_thresholds
from .matching import MaskMatching, MatchedPair, iou_matrix, match_branches, match_masks
from .params import DEFAULT_PARAMS, OUTPUT_MODES, check_params

__all__ = [
    "CANDIDATES_PER_POINT",
    "DEFAULT_PARAMS",
    "OUTPUT_MODES",
    "RANDOM_WEIGHTS_NOTE",
    "EverythingResult",
    "MaskMatching",
    "MatchedPair",
    "PairMaskGenerator",
    "branch_colors",
    "changed_objects_figure",
    "check_params",
    "everything_figure",
    "everything_records",
    "grid_figure",
    "iou_matrix",
    "match_branches",
    "match_masks",
    "record_mask",
    "save_everything_coco",
    "suggested_thresholds",
]
