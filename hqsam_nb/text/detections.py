"""What a text-prompted detector returns, and the checks on what it is asked: one small type, validated once.

Coordinates are ``(x, y)`` pixels of the original image, boxes ``(x0, y0, x1, y1)`` (XYXY), as everywhere in
this package; a box is a valid SAM box prompt as it stands (inside the image, positive width and height).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["Detections", "check_threshold", "normalize_caption"]


def normalize_caption(text: str | Sequence[str]) -> str:
    """The caption a GroundingDINO-style detector reads: phrases lower-cased, each ended by a dot.

    GroundingDINO was trained on captions such as ``"a cat. a remote control."``: lower case, phrases separated
    and ended by ``"."`` (its model card: "text queries need to be lowercased + end with a dot").

    Args:
        text: a caption (``"a cat. a dog"``) or a list of phrases (``["a cat", "a dog"]``).

    Returns:
        e.g. ``"a cat. a dog."``.

    Raises:
        TypeError: neither a string nor a list of strings.
        ValueError: the text is empty or holds no phrase (only dots and spaces).

    Example:
        >>> normalize_caption(["A cat", "dog"])
        'a cat. dog.'
    """
    if isinstance(text, str):
        phrases = text.split(".")
    elif isinstance(text, Sequence) and all(isinstance(t, str) for t in text):
        phrases = [p for t in text for p in t.split(".")]
    else:
        raise TypeError(f"text must be a string ('a cat. a dog.') or a list of phrases (['a cat', 'a dog']), "
                        f"got {type(text).__name__}")
    phrases = [" ".join(p.split()).lower() for p in phrases]
    phrases = [p for p in phrases if p]
    if not phrases:
        raise ValueError(f"text {text!r} names nothing to find; give a caption such as 'a cat. a dog.' "
                         "or a list of phrases such as ['a cat', 'a dog']")
    return ". ".join(phrases) + "."


def check_threshold(value: Any, name: str) -> float:
    """Return ``value`` as a float if it lies in ``[0, 1]``; else a ``ValueError`` saying what was given."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a number in [0, 1], got {type(value).__name__}: {value!r:.40}")
    v = float(value)
    if not 0.0 <= v <= 1.0:  # NaN fails too
        raise ValueError(f"{name}={value!r} is outside [0, 1]; it is a score threshold (a probability): "
                         "lower keeps more boxes, higher fewer")
    return v


@dataclass(frozen=True)
class Detections:
    """Boxes found for a caption on one image, best first.

    Attributes:
        boxes: ``(K, 4)`` float32 ``(x0, y0, x1, y1)`` pixels of the original image, clipped to it, each with
            positive width and height (a valid box prompt).
        scores: ``(K,)`` float32 in ``[0, 1]``: the detector's confidence, sorted in decreasing order.
        labels: ``K`` strings: the phrase of the caption each box was matched to (GroundingDINO: the words of
            the box's best phrase scoring above ``text_threshold``, as the caption spells them; ``""`` when none
            does; never a special token such as ``[SEP]``, never words of two phrases).
        caption: the text the detector read (after :func:`normalize_caption`).
        image_size: ``(H, W)`` of the image.
        box_threshold, text_threshold: the thresholds used.
        detector: the detector's name (model id or folder).
        random_weights: True when the detector's weights are random (:func:`~hqsam_nb.text.tiny_random_detector`).
    """

    boxes: np.ndarray
    scores: np.ndarray
    labels: tuple[str, ...]
    caption: str
    image_size: tuple[int, int]
    box_threshold: float
    text_threshold: float
    detector: str = ""
    random_weights: bool = False
    dropped: int = field(default=0, compare=False)
    """Boxes dropped because they had no area left inside the image after clipping."""

    def __len__(self) -> int:
        return len(self.scores)

    @classmethod
    def from_raw(cls, boxes: Any, scores: Any, labels: Sequence[str], **meta: Any) -> Detections:
        """Clip raw detector boxes to the image, drop those left without area, sort by score (best first).

        DETR-style detectors predict centre and size, so a box can extend past the image border; SAM's box
        prompt must lie inside it.

        Args:
            boxes: ``(K, 4)`` XYXY pixels, may extend past the image. scores: ``(K,)``. labels: ``K`` strings.
            meta: the remaining fields (``caption``, ``image_size``, thresholds, ``detector``).
        """
        h, w = meta["image_size"]
        b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4).copy()
        s = np.asarray(scores, dtype=np.float32).reshape(-1)
        if len(b) != len(s) or len(labels) != len(s):
            raise ValueError(f"got {len(b)} boxes, {len(s)} scores and {len(labels)} labels; they must match")
        b[:, 0::2] = b[:, 0::2].clip(0, w)
        b[:, 1::2] = b[:, 1::2].clip(0, h)
        keep = (b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1])
        order = [i for i in np.argsort(-s, kind="stable") if keep[i]]
        return cls(boxes=b[order].reshape(-1, 4), scores=s[order], labels=tuple(labels[i] for i in order),
                   dropped=int((~keep).sum()), **meta)

    def select(self, index: Any) -> Detections:
        """A subset: ``index`` an int, a slice, a boolean mask or integer indices (order kept as given)."""
        idx = np.arange(len(self))[index]
        idx = np.atleast_1d(idx)
        return Detections(boxes=self.boxes[idx].reshape(-1, 4), scores=self.scores[idx],
                          labels=tuple(self.labels[i] for i in idx), caption=self.caption,
                          image_size=self.image_size, box_threshold=self.box_threshold,
                          text_threshold=self.text_threshold, detector=self.detector,
                          random_weights=self.random_weights)

    def above(self, box_threshold: float) -> Detections:
        """The detections scoring above ``box_threshold``: what ``detect(..., box_threshold=t)`` returns.

        A detector keeps a box when its score exceeds the threshold, and the score does not depend on it: one
        ``detect`` at ``box_threshold=0`` then ``above(t)`` for several ``t`` equals one ``detect`` per ``t``.
        """
        t = check_threshold(box_threshold, "box_threshold")
        if t < self.box_threshold:
            raise ValueError(f"these detections were made with box_threshold={self.box_threshold:.2f}: boxes "
                             f"between {t:.2f} and that are not here; detect again with box_threshold={t:.2f}")
        kept = self.select(self.scores > t)
        return Detections(boxes=kept.boxes, scores=kept.scores, labels=kept.labels, caption=self.caption,
                          image_size=self.image_size, box_threshold=t, text_threshold=self.text_threshold,
                          detector=self.detector, random_weights=self.random_weights)

    def top(self, n: int) -> Detections:
        """The ``n`` best-scoring detections (all of them when there are fewer)."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n must be a non-negative int, got {n!r}")
        return self.select(slice(0, int(n)))

    def summary(self) -> list[str]:
        """One line per box: ``"1. a cat  0.87  (x0, y0, x1, y1) = (12, 30, 140, 200)"``."""
        return [f"{i + 1}. {label or '(no phrase)'}  {score:.2f}  (x0, y0, x1, y1) = "
                f"({', '.join(f'{v:.0f}' for v in box)})"
                for i, (label, score, box) in enumerate(zip(self.labels, self.scores, self.boxes, strict=True))]
