"""hqsam-nb: understand, try and measure HQ-SAM against SAM in JupyterLab.

The public API, re-exported here (each module's docstring says more):

* loading (``loading``, ``checkpoints``, ``pair``): :func:`load_pair` (SAM + HQ-SAM from one image-encoder
  pass), :func:`load_predictor` (the official ``SamPredictor``), :func:`load_model`, checkpoint resolution,
  download and verification;
* inputs (``images``, ``prompts``, ``samples``, ``synthetic``): :func:`as_rgb_uint8`, :func:`make_prompt`,
  :func:`load_sample`, :func:`thin_structure_scene`;
* drawing and keeping masks (``drawing``, ``figures``, ``wipe``, ``exports``);
* measuring (``metrics``, ``datasets``, ``protocols``, ``speed``; the CLI ``python -m hqsam_nb.evaluate``);
* inside the model (``architecture``);
* interactive prompting (``prompt_state``; ``widgets.PromptCanvas``, imported on first use).
"""

from __future__ import annotations

import logging
from typing import Any

from .architecture import parameter_table, plot_framework, record_forward, stage_costs
from .checkpoints import (
    CHECKPOINTS_ENV,
    MODEL_NAMES,
    CheckpointError,
    CheckpointFile,
    CheckpointUnavailableError,
    ResolvedCheckpoint,
    fetch_checkpoint,
    official_file,
    resolve_checkpoint,
    verify_file,
)
from .datasets import Dataset, DatasetError, Example, image_mask_folder, open_dataset
from .drawing import (
    DIFF_COLORS,
    MASK_COLORS,
    composite,
    difference_rgba,
    disagreement_boxes,
    mask_rgba,
    overlay_mask,
    overlay_masks,
)
from .exports import (
    MaskRecord,
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
from .figures import boundary_zoom_figure, compare_figure, difference_figure, gallery_figure
from .images import as_rgb_uint8, image_sha256, load_image
from .loading import (
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
from .metrics import boundary_band, boundary_errors, boundary_iou, mask_iou
from .notebook import show_environment, show_weights_banner, weights_banner_html
from .pair import MaskResult, PairPrediction, PairPredictor, load_pair
from .prompt_state import CanvasMapping, PromptEditor, PromptState, history_to_dict, replay_history
from .prompts import Prompt, make_prompt
from .samples import SAMPLE_NAMES, Sample, list_samples, load_sample
from .speed import measure_speed, model_size
from .synthetic import SCENE_KINDS, synthetic_benchmark, thin_structure_scene
from .wipe import wipe_widget

logging.getLogger(__name__).addHandler(logging.NullHandler())

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``hqsam_nb.PromptCanvas`` imports ipycanvas only when it is first used."""
    if name == "PromptCanvas":
        from .widgets import PromptCanvas

        return PromptCanvas
    raise AttributeError(f"module 'hqsam_nb' has no attribute {name!r}")


__all__ = [
    "CHECKPOINTS_ENV",
    "DIFF_COLORS",
    "MASK_COLORS",
    "MODEL_NAMES",
    "SAMPLE_NAMES",
    "SCENE_KINDS",
    "CanvasMapping",
    "CheckpointError",
    "CheckpointFile",
    "CheckpointUnavailableError",
    "Dataset",
    "DatasetError",
    "Example",
    "MaskRecord",
    "MaskResult",
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
    "WeightsInfo",
    "__version__",
    "as_rgb_uint8",
    "boundary_band",
    "boundary_errors",
    "boundary_iou",
    "boundary_zoom_figure",
    "build_model",
    "compare_figure",
    "composite",
    "describe_state_dict",
    "difference_figure",
    "difference_rgba",
    "disagreement_boxes",
    "fetch_checkpoint",
    "gallery_figure",
    "history_to_dict",
    "image_mask_folder",
    "image_sha256",
    "list_samples",
    "load_coco_json",
    "load_image",
    "load_mask_png",
    "load_model",
    "load_pair",
    "load_polygons_json",
    "load_predictor",
    "load_sample",
    "load_state_dict",
    "make_prompt",
    "mask_iou",
    "mask_rgba",
    "measure_speed",
    "model_size",
    "official_file",
    "open_dataset",
    "overlay_mask",
    "overlay_masks",
    "parameter_table",
    "pick_device",
    "plot_framework",
    "random_state_dict",
    "record_forward",
    "records_from_prediction",
    "replay_history",
    "resolve_checkpoint",
    "save_coco_json",
    "save_figure",
    "save_gif",
    "save_mask_png",
    "save_polygons_json",
    "save_random_checkpoint",
    "show_environment",
    "show_weights_banner",
    "stage_costs",
    "synthetic_benchmark",
    "thin_structure_scene",
    "verify_file",
    "weights_banner_html",
    "wipe_widget",
]
