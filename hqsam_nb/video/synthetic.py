"""Synthetic clips with exact masks: thin structures moving over a panning texture, in the DAVIS layout.

Each object is one of :data:`~hqsam_nb.io.synthetic.SCENE_KINDS` (wires, fence, branches, window frame,
outlined text), drawn once by the thin-structure drawers of :mod:`hqsam_nb.io.synthetic`, then moved frame by
frame along a smooth path with a slow rotation (``cv2.warpAffine`` with nearest-neighbour sampling, so the
warped pixels *are* the ground truth). Objects later in the list pass in front of earlier ones; the background
is a crop of an :mod:`skimage.data` image that pans slowly, as a hand-held camera would.

Everything is deterministic in ``(seed, size, n_objects, kinds)`` and frames are drawn on demand
(:meth:`SyntheticClip.frame`), so a clip of any length costs no memory until it is drawn.

Example:
    >>> clip = synthetic_clip(n_frames=8, size=(120, 160), n_objects=2, seed=3)
    >>> image, labels = clip.frame(5)
    >>> image.shape, labels.dtype, sorted(np.unique(labels).tolist())
    ((120, 160, 3), dtype('uint8'), [0, 1, 2])
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..io.atomic import atomic_write_bytes, atomic_write_text
from ..io.synthetic import _DRAWERS, SCENE_KINDS, _background, _object_colour
from .davis import DavisDataset, write_label_png

__all__ = ["SyntheticClip", "synthetic_clip", "write_synthetic_davis"]


@dataclass(frozen=True)
class _Track:
    kind: str
    mask: np.ndarray  # uint8 0/255, the object on its own canvas
    colour: np.ndarray  # float32 (3,)
    centre: tuple[float, float]  # (x, y) at t = 0
    amplitude: tuple[float, float]  # path half-extent in x and y (pixels)
    period: float  # frames per back-and-forth
    phase: float
    angle0: float  # degrees
    spin: float  # degrees per frame


@dataclass(frozen=True)
class SyntheticClip:
    """A synthetic clip: ``n_frames`` frames of ``size`` ``(H, W)``, objects ``1 .. len(kinds)``.

    Use :meth:`frame` for frame ``t`` (image and object-id map), or iterate for ``(image, labels)`` pairs.
    """

    size: tuple[int, int]
    n_frames: int
    kinds: tuple[str, ...]
    _tracks: tuple[_Track, ...]
    _texture: np.ndarray  # float32, larger than the frame: the camera pans over it
    _pan: tuple[float, float]  # pixels per frame (x, y)

    @property
    def object_ids(self) -> tuple[int, ...]:
        return tuple(range(1, len(self.kinds) + 1))

    def __len__(self) -> int:
        return self.n_frames

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for t in range(self.n_frames):
            yield self.frame(t)

    def _object_mask(self, track: _Track, t: int) -> np.ndarray:
        h, w = self.size
        oh, ow = track.mask.shape
        s = math.sin(2 * math.pi * t / track.period + track.phase)
        c = math.cos(2 * math.pi * t / track.period * 0.5 + track.phase)
        cx = track.centre[0] + track.amplitude[0] * s
        cy = track.centre[1] + track.amplitude[1] * c
        m = cv2.getRotationMatrix2D((ow / 2, oh / 2), track.angle0 + track.spin * t, 1.0)
        m[0, 2] += cx - ow / 2
        m[1, 2] += cy - oh / 2
        return cv2.warpAffine(track.mask, m, (w, h), flags=cv2.INTER_NEAREST, borderValue=0) > 0

    def frame(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame ``t``: ``(image, labels)``, RGB ``uint8`` ``H x W x 3`` and ``uint8`` ``H x W`` object ids
        (0 background, ``k`` for object ``k``; a later object hides an earlier one where they cross)."""
        if not 0 <= t < self.n_frames:
            raise IndexError(f"frame {t} is out of range for a clip of {self.n_frames} frames")
        h, w = self.size
        x0 = int(round(self._pan[0] * t)) % max(1, self._texture.shape[1] - w)
        y0 = int(round(self._pan[1] * t)) % max(1, self._texture.shape[0] - h)
        image = self._texture[y0:y0 + h, x0:x0 + w].copy()
        labels = np.zeros((h, w), np.uint8)
        for k, track in enumerate(self._tracks, start=1):
            m = self._object_mask(track, t)
            labels[m] = k
            image[m] = track.colour
        rng = np.random.default_rng([t, h, w])
        image = np.clip(image + rng.normal(0, 3, image.shape).astype(np.float32), 0, 255).astype(np.uint8)
        return image, labels


def synthetic_clip(n_frames: int = 24, size: tuple[int, int] = (240, 320), n_objects: int = 2, seed: int = 0,
                   kinds: Sequence[str] | None = None) -> SyntheticClip:
    """A deterministic synthetic clip of thin structures in motion (see the module docstring).

    Args:
        n_frames: how many frames (>= 1).
        size: ``(H, W)``, each in ``[64, 2048]``.
        n_objects: how many objects (1 to 8), ignored when ``kinds`` is given.
        seed: any non-negative int.
        kinds: the objects' kinds in painting order; default: :data:`SCENE_KINDS` in turn from ``seed``.
    """
    if isinstance(n_frames, bool) or not isinstance(n_frames, int) or n_frames < 1:
        raise ValueError(f"n_frames must be a positive int, got {n_frames!r}")
    if (not isinstance(size, tuple | list) or len(size) != 2
            or not all(isinstance(s, int) and 64 <= s <= 2048 for s in size)):
        raise ValueError(f"size must be (H, W) with ints in [64, 2048], got {size!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if kinds is None:
        if isinstance(n_objects, bool) or not isinstance(n_objects, int) or not 1 <= n_objects <= 8:
            raise ValueError(f"n_objects must be an int in [1, 8], got {n_objects!r}")
        kinds = [SCENE_KINDS[(seed + i) % len(SCENE_KINDS)] for i in range(n_objects)]
    kinds = tuple(kinds)
    bad = [k for k in kinds if k not in _DRAWERS]
    if bad or not 1 <= len(kinds) <= 8:
        raise ValueError(f"kinds must be 1 to 8 of {SCENE_KINDS}, got {list(kinds)!r}")
    h, w = int(size[0]), int(size[1])
    rng = np.random.default_rng([seed, h, w, len(kinds), 7])
    pan = (float(rng.uniform(-1.5, 1.5)), float(rng.uniform(-1.0, 1.0)))
    margin = (int(abs(pan[1]) * n_frames) + 8, int(abs(pan[0]) * n_frames) + 8)
    texture = _background(rng, min(h + margin[0], 3 * h), min(w + margin[1], 3 * w))
    tracks = []
    for i, kind in enumerate(kinds):
        oh, ow = int(h * rng.uniform(0.45, 0.65)), int(w * rng.uniform(0.45, 0.65))
        mask = _DRAWERS[kind](rng, oh, ow)
        if not mask.any():  # pragma: no cover - every drawer draws something at these sizes
            raise RuntimeError(f"the {kind} drawer drew nothing at {oh} x {ow}")
        # keep the object's canvas mostly inside the frame all the time
        cx, cy = w * (0.3 + 0.4 * (i + 0.5) / len(kinds)), h * float(rng.uniform(0.4, 0.6))
        amp = (float(min(cx, w - cx) * rng.uniform(0.2, 0.5)), float(min(cy, h - cy) * rng.uniform(0.15, 0.4)))
        crop = texture[:h, :w]
        colour = _object_colour(rng, crop, cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST) > 0)
        tracks.append(_Track(kind, mask, colour, (cx, cy), amp, float(rng.uniform(30, 60)),
                             float(rng.uniform(0, 2 * math.pi)), float(rng.uniform(-10, 10)),
                             float(rng.uniform(-0.6, 0.6))))
    return SyntheticClip((h, w), int(n_frames), kinds, tuple(tracks), texture.astype(np.float32), pan)


def _jpeg(image: np.ndarray, quality: int = 95) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def write_synthetic_davis(root: str | os.PathLike, n_sequences: int = 2, n_frames: int = 12,
                          size: tuple[int, int] = (240, 320), n_objects: int = 2, seed: int = 0,
                          subset: str = "val") -> DavisDataset:
    """Write synthetic clips as a DAVIS 2017 folder (frames as JPEG, exact palette-PNG annotations).

    Sequences are named ``synthetic-<kinds>-<i>`` (e.g. ``synthetic-wires-fence-00``) and listed in
    ``ImageSets/2017/<subset>.txt``. Files already there with the right name are kept, so calling it again
    is cheap and an interrupted write is completed; every file is written atomically.

    Returns:
        The :class:`~hqsam_nb.video.davis.DavisDataset` of the folder.
    """
    if isinstance(n_sequences, bool) or not isinstance(n_sequences, int) or n_sequences < 1:
        raise ValueError(f"n_sequences must be a positive int, got {n_sequences!r}")
    root = Path(root).expanduser()
    names = []
    for i in range(n_sequences):
        clip = synthetic_clip(n_frames, size, n_objects, seed=seed * 1009 + i)
        name = f"synthetic-{'-'.join(clip.kinds)}-{i:02d}"
        names.append(name)
        img_dir = root / "JPEGImages" / "480p" / name
        ann_dir = root / "Annotations" / "480p" / name
        for t in range(n_frames):
            jpg, png = img_dir / f"{t:05d}.jpg", ann_dir / f"{t:05d}.png"
            if jpg.exists() and png.exists():
                continue
            image, labels = clip.frame(t)
            atomic_write_bytes(jpg, _jpeg(image))
            write_label_png(png, labels)
    listing = root / "ImageSets" / "2017" / f"{subset}.txt"
    atomic_write_text(listing, "".join(f"{n}\n" for n in names))
    return DavisDataset(root, subset=subset)
