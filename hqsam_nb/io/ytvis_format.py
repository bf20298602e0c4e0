"""YouTube-VIS files, checked at the door: video-instance annotations and a VIS model's results.

Two kinds of JSON file meet in the video-instance protocol (YouTube-VIS 2019 and 2021, HQ-YTVIS, OVIS all use
this layout):

* **annotations** (the ground truth): ``{"videos": [{"id", "file_names": ["<video>/00000.jpg", ...],
  "height", "width", "length"}], "categories": [{"id", "name"}], "annotations": [{"id", "video_id",
  "category_id", "iscrowd", "segmentations": [...], "bboxes": [...], "areas": [...]}]}``. Each annotation is a
  *track*: one entry per frame of its video in ``segmentations`` (polygons, compressed or uncompressed RLE, or
  ``None`` where the object is absent), ``bboxes`` (``[x, y, w, h]`` or ``None``) and ``areas`` (pixels or
  ``None``). A split whose ground truth is withheld (YouTube-VIS 2019 ``valid.json``) has videos and
  categories but no annotations;
* **results** (a VIS model's tracks, the prompt source): ``[{"video_id", "category_id", "score",
  "segmentations": [RLE or None per frame], "bboxes": [[x, y, w, h] or None per frame] (optional)}]``.

Boxes are ``[x, y, w, h]`` in pixels of the frame (COCO's convention).

Each loader returns new, normalised data (the input is never modified) and raises :class:`YtvisFormatError`
(a ``ValueError``) naming the file, the video and the field, and what is accepted. The per-frame segmentation
checks are the COCO ones (:mod:`hqsam_nb.io.coco_format`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath
from typing import Any

from .coco_format import (
    CocoFormatError,
    _few,
    _index_ids,
    _is_int,
    _is_number,
    _polygon_problem,
    _read_json,
    _rle_problem,
    segmentation_to_rle,
)

__all__ = ["YtvisFormatError", "load_ytvis_annotations", "load_ytvis_results", "video_folder"]


class YtvisFormatError(ValueError):
    """A YouTube-VIS annotation or results file that cannot be used; the message says where and why."""


def video_folder(video: Mapping[str, Any]) -> str:
    """The folder a video's frames lie in (``"0043f083b5"`` for ``file_names`` ``"0043f083b5/00000.jpg"``...),
    the name runs, records and figures use for it."""
    parent = PurePosixPath(str(video["file_names"][0]).replace("\\", "/")).parent
    return str(parent) if str(parent) not in ("", ".") else f"video-{video['id']}"


def _video_problem(video: dict[str, Any]) -> str | None:
    h, w, names = video.get("height"), video.get("width"), video.get("file_names")
    if not (_is_int(h) and _is_int(w) and h > 0 and w > 0):
        return f"needs positive integer 'height' and 'width', got {h!r} x {w!r}"
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        return "needs 'file_names', a non-empty list of frame paths (strings)"
    bad = [n for n in names if PurePosixPath(n.replace("\\", "/")).is_absolute() or ".." in n.replace("\\", "/")
           .split("/")]
    if bad:
        return f"file_names must be relative paths inside the frames folder, got {_few(bad, 2)}"
    if len(set(names)) != len(names):
        return "file_names lists a frame more than once"
    if "length" in video and video["length"] != len(names):
        return f"'length' is {video['length']!r} but 'file_names' lists {len(names)} frames"
    return None


def _per_frame(value: Any, n: int, field: str) -> str | None:
    if not isinstance(value, list):
        return f"'{field}' must be a list with one entry per frame ({n}), got {type(value).__name__}"
    if len(value) != n:
        return f"'{field}' has {len(value)} entries but the video has {n} frames"
    return None


def _box_problem(box: Any) -> str | None:
    if box is None:
        return None
    if (not isinstance(box, list | tuple) or len(box) != 4
            or not all(_is_number(v) and math.isfinite(v) for v in box)):
        return f"a box is [x, y, w, h], four finite numbers (or null), got {box!r:.60}"
    if box[2] < 0 or box[3] < 0:
        return f"a box [x, y, w, h] needs w, h >= 0, got {box!r}"
    return None


def _segmentation_problem(seg: Any, h: int, w: int, *, polygons: bool) -> str | None:
    if seg is None:
        return None
    if isinstance(seg, dict):
        return _rle_problem(seg, h, w)
    if isinstance(seg, list) and polygons:
        return _polygon_problem(seg)
    accepted = "polygons (a list), an RLE (a dict) or null" if polygons else "an RLE dict or null"
    return f"a frame's segmentation must be {accepted}, got {type(seg).__name__}"


def _check_track(track: dict[str, Any], video: dict[str, Any], where: str, what: str, *, polygons: bool) -> None:
    """Check one track's per-frame fields against its video (raises naming the track, video and field)."""
    h, w, n = video["height"], video["width"], len(video["file_names"])
    name = f"{where}: {what} (video {video['id']} {video_folder(video)!r})"
    problem = _per_frame(track.get("segmentations"), n, "segmentations")
    if problem:
        raise YtvisFormatError(f"{name}: {problem}")
    for t, seg in enumerate(track["segmentations"]):
        problem = _segmentation_problem(seg, h, w, polygons=polygons)
        if problem:
            raise YtvisFormatError(f"{name}: segmentations[{t}] (frame {video['file_names'][t]!r}): {problem}")
    for field in ("bboxes", "areas"):
        if track.get(field) is None:
            continue
        problem = _per_frame(track[field], n, field)
        if problem:
            raise YtvisFormatError(f"{name}: {problem}")
    for t, box in enumerate(track.get("bboxes") or []):
        problem = _box_problem(box)
        if problem:
            raise YtvisFormatError(f"{name}: bboxes[{t}]: {problem}")
    for t, area in enumerate(track.get("areas") or []):
        if area is not None and not (_is_number(area) and math.isfinite(area) and area >= 0):
            raise YtvisFormatError(f"{name}: areas[{t}] must be a non-negative number or null, got {area!r}")


def _fill_areas_boxes(track: dict[str, Any], h: int, w: int) -> None:
    """``areas`` and ``bboxes`` from the masks where the file has none (``None`` on absent frames)."""
    from pycocotools import mask as mask_utils

    if track.get("areas") is not None and track.get("bboxes") is not None:
        return
    areas, boxes = [], []
    for seg in track["segmentations"]:
        if seg is None:
            areas.append(None)
            boxes.append(None)
            continue
        rle = segmentation_to_rle(seg, h, w)
        areas.append(float(mask_utils.area(rle)))
        boxes.append([float(v) for v in mask_utils.toBbox(rle)])
    if track.get("areas") is None:
        track["areas"] = areas
    if track.get("bboxes") is None:
        track["bboxes"] = boxes


def load_ytvis_annotations(source: str | os.PathLike | Mapping[str, Any]) -> dict[str, Any]:
    """Read and check a YouTube-VIS annotation file (or dict): 2019, 2021, HQ-YTVIS layouts.

    Checks: ``videos`` with unique integer ids, positive ``height`` / ``width`` and ``file_names`` (relative
    paths, ``length`` matching when given); ``categories`` with unique integer ids; every annotation's
    ``video_id`` and ``category_id`` known, one ``segmentations`` entry per frame of its video (polygons or RLE
    of the video's size, ``None`` where absent), ``bboxes`` / ``areas`` (when given) one per frame, ``iscrowd`` 0
    or 1. Fills ``iscrowd`` (0), ``areas`` and ``bboxes`` (from the masks) where absent, and numbers
    annotations without an ``id`` after the largest one. ``annotations`` may be missing or null (a split whose
    ground truth is withheld): it becomes ``[]``.

    Returns:
        A new dict with ``videos``, ``categories``, ``annotations`` (and ``info`` / ``licenses`` if given).

    Raises:
        FileNotFoundError: ``source`` is a path that does not exist.
        YtvisFormatError: what is wrong, naming the file, the video and the field.
    """
    try:
        data, where = _read_json(source, "YouTube-VIS annotations")
    except CocoFormatError as exc:
        raise YtvisFormatError(str(exc)) from None
    if not isinstance(data, dict) or not all(k in data for k in ("videos", "categories")):
        raise YtvisFormatError(f"{where} is not a YouTube-VIS annotation file: it needs 'videos' and 'categories' "
                               "(and 'annotations' where the ground truth is public)")
    try:
        _index_ids(data["videos"], "videos", where)
        _index_ids(data["categories"], "categories", where)
    except CocoFormatError as exc:
        raise YtvisFormatError(str(exc)) from None
    videos: dict[int, dict[str, Any]] = {}
    for video in data["videos"]:
        problem = _video_problem(video)
        if problem:
            raise YtvisFormatError(f"{where}: video {video['id']}: {problem}")
        videos[video["id"]] = video
    folders = [video_folder(v) for v in data["videos"]]
    if len(set(folders)) != len(folders):
        dup = sorted({f for f in folders if folders.count(f) > 1})
        raise YtvisFormatError(f"{where}: the frames of more than one video lie in folder(s) {_few(dup)}")
    categories = {c["id"] for c in data["categories"]}
    anns = data.get("annotations") or []
    if not isinstance(anns, list) or not all(isinstance(a, dict) for a in anns):
        raise YtvisFormatError(f"{where}: 'annotations' must be a list of dicts (one per track)")
    next_id = max((a["id"] for a in anns if _is_int(a.get("id"))), default=0) + 1
    seen: set[int] = set()
    for i, ann in enumerate(anns):
        if not _is_int(ann.get("id")):
            ann["id"], next_id = next_id, next_id + 1
        if ann["id"] in seen:
            raise YtvisFormatError(f"{where}: annotation id {ann['id']} appears more than once")
        seen.add(ann["id"])
        what = f"annotation {ann['id']} (position {i})"
        if ann.get("video_id") not in videos:
            raise YtvisFormatError(f"{where}: {what} has video_id {ann.get('video_id')!r}, not a video of the "
                                   f"file (known: {_few(sorted(videos))})")
        if ann.get("category_id") not in categories:
            raise YtvisFormatError(f"{where}: {what} has category_id {ann.get('category_id')!r}, not in "
                                   f"'categories' (known: {_few(sorted(categories))})")
        ann.setdefault("iscrowd", 0)
        if ann["iscrowd"] not in (0, 1) or isinstance(ann["iscrowd"], bool):
            raise YtvisFormatError(f"{where}: {what}: iscrowd must be 0 or 1, got {ann['iscrowd']!r}")
        video = videos[ann["video_id"]]
        _check_track(ann, video, where, what, polygons=True)
        _fill_areas_boxes(ann, video["height"], video["width"])
    out = {k: data[k] for k in ("info", "licenses") if k in data}
    out.update(videos=data["videos"], categories=data["categories"], annotations=anns)
    return out


def load_ytvis_results(source: str | os.PathLike | Iterable[Mapping[str, Any]],
                       annotations: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Read and check a VIS model's results (YouTube-VIS results format) against checked ``annotations``.

    Args:
        source: a JSON file or a list of ``{"video_id", "category_id", "score", "segmentations": [RLE or None
            per frame], "bboxes" (optional): [[x, y, w, h] or None per frame]}``.
        annotations: the output of :func:`load_ytvis_annotations` (the videos and categories they refer to).

    Returns:
        New dicts in the given order, ``score`` a Python float, ``bboxes`` ``None`` where not given.

    Raises:
        FileNotFoundError: ``source`` is a path that does not exist.
        YtvisFormatError: unknown video or category ids, a score that is not a finite number, a track whose
            ``segmentations`` / ``bboxes`` do not give one entry per frame, an RLE of the wrong size.
    """
    try:
        data, where = _read_json(list(source) if not isinstance(source, str | os.PathLike) else source,
                                 "YouTube-VIS results")
    except CocoFormatError as exc:
        raise YtvisFormatError(str(exc)) from None
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise YtvisFormatError(f"{where}: results must be a JSON list of dicts (YouTube-VIS results format: "
                               "video_id, category_id, score, segmentations), got "
                               f"{type(data).__name__}")
    videos = {v["id"]: v for v in annotations["videos"]}
    categories = {c["id"] for c in annotations["categories"]}
    for i, d in enumerate(data):
        missing = [k for k in ("video_id", "category_id", "score", "segmentations") if k not in d]
        if missing:
            raise YtvisFormatError(f"{where}: result {i} lacks {missing}; a result needs video_id, category_id, "
                                   "score and segmentations")
        if d["video_id"] not in videos:
            raise YtvisFormatError(f"{where}: result {i} has video_id {d['video_id']!r}, not a video of the "
                                   f"annotations (known: {_few(sorted(videos))})")
        if d["category_id"] not in categories:
            raise YtvisFormatError(f"{where}: result {i} has category_id {d['category_id']!r}, not in the "
                                   f"annotations' categories {_few(sorted(categories))}")
        if not (_is_number(d["score"]) and math.isfinite(d["score"])):
            raise YtvisFormatError(f"{where}: result {i} has score {d['score']!r}; a score is a finite number")
        _check_track(d, videos[d["video_id"]], where, f"result {i}", polygons=False)
        d["score"] = float(d["score"])
        d.setdefault("bboxes", None)
    return data
