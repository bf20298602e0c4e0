"""Train HQ-SAM on your own masks: SAM frozen, the HQ additions learn (the paper's recipe, in the package).

* :func:`train` - the whole run (:mod:`.loop`): data checked before anything trains, resumable, one process or
  many (``torchrun``, :mod:`.distributed`), an ordinary HQ-SAM checkpoint at the end;
* :class:`Recipe` - the settings, the paper's by default, deviations as documented options (:mod:`.recipe`);
* data (:mod:`.data`): :func:`open_training_data`, :func:`hqseg44k`, :func:`synthetic_training_data`,
  :func:`check_training_data`;
* the parts: views (:mod:`.augment`), prompts (:mod:`.prompts`), the loss (:mod:`.loss`), the encoder-feature
  cache (:mod:`.features`), the model and its one learning pass (:mod:`.trainee`), validation
  (:mod:`.validation`), state and export (:mod:`.state`), curves (:mod:`.plots`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_face

if TYPE_CHECKING:
    from .augment import IDENTITY, View, apply_view, draw_view
    from .data import (
        HQSEG44K_LAYOUT,
        DataSummary,
        TrainingData,
        TrainingDataError,
        check_training_data,
        download_hqseg44k,
        hqseg44k,
        open_training_data,
        synthetic_training_data,
    )
    from .distributed import Distributed, init_distributed
    from .features import EncoderFeatures, FeatureCache, encode
    from .loop import TrainResult, sample_rng, train
    from .loss import LOSS_POINTS, LossParts, hq_loss, point_sample, uncertain_points
    from .plots import (
        before_after_figure,
        curves_figure,
        loss_points_figure,
        masks_before_after_figure,
        prompts_figure,
        save_curves,
    )
    from .prompts import PROMPT_KINDS, TrainPrompt, draw_prompt, noisy_mask
    from .recipe import Recipe, learning_rate
    from .state import checkpoint_name, export_checkpoint, load_state
    from .trainee import HQDecoderPass, StartPoint, freeze_sam, start_model, trainable_state
    from .validation import ExampleScores, Validator, summarise

#: Each public name -> the module that defines it (imported on first use: :mod:`hqsam_nb._lazy`).
_HOMES = {
    "DataSummary": "data",
    "Distributed": "distributed",
    "EncoderFeatures": "features",
    "ExampleScores": "validation",
    "FeatureCache": "features",
    "HQDecoderPass": "trainee",
    "HQSEG44K_LAYOUT": "data",
    "IDENTITY": "augment",
    "LOSS_POINTS": "loss",
    "LossParts": "loss",
    "PROMPT_KINDS": "prompts",
    "Recipe": "recipe",
    "StartPoint": "trainee",
    "TrainPrompt": "prompts",
    "TrainResult": "loop",
    "TrainingData": "data",
    "TrainingDataError": "data",
    "Validator": "validation",
    "View": "augment",
    "apply_view": "augment",
    "before_after_figure": "plots",
    "check_training_data": "data",
    "checkpoint_name": "state",
    "curves_figure": "plots",
    "download_hqseg44k": "data",
    "draw_prompt": "prompts",
    "draw_view": "augment",
    "encode": "features",
    "export_checkpoint": "state",
    "freeze_sam": "trainee",
    "hq_loss": "loss",
    "hqseg44k": "data",
    "init_distributed": "distributed",
    "learning_rate": "recipe",
    "load_state": "state",
    "loss_points_figure": "plots",
    "masks_before_after_figure": "plots",
    "noisy_mask": "prompts",
    "open_training_data": "data",
    "point_sample": "loss",
    "prompts_figure": "plots",
    "sample_rng": "loop",
    "save_curves": "plots",
    "start_model": "trainee",
    "summarise": "validation",
    "synthetic_training_data": "data",
    "train": "loop",
    "trainable_state": "trainee",
    "uncertain_points": "loss",
}
__all__ = [
    "DataSummary", "Distributed", "EncoderFeatures", "ExampleScores", "FeatureCache", "HQDecoderPass",
    "HQSEG44K_LAYOUT", "IDENTITY", "LOSS_POINTS", "LossParts", "PROMPT_KINDS", "Recipe", "StartPoint", "TrainPrompt",
    "TrainResult", "TrainingData", "TrainingDataError", "Validator", "View", "apply_view", "before_after_figure",
    "check_training_data", "checkpoint_name", "curves_figure", "download_hqseg44k", "draw_prompt", "draw_view",
    "encode", "export_checkpoint", "freeze_sam", "hq_loss", "hqseg44k", "init_distributed", "learning_rate",
    "load_state", "loss_points_figure", "masks_before_after_figure", "noisy_mask", "open_training_data",
    "point_sample", "prompts_figure", "sample_rng", "save_curves", "start_model", "summarise",
    "synthetic_training_data", "train", "trainable_state", "uncertain_points",
]
__getattr__, __dir__ = lazy_face(__name__, _HOMES)
