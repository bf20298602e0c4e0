"""COCO-format files, checked at the door: instance annotations, detections, segmentation results.

Three kinds of JSON file meet in the COCO protocol:

* **annotations** (the ground truth): ``{"images": [{"id", "file_name", "height", "width"}],
  "categories": [{"id", "name"}], "annotations": [{"id", "image_id", "category_id", "segmentation",
  "iscrowd", "area", "bbox"}]}``; a segmentation is a list of polygons (``[x0, y0, x1, y1, ...]`` in pixels)
  or an RLE ``{"size": [H, W], "counts": ...}`` (compressed string or uncompressed list, the latter usual for
  ``iscrowd: 1``);
* **detections** (a detector's output, COCO results format): ``[{"image_id", "category_id",
  "bbox": [x, y, w, h], "score"}]``;
* **segmentation results**: ``[{"image_id", "category_id", "segmentation": RLE, "score"}]``.

Boxes are ``[x, y, w, h]`` in pixels of the original image (COCO's convention; ``x, y`` the top-left corner);
:func:`xywh_to_xyxy` gives the ``XYXY`` boxes the predictor takes.

Each loader returns new, normalised data (the input is never modified) and raises :class:`CocoFormatError`
(a ``ValueError``) naming the offending entries and what is accepted.
"""

from __future__ import annotations

import copy
import math
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .jsonfile import read_json

__all__ = [
    "CocoFormatError",
    "load_annotations",
    "load_detections",
    "load_results",
    "segmentation_to_mask",
    "segmentation_to_rle",
    "xywh_to_xyxy",
]


class CocoFormatError(ValueError):
    """A COCO-format file or dict that cannot be used; the message says which entries and why."""


def _few(items: Sequence[Any], k: int = 5) -> str:
    shown = ", ".join(repr(x) for x in list(items)[:k])
    return shown + (f" and {len(items) - k} more" if len(items) > k else "")


def _read_json(source: str | os.PathLike | Mapping | Sequence, what: str) -> tuple[Any, str]:
    """``(data, where)``: the parsed JSON of a path, or a deep copy of an in-memory dict / list."""
    if isinstance(source, str | os.PathLike):
        path = Path(source).expanduser()
        return read_json(path, what, error=CocoFormatError), str(path)
    if isinstance(source, Mapping | list | tuple):
        return copy.deepcopy(source), f"the {what} given"
    raise TypeError(f"{what} must be a path to a JSON file or the parsed JSON, got {type(source).__name__}")


def _listed(source: Any, what: str) -> Any:
    """A path as it is; an iterable of entries as a list (a dict, or a str that is not a path, is refused)."""
    if isinstance(source, str | os.PathLike):
        return source
    if isinstance(source, Mapping) or not isinstance(source, Iterable):
        raise CocoFormatError(f"{what} must be a JSON file or a list of dicts (COCO results format), got "
                              f"{type(source).__name__}")
    return list(source)


def _is_int(v: Any) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)


def compressed_rle_counts(counts: str | bytes) -> np.ndarray | None:
    """The run lengths of a compressed COCO RLE string (pycocotools' ``rleFrString`` format), ``int64 (N,)``, or
    None if the string is not in that format.

    Each count is written as 5-bit groups, least significant first, in characters ``'0'`` (48) .. ``'o'`` (111):
    bit 5 (``0x20``) says another group follows; bit 4 of the last group is the sign; from the third count on,
    each is stored as its difference from the count two before. Decoded here, vectorised, so that a string whose
    counts do not fit its image is refused before pycocotools reads it (it hangs or crashes on some).
    """
    try:
        raw = counts.encode("ascii") if isinstance(counts, str) else bytes(counts)
    except UnicodeEncodeError:
        return None
    c = np.frombuffer(raw, np.uint8).astype(np.int64) - 48
    if c.size == 0 or c.min() < 0 or c.max() > 63 or c[-1] & 0x20:
        return None
    last = (c & 0x20) == 0  # the last group of each count
    group = np.concatenate([[0], np.cumsum(last)[:-1]])
    starts = np.flatnonzero(np.concatenate([[True], last[:-1]]))
    k = np.arange(c.size) - starts[group]  # group position within its count
    if k.max() > 6:  # more than 35 bits: no image has such a run
        return None
    x = np.add.reduceat((c & 0x1F) << (5 * k), starts)
    negative = (c[last] & 0x10) != 0
    x = np.where(negative, x - (1 << (5 * (k[last] + 1))), x)
    out = x.copy()
    out[3::2] = np.cumsum(x[1::2])[1:]  # counts[m] += counts[m - 2] for m > 2
    out[4::2] = np.cumsum(x[2::2])[1:]
    return out


def _rle_problem(seg: Mapping, h: int, w: int) -> str | None:
    size = seg.get("size")
    if not isinstance(size, list | tuple) or len(size) != 2 or not all(_is_int(v) for v in size) \
            or [int(v) for v in size] != [h, w]:
        return f"RLE size {size!r:.60} is not its image's [height, width] = [{h}, {w}]"
    counts = seg.get("counts")
    if isinstance(counts, list | tuple):
        if not all(_is_int(c) and c >= 0 for c in counts) or sum(counts) != h * w:
            return f"uncompressed RLE counts must be non-negative ints summing to H*W = {h * w}"
    elif isinstance(counts, str | bytes) and counts:
        runs = compressed_rle_counts(counts)
        if runs is None:
            return (f"RLE counts {counts!r:.40} is not a compressed COCO RLE string (ASCII characters '0' to 'o', "
                    "as pycocotools' mask.encode writes)")
        if runs.min() < 0 or int(runs.sum()) != h * w:
            return (f"compressed RLE counts decode to {len(runs)} runs summing to {int(runs.sum())}"
                    f"{' with negative runs' if runs.min() < 0 else ''}; an RLE of a {h} x {w} image sums to "
                    f"H*W = {h * w}")
    else:
        return f"RLE counts must be a compressed string or a list of ints, got {type(counts).__name__}"
    return None


def _polygon_problem(seg: Sequence, h: int, w: int) -> str | None:
    if not seg:
        return "empty polygon list"
    for poly in seg:
        if (not isinstance(poly, list | tuple) or len(poly) < 6 or len(poly) % 2
                or not all(_is_number(v) and math.isfinite(v) for v in poly)):
            return ("each polygon must be a flat list [x0, y0, x1, y1, ...] of at least 3 finite (x, y) "
                    "points")
        xs, ys = np.asarray(poly[0::2], np.float64), np.asarray(poly[1::2], np.float64)
        # pycocotools rasterises the outline point by point: far-away points cost memory without bound
        if xs.min() < -w or xs.max() > 2 * w or ys.min() < -h or ys.max() > 2 * h:
            return (f"polygon points reach x {xs.min():g}..{xs.max():g}, y {ys.min():g}..{ys.max():g}; points "
                    f"must lie within the {h} x {w} image, give or take its size (x in [{-w}, {2 * w}], y in "
                    f"[{-h}, {2 * h}])")
    return None


def segmentation_to_rle(segmentation: Any, height: int, width: int) -> dict[str, Any]:
    """A COCO segmentation (polygons, compressed or uncompressed RLE) as pycocotools' compressed RLE.

    Returns:
        ``{"size": [H, W], "counts": bytes}`` (pycocotools' own form; ``counts`` decoded to ``str`` by
        :func:`hqsam_nb.io.exports.mask_to_rle` style writers before JSON).
    """
    from pycocotools import mask as mask_utils

    if isinstance(segmentation, list):
        return mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
    if isinstance(segmentation["counts"], list | tuple):
        return mask_utils.frPyObjects({"size": [height, width], "counts": list(segmentation["counts"])},
                                      height, width)
    counts = segmentation["counts"]
    return {"size": [height, width], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}


def segmentation_to_mask(segmentation: Any, height: int, width: int) -> np.ndarray:
    """Decode a COCO segmentation (polygons or RLE) to a ``bool`` ``H x W`` mask."""
    from pycocotools import mask as mask_utils

    with warnings.catch_warnings():
        # pycocotools 2.0.x under numpy 2 (its Cython RLEs object); harmless, fixed upstream in later releases
        warnings.filterwarnings("ignore", message="__array__ implementation doesn't accept a copy keyword",
                                category=DeprecationWarning)
        return mask_utils.decode(segmentation_to_rle(segmentation, height, width)).astype(bool)


def _index_ids(entries: Any, key: str, where: str) -> None:
    if not isinstance(entries, list):
        raise CocoFormatError(f"{where}: '{key}' must be a list, got {type(entries).__name__}")
    bad = [i for i, e in enumerate(entries) if not isinstance(e, dict) or not _is_int(e.get("id"))]
    if bad:
        raise CocoFormatError(f"{where}: {key} entries {_few(bad)} (by position) have no integer 'id'")
    ids = [e["id"] for e in entries]
    dup = sorted({i for i in ids if ids.count(i) > 1}) if len(set(ids)) != len(ids) else []
    if dup:
        raise CocoFormatError(f"{where}: {key} ids {_few(dup)} appear more than once")


def load_annotations(source: str | os.PathLike | Mapping[str, Any]) -> dict[str, Any]:
    """Read and check a COCO instance-annotations file (or dict); fill what COCO tools expect.

    Checks: ``images`` with unique integer ids, a ``file_name`` and positive ``height`` / ``width``;
    ``categories`` with unique integer ids; every annotation's ``image_id`` and ``category_id`` known, its
    ``segmentation`` valid polygons or an RLE of its image's size, ``iscrowd`` 0 or 1. Fills ``iscrowd``
    (0), ``area`` (pixels of the segmentation) and ``bbox`` (``[x, y, w, h]`` of the segmentation) where
    absent, and numbers annotations without an ``id`` after the largest one.

    Returns:
        A new dict with ``images``, ``categories``, ``annotations`` (and ``info`` / ``licenses`` if given).

    Raises:
        FileNotFoundError: ``source`` is a path that does not exist.
        CocoFormatError: what is wrong, naming the entries.
    """
    from pycocotools import mask as mask_utils

    data, where = _read_json(source, "annotations")
    if not isinstance(data, dict) or not all(k in data for k in ("images", "annotations", "categories")):
        raise CocoFormatError(f"{where} is not a COCO instance-annotations file: it needs 'images', "
                              "'annotations' and 'categories'")
    _index_ids(data["images"], "images", where)
    _index_ids(data["categories"], "categories", where)
    images: dict[int, dict[str, Any]] = {}
    for img in data["images"]:
        h, w = img.get("height"), img.get("width")
        if not (_is_int(h) and _is_int(w) and h > 0 and w > 0) or not isinstance(img.get("file_name"), str):
            got = {k: img.get(k) for k in ("file_name", "height", "width")}
            raise CocoFormatError(f"{where}: image {img['id']} needs a 'file_name' and positive integer "
                                  f"'height' and 'width', got {got}")
        images[img["id"]] = img
    categories = {c["id"] for c in data["categories"]}
    anns = data["annotations"]
    if not isinstance(anns, list) or not all(isinstance(a, dict) for a in anns):
        raise CocoFormatError(f"{where}: 'annotations' must be a list of dicts")
    given = [a["id"] for a in anns if "id" in a]
    bad_ids = [i for i in given if not _is_int(i)]
    if bad_ids:
        raise CocoFormatError(f"{where}: annotation ids must be integers, got {_few(bad_ids)}")
    if len(set(given)) != len(given):
        seen: set[int] = set()
        dup = sorted({i for i in given if i in seen or seen.add(i)})
        raise CocoFormatError(f"{where}: annotation ids {_few(dup)} appear more than once; each annotation needs "
                              "its own id (COCO tools index annotations by id: all but one of each would be lost "
                              "and the scores would be wrong)")
    for key in ("image_id", "category_id"):
        bad = [i for i, a in enumerate(anns) if not _is_int(a.get(key))]
        if bad:
            raise CocoFormatError(f"{where}: annotations {_few([anns[i].get('id', i) for i in bad])} have a {key} "
                                  f"that is not an integer (e.g. {anns[bad[0]].get(key)!r:.40})")
    unknown_img = [a.get("id", i) for i, a in enumerate(anns) if a.get("image_id") not in images]
    if unknown_img:
        raise CocoFormatError(f"{where}: annotations {_few(unknown_img)} refer to image ids not in 'images' "
                              f"(known: {_few(sorted(images))})")
    unknown_cat = [a.get("id", i) for i, a in enumerate(anns) if a.get("category_id") not in categories]
    if unknown_cat:
        raise CocoFormatError(f"{where}: annotations {_few(unknown_cat)} have a category_id not in "
                              f"'categories' (known: {_few(sorted(categories))})")
    next_id = max((a["id"] for a in anns if "id" in a), default=0) + 1
    for i, ann in enumerate(anns):
        if "id" not in ann:
            ann["id"], next_id = next_id, next_id + 1
        img = images[ann["image_id"]]
        h, w = img["height"], img["width"]
        seg = ann.get("segmentation")
        if isinstance(seg, dict):
            problem = _rle_problem(seg, h, w)
        elif isinstance(seg, list):
            problem = _polygon_problem(seg, h, w)
        else:
            problem = f"segmentation must be polygons (a list) or an RLE (a dict), got {type(seg).__name__}"
        if problem:
            raise CocoFormatError(f"{where}: annotation {ann['id']} (position {i}, image {ann['image_id']}): "
                                  f"bad segmentation: {problem}")
        ann.setdefault("iscrowd", 0)
        if not _is_int(ann["iscrowd"]) or ann["iscrowd"] not in (0, 1):
            raise CocoFormatError(f"{where}: annotation {ann['id']}: iscrowd must be 0 or 1, got "
                                  f"{ann['iscrowd']!r:.40}")
        area, box = ann.get("area", 0), ann.get("bbox", [0, 0, 0, 0])
        if not (_is_number(area) and math.isfinite(area) and area >= 0):
            raise CocoFormatError(f"{where}: annotation {ann['id']}: area must be a number of pixels >= 0, got "
                                  f"{area!r:.40}")
        if (not isinstance(box, list | tuple) or len(box) != 4
                or not all(_is_number(v) and math.isfinite(v) for v in box) or box[2] < 0 or box[3] < 0):
            raise CocoFormatError(f"{where}: annotation {ann['id']}: bbox must be [x, y, w, h], four finite "
                                  f"numbers with w, h >= 0, got {box!r:.60}")
        if "area" not in ann or "bbox" not in ann:
            rle = segmentation_to_rle(seg, h, w)
            ann.setdefault("area", float(mask_utils.area(rle)))
            ann.setdefault("bbox", [float(v) for v in mask_utils.toBbox(rle)])
    out = {k: data[k] for k in ("info", "licenses") if k in data}
    out.update(images=data["images"], categories=data["categories"], annotations=anns)
    return out


def _check_entries(data: Any, where: str, annotations: Mapping[str, Any], required: tuple[str, ...],
                   what: str) -> list[dict[str, Any]]:
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise CocoFormatError(f"{where}: {what} must be a JSON list of dicts (COCO results format), got "
                              f"{type(data).__name__}")
    missing = [i for i, d in enumerate(data) if not all(k in d for k in required)]
    if missing:
        raise CocoFormatError(f"{where}: {what} {_few(missing)} (by position) lack one of {required}")
    for key in ("image_id", "category_id"):
        bad = [i for i, d in enumerate(data) if not _is_int(d[key])]
        if bad:
            raise CocoFormatError(f"{where}: {what} {_few(bad)} (by position) have a {key} that is not an integer "
                                  f"(e.g. {data[bad[0]][key]!r:.40})")
    images = {img["id"] for img in annotations["images"]}
    categories = {c["id"] for c in annotations["categories"]}
    unknown = sorted({d["image_id"] for d in data if d["image_id"] not in images}, key=str)
    if unknown:
        raise CocoFormatError(f"{where}: {len(unknown)} image id(s) not in the annotations: {_few(unknown)} "
                              f"(known: {_few(sorted(images))})")
    unknown = sorted({d["category_id"] for d in data if d["category_id"] not in categories}, key=str)
    if unknown:
        raise CocoFormatError(f"{where}: category id(s) {_few(unknown)} are not in the annotations' "
                              f"categories {_few(sorted(categories))}")
    bad = [i for i, d in enumerate(data) if not (_is_number(d["score"]) and math.isfinite(d["score"]))]
    if bad:
        raise CocoFormatError(f"{where}: {what} {_few(bad)} (by position) have a score that is not a finite "
                              f"number (e.g. {data[bad[0]]['score']!r})")
    return data


def load_detections(source: str | os.PathLike | Iterable[Mapping[str, Any]],
                    annotations: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Read and check a detector's boxes in COCO results format, against checked ``annotations``.

    Args:
        source: a JSON file or a list of ``{"image_id", "category_id", "bbox": [x, y, w, h], "score"}``.
        annotations: the output of :func:`load_annotations` (the images and categories they must refer to).

    Returns:
        New dicts in the given order, ``bbox`` and ``score`` as Python floats.

    Raises:
        CocoFormatError: unknown image or category ids, a ``bbox`` that is not four finite numbers with
        ``w, h > 0``, a score that is not a finite number.
    """
    data, where = _read_json(_listed(source, "detections"), "detections")
    data = _check_entries(data, where, annotations, ("image_id", "category_id", "bbox", "score"),
                          "detections")
    for i, d in enumerate(data):
        box = d["bbox"]
        if (not isinstance(box, list | tuple) or len(box) != 4
                or not all(_is_number(v) and math.isfinite(v) for v in box)):
            raise CocoFormatError(f"{where}: detection {i} has bbox {box!r}; a bbox is [x, y, w, h], four "
                                  "finite numbers in pixels")
        if box[2] <= 0 or box[3] <= 0:
            raise CocoFormatError(f"{where}: detection {i} (image {d['image_id']}) has bbox {box!r} with "
                                  "w or h <= 0; COCO boxes are [x, y, w, h] with a positive width and height")
        d["bbox"] = [float(v) for v in box]
        d["score"] = float(d["score"])
    return data


def load_results(source: str | os.PathLike | Iterable[Mapping[str, Any]],
                 annotations: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Read and check segmentation results (COCO results format with RLE) against checked ``annotations``.

    Returns:
        New dicts in the given order, each ``segmentation`` a compressed RLE ``{"size": [H, W], "counts": str}``
        (uncompressed counts are compressed), ``score`` a Python float. Other keys (``bbox``, ``area``) are kept
        but not used: a result's box and area are its mask's.

    Raises:
        CocoFormatError: unknown image or category ids, a score that is not finite, a segmentation that is
        not an RLE of its image's size.
    """
    data, where = _read_json(_listed(source, "results"), "results")
    data = _check_entries(data, where, annotations, ("image_id", "category_id", "segmentation", "score"),
                          "results")
    sizes = {img["id"]: (img["height"], img["width"]) for img in annotations["images"]}
    for i, d in enumerate(data):
        seg = d["segmentation"]
        problem = (_rle_problem(seg, *sizes[d["image_id"]]) if isinstance(seg, dict)
                   else "a result's segmentation must be an RLE dict")
        if problem:
            raise CocoFormatError(f"{where}: result {i} (image {d['image_id']}): {problem}")
        h, w = sizes[d["image_id"]]
        counts = seg["counts"]
        if isinstance(counts, list | tuple):  # uncompressed: as COCO tools would, compressed here once
            counts = segmentation_to_rle(seg, h, w)["counts"]
        d["segmentation"] = {"size": [h, w], "counts": counts.decode("ascii") if isinstance(counts, bytes)
                             else counts}
        d["score"] = float(d["score"])
    return data


def xywh_to_xyxy(boxes: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    """COCO ``[x, y, w, h]`` boxes ``(K, 4)`` to ``XYXY`` ``(x0, y0, x0 + w, y0 + h)``, ``float64`` ``(K, 4)``."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    return np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)
