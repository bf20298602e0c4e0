"""The paper's prompting protocols, as pure numpy: which prompt each ground-truth mask gets.

* **Box** (the paper's main table): the tight box of the ground-truth mask, single-mask output; optionally
  jittered (each side moved by up to ``jitter`` times the box's width or height, uniformly, seeded).
* **Points** (the paper's COIFT / DIS figure): 1, 3, 5, 5 + 5 negative, 10 and 10 + 5 negative points,
  positives drawn uniformly from the object's pixels, negatives uniformly from background pixels near the
  object (inside its box grown by 20 % on each side; the whole background if that holds none). The settings
  are nested - the 3 positives include the 1, the 10 include the 5 - so a curve over them changes one
  thing at a time. Draws are seeded by ``(seed, image name)``, so an image gets the same points whatever
  order, subset or resumed run it is evaluated in.

Coordinates are ``(x, y)`` pixels of the original image, as everywhere in :mod:`hqsam_nb`.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

__all__ = [
    "POINT_SETTINGS",
    "PointSetting",
    "image_rng",
    "point_prompts",
    "tight_box",
]


@dataclass(frozen=True)
class PointSetting:
    """A point-prompt setting: its label in tables and plots, and how many positive / negative points."""

    label: str
    n_pos: int
    n_neg: int


#: The paper's point settings (its COIFT / DIS figure), in the figure's order.
POINT_SETTINGS: tuple[PointSetting, ...] = (
    PointSetting("1", 1, 0), PointSetting("3", 3, 0), PointSetting("5", 5, 0),
    PointSetting("5+5neg", 5, 5), PointSetting("10", 10, 0), PointSetting("10+5neg", 10, 5),
)


def image_rng(seed: int, name: str, purpose: str) -> np.random.Generator:
    """A generator seeded by ``(seed, name, purpose)`` only: independent of evaluation order."""
    return np.random.default_rng([int(seed), zlib.crc32(name.encode()), zlib.crc32(purpose.encode())])


def _check_mask(mask: np.ndarray) -> np.ndarray:
    if not isinstance(mask, np.ndarray) or mask.dtype != bool or mask.ndim != 2:
        got = f"{mask.dtype} {mask.shape}" if isinstance(mask, np.ndarray) else type(mask).__name__
        raise TypeError(f"mask must be a boolean H x W numpy array, got {got}")
    if not mask.any():
        raise ValueError("the ground-truth mask is empty: there is no object to prompt for")
    return mask


def tight_box(mask: np.ndarray, *, jitter: float = 0.0, rng: np.random.Generator | None = None) -> np.ndarray:
    """The ground-truth mask's tight box, as the official evaluation makes it (``masks_to_boxes``).

    Args:
        mask: ``bool`` ``H x W``, not empty.
        jitter: 0 for the exact box; else each side moves by ``U(-jitter, jitter)`` times the box's width
            (x sides) or height (y sides), clipped to the image.
        rng: the generator for the jitter (required when ``jitter > 0``).

    Returns:
        ``float64`` ``(4,)``: ``(x0, y0, x1, y1)``, the first and last object pixel columns and rows
        (inclusive; ``x1 = x0 + 1`` for a one-column object, likewise for rows).
    """
    mask = _check_mask(mask)
    cols = np.flatnonzero(mask.any(axis=0))
    rows = np.flatnonzero(mask.any(axis=1))
    box = np.array([cols[0], rows[0], cols[-1], rows[-1]], np.float64)
    # A one-pixel-wide object (a vertical wire) would give x0 == x1, which no predictor accepts as a box.
    box[2] += box[2] == box[0]
    box[3] += box[3] == box[1]
    if jitter:
        if not 0 < jitter < 1:
            raise ValueError(f"jitter must be in [0, 1), got {jitter!r}")
        if rng is None:
            raise ValueError("jitter > 0 needs rng= (e.g. image_rng(seed, name, 'box'))")
        bw, bh = box[2] - box[0] + 1, box[3] - box[1] + 1
        box = box + rng.uniform(-jitter, jitter, 4) * np.array([bw, bh, bw, bh])
        h, w = mask.shape
        box = np.clip(box, 0, [w - 1, h - 1, w - 1, h - 1])
        box = np.array([min(box[0], box[2]), min(box[1], box[3]),
                        max(box[0], box[2]) + 1e-3, max(box[1], box[3]) + 1e-3])
        box[2:] = np.minimum(box[2:], [w, h])
    return box


def point_prompts(
    mask: np.ndarray, rng: np.random.Generator, settings: tuple[PointSetting, ...] = POINT_SETTINGS,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Nested point prompts for each setting, sampled from the ground truth.

    Args:
        mask: ``bool`` ``H x W``, not empty.
        rng: e.g. ``image_rng(seed, name, "points")``.
        settings: which settings (default: the paper's six).

    Returns:
        ``{label: (points, labels)}``: ``points`` ``float64`` ``(N, 2)`` ``(x, y)`` pixel centres, positives
        first; ``labels`` ``int32`` ``(N,)`` 1 / 0. Fewer points than asked when the mask (or the background
        near it) has fewer pixels.
    """
    mask = _check_mask(mask)
    n_pos = max(s.n_pos for s in settings)
    n_neg = max(s.n_neg for s in settings)
    ys, xs = np.nonzero(mask)
    pick = rng.choice(len(xs), size=min(n_pos, len(xs)), replace=False)
    positives = np.stack([xs[pick], ys[pick]], axis=1).astype(np.float64)
    negatives = np.zeros((0, 2), np.float64)
    if n_neg:
        h, w = mask.shape
        x0, y0, x1, y1 = tight_box(mask)
        gx, gy = 0.2 * (x1 - x0 + 1), 0.2 * (y1 - y0 + 1)
        near = np.zeros_like(mask)
        near[max(0, int(y0 - gy)):min(h, int(y1 + gy) + 1),
             max(0, int(x0 - gx)):min(w, int(x1 + gx) + 1)] = True
        background = near & ~mask
        if not background.any():
            background = ~mask
        bys, bxs = np.nonzero(background)
        if len(bxs):
            pick = rng.choice(len(bxs), size=min(n_neg, len(bxs)), replace=False)
            negatives = np.stack([bxs[pick], bys[pick]], axis=1).astype(np.float64)
    out = {}
    for s in settings:
        pos, neg = positives[:s.n_pos], negatives[:s.n_neg]
        labels = np.concatenate([np.ones(len(pos), np.int32), np.zeros(len(neg), np.int32)])
        out[s.label] = (np.concatenate([pos, neg]), labels)
    return out
