"""hqsam-nb: understand, try and measure HQ-SAM against SAM in JupyterLab.

The public API, re-exported here:

* loading: :func:`load_predictor` (the official ``SamPredictor``), :func:`load_pair` (SAM + HQ-SAM from one
  image-encoder pass), :func:`load_model`, :func:`pick_device`;
* checkpoints: :func:`official_file`, :func:`resolve_checkpoint`, :func:`fetch_checkpoint`, :func:`verify_file`;
* inputs: :func:`as_rgb_uint8`, :func:`make_prompt`, :class:`Prompt`.
"""

from __future__ import annotations

import logging

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
from .images import as_rgb_uint8, load_image
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
from .notebook import show_environment, show_weights_banner, weights_banner_html
from .pair import MaskResult, PairPrediction, PairPredictor, load_pair
from .prompts import Prompt, make_prompt

logging.getLogger(__name__).addHandler(logging.NullHandler())

__version__ = "0.1.0"

__all__ = [
    "CHECKPOINTS_ENV",
    "MODEL_NAMES",
    "CheckpointError",
    "CheckpointFile",
    "CheckpointUnavailableError",
    "MaskResult",
    "PairPrediction",
    "PairPredictor",
    "Prompt",
    "RandomWeightsWarning",
    "ResolvedCheckpoint",
    "StateDictInfo",
    "WeightsInfo",
    "__version__",
    "as_rgb_uint8",
    "build_model",
    "describe_state_dict",
    "fetch_checkpoint",
    "load_image",
    "load_model",
    "load_pair",
    "load_predictor",
    "load_state_dict",
    "make_prompt",
    "official_file",
    "pick_device",
    "random_state_dict",
    "resolve_checkpoint",
    "save_random_checkpoint",
    "show_environment",
    "show_weights_banner",
    "verify_file",
    "weights_banner_html",
]
