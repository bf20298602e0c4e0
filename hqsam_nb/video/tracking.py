"""Following objects through a clip with SAM and HQ-SAM: one image-encoder pass per frame for everything.

Per frame, :func:`decode_frame` sets the frame once (``pair.set_image``: one encoder pass) and decodes every
object's prompt for every branch with :meth:`~hqsam_nb.pair.PairPredictor.predict_batch`:

* shared prompts (tracker or oracle boxes): **one** batched call, all objects, both decoders; ``.sam``,
  ``.hq`` and ``.fused`` all come from it;
* per-branch prompts (propagation: each model follows its own masks): one call with ``only="sam"`` for SAM's
  prompts and one with ``only="hq"`` holding the HQ-token and the fused branch's prompts together (one HQ-decoder
  pass gives both outputs; each row keeps the output of its own branch).

:func:`track_clip` runs that over a whole clip, lazily, and yields one :class:`TrackedFrame` per frame.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..pair.branches import BRANCH_KEYS, check_branches
from .davis import labels_to_masks, masks_to_labels
from .prompts import FramePrompts, ObjectPrompt, PromptSource

if TYPE_CHECKING:
    from ..pair.predictor import PairPredictor

__all__ = ["TrackedFrame", "decode_frame", "exclusive_masks", "track_clip"]


def exclusive_masks(masks: np.ndarray, object_ids: Sequence[int]) -> np.ndarray:
    """Per-object masks ``(K, H, W)`` as a DAVIS result PNG keeps them: each pixel to one object at most, the
    later object where masks overlap (:func:`~hqsam_nb.video.davis.masks_to_labels` and back)."""
    return labels_to_masks(masks_to_labels(masks, object_ids), object_ids)


def _signature(p: ObjectPrompt) -> tuple[bool, int]:
    return p.box is not None, 0 if p.points is None else len(p.points)


def _decode_rows(pair: PairPredictor, rows: list[ObjectPrompt], only: str | None) -> dict[str, list[np.ndarray]]:
    """Decode prompts on the current image, batched by prompt shape; masks per branch, in row order."""
    out: dict[str, list[np.ndarray | None]] = {k: [None] * len(rows) for k in BRANCH_KEYS}
    groups: dict[tuple[bool, int], list[int]] = {}
    for i, p in enumerate(rows):
        groups.setdefault(_signature(p), []).append(i)
    for (has_box, n_points), idx in groups.items():
        boxes = np.stack([rows[i].box for i in idx]) if has_box else None
        points = np.stack([rows[i].points for i in idx]) if n_points else None
        labels = np.stack([rows[i].labels for i in idx]) if n_points else None
        res = pair.predict_batch(boxes=boxes, points=points, labels=labels, only=only)
        for key in BRANCH_KEYS:
            batch = getattr(res, key)
            if batch is not None:
                for j, i in enumerate(idx):
                    out[key][i] = batch.masks[j]
    return out  # type: ignore[return-value]


def _inside(p: ObjectPrompt | None, h: int, w: int) -> ObjectPrompt | None:
    """A prompt with its box clipped to the frame (a tracker's box may overhang the border); None when the box
    lies wholly outside it."""
    if p is None or p.box is None:
        return p
    x0, y0, x1, y1 = p.box
    box = np.array([min(max(x0, 0), w), min(max(y0, 0), h), min(max(x1, 0), w), min(max(y1, 0), h)], np.float64)
    if box[2] <= box[0] or box[3] <= box[1]:
        return None if p.points is None else ObjectPrompt(points=p.points, labels=p.labels)
    return p if np.array_equal(box, p.box) else ObjectPrompt(box=box, points=p.points, labels=p.labels)


def decode_frame(pair: PairPredictor, image: np.ndarray, prompts: FramePrompts,
                 branches: Sequence[str]) -> dict[str, np.ndarray]:
    """Every branch's masks of every object on one frame, from one encoder pass.

    Args:
        pair: a :class:`~hqsam_nb.pair.PairPredictor`.
        image: the frame, RGB ``uint8`` ``H x W x 3``.
        prompts: per branch, per object, its prompt or None (that object's mask is then empty); branches given
            the *same* list object share one batched decode. Boxes overhanging the frame are clipped to it.
        branches: the branches wanted.

    Returns:
        Per branch, ``bool`` ``(K, H, W)``: object ``k``'s mask in row ``k`` (all False without a prompt).
    """
    branches = check_branches(branches)
    pair.set_image(image)
    h, w = image.shape[:2]
    n = len(prompts[branches[0]])
    out = {b: np.zeros((n, h, w), bool) for b in branches}
    shared = all(prompts[b] is prompts[branches[0]] for b in branches)
    clipped = {id(lst): [_inside(p, h, w) for p in lst] for lst in (prompts[b] for b in branches)}
    prompts = {b: clipped[id(prompts[b])] for b in branches}  # the same list object stays shared
    lists = [prompts[b] for b in branches]
    if shared:  # shared prompts: one call serves every branch
        idx = [i for i, p in enumerate(lists[0]) if p is not None]
        if idx:
            wants_sam, wants_hq = "sam" in branches, any(b != "sam" for b in branches)
            only = None if wants_sam and wants_hq else ("sam" if wants_sam else "hq")
            masks = _decode_rows(pair, [lists[0][i] for i in idx], only)
            for b in branches:
                for j, i in enumerate(idx):
                    out[b][i] = masks[b][j]
        return out
    # per-branch prompts: SAM's decoder once for SAM's rows, the HQ decoder once for the hq and fused rows
    for decoder_branches, only in ((("sam",), "sam"), (("hq", "fused"), "hq")):
        rows: list[tuple[str, int, ObjectPrompt]] = [(b, i, p) for b in decoder_branches if b in branches
                                                     for i, p in enumerate(prompts[b]) if p is not None]
        if not rows:
            continue
        masks = _decode_rows(pair, [p for _, _, p in rows], only)
        for j, (b, i, _) in enumerate(rows):
            out[b][i] = masks[b][j]
    return out


@dataclass(frozen=True)
class TrackedFrame:
    """One frame of a tracked clip: its ``index`` and ``name``, the ``image`` (``uint8 H x W x 3``), per branch the
    objects' ``masks`` (``bool (K, H, W)``) and the ``prompts`` that produced them."""

    index: int
    name: str
    image: np.ndarray
    masks: dict[str, np.ndarray]
    prompts: FramePrompts


def track_clip(pair: PairPredictor, frames: Iterable[tuple[str, np.ndarray]], source: PromptSource,
               object_ids: Sequence[int], *, branches: Sequence[str] = BRANCH_KEYS,
               ground_truth: Callable[[int], np.ndarray | None] | None = None,
               first_masks: np.ndarray | None = None) -> Iterator[TrackedFrame]:
    """Follow ``object_ids`` through a clip, frame by frame (lazily: one frame in memory at a time).

    Args:
        pair: a :class:`~hqsam_nb.pair.PairPredictor`.
        frames: ``(name, image)`` pairs in order, e.g. ``clip.named_frames()`` of
            :func:`~hqsam_nb.video.reading.open_video`.
        source: where the prompts come from (:mod:`hqsam_nb.video.prompts`).
        object_ids: the objects, e.g. ``(1, 2)``.
        branches: which of ``"sam"``, ``"hq"``, ``"fused"`` to compute.
        ground_truth: ``ground_truth(index) -> (K, H, W)`` masks or None; needed by :class:`OracleBoxes`.
        first_masks: the first frame's masks ``(K, H, W)`` for :class:`Propagation` from masks, boxes or clicks
            taken from them (default: ``ground_truth(0)``).

    Yields:
        :class:`TrackedFrame` per frame.
    """
    branches = check_branches(branches)
    if first_masks is None and ground_truth is not None:
        first_masks = ground_truth(0)
    source.start(object_ids, first_masks)
    previous: dict[str, np.ndarray] | None = None
    for index, (name, image) in enumerate(frames):
        gt = ground_truth(index) if (ground_truth is not None and source.needs_ground_truth) else None
        prompts = source.frame_prompts(index, name, branches, gt, previous)
        masks = decode_frame(pair, image, prompts, branches)
        # the next frame follows the masks as a DAVIS result stores them: one id per pixel, later objects on top
        previous = {b: exclusive_masks(m, object_ids) for b, m in masks.items()}
        yield TrackedFrame(index, name, image, masks, prompts)
