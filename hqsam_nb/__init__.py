"""hqsam-nb: understand, try and measure HQ-SAM against SAM in JupyterLab.

The public API is re-exported here; the package is grouped by concern:

* ``models/`` - checkpoints (official registry, download, verification) and safe loading: :func:`load_model`,
  :func:`load_predictor` (the official ``SamPredictor``), :func:`resolve_checkpoint`;
* ``pair/`` - :func:`load_pair`: SAM's and HQ-SAM's masks from one image-encoder pass, for one object or many;
  validated prompts (:class:`Prompt`); the three branches defined once (``pair.branches``);
* ``io/`` - images in (:func:`as_rgb_uint8`), samples and synthetic scenes, mask exports, atomic writes;
* ``drawing/`` - numpy overlays and thin matplotlib figures;
* ``metrics/`` - mask IoU and boundary IoU; DAVIS's J and F for video (``hqsam_nb.metrics``);
* ``evaluation/`` - datasets, protocols, the resumable runner (CLI ``python -m hqsam_nb.evaluate``), speed;
* ``architecture/`` - inside the model: parameters, a hooked forward trace, costs per stage, pictures;
* ``automatic/`` - segment everything: :class:`PairMaskGenerator` (the official automatic mask generator for SAM,
  the HQ token and fused, one encoder pass per crop), SAM's masks matched to HQ-SAM's, figures, COCO export;
* ``text/`` - text prompts: a caption -> detector boxes (GroundingDINO / OWLv2) -> both models' masks
  (:func:`load_detector`, :func:`segment_text`);
* ``video/`` - clips (PyAV or frame folders), DAVIS 2017, prompts per frame, J&F (CLI
  ``python -m hqsam_nb.evaluate_video``), SAM | HQ-SAM exports; YouTube-VIS / HQ-YTVIS with a VIS model's tracks
  as prompts, Tube-Mask AP and Tube-Boundary AP;
* ``widgets/`` - interactive prompting (``widgets.PromptCanvas``, imported on first use).
"""

from __future__ import annotations

import logging
from typing import Any

from .architecture import parameter_table, plot_framework, record_forward, stage_costs
from .automatic import (
    EverythingResult,
    MaskMatching,
    PairMaskGenerator,
    changed_objects_figure,
    everything_figure,
    match_masks,
    save_everything_coco,
)
from .drawing.figures import boundary_zoom_figure, compare_figure, difference_figure, gallery_figure
from .drawing.overlays import (
    BOX_COLOR,
    BRANCH_COLORS,
    DIFF_COLORS,
    MASK_COLORS,
    composite,
    difference_rgba,
    disagreement_boxes,
    mask_rgba,
    overlay_mask,
    overlay_masks,
)
from .evaluation.coco import open_coco, run_coco_evaluation
from .evaluation.datasets import Dataset, DatasetError, Example, image_mask_folder, open_dataset
from .evaluation.engines import ModelSpec, RayEngine
from .evaluation.speed import measure_speed, model_size
from .io.exports import (
    MaskRecord,
    gif_html,
    load_coco_json,
    load_mask_png,
    load_polygons_json,
    records_from_prediction,
    save_coco_json,
    save_figure,
    save_gif,
    save_mask_png,
    save_polygons_json,
)
from .io.images import as_rgb_uint8, image_sha256, load_image
from .io.samples import SAMPLE_NAMES, Sample, list_samples, load_sample
from .io.synthetic import SCENE_KINDS, synthetic_benchmark, thin_structure_scene
from .io.synthetic_coco import synthetic_coco, write_synthetic_coco
from .metrics.coco import coco_instance_metrics
from .metrics.masks import boundary_band, boundary_errors, boundary_iou, mask_iou
from .metrics.video import boundary_f_measure, region_similarity
from .metrics.ytvis import ytvis_metrics
from .models.checkpoints import (
    CHECKPOINTS_ENV,
    MODEL_NAMES,
    CacheUnavailableError,
    CheckpointError,
    CheckpointFile,
    CheckpointUnavailableError,
    ResolvedCheckpoint,
    fetch_checkpoint,
    official_file,
    resolve_checkpoint,
    verify_file,
)
from .models.loading import (
    RandomWeightsWarning,
    StateDictInfo,
    WeightsInfo,
    build_model,
    describe_state_dict,
    load_model,
    load_predictor,
    load_state_dict,
    pick_device,
    random_state_dict,
    save_random_checkpoint,
)
from .notebook import (
    show_detector_banner,
    show_environment,
    show_weights_banner,
    stamp_figure,
    weights_banner_html,
    weights_warning,
)
from .pair import (
    BRANCH_KEYS,
    BRANCHES,
    MAX_POINTS,
    PAPER_BRANCH,
    Branch,
    MaskBatch,
    MaskResult,
    PairBatchPrediction,
    PairPrediction,
    PairPredictor,
    PromptBatch,
    load_pair,
    make_prompt_batch,
)
from .pair.prompts import Prompt, make_prompt
from .text import Detections, TextSegmentation, load_detector, segment_text, tiny_random_detector
from .video import (
    DavisDataset,
    open_davis,
    open_video,
    open_ytvis,
    run_video_evaluation,
    run_ytvis_evaluation,
    save_comparison,
    synthetic_clip,
    track_clip,
    write_synthetic_davis,
    write_synthetic_ytvis,
)
from .widgets.history import history_to_dict, replay_history
from .widgets.state import CanvasMapping, PromptEditor, PromptState
from .widgets.wipe import wipe_widget

logging.getLogger(__name__).addHandler(logging.NullHandler())

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``hqsam_nb.PromptCanvas`` imports ipycanvas only when it is first used."""
    if name == "PromptCanvas":
        from .widgets.canvas import PromptCanvas

        return PromptCanvas
    raise AttributeError(f"module 'hqsam_nb' has no attribute {name!r}")


__all__ = [
    "BOX_COLOR",
    "BRANCH_COLORS",
    "make_prompt_batch",
    "PromptBatch",
    "PairBatchPrediction",
    "MaskBatch",
    "Branch",
    "PAPER_BRANCH",
    "MAX_POINTS",
    "BRANCH_KEYS",
    "BRANCHES",
    "CHECKPOINTS_ENV",
    "DIFF_COLORS",
    "MASK_COLORS",
    "MODEL_NAMES",
    "SAMPLE_NAMES",
    "SCENE_KINDS",
    "CanvasMapping",
    "CacheUnavailableError",
    "CheckpointError",
    "CheckpointFile",
    "CheckpointUnavailableError",
    "Dataset",
    "Detections",
    "DatasetError",
    "EverythingResult",
    "Example",
    "MaskMatching",
    "MaskRecord",
    "MaskResult",
    "PairMaskGenerator",
    "PairPrediction",
    "PairPredictor",
    "Prompt",
    "PromptCanvas",
    "PromptEditor",
    "PromptState",
    "RandomWeightsWarning",
    "ResolvedCheckpoint",
    "Sample",
    "StateDictInfo",
    "TextSegmentation",
    "WeightsInfo",
    "__version__",
    "as_rgb_uint8",
    "boundary_band",
    "boundary_errors",
    "boundary_f_measure",
    "boundary_iou",
    "boundary_zoom_figure",
    "build_model",
    "changed_objects_figure",
    "coco_instance_metrics",
    "compare_figure",
    "composite",
    "describe_state_dict",
    "difference_figure",
    "difference_rgba",
    "disagreement_boxes",
    "everything_figure",
    "fetch_checkpoint",
    "gallery_figure",
    "gif_html",
    "history_to_dict",
    "image_mask_folder",
    "image_sha256",
    "list_samples",
    "load_coco_json",
    "load_detector",
    "load_image",
    "load_mask_png",
    "load_model",
    "load_pair",
    "load_polygons_json",
    "load_predictor",
    "load_sample",
    "load_state_dict",
    "make_prompt",
    "match_masks",
    "mask_iou",
    "mask_rgba",
    "measure_speed",
    "ModelSpec",
    "RayEngine",
    "model_size",
    "official_file",
    "open_coco",
    "open_dataset",
    "overlay_mask",
    "overlay_masks",
    "parameter_table",
    "pick_device",
    "plot_framework",
    "random_state_dict",
    "record_forward",
    "records_from_prediction",
    "region_similarity",
    "replay_history",
    "resolve_checkpoint",
    "run_coco_evaluation",
    "save_coco_json",
    "save_everything_coco",
    "save_figure",
    "save_gif",
    "save_mask_png",
    "save_polygons_json",
    "save_random_checkpoint",
    "segment_text",
    "show_detector_banner",
    "show_environment",
    "show_weights_banner",
    "stage_costs",
    "stamp_figure",
    "synthetic_benchmark",
    "synthetic_coco",
    "thin_structure_scene",
    "tiny_random_detector",
    "verify_file",
    "weights_banner_html",
    "weights_warning",
    "wipe_widget",
    "DavisDataset",
    "open_davis",
    "open_video",
    "run_video_evaluation",
    "save_comparison",
    "synthetic_clip",
    "track_clip",
    "write_synthetic_davis",
    "write_synthetic_coco",
    "open_ytvis",
    "run_ytvis_evaluation",
    "write_synthetic_ytvis",
    "ytvis_metrics",
]
