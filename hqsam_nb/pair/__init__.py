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
    from .branches import BRANCH_KEYS, BRANCHES, PAPER_BRANCH, Branch
    from .predictor import BACKENDS, PairPredictor, load_pair
    from .prompts import MAX_POINTS, Prompt, PromptBatch, make_prompt, make_prompt_batch
    from .results import LowResBatch, MaskBatch, MaskResult, PairBatchPrediction, PairPrediction

#: Each public name -> the module that defines it (imported on first use: :mod:`hqsam_nb._lazy`).
_HOMES = {
    "BACKENDS": "predictor",
    "BRANCHES": "branches",
    "BRANCH_KEYS": "branches",
    "Branch": "branches",
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
    "load_pair": "predictor",
    "make_prompt": "prompts",
    "make_prompt_batch": "prompts",
}
__all__ = [
    "BACKENDS", "BRANCHES", "BRANCH_KEYS", "Branch", "LowResBatch", "MAX_POINTS", "MaskBatch", "MaskResult",
    "PAPER_BRANCH", "PairBatchPrediction", "PairPrediction", "PairPredictor", "Prompt", "PromptBatch", "load_pair",
    "make_prompt", "make_prompt_batch",
]
__getattr__, __dir__ = lazy_face(__name__, _HOMES)
