"""The pair predictor: SAM's and HQ-SAM's masks from one image-encoder pass, for one object or many.

* :mod:`.prompts` - prompts validated once where they enter the library (:class:`Prompt`, one object);
* :mod:`.predictor` - :class:`PairPredictor` and :func:`load_pair`.
"""

from .predictor import MaskResult, PairPrediction, PairPredictor, load_pair
from .prompts import Prompt, make_prompt

__all__ = ["MaskResult", "PairPrediction", "PairPredictor", "Prompt", "load_pair", "make_prompt"]
