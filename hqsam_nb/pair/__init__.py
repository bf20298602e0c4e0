"""The pair predictor: SAM's and HQ-SAM's masks from one image-encoder pass, for one object or many.

* :mod:`.prompts` - prompts validated once where they enter the library: :class:`Prompt` (one object),
  :class:`PromptBatch` (K objects);
* :mod:`.predictor` - :class:`PairPredictor` (``predict``, ``predict_batch``) and :func:`load_pair`;
* :mod:`.results` - what it returns: :class:`PairPrediction`, :class:`PairBatchPrediction`;
* :mod:`.branches` - the three masks (SAM, HQ-SAM (HQ token), HQ-SAM (fused)) defined once;
* :mod:`.preprocess` - the one image / prompt preprocessing path (the official predictor's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_face

if TYPE_CHECKING:
    from .branches import BRANCH_KEYS, BRANCHES, HQ_BRANCHES, PAPER_BRANCH, Branch, check_branches, hq_branch
    from .predictor import BACKENDS, PairPredictor, load_pair
    from .prompts import MAX_POINTS, Prompt, PromptBatch, make_prompt, make_prompt_batch
    from .results import (
        LowResBatch,
        MaskBatch,
        MaskResult,
        PairBatchPrediction,
        PairPrediction,
        records_from_prediction,
    )

#: Each public name -> the module that defines it (imported on first use: :mod:`hqsam_nb._lazy`).
_HOMES = {
    "BACKENDS": "predictor",
    "BRANCHES": "branches",
    "BRANCH_KEYS": "branches",
    "Branch": "branches",
    "HQ_BRANCHES": "branches",
    "LowResBatch": "results",
    "MAX_POINTS": "prompts",
    "MaskBatch": "results",
    "MaskResult": "results",
    "PAPER_BRANCH": "branches",
    "PairBatchPrediction": "results",
    "PairPrediction": "results",
    "PairPredictor": "predictor",
    "Prompt": "prompts",
    "PromptBatch": "prompts",
    "check_branches": "branches",
    "hq_branch": "branches",
    "load_pair": "predictor",
    "make_prompt": "prompts",
    "make_prompt_batch": "prompts",
    "records_from_prediction": "results",
}
__all__ = [
    "BACKENDS", "BRANCHES", "BRANCH_KEYS", "Branch", "HQ_BRANCHES", "LowResBatch", "MAX_POINTS", "MaskBatch",
    "MaskResult", "PAPER_BRANCH", "PairBatchPrediction", "PairPrediction", "PairPredictor", "Prompt", "PromptBatch",
    "check_branches", "hq_branch", "load_pair", "make_prompt", "make_prompt_batch", "records_from_prediction",
]
__getattr__, __dir__ = lazy_face(__name__, _HOMES)
