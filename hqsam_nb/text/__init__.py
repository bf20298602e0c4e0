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

from typing import TYPE_CHECKING

from .._lazy import lazy_face

if TYPE_CHECKING:
    from .detections import Detections, check_threshold, normalize_caption
    from .detectors import (
        DEFAULT_DETECTOR,
        PINNED_REVISIONS,
        RANDOM_MARKER,
        GroundingDinoDetector,
        Owlv2Detector,
        TextDetector,
        load_detector,
        resolve_detector_folder,
    )
    from .phrases import CaptionPhrases
    from .segment import TextSegmentation, segment_text, weights_note
    from .tiny import (
        TINY_WORDS,
        build_tiny_vocab,
        load_detector_or_random,
        save_tiny_random_detector,
        tiny_random_detector,
    )

#: Each public name -> the module that defines it (imported on first use: :mod:`hqsam_nb._lazy`).
_HOMES = {
    "CaptionPhrases": "phrases",
    "DEFAULT_DETECTOR": "detectors",
    "Detections": "detections",
    "GroundingDinoDetector": "detectors",
    "Owlv2Detector": "detectors",
    "PINNED_REVISIONS": "detectors",
    "RANDOM_MARKER": "detectors",
    "TINY_WORDS": "tiny",
    "TextDetector": "detectors",
    "TextSegmentation": "segment",
    "build_tiny_vocab": "tiny",
    "check_threshold": "detections",
    "load_detector": "detectors",
    "load_detector_or_random": "tiny",
    "normalize_caption": "detections",
    "resolve_detector_folder": "detectors",
    "save_tiny_random_detector": "tiny",
    "segment_text": "segment",
    "tiny_random_detector": "tiny",
    "weights_note": "segment",
}
__all__ = [
    "CaptionPhrases", "DEFAULT_DETECTOR", "Detections", "GroundingDinoDetector", "Owlv2Detector", "PINNED_REVISIONS",
    "RANDOM_MARKER", "TINY_WORDS", "TextDetector", "TextSegmentation", "build_tiny_vocab", "check_threshold",
    "load_detector", "load_detector_or_random", "normalize_caption", "resolve_detector_folder",
    "save_tiny_random_detector", "segment_text", "tiny_random_detector", "weights_note",
]
__getattr__, __dir__ = lazy_face(__name__, _HOMES)
