"""What the pair predictor returns: one object (:class:`PairPrediction`) or K objects (:class:`PairBatchPrediction`).

Masks are ``bool`` in original-image pixels (logits > 0 after upsampling); logits are the decoder's
``float32`` 256 x 256 low-resolution output (the padded 1024 x 1024 model input at 1/4 scale); scores are the
model's predicted IoU (a logit-free regression, it can be negative or above 1 with random weights). The HQ token has
no IoU head of its own: as in the official predictor, ``hq`` and ``fused`` carry the score of the SAM token they
were decoded with. Branch keys and labels: :mod:`hqsam_nb.pair.branches`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..io.exports import MaskRecord
from ..models.provenance import ProvenanceLike, provenance_of
from .branches import BRANCH_KEYS, BRANCHES, branch, check_branches
from .prompts import Prompt, PromptBatch

__all__ = ["LowResBatch", "MaskBatch", "MaskResult", "PairBatchPrediction", "PairPrediction", "records_from_prediction"]


@dataclass(frozen=True)
class MaskResult:
    """One mask.

    Attributes:
        mask: ``bool`` array ``H x W`` in original-image pixels (logits > 0 after upsampling).
        score: the model's predicted IoU (see the module docstring).
        logits: ``float32`` array ``256 x 256``, the decoder's low-resolution logits.
    """

    mask: np.ndarray
    score: float
    logits: np.ndarray


@dataclass(frozen=True)
class PairPrediction:
    """SAM's, HQ-SAM's (HQ token) and the fused mask for one prompt.

    Attributes:
        sam: the original SAM decoder's mask (with ``multimask=True``, its highest-scoring candidate); None when
            ``predict(..., only="hq")`` skipped the SAM decoder.
        hq: the HQ output token's mask (``hq_token_only=True``); None with ``only="sam"``.
        fused: SAM token + HQ token (``hq_token_only=False``, the official default); None with ``only="sam"``.
        sam_candidates: with ``multimask=True`` SAM's three candidates in decoder order, else ``(sam,)``;
            ``()`` with ``only="hq"``.
        prompt: the validated prompt that produced these masks.
        decode_ms: wall time of the ``predict`` call in milliseconds (for a row of a batch: its share).
    """

    sam: MaskResult | None
    hq: MaskResult | None
    fused: MaskResult | None
    sam_candidates: tuple[MaskResult, ...]
    prompt: Prompt
    decode_ms: float

    def branch(self, key: str) -> MaskResult | None:
        """The result of branch ``key`` (``"sam"``, ``"hq"`` or ``"fused"``)."""
        return getattr(self, branch(key).key)

    def merge(self, other: PairPrediction) -> PairPrediction:
        """This prediction with the branches it lacks taken from ``other`` (the same prompt, decoded with the
        other ``only=``): e.g. an ``only="hq"`` result completed by an ``only="sam"`` one."""
        if other.prompt != self.prompt:
            raise ValueError("cannot merge predictions of different prompts")
        return PairPrediction(
            sam=self.sam if self.sam is not None else other.sam,
            hq=self.hq if self.hq is not None else other.hq,
            fused=self.fused if self.fused is not None else other.fused,
            sam_candidates=self.sam_candidates or other.sam_candidates,
            prompt=self.prompt,
            decode_ms=self.decode_ms + other.decode_ms,
        )


@dataclass(frozen=True)
class MaskBatch:
    """K objects' masks of one branch.

    Attributes:
        masks: ``bool`` ``(K, H, W)`` (SAM's candidates: ``(K, 3, H, W)``), original-image pixels.
        scores: ``float32`` ``(K,)`` (candidates: ``(K, 3)``), predicted IoU.
        logits: ``float32`` ``(K, 256, 256)`` (candidates: ``(K, 3, 256, 256)``), low-resolution logits.
    """

    masks: np.ndarray
    scores: np.ndarray
    logits: np.ndarray

    def __len__(self) -> int:
        return len(self.masks)

    def __getitem__(self, i: int) -> MaskResult:
        if self.masks.ndim != 3:
            raise TypeError("this batch holds candidates per object: use .candidates(i)")
        return MaskResult(self.masks[i], float(self.scores[i]), self.logits[i])

    def candidates(self, i: int) -> tuple[MaskResult, ...]:
        """Object i's candidates (a ``(K, C, H, W)`` batch) as :class:`MaskResult` s in decoder order."""
        return tuple(MaskResult(m, float(s), lg) for m, s, lg in
                     zip(self.masks[i], self.scores[i], self.logits[i], strict=True))


@dataclass(frozen=True)
class LowResBatch:
    """K objects' low-resolution logits and scores of one branch, without full-resolution masks
    (:meth:`~hqsam_nb.pair.PairPredictor.decode_low_res`).

    Attributes:
        scores: ``float32`` ``(K,)`` (SAM's candidates: ``(K, 3)``), predicted IoU.
        logits: ``float32`` ``(K, 256, 256)`` (candidates: ``(K, 3, 256, 256)``).
    """

    scores: np.ndarray
    logits: np.ndarray


@dataclass(frozen=True)
class PairBatchPrediction:
    """SAM's, HQ-SAM's (HQ token) and the fused masks for K objects of one image.

    Attributes:
        sam, hq, fused: a :class:`MaskBatch` each (None for a branch that ``only=`` skipped); with
            ``multimask=True`` ``sam`` holds each object's highest-scoring candidate and ``fused`` fuses the HQ
            token with the HQ decoder's best candidate, as the official ``multimask_output=True`` does.
        sam_candidates: with ``multimask=True`` (and SAM decoded) SAM's three candidates per object,
            ``masks (K, 3, H, W)``; else None.
        prompts: the validated :class:`~hqsam_nb.pair.prompts.PromptBatch`.
        decode_ms: wall time of the whole ``predict_batch`` call in milliseconds.

    ``len(result)`` is K; ``result[i]`` is object i as a :class:`PairPrediction`.
    """

    sam: MaskBatch | None
    hq: MaskBatch | None
    fused: MaskBatch | None
    sam_candidates: MaskBatch | None
    prompts: PromptBatch
    decode_ms: float

    def __len__(self) -> int:
        return len(self.prompts)

    def branch(self, key: str) -> MaskBatch | None:
        """The :class:`MaskBatch` of branch ``key`` (``"sam"``, ``"hq"`` or ``"fused"``)."""
        return getattr(self, branch(key).key)

    def __getitem__(self, i: int) -> PairPrediction:
        k = len(self)
        if not -k <= i < k:
            raise IndexError(f"object {i} of a batch of {k}")
        rows = {key: (None if self.branch(key) is None else self.branch(key)[i]) for key in BRANCH_KEYS}
        if self.sam_candidates is not None:
            candidates = self.sam_candidates.candidates(i)
        else:
            candidates = () if rows["sam"] is None else (rows["sam"],)
        return PairPrediction(sam=rows["sam"], hq=rows["hq"], fused=rows["fused"], sam_candidates=candidates,
                              prompt=self.prompts[i], decode_ms=self.decode_ms / max(k, 1))


def records_from_prediction(prediction: Any, name: str = "", which: Sequence[str] | None = None, *,
                            weights: ProvenanceLike = None, **extra: Any) -> list[MaskRecord]:
    """One :class:`MaskRecord` per mask of a :class:`~hqsam_nb.PairPrediction`.

    Each record's ``model`` is the branch key and ``extra["branch"]`` its label (:mod:`hqsam_nb.pair.branches`).

    Args:
        which: the branches to keep, of ``"sam"``, ``"hq"``, ``"fused"``; None (default) keeps every branch
            the prediction holds (a prediction made with ``only=`` lacks the others).
        weights: the pair (or its ``WeightsProvenance``): masks made with random or unofficial weights carry
            ``extra["weights_warning"]`` (e.g. ``"RANDOM WEIGHTS - ..."``), and every record
            ``extra["weights"]`` (the weights' one-line description), into every file they are saved to.

    Raises:
        ValueError: ``which`` names an unknown branch, or one that the prediction skipped (``only=``).
    """
    info = provenance_of(weights)
    stamp = {}
    if info is not None:
        stamp["weights"] = info.describe()
        warning = info.warning()
        if warning is not None:
            stamp["weights_warning"] = warning
    out = []
    keys = BRANCH_KEYS if which is None else tuple(which)
    check_branches(keys, what="which")  # in the order asked for
    for key in keys:
        res = getattr(prediction, key)
        if res is None:
            if which is None:
                continue
            raise ValueError(f"the prediction has no {key!r} mask (it was made with only=...); ask for the "
                             "branches it has, or which=None for all of them")
        out.append(MaskRecord(res.mask, prediction.prompt, name=name, model=key, score=float(res.score),
                              extra={"branch": BRANCHES[key].label, **stamp, **extra}))
    return out
