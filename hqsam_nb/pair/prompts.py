"""Prompts (points, labels, box) checked once at the boundary and held in one small, serialisable type.

Coordinate convention everywhere in this package: pixels of the *original* image, ``x`` to the right,
``y`` down, origin at the top-left corner of the top-left pixel; valid values are ``0 <= x <= W`` and
``0 <= y <= H``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Prompt", "make_prompt"]


@dataclass(frozen=True)
class Prompt:
    """A validated prompt.

    Attributes:
        points: ``(N, 2)`` float64 array of ``(x, y)`` pixels, or None.
        labels: ``(N,)`` int32 array, 1 = foreground (positive), 0 = background (negative), or None.
        box: ``(4,)`` float64 array ``(x0, y0, x1, y1)`` with ``x0 < x1`` and ``y0 < y1``, or None.
    """

    points: np.ndarray | None = None
    labels: np.ndarray | None = None
    box: np.ndarray | None = None

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


def _as_float_array(value: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric, got {type(value).__name__}: {value!r:.80}") from None
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or inf: {arr.tolist()!r:.120}")
    return arr


def _check_inside(xy: np.ndarray, name: str, image_size: tuple[int, int]) -> None:
    h, w = image_size
    outside = (xy[:, 0] < 0) | (xy[:, 0] > w) | (xy[:, 1] < 0) | (xy[:, 1] > h)
    if outside.any():
        bad = xy[outside][:3].tolist()
        raise ValueError(
            f"{name} outside the image: {bad} (x must be in [0, {w}], y in [0, {h}] for an image of "
            f"{w} x {h} pixels, coordinates are (x, y) pixels of the original image)"
        )


def make_prompt(points: Any = None, labels: Any = None, box: Any = None, *,
                image_size: tuple[int, int]) -> Prompt:
    """Validate a prompt against an image of ``image_size = (H, W)``.

    Args:
        points: ``(N, 2)`` array-like of ``(x, y)`` pixel coordinates, or None.
        labels: ``(N,)`` array-like of 1 (positive) / 0 (negative); None with points means all positive.
        box: ``(4,)`` array-like ``(x0, y0, x1, y1)`` in pixels; swapped corners are put in order.

    Raises:
        ValueError: no prompt at all, wrong shapes, mismatched lengths, labels not in {0, 1}, NaN/inf,
            coordinates outside the image, a box of zero width or height.

    Example:
        >>> make_prompt([[10, 20]], [1], image_size=(100, 200)).points.tolist()
        [[10.0, 20.0]]
    """
    pts = lab = bx = None
    if points is not None:
        pts = _as_float_array(points, "points")
        if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] == 0:
            raise ValueError(f"points must have shape (N, 2) with N >= 1 as [[x, y], ...], got shape {pts.shape}")
        _check_inside(pts, "points", image_size)
        if labels is None:
            lab = np.ones(len(pts), dtype=np.int32)
        else:
            lab_f = _as_float_array(labels, "labels")
            if lab_f.ndim != 1 or len(lab_f) != len(pts):
                raise ValueError(f"labels must have shape ({len(pts)},) to match {len(pts)} points, got {lab_f.shape}")
            if not np.isin(lab_f, (0, 1)).all():
                raise ValueError(f"labels must be 1 (positive) or 0 (negative), got {lab_f.tolist()}")
            lab = lab_f.astype(np.int32)
    elif labels is not None:
        raise ValueError("labels were given without points")
    if box is not None:
        b = _as_float_array(box, "box")
        if b.shape != (4,):
            raise ValueError(f"box must have shape (4,) as (x0, y0, x1, y1), got shape {b.shape}")
        x0, x1 = sorted((b[0], b[2]))
        y0, y1 = sorted((b[1], b[3]))
        b = np.array([x0, y0, x1, y1])
        _check_inside(b.reshape(2, 2), "box", image_size)
        if x1 - x0 <= 0 or y1 - y0 <= 0:
            raise ValueError(f"box {b.tolist()} has zero width or height")
        bx = b
    if pts is None and bx is None:
        raise ValueError("no prompt given: pass points=[[x, y], ...] (with labels) and/or box=[x0, y0, x1, y1]")
    return Prompt(points=pts, labels=lab, box=bx)
