"""A procedural YouTube-VIS set: thin and solid objects moving through short clips, exact masks, and a
simulated VIS model's tracks (misses, false positives, an identity switch) to prompt with.

The video-instance protocol (every track of a VIS model, prompted frame by frame, scored in Tube-Mask AP and
Tube-Boundary AP) needs clips with several objects of known extent and a VIS model's output; both are drawn
here in milliseconds, so tests, CI and the notebook run offline.

* **Objects** (categories 1-8 as in :mod:`hqsam_nb.io.synthetic_coco`: wires, fence, branches, frame, text,
  disk, box, blob): solid and thin objects alternate; each slides along a straight path over a slowly panning
  natural texture, later objects passing in front of earlier ones. The last object enters after the first
  third of the clip (its earlier frames are ``None``, absent, as YouTube-VIS marks them). The ground truth is
  exact: each frame's visible pixels of each object.
* **A crowd track** (``iscrowd: 1``, a swarm of small dots behind everything) in the second video.
* **Simulated VIS tracks** (YouTube-VIS results format), made from the ground truth as a VIS model's would look:
  coarse masks (a 4x-downsampled mask head, upsampled; shifted a pixel or two) with scores; the first track of
  each video drops a frame; in the first video two tracks swap identities halfway (an ID switch); the last video
  misses its last object; every video has a low-scored false positive. Some tracks give ``bboxes``, the others
  leave the prompt boxes to their masks; one track writes empty masks, not ``None``, where it is absent (as
  Mask2Former does).

Files (:func:`write_synthetic_ytvis`): ``JPEGImages/<video>/<frame>.jpg``, ``annotations.json`` (YouTube-VIS
2019 layout: compressed RLE for thin objects, uncompressed RLE for solid ones and the crowd) and
``vis_results.json``. Deterministic: the same arguments always give the same set.

Example:
    >>> s = synthetic_ytvis(n_videos=2, n_frames=4)
    >>> len(s.annotations["videos"]), len(s.frames["synthetic-00"]), s.frames["synthetic-00"][0].shape
    (2, 4, (144, 192, 3))
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..io.synthetic import _DRAWERS, SCENE_KINDS, _background, _object_colour
from ..io.synthetic_coco import _CATEGORIES, SOLID_KINDS, _solid_polygon, _uncompressed_rle
from ..io.ytvis_format import video_folder

__all__ = ["SyntheticYtvis", "synthetic_ytvis", "write_synthetic_ytvis"]

_CAT_ID = {name: i for i, name in enumerate(_CATEGORIES, start=1)}
_COARSE = 4  # the simulated VIS model's mask resolution: 1 / _COARSE of the frame


@dataclass(frozen=True)
class SyntheticYtvis:
    """A synthetic YouTube-VIS set in memory.

    Attributes:
        annotations: the YouTube-VIS annotation dict (videos ``synthetic-00``..., file names
            ``synthetic-00/00000.jpg``...).
        results: the simulated VIS model's tracks (YouTube-VIS results format, compressed RLE).
        frames: video folder -> its frames, RGB ``uint8`` ``H x W x 3``.
    """

    annotations: dict[str, Any]
    results: list[dict[str, Any]]
    frames: dict[str, list[np.ndarray]]


def _rle(mask: np.ndarray) -> dict[str, Any]:
    from pycocotools import mask as mask_utils

    r = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(s) for s in r["size"]], "counts": r["counts"].decode("ascii")}


def _box(mask: np.ndarray) -> list[float] | None:
    ys, xs = np.nonzero(mask)
    if not len(xs):
        return None
    return [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)]


def _object_canvas(rng: np.random.Generator, kind: str, h: int, w: int) -> np.ndarray:
    """The object drawn once on its own ``bool`` canvas (about a third of the frame)."""
    ch, cw = int(h * rng.uniform(0.3, 0.45)), int(w * rng.uniform(0.3, 0.45))
    if kind in SOLID_KINDS:
        poly = _solid_polygon(rng, kind, cw / 2, ch / 2, 0.42 * min(ch, cw))
        canvas = np.zeros((ch, cw), np.uint8)
        cv2.fillPoly(canvas, [np.round(poly).astype(np.int32)], 1)
        return canvas.astype(bool)
    return _DRAWERS[kind](rng, ch, cw) > 0


def _place(canvas: np.ndarray, x: float, y: float, h: int, w: int) -> np.ndarray:
    """``canvas`` with its top-left corner at ``(x, y)`` (rounded) on an ``H x W`` frame, cut at the borders."""
    out = np.zeros((h, w), bool)
    ch, cw = canvas.shape
    x0, y0 = int(round(x)), int(round(y))
    fx0, fy0, fx1, fy1 = max(x0, 0), max(y0, 0), min(x0 + cw, w), min(y0 + ch, h)
    if fx1 > fx0 and fy1 > fy0:
        out[fy0:fy1, fx0:fx1] = canvas[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0]
    return out


def _coarse(mask: np.ndarray, shift: tuple[int, int]) -> np.ndarray:
    """A VIS model's low-resolution mask of ``mask``: cells of 4 x 4 pixels on where a quarter of the cell is,
    upsampled, shifted by ``(dx, dy)`` pixels."""
    h, w = mask.shape
    small = cv2.resize(mask.astype(np.float32), (max(1, w // _COARSE), max(1, h // _COARSE)),
                       interpolation=cv2.INTER_AREA) >= 0.25
    big = cv2.resize(small.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
    move = np.float32([[1, 0, shift[0]], [0, 1, shift[1]]])  # shifted, not wrapped around the border
    return cv2.warpAffine(big, move, (w, h), flags=cv2.INTER_NEAREST, borderValue=0).astype(bool)


def _video(rng: np.random.Generator, h: int, w: int, n_frames: int, n_objects: int, crowd: bool
           ) -> tuple[list[np.ndarray], list[dict[str, Any]]]:
    """One clip: frames and per object ``{"kind", "iscrowd", "masks": [bool H x W or None per frame]}``."""
    pan = rng.uniform(-1.5, 1.5, 2)
    margin = int(np.abs(pan).max() * n_frames) + 4
    texture = _background(rng, h + margin, w + margin)
    objects = []
    for k in range(n_objects):
        kind = (SOLID_KINDS[int(rng.integers(len(SOLID_KINDS)))] if k % 2 == 0
                else SCENE_KINDS[int(rng.integers(len(SCENE_KINDS)))])
        canvas = _object_canvas(rng, kind, h, w)
        ch, cw = canvas.shape
        start = np.array([rng.uniform(0, w - cw), rng.uniform(0, h - ch)])
        speed = rng.uniform(-1, 1, 2) * [w, h] * 0.25 / max(n_frames, 1)
        first = n_frames // 3 if k == n_objects - 1 and n_objects > 1 else 0
        objects.append({"kind": kind, "iscrowd": 0, "canvas": canvas, "start": start, "speed": speed,
                        "first": first})
    if crowd:
        dots = np.zeros((h // 2, w // 2), np.uint8)
        for _ in range(14):
            cv2.circle(dots, (int(rng.integers(0, w // 2)), int(rng.integers(0, h // 2))), int(rng.integers(2, 4)),
                       1, -1)
        objects.insert(0, {"kind": "disk", "iscrowd": 1, "canvas": dots.astype(bool),
                           "start": np.array([w * 0.25, h * 0.25]), "speed": rng.uniform(-0.5, 0.5, 2), "first": 0})
    colours = [None] * len(objects)
    frames, masks = [], [[None] * n_frames for _ in objects]
    for t in range(n_frames):
        ox, oy = (np.abs(pan) * t).astype(int) % max(1, margin)
        image = texture[oy:oy + h, ox:ox + w].copy()
        visible = []
        for o in objects:
            m = (_place(o["canvas"], *(o["start"] + o["speed"] * t), h, w) if t >= o["first"]
                 else np.zeros((h, w), bool))
            for prev in visible:  # a later object hides the earlier ones
                prev &= ~m
            visible.append(m)
        for k, m in enumerate(visible):
            if colours[k] is None:
                colours[k] = _object_colour(rng, image, m if m.any() else np.ones((h, w), bool))
            image[m] = colours[k]
            masks[k][t] = m if m.any() else None
        noise = np.random.default_rng([t, h, w]).normal(0, 3, image.shape)
        frames.append(np.clip(image + noise, 0, 255).astype(np.uint8))
    return frames, [{"kind": o["kind"], "iscrowd": o["iscrowd"], "masks": m} for o, m in zip(objects, masks,
                                                                                             strict=True)]


def _vis_tracks(rng: np.random.Generator, video_id: int, objects: list[dict[str, Any]], h: int, w: int,
                n_frames: int, *, switch: bool, miss_last: bool) -> list[dict[str, Any]]:
    """The simulated VIS model's tracks of one video (see the module docstring)."""
    real = [o for o in objects if not o["iscrowd"]]
    sources = [[o["masks"][t] for t in range(n_frames)] for o in real]
    cats = [_CAT_ID[o["kind"]] for o in real]
    if switch and len(real) >= 2:  # an identity switch halfway: the two tracks swap objects
        half = n_frames // 2
        a, b = sources[0], sources[1]
        sources[0], sources[1] = a[:half] + b[half:], b[:half] + a[half:]
    if miss_last and len(real) >= 2:
        sources, cats = sources[:-1], cats[:-1]
    out = []
    for k, (frames, cat) in enumerate(zip(sources, cats, strict=True)):
        shift = (int(rng.integers(-2, 3)), int(rng.integers(-2, 3)))
        masks = [None if m is None else _coarse(m, shift) for m in frames]
        if k == 0 and n_frames > 2:  # the model loses the object for a frame
            masks[n_frames // 2] = None
        empty_not_none = k == 1  # absent frames as empty masks, as Mask2Former writes them
        segs = [(_rle(np.zeros((h, w), bool)) if empty_not_none else None) if m is None or not m.any() else _rle(m)
                for m in masks]
        score = round(float(rng.uniform(0.55, 0.95)), 3)
        track: dict[str, Any] = {"video_id": video_id, "category_id": cat, "score": score, "segmentations": segs}
        if k % 2 == 1:  # this model gives its boxes
            track["bboxes"] = [None if m is None else _box(m) for m in masks]
        out.append(track)
    # a false positive: a blob where there is no object, low score, on the middle frames
    fp = np.zeros((h, w), np.uint8)
    cx, cy, r = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h, 0.12 * min(h, w)
    cv2.fillPoly(fp, [np.round(_solid_polygon(rng, "blob", cx, cy, r)).astype(np.int32)], 1)
    out.append({"video_id": video_id, "category_id": int(rng.integers(1, len(_CATEGORIES) + 1)),
                "score": round(float(rng.uniform(0.05, 0.3)), 3),
                "segmentations": [_rle(fp.astype(bool)) if 0 < t < n_frames - 1 or n_frames <= 2 else None
                                  for t in range(n_frames)]})
    return out


def synthetic_ytvis(n_videos: int = 2, n_frames: int = 6, size: tuple[int, int] = (144, 192), seed: int = 0, *,
                    n_objects: int = 3) -> SyntheticYtvis:
    """``n_videos`` synthetic clips as a YouTube-VIS set, with a simulated VIS model's tracks.

    Args:
        n_videos: how many videos (>= 1). n_frames: frames per video (>= 1).
        size: ``(H, W)``, each in ``[64, 1024]``.
        seed: a non-negative int. n_objects: objects per video, 1 to 6 (the crowd comes on top of these).
    """
    for name, value, lo, hi in (("n_videos", n_videos, 1, 1000), ("n_frames", n_frames, 1, 1000),
                                ("n_objects", n_objects, 1, 6), ("seed", seed, 0, 2**63)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or not lo <= value <= hi:
            raise ValueError(f"{name} must be an int in [{lo}, {hi}], got {value!r}")
    if (not isinstance(size, tuple | list) or len(size) != 2
            or not all(isinstance(s, int | np.integer) and 64 <= s <= 1024 for s in size)):
        raise ValueError(f"size must be (H, W) with ints in [64, 1024], got {size!r}")
    h, w = int(size[0]), int(size[1])
    videos, annotations, results, frames = [], [], [], {}
    for v in range(int(n_videos)):
        video_id, name = v + 1, f"synthetic-{v:02d}"
        rng = np.random.default_rng([int(seed), v, h, w, 2019])
        images, objects = _video(rng, h, w, int(n_frames), int(n_objects), crowd=v == 1)
        frames[name] = images
        videos.append({"id": video_id, "width": w, "height": h, "length": int(n_frames),
                       "file_names": [f"{name}/{t:05d}.jpg" for t in range(n_frames)]})
        for o in objects:
            thin = o["kind"] in SCENE_KINDS and not o["iscrowd"]
            segs = [None if m is None else _rle(m) if thin else _uncompressed_rle(m) for m in o["masks"]]
            annotations.append({"id": len(annotations) + 1, "video_id": video_id, "category_id": _CAT_ID[o["kind"]],
                                "iscrowd": o["iscrowd"], "height": h, "width": w, "length": int(n_frames),
                                "segmentations": segs,
                                "bboxes": [None if m is None else _box(m) for m in o["masks"]],
                                "areas": [None if m is None else float(m.sum()) for m in o["masks"]]})
        results += _vis_tracks(rng, video_id, objects, h, w, int(n_frames), switch=v == 0,
                               miss_last=v == n_videos - 1)
    doc = {"info": {"description": "hqsam_nb synthetic YouTube-VIS set (thin and solid objects, exact masks)",
                    "seed": int(seed)},
           "videos": videos,
           "categories": [{"id": _CAT_ID[n], "name": n, "supercategory": "thin" if n in SCENE_KINDS else "solid"}
                          for n in _CATEGORIES],
           "annotations": annotations}
    return SyntheticYtvis(doc, results, frames)


def write_synthetic_ytvis(out_dir: str | os.PathLike, n_videos: int = 2, n_frames: int = 6,
                          size: tuple[int, int] = (144, 192), seed: int = 0, *,
                          n_objects: int = 3) -> dict[str, Path]:
    """Write :func:`synthetic_ytvis` to ``out_dir`` (each file atomically): ``JPEGImages/<video>/<frame>.jpg``,
    ``annotations.json`` and ``vis_results.json``.

    Returns:
        ``{"annotations": path, "frames": JPEGImages folder, "results": path}``.
    """
    from ..io.atomic import atomic_write_bytes, atomic_write_json
    from .synthetic import _jpeg

    out = Path(out_dir).expanduser()
    s = synthetic_ytvis(n_videos, n_frames, size, seed, n_objects=n_objects)
    for video in s.annotations["videos"]:
        for file_name, image in zip(video["file_names"], s.frames[video_folder(video)], strict=True):
            atomic_write_bytes(out / "JPEGImages" / file_name, _jpeg(image))
    atomic_write_json(out / "annotations.json", s.annotations, indent=None)
    atomic_write_json(out / "vis_results.json", s.results, indent=None)
    return {"annotations": out / "annotations.json", "frames": out / "JPEGImages",
            "results": out / "vis_results.json"}
