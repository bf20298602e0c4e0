"""A procedural multi-object COCO-format set: thin and solid objects per image, exact masks, categories.

COCO itself is a 20 GB download; the protocol of the paper's COCO table (every object of an image, prompted
by a detector's box, scored in mask AP and boundary AP) only needs images with several objects of known
extent. This module draws them, in milliseconds: the thin structures of :mod:`hqsam_nb.io.synthetic`
(wires, fences, twigs, window frames, outlined letters) at a smaller scale, and solid shapes (disks, boxes,
blobs) from small (< 32^2 px, COCO's "small") to large (> 96^2 px), over the same natural textures.

* Ground truth is exact: thin objects are drawn without anti-aliasing and stored as RLE; solid objects are
  polygons, and their pixels are pycocotools' own rasterisation of that polygon, so the polygon *is* the
  mask. Objects never touch (at least 3 px of background between two), though one may sit in another's
  holes, as a ball behind a fence; the crowd region lies behind all of them.
* Some images also hold a crowd region (``iscrowd: 1``, uncompressed RLE) of small dots, as COCO has.
* :func:`synthetic_coco` also returns **simulated detections** in COCO results format: each object's box
  jittered a little (some objects missed), a detector-like score, plus a false positive per image.

Deterministic: the same arguments always give the same set.

Example:
    >>> s = synthetic_coco(n_images=2, size=(256, 256))
    >>> len(s.images), s.images[0].shape, len(s.annotations["categories"])
    (2, (256, 256, 3), 8)
    >>> paths = write_synthetic_coco("/tmp/syn", n_images=2)   # doctest: +SKIP
    >>> sorted(paths)                                              # doctest: +SKIP
    ['annotations', 'detections', 'images']
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .synthetic import _DRAWERS, SCENE_KINDS, _background, _object_colour

__all__ = ["SOLID_KINDS", "SyntheticCoco", "synthetic_coco", "synthetic_coco_scene", "write_synthetic_coco"]

#: The solid shapes; together with :data:`~hqsam_nb.io.synthetic.SCENE_KINDS` they are the categories.
SOLID_KINDS: tuple[str, ...] = ("disk", "box", "blob")
_CATEGORIES: tuple[str, ...] = SCENE_KINDS + SOLID_KINDS
_MIN_PIXELS = 24  # an object smaller than this (a twig cut to a few pixels) is drawn again


def _solid_polygon(rng: np.random.Generator, kind: str, cx: float, cy: float, r: float,
                   min_aspect: float = 0.4) -> np.ndarray:
    """A solid shape's outline, ``(N, 2)`` float ``(x, y)``: a 40-gon disk, a rotated box, a star-ish blob."""
    if kind == "disk":
        t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
        rx, ry = r, r * rng.uniform(max(0.6, min_aspect), 1.0)
        return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], 1)
    if kind == "box":
        a = rng.uniform(0, np.pi)
        hw, hh = r, r * rng.uniform(min_aspect, 1.0)
        corners = np.array([[-hw, -hh], [hw, -hh], [hw, hh], [-hw, hh]])
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        return corners @ rot.T + [cx, cy]
    t = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    radius = r * (1 + 0.35 * np.sin(int(rng.integers(2, 6)) * t + rng.uniform(0, 6)) + rng.uniform(-0.1, 0.1, 24))
    return np.stack([cx + radius * np.cos(t), cy + radius * np.sin(t)], 1)


def _polygon_mask(poly: np.ndarray, h: int, w: int) -> tuple[np.ndarray, list[float]]:
    """pycocotools' rasterisation of a polygon (what COCO tools decode it to), and its flat coordinates."""
    from pycocotools import mask as mask_utils

    flat = [round(float(v), 2) for v in poly.reshape(-1)]
    rle = mask_utils.merge(mask_utils.frPyObjects([flat], h, w))
    return mask_utils.decode(rle).astype(bool), flat


def synthetic_coco_scene(size: tuple[int, int] = (256, 256), seed: int = 0, *, n_objects: int = 5,
                         crowd: bool = False) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """One image with ``n_objects`` (or fewer, when they do not fit) thin and solid objects.

    The first object is a large solid shape, then thin and solid objects alternate.

    Args:
        size: ``(H, W)``, each between 128 and 2048 pixels.
        seed: a non-negative int; the same ``(size, seed, n_objects, crowd)`` gives the same scene.
        n_objects: how many objects to try to place (kinds alternate thin / solid).
        crowd: add a crowd region of small dots (``iscrowd: 1``), behind the objects.

    Returns:
        ``(image, objects)``: RGB ``uint8`` ``H x W x 3``, and per visible object ``{"kind", "mask"
        (bool H x W), "polygon" (flat [x0, y0, ...] or None for RLE objects), "iscrowd"}``.
    """
    if (not isinstance(size, tuple | list) or len(size) != 2
            or not all(isinstance(s, int | np.integer) and 128 <= s <= 2048 for s in size)):
        raise ValueError(f"size must be (H, W) with ints in [128, 2048], got {size!r}")
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if not isinstance(n_objects, int | np.integer) or not 1 <= n_objects <= 32:
        raise ValueError(f"n_objects must be an int in [1, 32], got {n_objects!r}")
    h, w = int(size[0]), int(size[1])
    rng = np.random.default_rng([int(seed), h, w, 7331])
    image = _background(rng, h, w)
    scale = min(h, w)
    objects: list[dict[str, Any]] = []
    occupied = np.zeros((h, w), bool)
    for k in range(int(n_objects)):
        large = k == 0  # one large solid object first (COCO's AP_L needs objects over 96^2 px)
        thin = k % 2 == 1
        for _attempt in range(30):
            if thin:
                kind = SCENE_KINDS[int(rng.integers(len(SCENE_KINDS)))]
                ch, cw = (int(rng.uniform(0.3, 0.5) * scale) for _ in range(2))
                x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
                mask = np.zeros((h, w), bool)
                mask[y0:y0 + ch, x0:x0 + cw] = _DRAWERS[kind](rng, ch, cw) > 0
                polygon = None
            else:
                kind = SOLID_KINDS[int(rng.integers(len(SOLID_KINDS)))]
                # radii spread over COCO's small and medium areas; the first object large
                r = (rng.uniform(0.24, 0.3) * scale if large
                     else float(np.exp(rng.uniform(np.log(0.025 * scale), np.log(0.16 * scale)))))
                cx, cy = rng.uniform(1.3 * r, w - 1.3 * r), rng.uniform(1.3 * r, h - 1.3 * r)
                mask, polygon = _polygon_mask(_solid_polygon(rng, kind, cx, cy, r, 0.9 if large else 0.4), h, w)
            # objects may interleave (a disk in a fence's hole) but never touch: 3 px of background between
            if mask.sum() < _MIN_PIXELS or (mask & occupied).any():
                continue
            occupied |= cv2.dilate(mask.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
            objects.append({"kind": kind, "mask": mask, "polygon": polygon, "iscrowd": 0})
            break
    if crowd:
        dots = np.zeros((h, w), np.uint8)
        x0, y0 = int(rng.integers(0, w // 2)), int(rng.integers(0, h // 2))
        for _ in range(12):
            cv2.circle(dots, (x0 + int(rng.integers(0, w // 3)), y0 + int(rng.integers(0, h // 3))),
                       int(rng.integers(2, 4)), 1, -1)
        mask = dots.astype(bool)
        for o in objects:  # the crowd lies behind the objects
            mask &= ~o["mask"]
        if mask.sum() >= _MIN_PIXELS:
            objects.insert(0, {"kind": "disk", "mask": mask, "polygon": None, "iscrowd": 1})
    for obj in objects:
        colour = _object_colour(rng, image, obj["mask"])
        shade = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 3)[:, :, None] * 30
        image = np.where(obj["mask"][:, :, None], np.clip(colour + shade, 0, 255), image)
    noise = rng.normal(0, 3, image.shape).astype(np.float32)
    return np.clip(image + noise, 0, 255).astype(np.uint8), objects


@dataclass(frozen=True)
class SyntheticCoco:
    """A synthetic COCO-format set in memory.

    Attributes:
        annotations: the COCO instance-annotations dict (``images`` with ``file_name`` ``"000.png"``...).
        images: RGB ``uint8`` arrays, in the order of ``annotations["images"]``.
        detections: simulated detector boxes, COCO results format (``bbox`` ``[x, y, w, h]``, ``score``).
    """

    annotations: dict[str, Any]
    images: list[np.ndarray]
    detections: list[dict[str, Any]]


def _simulated_detections(rng: np.random.Generator, image_id: int, h: int, w: int,
                          anns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    dets = []
    for ann in anns:
        if ann["iscrowd"] or rng.random() < 0.1:  # crowds are not detected; some objects are missed
            continue
        x, y, bw, bh = ann["bbox"]
        jit = rng.uniform(-0.06, 0.06, 4) * [bw, bh, bw, bh]
        x0, y0 = max(0.0, x + jit[0]), max(0.0, y + jit[1])
        x1, y1 = min(float(w), x + bw + jit[2]), min(float(h), y + bh + jit[3])
        if x1 - x0 < 1 or y1 - y0 < 1:
            x0, y0, x1, y1 = x, y, x + bw, y + bh
        dets.append({"image_id": image_id, "category_id": ann["category_id"],
                     "bbox": [round(float(v), 2) for v in (x0, y0, x1 - x0, y1 - y0)],
                     "score": round(float(rng.uniform(0.5, 1.0)), 4)})
    fw, fh = rng.uniform(0.1, 0.3) * w, rng.uniform(0.1, 0.3) * h  # a false positive
    fx, fy = rng.uniform(0, w - fw), rng.uniform(0, h - fh)
    dets.append({"image_id": image_id, "category_id": int(rng.integers(1, len(_CATEGORIES) + 1)),
                 "bbox": [round(float(v), 2) for v in (fx, fy, fw, fh)],
                 "score": round(float(rng.uniform(0.05, 0.5)), 4)})
    return dets


def _uncompressed_rle(mask: np.ndarray) -> dict[str, Any]:
    """COCO's uncompressed RLE (``iscrowd`` regions): run lengths of the column-major pixels, 0s first."""
    flat = mask.reshape(-1, order="F")
    starts = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.concatenate([[0], starts, [flat.size]])).tolist()
    return {"size": list(mask.shape), "counts": ([0] if flat[0] else []) + [int(r) for r in runs]}


def synthetic_coco(n_images: int = 6, size: tuple[int, int] = (256, 256), seed: int = 0, *,
                   n_objects: int = 5) -> SyntheticCoco:
    """``n_images`` scenes of :func:`synthetic_coco_scene` as a COCO-format set, with simulated detections.

    Categories (ids 1-8): ``wires, fence, branches, frame, text`` (thin), ``disk, box, blob`` (solid).
    Every third image holds a crowd region. Thin objects are stored as compressed RLE, solid ones as
    polygons, the crowd as uncompressed RLE; ``area`` and ``bbox`` are the exact mask's.
    """
    from pycocotools import mask as mask_utils

    if not isinstance(n_images, int | np.integer) or n_images < 1:
        raise ValueError(f"n_images must be a positive int, got {n_images!r}")
    cat_id = {name: i for i, name in enumerate(_CATEGORIES, start=1)}
    images_meta, annotations, detections, arrays = [], [], [], []
    for i in range(int(n_images)):
        image_id = i + 1
        image, objects = synthetic_coco_scene(size, int(seed) * 10_007 + i, n_objects=n_objects,
                                              crowd=i % 3 == 2)
        h, w = image.shape[:2]
        images_meta.append({"id": image_id, "file_name": f"{i:03d}.png", "height": h, "width": w})
        arrays.append(image)
        anns = []
        for obj in objects:
            rle = mask_utils.encode(np.asfortranarray(obj["mask"].astype(np.uint8)))
            if obj["polygon"] is not None:
                seg: Any = [obj["polygon"]]
            elif obj["iscrowd"]:
                seg = _uncompressed_rle(obj["mask"])
            else:
                seg = {"size": [h, w], "counts": rle["counts"].decode("ascii")}
            anns.append({"id": len(annotations) + len(anns) + 1, "image_id": image_id,
                         "category_id": cat_id[obj["kind"]], "segmentation": seg,
                         "area": float(mask_utils.area(rle)), "bbox": [float(v) for v in mask_utils.toBbox(rle)],
                         "iscrowd": int(obj["iscrowd"])})
        annotations += anns
        rng = np.random.default_rng([int(seed), image_id, 4242])
        detections += _simulated_detections(rng, image_id, h, w, anns)
    doc = {
        "info": {"description": "hqsam_nb synthetic multi-object set (thin and solid objects, exact masks)",
                 "seed": int(seed)},
        "images": images_meta,
        "categories": [{"id": cat_id[n], "name": n, "supercategory": "thin" if n in SCENE_KINDS else "solid"}
                       for n in _CATEGORIES],
        "annotations": annotations,
    }
    return SyntheticCoco(doc, arrays, detections)


def write_synthetic_coco(out_dir: str | os.PathLike, n_images: int = 6, size: tuple[int, int] = (256, 256),
                         seed: int = 0, *, n_objects: int = 5) -> dict[str, Path]:
    """Write :func:`synthetic_coco` to ``out_dir``: ``images/000.png``..., ``annotations.json``,
    ``detections.json`` (each file atomically).

    Returns:
        ``{"annotations": path, "images": folder, "detections": path}``.
    """
    from .atomic import atomic_write_bytes, atomic_write_json

    out = Path(out_dir).expanduser()
    (out / "images").mkdir(parents=True, exist_ok=True)
    s = synthetic_coco(n_images, size, seed, n_objects=n_objects)
    for meta, image in zip(s.annotations["images"], s.images, strict=True):
        ok, png = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        if not ok:  # pragma: no cover - OpenCV always encodes uint8 RGB
            raise RuntimeError("OpenCV could not encode a PNG")
        atomic_write_bytes(out / "images" / meta["file_name"], png.tobytes())
    atomic_write_json(out / "annotations.json", s.annotations, indent=None)
    atomic_write_json(out / "detections.json", s.detections, indent=None)
    return {"annotations": out / "annotations.json", "images": out / "images",
            "detections": out / "detections.json"}
