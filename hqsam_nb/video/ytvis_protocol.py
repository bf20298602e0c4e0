"""The paper's video-instance protocol (YouTube-VIS 2019, HQ-YTVIS): a VIS model's tracks as box prompts, SAM vs
HQ-SAM frame by frame, Tube-Mask AP and Tube-Boundary AP.

"We adopt the SOTA detector Mask2Former trained on the YouTubeVIS 2019 dataset as our video boxes prompt
generator while reusing its object association prediction" (the HQ-SAM paper). Per video
(:func:`evaluate_ytvis_video`, a plain ``(pair, video) -> record`` function):

1. each frame where at least one track is present goes through the image encoder once
   (:meth:`~hqsam_nb.pair.PairPredictor.set_image`; the record counts the passes);
2. every present track's box on that frame (the VIS result's ``bboxes`` entry, else the box of its mask;
   :mod:`hqsam_nb.video.ytvis`) goes through one :meth:`~hqsam_nb.pair.PairPredictor.predict_batch` call
   (single-mask output), which gives SAM's, the HQ token's and the fused mask of each box;
3. each track keeps its position in the input, its category and its score: the association is the VIS model's,
   as in the paper; a frame where the track is absent stays ``None``.

Without a results file the ground truth's non-crowd tracks prompt (score 1): an oracle ceiling.

Records are stored as the other runners store theirs (:mod:`hqsam_nb.evaluation.records`: ``run.json`` and an
fsync'd ``results.jsonl``, one line per finished video), so a run resumes after any interruption with identical
results. At the end, each atomically: ``ytvis_results_sam.json``, ``ytvis_results_hq.json``,
``ytvis_results_fused.json`` (YouTube-VIS results format, one result per input track, in the input's order),
``ytvis_metrics.json`` (``{branch: {"mask": {AP, AP50, ..., AR_L}, "boundary": {...}}}``, percent; Tube-Mask AP
and Tube-Boundary AP of :mod:`hqsam_nb.metrics.ytvis`), ``ytvis_table.md`` (the paper's numbers beside ours)
and ``ytvis_summary.json`` (settings, counts, speed). Where the ground truth is withheld (YouTube-VIS 2019
valid), the result files are what the challenge server scores (each zipped as ``results.json``).
"""

from __future__ import annotations

import functools
import logging
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..evaluation.coco import _clipped
from ..io.atomic import atomic_write_json, atomic_write_text
from ..metrics.ytvis import IOU_TYPES, YTVIS_METRIC_KEYS, tube_iou_matrix, ytvis_metrics
from ..pair.branches import BRANCH_KEYS, BRANCHES, PAPER_BRANCH
from ..runs.identity import RunIdentity, model_identity, open_run, provenance_from_run
from ..runs.records import RESULTS_FILE, load_records, run_images

if TYPE_CHECKING:
    from ..evaluation.engines import Engine, ModelDescription
    from ..pair.predictor import PairPredictor
    from .ytvis import YtvisDataset, YtvisVideo

logger = logging.getLogger(__name__)

__all__ = [
    "YtvisRun",
    "evaluate_ytvis_video",
    "run_ytvis_evaluation",
    "track_differences",
    "track_frames",
    "write_ytvis_reports",
    "ytvis_run_identity",
    "ytvis_markdown",
    "ytvis_results",
]

RESULTS_NAME = "ytvis_results_{}.json"
METRICS_FILE = "ytvis_metrics.json"
TABLE_FILE = "ytvis_table.md"
SUMMARY_FILE = "ytvis_summary.json"
#: How the tables name the two metrics (the paper's and HQ-YTVIS's symbols).
METRIC_LABELS = {"boundary": "AP^B (Tube-Boundary AP)", "mask": "AP^M (Tube-Mask AP)"}


# -- the per-video work -------------------------------------------------------------------------------------
def evaluate_ytvis_video(pair: PairPredictor, video: YtvisVideo) -> dict[str, Any]:
    """One video of the protocol: per frame one encoder pass and one ``predict_batch`` of every present track.

    Returns:
        The record stored in ``results.jsonl`` (JSON-serialisable): ``{"image" (the video's folder), "video_id",
        "height", "width", "frames", "encoder_passes", "encoder_ms", "decode_ms", "tracks": [{"index",
        "category_id", "score", "counts": {branch: [compressed COCO RLE string or None per frame]}}, ...]}``,
        one entry per track in the video's order; times are totals over the video in milliseconds.
    """
    from ..io.exports import mask_to_rle

    n, h, w = len(video), video.height, video.width
    tracks = [{"index": tr.index, "category_id": tr.category_id, "score": tr.score,
               "counts": {b: [None] * n for b in BRANCH_KEYS}} for tr in video.tracks]
    record: dict[str, Any] = {"image": video.name, "video_id": video.video_id, "height": h, "width": w,
                              "frames": n, "encoder_passes": 0, "encoder_ms": 0.0, "decode_ms": 0.0,
                              "tracks": tracks}
    for t in range(n):
        present = [k for k, tr in enumerate(video.tracks) if tr.present(t)]
        if not present:
            continue  # nothing to prompt: no encoder pass
        image = video.frame(t)
        passes = pair.encoder_passes
        t0 = time.perf_counter()
        pair.set_image(image)
        record["encoder_ms"] += (time.perf_counter() - t0) * 1e3
        record["encoder_passes"] += pair.encoder_passes - passes
        boxes = _clipped(np.stack([video.tracks[k].boxes[t] for k in present]), h, w)
        t0 = time.perf_counter()
        out = pair.predict_batch(boxes=boxes)
        record["decode_ms"] += (time.perf_counter() - t0) * 1e3
        for b in BRANCH_KEYS:
            masks = getattr(out, b).masks
            for j, k in enumerate(present):
                tracks[k]["counts"][b][t] = mask_to_rle(np.asarray(masks[j]))["counts"]
    return record


def ytvis_results(records: Sequence[Mapping[str, Any]], branch: str) -> list[dict[str, Any]]:
    """One branch's YouTube-VIS results from the records: one per track, in the order of the input tracks.

    Args:
        branch: ``"sam"``, ``"hq"`` or ``"fused"``.

    Returns:
        ``[{"video_id", "category_id", "score", "segmentations": [{"size": [H, W], "counts"} or None per
        frame]}, ...]``.
    """
    if branch not in BRANCHES:
        raise ValueError(f"unknown branch {branch!r}; use one of {BRANCH_KEYS}")
    rows = []
    for rec in records:
        size = [rec["height"], rec["width"]]
        for tr in rec["tracks"]:
            segs = [None if c is None else {"size": size, "counts": c} for c in tr["counts"][branch]]
            rows.append((tr["index"], {"video_id": rec["video_id"], "category_id": tr["category_id"],
                                       "score": tr["score"], "segmentations": segs}))
    return [r for _, r in sorted(rows, key=lambda x: x[0])]


# -- reports ------------------------------------------------------------------------------------------------
def ytvis_markdown(metrics: Mapping[str, Mapping[str, Mapping[str, float]]] | None, model: str, *,
                   data: str = "this run", note: str = "") -> str:
    """The paper's video-instance numbers (ViT-L, Mask2Former's tracks) beside ours, then every branch with every
    number.

    Args:
        metrics: ``{branch: {"mask": {...}, "boundary": {...}}}`` (percent), or None where the ground truth is
            withheld (the table then says where to send the result files).
        model: our variant, e.g. ``"vit_l"``. data: what our rows were measured on. note: a line under it.
    """
    from ..evaluation.paper_numbers import PAPER_VIS
    from ..util import markdown_table

    hq = PAPER_BRANCH["video"]
    rows = []
    for data_name, keys in (("HQ-YTVIS test", ("HQ-YTVIS AP^B", "HQ-YTVIS AP^M")),
                            ("YouTube-VIS 2019 valid", (None, "YTVIS-2019 AP"))):
        for b, paper_model in (("sam", "SAM-L"), (hq, "HQ-SAM-L")):
            ref = PAPER_VIS[paper_model]
            rows.append([paper_model, BRANCHES[b].label, data_name, "paper"]
                        + [math.nan if k is None else ref[k] for k in keys])
    if metrics is not None:
        for b in ("sam", hq):
            rows.append([model, BRANCHES[b].label, data, "ours"] + [metrics[b][t]["AP"] for t in ("boundary", "mask")])
    lines = [f"Video instance segmentation, the paper's layout (HQ-SAM row = the {BRANCHES[hq].label} branch, as "
             "in the paper; paper rows: ViT-L with Mask2Former's tracks; percent)", "",
             markdown_table(["model", "branch", "data", "source", METRIC_LABELS["boundary"], METRIC_LABELS["mask"]],
                            rows), ""]
    if metrics is None:
        lines += ["The ground truth of this split is withheld: no numbers here. Each ytvis_results_<branch>.json is "
                  "what the challenge server scores (zip it as results.json)."]
    else:
        for t in ("boundary", "mask"):
            lines += [f"Every branch, {METRIC_LABELS[t]} (ours, percent):", "",
                      markdown_table(["branch", *YTVIS_METRIC_KEYS],
                                     [[BRANCHES[b].label] + [metrics[b][t][k] for k in YTVIS_METRIC_KEYS]
                                      for b in BRANCH_KEYS]), ""]
    if note:
        lines += [note]
    return "\n".join(lines).rstrip("\n") + "\n"


def _speed(records: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    frames = sum(r["encoder_passes"] for r in records)
    ms = sum(r["encoder_ms"] + r["decode_ms"] for r in records)
    return {"encoded_frames": frames, "frames_per_s": 1e3 * frames / ms if ms else math.nan,
            "encoder_ms_per_frame": sum(r["encoder_ms"] for r in records) / frames if frames else math.nan}


def write_ytvis_reports(out_dir: str | os.PathLike, annotations: Mapping[str, Any] | None,
                        records: Sequence[Mapping[str, Any]], meta: Mapping[str, Any], *,
                        dilation_ratio: float = 0.02) -> dict[str, dict[str, dict[str, float]]] | None:
    """Write the result files, ``ytvis_metrics.json`` (when there is ground truth), ``ytvis_table.md`` and
    ``ytvis_summary.json``. The metrics are computed over the videos in ``records`` only.

    Args:
        annotations: the checked ground truth (:attr:`~hqsam_nb.video.ytvis.YtvisDataset.annotations`); None or
            without tracks: no metrics.

    Returns:
        ``{branch: {"mask": {...}, "boundary": {...}}}`` in percent, or None without ground truth.
    """
    out = Path(out_dir)
    scored = annotations is not None and bool(annotations["annotations"]) and bool(records)
    video_ids = [r["video_id"] for r in records]
    metrics: dict[str, dict[str, dict[str, float]]] | None = {} if scored else None
    for b in BRANCH_KEYS:
        results = ytvis_results(records, b)
        atomic_write_json(out / RESULTS_NAME.format(b), results, indent=None)
        if metrics is not None:
            metrics[b] = ytvis_metrics(annotations, results, video_ids=video_ids, dilation_ratio=dilation_ratio)
    if metrics is not None:
        atomic_write_json(out / METRICS_FILE, metrics, indent=2)
    n_tracks = sum(len(r["tracks"]) for r in records)
    note = (f"{len(records)} videos, {n_tracks} tracks from {meta.get('prompts', '?')}; model {meta.get('model')}")
    weights = provenance_from_run(meta)
    if weights is None or not weights.official:
        note += " with weights that are NOT the official ones: the numbers say nothing about SAM or HQ-SAM"
    atomic_write_text(out / TABLE_FILE, ytvis_markdown(metrics, str(meta.get("model")), note=note))
    summary = {**meta, "n_videos": len(records), "n_results": n_tracks, "metrics": metrics,
               "speed": _speed(records), "units": "AP and AR in percent; times in milliseconds"}
    atomic_write_json(out / SUMMARY_FILE, summary, indent=2)
    return metrics


@dataclass
class YtvisRun:
    """A finished run: records in dataset order, the metrics per branch (None without ground truth), the table,
    the videos computed by this call (the others were resumed)."""

    out_dir: Path
    records: list[dict[str, Any]]
    metrics: dict[str, dict[str, dict[str, float]]] | None
    computed: list[str]

    def markdown(self) -> str:
        """The table of ``ytvis_table.md``."""
        return (self.out_dir / TABLE_FILE).read_text(encoding="utf-8")


def ytvis_run_identity(dataset: YtvisDataset, pair: PairPredictor | ModelDescription, *,
                       engine: str = "local") -> RunIdentity:
    """The run's identity (``run.json``): the annotations' and the prompting results' content (SHA-256) and the
    model (:func:`~hqsam_nb.runs.identity.model_identity`) must match for a resume; paths, the device and the
    engine are recorded only."""
    model_same, model_recorded = model_identity(pair)
    return RunIdentity(
        "ytvis",
        same={"dataset": "ytvis", "annotations_sha256": dataset.source_sha256,
              "results_sha256": dataset.results_sha256, **model_same},
        recorded={"annotations": dataset.source, "frames_dir": str(dataset.frames_dir),
                  "results": dataset.results_source, "prompts": dataset.prompts, "n_dataset": len(dataset),
                  **model_recorded, "engine": engine},
    )


def run_ytvis_evaluation(dataset: YtvisDataset, pair: PairPredictor | None, out_dir: str | os.PathLike, *,
                         progress: bool = True, restart: bool = False, engine: Engine | None = None) -> YtvisRun:
    """Run the protocol on every video of ``dataset`` (resuming a run in ``out_dir``) and write the reports.

    Args:
        dataset: from :func:`~hqsam_nb.video.ytvis.open_ytvis`.
        pair: a :class:`~hqsam_nb.pair.PairPredictor` (None with an ``engine``).
        out_dir: created if needed; a run there with other settings is refused (``ValueError``).
        progress: a tqdm progress bar. restart: discard a previous run in ``out_dir`` first.
        engine: None (here, with ``pair``), or a :class:`~hqsam_nb.evaluation.engines.RayEngine`: the videos
            computed on Ray workers, their records stored here as they arrive.

    Raises:
        KeyboardInterrupt: passed on after the finished videos are safely on disk; run again to continue.
    """
    identity = ytvis_run_identity(dataset, pair if engine is None else engine.describe(),
                                  engine="local" if engine is None else engine.label)
    out = open_run(out_dir, identity, results=(RESULTS_FILE,), restart=restart)
    meta = identity.to_json()
    done = {r["image"]: r for r in load_records(out, repair=True)}

    def postfix(record: dict[str, Any]) -> dict[str, str]:
        return {"tracks": str(len(record["tracks"])), "frames": str(record["frames"])}

    stream = None if engine is None else functools.partial(engine.records, dataset, task=evaluate_ytvis_video)
    computed = run_images(out, dataset.names, lambda i: evaluate_ytvis_video(pair, dataset[i]), done,
                          desc="videos", progress=progress, postfix=postfix, stream=stream)
    records = [done[n] for n in dataset.names if n in done]
    metrics = write_ytvis_reports(out, dataset.annotations, records, meta)
    return YtvisRun(out, records, metrics, computed)


# -- where the branches differ ------------------------------------------------------------------------------
def _box_tube_iou(a: np.ndarray, b: np.ndarray) -> float:
    """The tube IoU of two tracks of ``XYXY`` boxes ``(T, 4)`` (NaN rows: absent), as the mask one is defined."""
    inter = union = 0.0
    for p, q in zip(a, b, strict=True):
        pa = 0.0 if np.isnan(p[0]) else float((p[2] - p[0]) * (p[3] - p[1]))
        qa = 0.0 if np.isnan(q[0]) else float((q[2] - q[0]) * (q[3] - q[1]))
        i = 0.0
        if pa and qa:
            i = max(0.0, min(p[2], q[2]) - max(p[0], q[0])) * max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
        inter, union = inter + i, union + pa + qa - i
    return inter / union if union else 0.0


def track_differences(dataset: YtvisDataset, records: Sequence[Mapping[str, Any]], *,
                      branch: str = PAPER_BRANCH["video"], k: int = 3,
                      dilation_ratio: float = 0.02) -> list[dict[str, Any]]:
    """The output tracks where ``branch`` and SAM differ most in the IoU Tube-Boundary AP matches with.

    Each output track is paired with the ground-truth track (same video and category, not crowd) that its prompt
    boxes follow: the largest tube IoU of boxes over the video, so the pairing does not depend on the masks being
    compared. Tracks whose boxes meet no object (false positives) are skipped.

    Returns:
        Up to ``k`` dicts, largest ``|delta|`` first: ``{"video", "video_id", "track" (position in the record),
        "index" (in the input), "category_id", "gt_id", "boundary": {"sam", branch}, "mask": {...}, "delta"}``
        (the tube IoUs Tube-Boundary AP and Tube-Mask AP match with; delta = ``branch`` minus SAM, boundary).
    """
    if branch not in BRANCHES or branch == "sam":
        raise ValueError(f"branch must be 'hq' or 'fused', got {branch!r}")
    from ..io.coco_format import xywh_to_xyxy

    by_video: dict[int, list[dict[str, Any]]] = {}
    for a in dataset.annotations["annotations"]:
        if not a["iscrowd"]:
            by_video.setdefault(a["video_id"], []).append(a)
    videos = dict(zip(dataset.names, range(len(dataset)), strict=True))
    rows = []
    for rec in records:
        h, w = rec["height"], rec["width"]
        video = dataset[videos[rec["image"]]]
        for i, tr in enumerate(rec["tracks"]):
            gts = [g for g in by_video.get(rec["video_id"], []) if g["category_id"] == tr["category_id"]]
            gt_boxes = [np.array([[np.nan] * 4 if b is None else xywh_to_xyxy([b])[0] for b in g["bboxes"]])
                        for g in gts]
            follow = [_box_tube_iou(video.tracks[i].boxes, b) for b in gt_boxes]
            if not follow or max(follow) == 0:
                continue
            gt = gts[int(np.argmax(follow))]
            tracks = [{"segmentations": [None if c is None else {"size": [h, w], "counts": c}
                                         for c in tr["counts"][b]]} for b in ("sam", branch)]
            score = {t: dict(zip(("sam", branch), tube_iou_matrix(tracks, [gt], h, w, iou_type=t,
                                                                  dilation_ratio=dilation_ratio)[:, 0].tolist(),
                                 strict=True)) for t in IOU_TYPES}
            rows.append({"video": rec["image"], "video_id": rec["video_id"], "track": i, "index": tr["index"],
                         "category_id": tr["category_id"], "gt_id": gt["id"], **score,
                         "delta": score["boundary"][branch] - score["boundary"]["sam"]})
    rows.sort(key=lambda r: -abs(r["delta"]))
    return rows[:k]


def track_frames(dataset: YtvisDataset, records: Sequence[Mapping[str, Any]], pick: Mapping[str, Any], *,
                 n: int = 3, dilation_ratio: float = 0.02) -> list[dict[str, Any]]:
    """Items for :func:`hqsam_nb.evaluation.plots.show_boundary_gallery`: up to ``n`` evenly spread frames of one
    :func:`track_differences` pick where both the prompt and the ground-truth object are present, from the
    stored masks (nothing is recomputed).

    Returns:
        ``[{"name", "image" (uint8 H x W x 3), "gt" (bool H x W), "box" (XYXY), "masks": {branch: bool H x W},
        "errors": {branch: boundary error labels}, "biou": {branch: this frame's boundary IoU}}]``.
    """
    from ..io.coco_format import segmentation_to_mask
    from ..io.exports import rle_to_mask
    from ..metrics.masks import boundary_errors, boundary_iou

    rec = next(r for r in records if r["image"] == pick["video"])
    video = dataset[dataset.names.index(pick["video"])]
    tr, prompt = rec["tracks"][pick["track"]], video.tracks[pick["track"]]
    gt = next(a for a in dataset.annotations["annotations"] if a["id"] == pick["gt_id"])
    frames = [t for t in range(len(video)) if prompt.present(t) and gt["segmentations"][t] is not None]
    chosen = sorted({frames[round(x)] for x in np.linspace(0, len(frames) - 1, min(n, len(frames)))})
    h, w = video.height, video.width
    items = []
    for t in chosen:
        g = segmentation_to_mask(gt["segmentations"][t], h, w)
        masks = {b: rle_to_mask({"size": [h, w], "counts": tr["counts"][b][t]}) for b in BRANCH_KEYS}
        items.append({"name": f"{video.name}, frame {t}", "image": video.frame(t), "gt": g,
                      "box": prompt.boxes[t].copy(), "masks": masks,
                      "errors": {b: boundary_errors(g, m, dilation_ratio) for b, m in masks.items()},
                      "biou": {b: boundary_iou(g, m, dilation_ratio) for b, m in masks.items()}})
    return items
