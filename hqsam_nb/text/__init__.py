"""Text prompts: a caption -> boxes (an open-vocabulary detector) -> SAM's and HQ-SAM's mask of every object.

* :func:`load_detector` - GroundingDINO (default ``IDEA-Research/grounding-dino-tiny``) or OWLv2 through
  ``transformers``, from the Hugging Face Hub at a pinned commit or from a local folder;
  ``detector.detect(image, text)`` -> :class:`Detections` (boxes ``(K, 4)`` XYXY pixels, scores, labels:
  words of one phrase of the caption, :class:`CaptionPhrases`);
* :func:`segment_text` - detect, then one image-encoder pass and one batched decode for every box
  (``pair.predict_batch``): :class:`TextSegmentation` (``.detections``, ``.prediction``);
* figures: :mod:`hqsam_nb.drawing.text_figures` (boxes with labels; SAM vs HQ-SAM per object);
* :func:`tiny_random_detector` - a ~0.2 M-parameter GroundingDINO with random weights, for tests and CI.

``transformers`` is imported only when a detector is loaded or built.
"""

from __future__ import annotations

from .detections import Detections, check_threshold, normalize_caption
from .detectors import (
    DEFAULT_DETECTOR,
    PINNED_REVISIONS,
    GroundingDinoDetector,
    Owlv2Detector,
    TextDetector,
    load_detector,
)
from .phrases import CaptionPhrases
from .segment import TextSegmentation, segment_text, weights_note
from .tiny import load_detector_or_random, save_tiny_random_detector, tiny_random_detector

__all__ = [
    "DEFAULT_DETECTOR",
    "PINNED_REVISIONS",
    "CaptionPhrases",
    "Detections",
    "GroundingDinoDetector",
    "Owlv2Detector",
    "TextDetector",
    "TextSegmentation",
    "check_threshold",
    "load_detector",
    "load_detector_or_random",
    "normalize_caption",
    "save_tiny_random_detector",
    "segment_text",
    "tiny_random_detector",
    "weights_note",
]
