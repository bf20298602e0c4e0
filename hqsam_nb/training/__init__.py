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

__all__ = [
    "HQSEG44K_LAYOUT",
    "IDENTITY",
    "LOSS_POINTS",
    "PROMPT_KINDS",
    "DataSummary",
    "Distributed",
    "EncoderFeatures",
    "ExampleScores",
    "FeatureCache",
    "HQDecoderPass",
    "LossParts",
    "Recipe",
    "StartPoint",
    "TrainPrompt",
    "TrainResult",
    "TrainingData",
    "TrainingDataError",
    "Validator",
    "View",
    "apply_view",
    "before_after_figure",
    "check_training_data",
    "checkpoint_name",
    "curves_figure",
    "download_hqseg44k",
    "draw_prompt",
    "draw_view",
    "encode",
    "export_checkpoint",
    "freeze_sam",
    "hq_loss",
    "hqseg44k",
    "init_distributed",
    "learning_rate",
    "load_state",
    "loss_points_figure",
    "masks_before_after_figure",
    "noisy_mask",
    "open_training_data",
    "point_sample",
    "prompts_figure",
    "sample_rng",
    "save_curves",
    "start_model",
    "summarise",
    "synthetic_training_data",
    "train",
    "trainable_state",
    "uncertain_points",
]
