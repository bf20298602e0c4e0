"""Prompts checked once, where they enter the library, and held in small, serialisable types.

* :class:`Prompt` - one object: points ``(N, 2)`` with labels ``(N,)`` and/or a box ``(4,)``;
* :class:`PromptBatch` - K objects of one image: boxes ``(K, 4)`` and/or points ``(K, N, 2)`` with labels ``(K, N)``;
  ragged point sets are padded the way the official prompt encoder accepts (label ``-1``, coordinates 0).

Both validate their structure when they are built (shapes, dtypes, finite values, labels, box corners in order,
at most :data:`MAX_POINTS` points per object), so a prompt is valid wherever it travels; :func:`make_prompt` and
:func:`make_prompt_batch` build them from loose input (lists, tuples, arrays) and also check that they lie inside
an image of a given size. The predictor only checks that a prompt it is handed fits the image it holds.

Coordinate convention everywhere in this package: pixels of the *original* image, ``x`` to the right,
``y`` down, origin at the top-left corner of the top-left pixel; valid values are ``0 <= x <= W`` and
``0 <= y <= H``. Boxes are ``(x0, y0, x1, y1)`` (XYXY).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..validation import ordered_boxes

__all__ = ["MAX_POINTS", "Prompt", "PromptBatch", "check_flag", "check_inside", "make_prompt", "make_prompt_batch"]

#: Most points one prompt (one object) may have. The decoder's token self-attention grows with the square of
#: the number of points: 20 000 points asked for ~21 GB and met the OOM killer. SAM's interactive use and the
#: paper's protocols need at most 15 (10 positive + 5 negative); 256 leaves room and costs ~2 MB.
MAX_POINTS = 256


def _as_float_array(value: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric, got {type(value).__name__}: {value!r:.80}") from None
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or inf: {arr.tolist()!r:.120}")
    return arr


def _check_labels(lab: np.ndarray, name: str, allowed: tuple[int, ...]) -> np.ndarray:
    if not np.isin(lab, allowed).all():
        bad = sorted({float(v) for v in np.unique(lab) if v not in allowed})[:5]
        meaning = "1 (positive) or 0 (negative)" + (", -1 (padding)" if -1 in allowed else "")
        raise ValueError(f"{name} must be {meaning}, got {bad}")
    return lab.astype(np.int32)


def _check_count(n: int, what: str) -> None:
    if n > MAX_POINTS:
        raise ValueError(f"{what} has {n} points; at most MAX_POINTS = {MAX_POINTS} points per prompt are accepted "
                         "(the decoder's memory grows with the square of the number of points)")


def check_flag(value: Any, name: str) -> bool:
    """``value`` as a bool, refusing anything that is not one (``multimask="no"`` must not mean True)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {type(value).__name__}: {value!r:.40}")


def check_inside(xy: np.ndarray, name: str, image_size: tuple[int, int]) -> None:
    """Raise a ``ValueError`` if any ``(x, y)`` of ``xy`` (``(..., 2)``) lies outside an ``(H, W)`` image."""
    h, w = image_size
    xy = xy.reshape(-1, 2)
    outside = (xy[:, 0] < 0) | (xy[:, 0] > w) | (xy[:, 1] < 0) | (xy[:, 1] > h)
    if outside.any():
        bad = xy[outside][:3].tolist()
        raise ValueError(
            f"{name} outside the image: {bad} (x must be in [0, {w}], y in [0, {h}] for an image of "
            f"{w} x {h} pixels, coordinates are (x, y) pixels of the original image)"
        )


@dataclass(frozen=True, eq=False)
class Prompt:
    """One object's prompt, validated when built.

    Attributes:
        points: ``(N, 2)`` float64 array of ``(x, y)`` pixels (``1 <= N <=`` :data:`MAX_POINTS`), or None.
        labels: ``(N,)`` int32 array, 1 = foreground (positive), 0 = background (negative), or None. None
            with points means all positive.
        box: ``(4,)`` float64 array ``(x0, y0, x1, y1)`` with ``x0 < x1`` and ``y0 < y1`` (swapped corners are
            put in order), or None.

    Raises:
        ValueError: no prompt at all, wrong shapes, mismatched lengths, labels not in {0, 1}, NaN/inf, more than
            :data:`MAX_POINTS` points, a box of zero width or height.
    """

    points: np.ndarray | None = None
    labels: np.ndarray | None = None
    box: np.ndarray | None = None

    def __post_init__(self) -> None:
        pts = lab = bx = None
        if self.points is not None:
            pts = _as_float_array(self.points, "points")
            if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] == 0:
                raise ValueError(f"points must have shape (N, 2) with N >= 1 as [[x, y], ...], got shape {pts.shape}")
            _check_count(len(pts), "the prompt")
            if self.labels is None:
                lab = np.ones(len(pts), dtype=np.int32)
            else:
                lab_f = _as_float_array(self.labels, "labels")
                if lab_f.ndim != 1 or len(lab_f) != len(pts):
                    raise ValueError(f"labels must have shape ({len(pts)},) to match {len(pts)} points, "
                                     f"got {lab_f.shape}")
                lab = _check_labels(lab_f, "labels", (0, 1))
        elif self.labels is not None:
            raise ValueError("labels were given without points")
        if self.box is not None:
            b = _as_float_array(self.box, "box")
            if b.shape != (4,):
                raise ValueError(f"box must have shape (4,) as (x0, y0, x1, y1), got shape {b.shape}")
            bx = ordered_boxes(b, "box")
        if pts is None and bx is None:
            raise ValueError("no prompt given: pass points=[[x, y], ...] (with labels) and/or box=[x0, y0, x1, y1]")
        object.__setattr__(self, "points", pts)
        object.__setattr__(self, "labels", lab)
        object.__setattr__(self, "box", bx)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Prompt):
            return NotImplemented
        return all(_same(a, b) for a, b in ((self.points, other.points), (self.labels, other.labels),
                                              (self.box, other.box)))

    __hash__ = None  # type: ignore[assignment]  # mutable arrays inside

    @property
    def n_points(self) -> int:
        return 0 if self.points is None else len(self.points)

    def check_inside(self, image_size: tuple[int, int]) -> Prompt:
        """This prompt, after checking that it lies inside an image of ``image_size = (H, W)``."""
        if self.points is not None:
            check_inside(self.points, "points", image_size)
        if self.box is not None:
            check_inside(self.box.reshape(2, 2), "box", image_size)
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (lists of floats/ints), the inverse of :meth:`from_dict`."""
        return {
            "points": None if self.points is None else self.points.tolist(),
            "labels": None if self.labels is None else self.labels.tolist(),
            "box": None if self.box is None else self.box.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], image_size: tuple[int, int]) -> Prompt:
        """Rebuild (and re-validate) a prompt saved with :meth:`to_dict`."""
        return make_prompt(data.get("points"), data.get("labels"), data.get("box"), image_size=image_size)


def _same(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and np.array_equal(a, b))


def make_prompt(points: Any = None, labels: Any = None, box: Any = None, *,
                image_size: tuple[int, int]) -> Prompt:
    """Validate a prompt against an image of ``image_size = (H, W)``.

    Args:
        points: ``(N, 2)`` array-like of ``(x, y)`` pixel coordinates, or None.
        labels: ``(N,)`` array-like of 1 (positive) / 0 (negative); None with points means all positive.
        box: ``(4,)`` array-like ``(x0, y0, x1, y1)`` in pixels; swapped corners are put in order.

    Raises:
        ValueError: what :class:`Prompt` refuses, and coordinates outside the image.

    Example:
        >>> make_prompt([[10, 20]], [1], image_size=(100, 200)).points.tolist()
        [[10.0, 20.0]]
    """
    return Prompt(points, labels, box).check_inside(image_size)


@dataclass(frozen=True, eq=False)
class PromptBatch:
    """K objects' prompts on one image, validated when built (see :func:`make_prompt_batch`).

    Attributes:
        boxes: ``(K, 4)`` float64 ``(x0, y0, x1, y1)`` pixels, or None (then every object has points).
        points: ``(K, N, 2)`` float64 ``(x, y)`` pixels, or None. Objects with fewer than N points are padded
            with label -1 (coordinates 0), the padding the official prompt encoder accepts.
        labels: ``(K, N)`` int32: 1 positive, 0 negative, -1 padding; None exactly when points is None.

    ``len(batch)`` is K; ``batch[i]`` is object i as a :class:`Prompt` (padding removed).
    """

    boxes: np.ndarray | None = None
    points: np.ndarray | None = None
    labels: np.ndarray | None = None

    def __post_init__(self) -> None:
        bx = pts = lab = None
        k = None
        if self.boxes is not None:
            bx = _as_float_array(self.boxes, "boxes")
            if bx.ndim == 1 and bx.shape == (4,):
                bx = bx[None]
            if bx.ndim != 2 or bx.shape[1] != 4:
                raise ValueError(f"boxes must have shape (K, 4) as [[x0, y0, x1, y1], ...], got shape {bx.shape}")
            bx = ordered_boxes(bx, "box") if len(bx) else bx
            k = len(bx)
        if self.points is not None:
            pts = _as_float_array(self.points, "points")
            if pts.ndim != 3 or pts.shape[2] != 2 or pts.shape[1] == 0:
                raise ValueError(f"points must have shape (K, N, 2) with N >= 1 (ragged point sets: a list of "
                                 f"(N_k, 2) arrays), got shape {pts.shape}")
            if k is not None and len(pts) != k:
                raise ValueError(f"points are given for {len(pts)} objects but boxes for {k}")
            k = len(pts)
            if self.labels is None:
                lab = np.ones(pts.shape[:2], dtype=np.int32)
            else:
                lab_f = _as_float_array(self.labels, "labels")
                if lab_f.shape != pts.shape[:2]:
                    raise ValueError(f"labels must have shape {pts.shape[:2]} to match points {pts.shape}, "
                                     f"got {lab_f.shape}")
                lab = _check_labels(lab_f, "labels", (-1, 0, 1))
            counts = (lab != -1).sum(axis=1)
            if len(counts) and counts.max() > MAX_POINTS:
                _check_count(int(counts.max()), f"object {int(np.argmax(counts))}")
            if bx is None and len(counts) and (counts == 0).any():
                raise ValueError(f"object {int(np.argmin(counts))} has only padding points (label -1) and no box")
            pts = np.where(lab[..., None] == -1, 0.0, pts)  # padding coordinates carry no meaning
        elif self.labels is not None:
            raise ValueError("labels were given without points")
        if bx is None and pts is None:
            raise ValueError("no prompts given: pass boxes=(K, 4) and/or points=(K, N, 2) with labels=(K, N)")
        object.__setattr__(self, "boxes", bx)
        object.__setattr__(self, "points", pts)
        object.__setattr__(self, "labels", lab)

    def __len__(self) -> int:
        return len(self.boxes) if self.boxes is not None else len(self.points)  # type: ignore[arg-type]

    def __getitem__(self, i: int) -> Prompt:
        if not -len(self) <= i < len(self):
            raise IndexError(f"object {i} of a batch of {len(self)}")
        pts = lab = None
        if self.points is not None:
            keep = self.labels[i] != -1  # type: ignore[index]
            if keep.any():
                pts, lab = self.points[i][keep], self.labels[i][keep]  # type: ignore[index]
        return Prompt(pts, lab, None if self.boxes is None else self.boxes[i])

    @property
    def n_points(self) -> np.ndarray:
        """``(K,)`` int: each object's number of real (not padding) points."""
        if self.labels is None:
            return np.zeros(len(self), dtype=np.int64)
        return (self.labels != -1).sum(axis=1)

    def check_inside(self, image_size: tuple[int, int]) -> PromptBatch:
        """This batch, after checking that every box and real point lies inside an ``(H, W)`` image."""
        if self.boxes is not None:
            check_inside(self.boxes[:, :4].reshape(-1, 2), "boxes", image_size)
        if self.points is not None:
            check_inside(self.points[self.labels != -1], "points", image_size)
        return self

    def select(self, rows: np.ndarray | slice) -> PromptBatch:
        """The objects ``rows`` (an index array or slice) as a batch, trimmed to their longest point set."""
        pts = lab = None
        if self.points is not None:
            lab = self.labels[rows]  # type: ignore[index]
            n = max(int((lab != -1).sum(axis=1).max(initial=0)), 1)
            order = np.argsort(lab == -1, axis=1, kind="stable")[:, :n]  # real points first, in their order
            pts = np.take_along_axis(self.points[rows], order[..., None], axis=1)
            lab = np.take_along_axis(lab, order, axis=1)
        return PromptBatch(None if self.boxes is None else self.boxes[rows], pts, lab)

    @classmethod
    def of_prompt(cls, prompt: Prompt) -> PromptBatch:
        """A batch of one (validated) prompt, without validating it again."""
        batch = object.__new__(cls)
        object.__setattr__(batch, "boxes", None if prompt.box is None else prompt.box[None])
        object.__setattr__(batch, "points", None if prompt.points is None else prompt.points[None])
        object.__setattr__(batch, "labels", None if prompt.labels is None else prompt.labels[None])
        return batch

    @classmethod
    def from_prompts(cls, prompts: Sequence[Prompt]) -> PromptBatch:
        """A batch of single-object prompts (all with a box, or none with a box), points padded with -1."""
        prompts = list(prompts)
        if not prompts or not all(isinstance(p, Prompt) for p in prompts):
            raise ValueError("from_prompts needs a non-empty sequence of Prompt objects")
        with_box = {p.box is not None for p in prompts}
        if len(with_box) > 1:
            raise ValueError("either every prompt of a batch has a box or none has (the official prompt encoder "
                             "embeds a batch with one layout); decode the two groups in two batches")
        boxes = np.stack([p.box for p in prompts]) if with_box == {True} else None
        return cls(boxes, *_pad([p.points for p in prompts], [p.labels for p in prompts]))

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form: a list of :meth:`Prompt.to_dict` per object."""
        return {"prompts": [self[i].to_dict() for i in range(len(self))]}


def _pad(points: Sequence[np.ndarray | None],
         labels: Sequence[np.ndarray | None]) -> tuple[np.ndarray | None, np.ndarray | None]:
    n = max((0 if p is None else len(p)) for p in points)
    if n == 0:
        return None, None
    pts = np.zeros((len(points), n, 2))
    lab = np.full((len(points), n), -1, dtype=np.int32)
    for i, (p, lb) in enumerate(zip(points, labels, strict=True)):
        if p is not None:
            pts[i, :len(p)] = p
            lab[i, :len(p)] = 1 if lb is None else lb
    return pts, lab


def _ragged(points: Any, labels: Any) -> tuple[Any, Any]:
    """A list of ``(N_k, 2)`` point sets (and ``(N_k,)`` labels) padded to ``(K, N, 2)`` / ``(K, N)``."""
    if isinstance(points, np.ndarray) or points is None:
        return points, labels
    try:
        sets = [np.asarray(p, dtype=np.float64) for p in points]
    except (TypeError, ValueError):
        return points, labels  # PromptBatch explains
    if all(s.shape == sets[0].shape for s in sets):
        return points, labels
    for i, s in enumerate(sets):
        if s.ndim != 2 or s.shape[-1] != 2 or len(s) == 0:
            raise ValueError(f"points[{i}] must have shape (N, 2) with N >= 1, got shape {s.shape}")
    if labels is None:
        lab_sets = [None] * len(sets)
    else:
        lab_sets = [np.asarray(lb, dtype=np.float64) for lb in labels]
        if len(lab_sets) != len(sets) or any(lb.shape != (len(s),) for lb, s in zip(lab_sets, sets, strict=False)):
            raise ValueError("ragged labels must be a list of (N_k,) arrays matching the (N_k, 2) point sets")
        lab_sets = [_check_labels(lb, f"labels[{i}]", (0, 1)) for i, lb in enumerate(lab_sets)]
    return _pad(sets, lab_sets)


def make_prompt_batch(boxes: Any = None, points: Any = None, labels: Any = None, *,
                      image_size: tuple[int, int]) -> PromptBatch:
    """Validate K objects' prompts against an image of ``image_size = (H, W)``.

    Args:
        boxes: ``(K, 4)`` array-like of ``(x0, y0, x1, y1)`` pixels, or None.
        points: ``(K, N, 2)`` array-like of ``(x, y)`` pixels, or a list of K ``(N_k, 2)`` point sets of
            different lengths (padded here with label -1), or None.
        labels: ``(K, N)`` of 1 / 0 (and -1 for padding), or a list of K ``(N_k,)``; None means all positive.

    Raises:
        ValueError: what :class:`PromptBatch` refuses, and coordinates outside the image.

    Example:
        >>> b = make_prompt_batch(points=[[[10, 20]], [[30, 40], [50, 60]]], image_size=(100, 200))
        >>> b.labels.tolist(), len(b)
        ([[1, -1], [1, 1]], 2)
    """
    points, labels = _ragged(points, labels)
    return PromptBatch(boxes, points, labels).check_inside(image_size)
