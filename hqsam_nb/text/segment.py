"""Caption -> boxes -> masks: the detector's boxes as box prompts, every object decoded by SAM and HQ-SAM at once.

This is Grounded-SAM's recipe with both models: one detector pass, one image-encoder pass, one batched decode
(``pair.predict_batch``) for every box.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..io.images import ImageLike, as_rgb_uint8
from ..models.provenance import ProvenanceLike, provenance_of
from ..pair.predictor import PairPredictor
from ..pair.prompts import PromptBatch
from ..pair.results import MaskBatch, PairBatchPrediction, PairPrediction
from ..util import markdown_table
from .detections import Detections

logger = logging.getLogger(__name__)

__all__ = ["TextSegmentation", "segment_text", "weights_note"]


@dataclass(frozen=True)
class TextSegmentation:
    """The objects a caption named, with SAM's and HQ-SAM's masks.

    Attributes:
        image: ``uint8`` ``H x W x 3``, the image everything refers to.
        detections: the detector's boxes, scores and labels (best first); object ``i`` is box ``i``.
        prediction: ``pair.predict_batch(boxes=detections.boxes)``: ``.sam`` / ``.hq`` / ``.fused`` masks
            ``bool (K, H, W)``; ``prediction[i]`` is object i as a :class:`~hqsam_nb.PairPrediction`.
        note: what is not real about these results, for figures (``""`` with official weights), e.g.
            ``"RANDOM detector weights: boxes are noise"``.
    """

    image: np.ndarray
    detections: Detections
    prediction: PairBatchPrediction
    note: str = ""

    def __len__(self) -> int:
        return len(self.detections)

    def __getitem__(self, i: int) -> PairPrediction:
        return self.prediction[i]

    def table(self) -> list[dict[str, Any]]:
        """One row per object: its label and detector score, each model's score and area, and how far SAM's and
        HQ-SAM's (HQ token) masks agree (mask IoU and boundary IoU between the two; 1.0 = identical)."""
        from ..metrics.masks import boundary_iou, mask_iou

        sam, hq = self.prediction.sam, self.prediction.hq
        if sam is None or hq is None:
            raise ValueError("the table compares SAM and HQ-SAM: segment without only=...")
        det = self.detections
        return [{"object": i + 1, "label": det.labels[i], "detector score": float(det.scores[i]),
                 "SAM score": float(sam.scores[i]), "HQ-SAM score": float(hq.scores[i]),
                 "SAM px": int(sam.masks[i].sum()), "HQ-SAM px": int(hq.masks[i].sum()),
                 "IoU(SAM, HQ)": mask_iou(sam.masks[i], hq.masks[i]),
                 "boundary IoU(SAM, HQ)": boundary_iou(sam.masks[i], hq.masks[i])}
                for i in range(len(self))]

    def markdown(self) -> str:
        """:meth:`table` as a Markdown table (HQ-SAM = the HQ token's mask, ``hq``), for a notebook cell."""
        rows = self.table()
        if not rows:
            return f"No object found for {self.detections.caption!r}."
        return markdown_table(list(rows[0]), [list(row.values()) for row in rows], digits=3)


def weights_note(detector: Any = None, pair: ProvenanceLike = None) -> str:
    """A short line saying which weights are not the real ones (``""`` when all are official)."""
    notes = []
    if detector is not None and getattr(detector, "random_weights", False):
        notes.append("RANDOM detector weights: boxes are noise")
    info = provenance_of(pair)
    if info is not None and info.kind == "random":
        notes.append("RANDOM SAM/HQ-SAM weights: masks are noise")
    elif info is not None and info.kind == "fine-tuned":
        notes.append("SAM/HQ-SAM weights are fine-tuned, not the official release")
    elif info is not None and info.kind == "unknown":
        notes.append("SAM/HQ-SAM weights are not the official release")
    return "; ".join(notes)


def _empty_prediction(image_size: tuple[int, int], *, multimask: bool, only: str | None) -> PairBatchPrediction:
    """The result ``predict_batch`` gives for zero objects, made without running any model."""
    h, w = image_size

    def batch(*lead: int) -> MaskBatch:
        return MaskBatch(np.zeros((0, *lead, h, w), bool), np.zeros((0, *lead), np.float32),
                         np.zeros((0, *lead, 256, 256), np.float32))

    return PairBatchPrediction(sam=None if only == "hq" else batch(), hq=None if only == "sam" else batch(),
                               fused=None if only == "sam" else batch(),
                               sam_candidates=batch(3) if multimask and only != "hq" else None,
                               prompts=PromptBatch(boxes=np.zeros((0, 4))), decode_ms=0.0)


def segment_text(pair: PairPredictor, detector: Any, image: ImageLike, text: str | Sequence[str], *,
                 box_threshold: float = 0.35, text_threshold: float = 0.25, max_objects: int | None = None,
                 multimask: bool = False, only: str | None = None,
                 batch_size: int | None = None) -> TextSegmentation:
    """Find the objects a caption names and segment each with SAM and HQ-SAM.

    Args:
        pair: a :class:`~hqsam_nb.PairPredictor` (:func:`~hqsam_nb.load_pair`).
        detector: a detector from :func:`~hqsam_nb.text.load_detector` (or anything with the same ``.detect``).
        image: any image :func:`~hqsam_nb.io.images.as_rgb_uint8` accepts.
        text: a caption (``"a cat. a remote control."``) or a list of phrases.
        box_threshold, text_threshold: passed to ``detector.detect`` (both in ``[0, 1]``).
        max_objects: keep only the best-scoring ones (None: all).
        multimask, only, batch_size: passed to ``pair.predict_batch``.

    Returns:
        :class:`TextSegmentation`. With no box above the threshold: empty detections and an empty prediction
        (masks ``(0, H, W)``), made without running the image encoder or a decoder; the detector logs why.

    Raises:
        ValueError / TypeError: bad text, thresholds, image, ``max_objects`` (before any model runs).
    """
    if not isinstance(pair, PairPredictor):
        raise TypeError(f"pair must be a PairPredictor (hqsam_nb.load_pair), got {type(pair).__name__}")
    if not callable(getattr(detector, "detect", None)):
        raise TypeError(f"detector must have a .detect(image, text) method (hqsam_nb.text.load_detector), "
                        f"got {type(detector).__name__}")
    if max_objects is not None and (isinstance(max_objects, bool) or not isinstance(max_objects, int)
                                    or max_objects < 0):
        raise ValueError(f"max_objects must be None or a non-negative int, got {max_objects!r}")
    rgb = as_rgb_uint8(image)
    found = detector.detect(rgb, text, box_threshold=box_threshold, text_threshold=text_threshold)
    if max_objects is not None:
        found = found.top(max_objects)
    note = weights_note(detector, pair)
    if not len(found):
        return TextSegmentation(rgb, found, _empty_prediction(rgb.shape[:2], multimask=multimask, only=only), note)
    pair.set_image(rgb)
    prediction = pair.predict_batch(boxes=found.boxes, multimask=multimask, only=only, batch_size=batch_size)
    logger.info("%d object(s) for %r segmented in %.0f ms", len(found), found.caption, prediction.decode_ms)
    return TextSegmentation(rgb, found, prediction, note)
