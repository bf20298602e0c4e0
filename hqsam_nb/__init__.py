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

if TYPE_CHECKING:
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
    from .drawing.palette import OBJECT_COLORS
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
        build_model,
        describe_state_dict,
        load_model,
        load_predictor,
        load_state_dict,
        pick_device,
        random_state_dict,
        save_random_checkpoint,
    )
    from .models.provenance import WeightsProvenance, mark_fine_tuned
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
    from .widgets.canvas import PromptCanvas
    from .widgets.history import history_to_dict, replay_history
    from .widgets.state import CanvasMapping, PromptEditor, PromptState
    from .widgets.wipe import wipe_widget

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

#: Each public name -> the module that defines it (imported on first use: :mod:`hqsam_nb._lazy`).
_HOMES = {
    "BOX_COLOR": "drawing.overlays",
    "BRANCHES": "pair",
    "BRANCH_COLORS": "drawing.overlays",
    "BRANCH_KEYS": "pair",
    "Branch": "pair",
    "CHECKPOINTS_ENV": "models.checkpoints",
    "CacheUnavailableError": "models.checkpoints",
    "CanvasMapping": "widgets.state",
    "CheckpointError": "models.checkpoints",
    "CheckpointFile": "models.checkpoints",
    "CheckpointUnavailableError": "models.checkpoints",
    "DIFF_COLORS": "drawing.overlays",
    "Dataset": "evaluation.datasets",
    "DatasetError": "evaluation.datasets",
    "DavisDataset": "video",
    "Detections": "text",
    "EverythingResult": "automatic",
    "Example": "evaluation.datasets",
    "MASK_COLORS": "drawing.overlays",
    "MAX_POINTS": "pair",
    "MODEL_NAMES": "models.checkpoints",
    "MaskBatch": "pair",
    "MaskMatching": "automatic",
    "MaskRecord": "io.exports",
    "MaskResult": "pair",
    "ModelSpec": "evaluation.engines",
    "OBJECT_COLORS": "drawing.palette",
    "PAPER_BRANCH": "pair",
    "PairBatchPrediction": "pair",
    "PairMaskGenerator": "automatic",
    "PairPrediction": "pair",
    "PairPredictor": "pair",
    "Prompt": "pair.prompts",
    "PromptBatch": "pair",
    "PromptCanvas": "widgets.canvas",
    "PromptEditor": "widgets.state",
    "PromptState": "widgets.state",
    "RandomWeightsWarning": "models.loading",
    "RayEngine": "evaluation.engines",
    "ResolvedCheckpoint": "models.checkpoints",
    "SAMPLE_NAMES": "io.samples",
    "SCENE_KINDS": "io.synthetic",
    "Sample": "io.samples",
    "StateDictInfo": "models.loading",
    "TextSegmentation": "text",
    "WeightsProvenance": "models.provenance",
    "as_rgb_uint8": "io.images",
    "boundary_band": "metrics.masks",
    "boundary_errors": "metrics.masks",
    "boundary_f_measure": "metrics.video",
    "boundary_iou": "metrics.masks",
    "boundary_zoom_figure": "drawing.figures",
    "build_model": "models.loading",
    "changed_objects_figure": "automatic",
    "coco_instance_metrics": "metrics.coco",
    "compare_figure": "drawing.figures",
    "composite": "drawing.overlays",
    "describe_state_dict": "models.loading",
    "difference_figure": "drawing.figures",
    "difference_rgba": "drawing.overlays",
    "disagreement_boxes": "drawing.overlays",
    "everything_figure": "automatic",
    "fetch_checkpoint": "models.checkpoints",
    "gallery_figure": "drawing.figures",
    "gif_html": "io.exports",
    "history_to_dict": "widgets.history",
    "image_mask_folder": "evaluation.datasets",
    "image_sha256": "io.images",
    "list_samples": "io.samples",
    "load_coco_json": "io.exports",
    "load_detector": "text",
    "load_image": "io.images",
    "load_mask_png": "io.exports",
    "load_model": "models.loading",
    "load_pair": "pair",
    "load_polygons_json": "io.exports",
    "load_predictor": "models.loading",
    "load_sample": "io.samples",
    "load_state_dict": "models.loading",
    "make_prompt": "pair.prompts",
    "make_prompt_batch": "pair",
    "mark_fine_tuned": "models.provenance",
    "mask_iou": "metrics.masks",
    "mask_rgba": "drawing.overlays",
    "match_masks": "automatic",
    "measure_speed": "evaluation.speed",
    "model_size": "evaluation.speed",
    "official_file": "models.checkpoints",
    "open_coco": "evaluation.coco",
    "open_dataset": "evaluation.datasets",
    "open_davis": "video",
    "open_video": "video",
    "open_ytvis": "video",
    "overlay_mask": "drawing.overlays",
    "overlay_masks": "drawing.overlays",
    "parameter_table": "architecture",
    "pick_device": "models.loading",
    "plot_framework": "architecture",
    "random_state_dict": "models.loading",
    "record_forward": "architecture",
    "records_from_prediction": "io.exports",
    "region_similarity": "metrics.video",
    "replay_history": "widgets.history",
    "resolve_checkpoint": "models.checkpoints",
    "run_coco_evaluation": "evaluation.coco",
    "run_video_evaluation": "video",
    "run_ytvis_evaluation": "video",
    "save_coco_json": "io.exports",
    "save_comparison": "video",
    "save_everything_coco": "automatic",
    "save_figure": "io.exports",
    "save_gif": "io.exports",
    "save_mask_png": "io.exports",
    "save_polygons_json": "io.exports",
    "save_random_checkpoint": "models.loading",
    "segment_text": "text",
    "show_detector_banner": "notebook",
    "show_environment": "notebook",
    "show_weights_banner": "notebook",
    "stage_costs": "architecture",
    "stamp_figure": "notebook",
    "synthetic_benchmark": "io.synthetic",
    "synthetic_clip": "video",
    "synthetic_coco": "io.synthetic_coco",
    "thin_structure_scene": "io.synthetic",
    "tiny_random_detector": "text",
    "track_clip": "video",
    "verify_file": "models.checkpoints",
    "weights_banner_html": "notebook",
    "weights_warning": "notebook",
    "wipe_widget": "widgets.wipe",
    "write_synthetic_coco": "io.synthetic_coco",
    "write_synthetic_davis": "video",
    "write_synthetic_ytvis": "video",
    "ytvis_metrics": "metrics.ytvis",
}
_SUBPACKAGES = ("architecture", "automatic", "cli", "drawing", "evaluation", "io", "metrics", "models", "notebook",
                "pair", "runs", "text", "video", "widgets")
__all__ = [
    "BOX_COLOR", "BRANCHES", "BRANCH_COLORS", "BRANCH_KEYS", "Branch", "CHECKPOINTS_ENV", "CacheUnavailableError",
    "CanvasMapping", "CheckpointError", "CheckpointFile", "CheckpointUnavailableError", "DIFF_COLORS", "Dataset",
    "DatasetError", "DavisDataset", "Detections", "EverythingResult", "Example", "MASK_COLORS", "MAX_POINTS",
    "MODEL_NAMES", "MaskBatch", "MaskMatching", "MaskRecord", "MaskResult", "ModelSpec", "OBJECT_COLORS",
    "PAPER_BRANCH",
    "PairBatchPrediction", "PairMaskGenerator", "PairPrediction", "PairPredictor", "Prompt", "PromptBatch",
    "PromptCanvas", "PromptEditor", "PromptState", "RandomWeightsWarning", "RayEngine", "ResolvedCheckpoint",
    "SAMPLE_NAMES", "SCENE_KINDS", "Sample", "StateDictInfo", "TextSegmentation", "WeightsProvenance",
    "as_rgb_uint8", "boundary_band", "boundary_errors", "boundary_f_measure", "boundary_iou",
    "boundary_zoom_figure", "build_model", "changed_objects_figure", "coco_instance_metrics", "compare_figure",
    "composite", "describe_state_dict", "difference_figure", "difference_rgba", "disagreement_boxes",
    "everything_figure", "fetch_checkpoint", "gallery_figure", "gif_html", "history_to_dict", "image_mask_folder",
    "image_sha256", "list_samples", "load_coco_json", "load_detector", "load_image", "load_mask_png", "load_model",
    "load_pair", "load_polygons_json", "load_predictor", "load_sample", "load_state_dict", "make_prompt",
    "make_prompt_batch", "mark_fine_tuned", "mask_iou", "mask_rgba", "match_masks", "measure_speed", "model_size",
    "official_file", "open_coco", "open_dataset", "open_davis", "open_video", "open_ytvis", "overlay_mask",
    "overlay_masks", "parameter_table", "pick_device", "plot_framework", "random_state_dict", "record_forward",
    "records_from_prediction", "region_similarity", "replay_history", "resolve_checkpoint", "run_coco_evaluation",
    "run_video_evaluation", "run_ytvis_evaluation", "save_coco_json", "save_comparison", "save_everything_coco",
    "save_figure", "save_gif", "save_mask_png", "save_polygons_json", "save_random_checkpoint", "segment_text",
    "show_detector_banner", "show_environment", "show_weights_banner", "stage_costs", "stamp_figure",
    "synthetic_benchmark", "synthetic_clip", "synthetic_coco", "thin_structure_scene", "tiny_random_detector",
    "track_clip", "verify_file", "weights_banner_html", "weights_warning", "wipe_widget", "write_synthetic_coco",
    "write_synthetic_davis", "write_synthetic_ytvis", "ytvis_metrics",
]
__getattr__, __dir__ = lazy_face(__name__, _HOMES, _SUBPACKAGES)
