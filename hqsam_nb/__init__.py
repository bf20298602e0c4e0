"""hqsam-nb: understand, try and measure HQ-SAM against SAM in JupyterLab.

The public API is re-exported here, each name imported on first use (``import hqsam_nb`` stays light, so the
command line starts fast); the package is grouped by concern:

* ``models/`` - checkpoints (official registry, download, verification) and safe loading: :func:`load_model`,
  :func:`load_predictor` (the official ``SamPredictor``), :func:`resolve_checkpoint`;
* ``pair/`` - :func:`load_pair`: SAM's and HQ-SAM's masks from one image-encoder pass, for one object or many;
  validated prompts (:class:`Prompt`); the three branches defined once (``pair.branches``);
* ``io/`` - images in (:func:`as_rgb_uint8`), samples and synthetic scenes, mask exports, atomic writes;
* ``drawing/`` - numpy overlays and thin matplotlib figures;
* ``metrics/`` - mask IoU and boundary IoU; DAVIS's J and F for video (``hqsam_nb.metrics``);
* ``evaluation/`` - datasets, protocols, the resumable runners (``hqsam-nb evaluate``, ``hqsam-nb coco``), speed;
* ``architecture/`` - inside the model: parameters, a hooked forward trace, costs per stage, pictures;
* ``automatic/`` - segment everything: :class:`PairMaskGenerator` (the official automatic mask generator for SAM,
  the HQ token and fused, one encoder pass per crop), SAM's masks matched to HQ-SAM's, figures, COCO export;
* ``text/`` - text prompts: a caption -> detector boxes (GroundingDINO / OWLv2) -> both models' masks
  (:func:`load_detector`, :func:`segment_text`);
* ``video/`` - clips (PyAV or frame folders), DAVIS 2017, prompts per frame, J&F (``hqsam-nb video``), SAM |
  HQ-SAM exports; YouTube-VIS / HQ-YTVIS with a VIS model's tracks as prompts, Tube-Mask AP and Tube-Boundary AP;
* ``runs/`` - what every resumable run records (``run.json``) and stores (``results.jsonl``);
* ``cli/`` - the command line ``hqsam-nb`` (``fetch``, ``evaluate``, ``coco``, ``video``), one module per command;
* ``widgets/`` - interactive prompting (``widgets.PromptCanvas``, imported on first use).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ._lazy import lazy_face
from ._version import __version__ as __version__

if TYPE_CHECKING:
    from .automatic import PairMaskGenerator
    from .drawing import compare_figure, difference_figure, overlay_mask
    from .io import SAMPLE_NAMES, as_rgb_uint8, list_samples, load_image, load_sample, save_coco_json, save_mask_png
    from .metrics import boundary_iou, mask_iou
    from .models import (
        MODEL_NAMES,
        CheckpointError,
        RandomWeightsWarning,
        WeightsProvenance,
        build_model,
        load_model,
        load_predictor,
        mark_fine_tuned,
        pick_device,
        save_random_checkpoint,
    )
    from .notebook import show_detector_banner, show_environment, show_weights_banner, stamp_figure
    from .pair import (
        BRANCH_KEYS,
        BRANCHES,
        MAX_POINTS,
        PAPER_BRANCH,
        MaskBatch,
        MaskResult,
        PairBatchPrediction,
        PairPrediction,
        PairPredictor,
        Prompt,
        PromptBatch,
        load_pair,
        make_prompt,
        make_prompt_batch,
        records_from_prediction,
    )
    from .text import load_detector, segment_text
    from .util import markdown_table
    from .video import open_video, track_clip
    from .widgets import PromptCanvas, wipe_widget

logging.getLogger(__name__).addHandler(logging.NullHandler())

#: The names a notebook uses, each from its subpackage's face (imported on first use: :mod:`hqsam_nb._lazy`).
#: Everything else public is in the subpackage faces: ``hqsam_nb.models``, ``hqsam_nb.pair``, ``hqsam_nb.io``, ...
_HOMES = {
    "BRANCHES": "pair",
    "BRANCH_KEYS": "pair",
    "CheckpointError": "models",
    "MAX_POINTS": "pair",
    "MODEL_NAMES": "models",
    "MaskBatch": "pair",
    "MaskResult": "pair",
    "PAPER_BRANCH": "pair",
    "PairBatchPrediction": "pair",
    "PairMaskGenerator": "automatic",
    "PairPrediction": "pair",
    "PairPredictor": "pair",
    "Prompt": "pair",
    "PromptBatch": "pair",
    "PromptCanvas": "widgets",
    "RandomWeightsWarning": "models",
    "SAMPLE_NAMES": "io",
    "WeightsProvenance": "models",
    "as_rgb_uint8": "io",
    "boundary_iou": "metrics",
    "build_model": "models",
    "compare_figure": "drawing",
    "difference_figure": "drawing",
    "list_samples": "io",
    "load_detector": "text",
    "load_image": "io",
    "load_model": "models",
    "load_pair": "pair",
    "load_predictor": "models",
    "load_sample": "io",
    "make_prompt": "pair",
    "make_prompt_batch": "pair",
    "mark_fine_tuned": "models",
    "markdown_table": "util",
    "mask_iou": "metrics",
    "open_video": "video",
    "overlay_mask": "drawing",
    "pick_device": "models",
    "records_from_prediction": "pair",
    "save_coco_json": "io",
    "save_mask_png": "io",
    "save_random_checkpoint": "models",
    "segment_text": "text",
    "show_detector_banner": "notebook",
    "show_environment": "notebook",
    "show_weights_banner": "notebook",
    "stamp_figure": "notebook",
    "track_clip": "video",
    "wipe_widget": "widgets",
}
_SUBPACKAGES = ("architecture", "automatic", "cli", "drawing", "evaluation", "io", "metrics", "models", "notebook",
                "pair", "runs", "text", "util", "validation", "video", "widgets")
__all__ = [
    "BRANCHES", "BRANCH_KEYS", "CheckpointError", "MAX_POINTS", "MODEL_NAMES", "MaskBatch", "MaskResult",
    "PAPER_BRANCH", "PairBatchPrediction", "PairMaskGenerator", "PairPrediction", "PairPredictor", "Prompt",
    "PromptBatch", "PromptCanvas", "RandomWeightsWarning", "SAMPLE_NAMES", "WeightsProvenance", "as_rgb_uint8",
    "boundary_iou", "build_model", "compare_figure", "difference_figure", "list_samples", "load_detector",
    "load_image", "load_model", "load_pair", "load_predictor", "load_sample", "make_prompt", "make_prompt_batch",
    "mark_fine_tuned", "markdown_table", "mask_iou", "open_video", "overlay_mask", "pick_device",
    "records_from_prediction", "save_coco_json", "save_mask_png", "save_random_checkpoint", "segment_text",
    "show_detector_banner", "show_environment", "show_weights_banner", "stamp_figure", "track_clip", "wipe_widget",
]
__getattr__, __dir__ = lazy_face(__name__, _HOMES, _SUBPACKAGES)
