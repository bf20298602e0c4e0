"""The pair predictor: SAM's and HQ-SAM's masks from one image-encoder pass, for one object or many.

* :mod:`.prompts` - prompts validated once where they enter the library: :class:`Prompt` (one object),
  :class:`PromptBatch` (K objects);
* :mod:`.predictor` - :class:`PairPredictor` (``predict``, ``predict_batch``) and :func:`load_pair`;
* :mod:`.results` - what it returns: :class:`PairPrediction`, :class:`PairBatchPrediction`;
* :mod:`.branches` - the three masks (SAM, HQ-SAM (HQ token), HQ-SAM (fused)) defined once;
* :mod:`.preprocess` - the one image / prompt preprocessing path (the official predictor's).
"""

from .branches import BRANCH_KEYS, BRANCHES, PAPER_BRANCH, Branch
from .predictor import BACKENDS, PairPredictor, load_pair
from .prompts import MAX_POINTS, Prompt, PromptBatch, make_prompt, make_prompt_batch
from .results import LowResBatch, MaskBatch, MaskResult, PairBatchPrediction, PairPrediction

__all__ = ["BACKENDS", "BRANCHES", "BRANCH_KEYS", "MAX_POINTS", "PAPER_BRANCH", "Branch", "LowResBatch", "MaskBatch",
           "MaskResult",
           "PairBatchPrediction", "PairPrediction", "PairPredictor", "Prompt", "PromptBatch", "load_pair",
           "make_prompt", "make_prompt_batch"]
