"""The paper's COCO protocol: every detected object of an image, SAM vs HQ-SAM, mask AP and boundary AP.

Command line (:mod:`hqsam_nb.cli.coco`)::

    hqsam-nb coco --annotations instances_val2017.json --images val2017 \\
        --detections focalnet_dino_val2017.json --model vit_l --out runs/coco-vit_l
    hqsam-nb coco --synthetic --model vit_tiny --weights random --out runs/coco-syn

What happens, per image (:func:`evaluate_coco_sample`, a plain ``(pair, sample) -> record`` function):

1. the image goes through the image encoder once (:meth:`~hqsam_nb.pair.PairPredictor.set_image`);
2. every box of that image - a detector's boxes from a COCO results file, or without one the ground-truth
   boxes (an oracle upper bound; optionally jittered) - goes through
   :meth:`~hqsam_nb.pair.PairPredictor.predict_batch` (single-mask output; one call per 64 boxes), which gives
   SAM's, the HQ token's and the fused mask of each box. A detection box wholly outside its image is dropped
   (with a warning); an image may hold any number of boxes, though COCOeval scores only its 100 best;
3. the record keeps, per box, the detector's category and score, each branch's predicted IoU and its mask as
   COCO RLE.

The released evaluation (sam-hq issue #113) scores a mask by *detector score x predicted IoU*
(``score="det_x_iou"``, default); ``score="det"`` keeps the detector's score alone. The score is applied when
the result files are written, so the same run can be re-scored without recomputing.

Records are stored as the single-object runner stores them (:mod:`hqsam_nb.runs`: ``run.json``
and an fsync'd ``results.jsonl``, resumable after any interruption with identical results). At the end, each
atomically: ``coco_results_sam.json``, ``coco_results_hq.json``, ``coco_results_fused.json`` (COCO results
format, one result per box), ``coco_metrics.json`` (``{branch: {AP, AP50, AP75, AP_S, AP_M, AP_L, AP_B}}``,
percent), ``coco_table.md`` (laid out like the paper's table, its numbers beside ours) and
``coco_summary.json`` (settings, counts, speed).
"""

from __future__ import annotations

import functools
import logging
import math
import os
import statistics
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..io.atomic import atomic_write_json, atomic_write_text
from ..io.coco_format import (
    CocoFormatError,
    load_annotations,
    load_detections,
    segmentation_to_mask,
    xywh_to_xyxy,
)
from ..metrics.coco import METRIC_KEYS, coco_instance_metrics
from ..pair.branches import BRANCH_KEYS, BRANCHES, PAPER_BRANCH, check_branches
from ..runs.identity import RunIdentity, content_sha256, file_identity, model_identity, open_run, provenance_from_run
from ..runs.records import RESULTS_FILE, load_records, run_images
from .engines import Engine
from .protocols import image_rng

if TYPE_CHECKING:
    from ..pair.predictor import PairPredictor
    from .engines import ModelDescription

logger = logging.getLogger(__name__)

__all__ = [
    "COCO_MAX_DETS",
    "DECODE_CHUNK",
    "SCORE_MODES",
    "CocoConfig",
    "CocoDataset",
    "CocoRun",
    "CocoSample",
    "branch_differences",
    "coco_markdown",
    "coco_results",
    "evaluate_coco_sample",
    "object_gallery_items",
    "coco_run_identity",
    "open_coco",
    "run_coco_evaluation",
    "write_coco_reports",
]

#: ``det_x_iou``: detector score x the mask's predicted IoU (the released protocol); ``det``: detector score.
SCORE_MODES: tuple[str, ...] = ("det_x_iou", "det")
RESULTS_NAME = "coco_results_{}.json"
METRICS_FILE = "coco_metrics.json"
TABLE_FILE = "coco_table.md"
SUMMARY_FILE = "coco_summary.json"
#: COCOeval scores at most this many results per image (its ``maxDets``), the best-scored ones.
COCO_MAX_DETS = 100
#: Boxes per ``predict_batch`` call: an image with thousands of detections is decoded in chunks, so its masks and
#: logits never all sit in memory at once (10 000 boxes at once would take 12-17 GB).
DECODE_CHUNK = 64


@dataclass(frozen=True)
class CocoConfig:
    """How the boxes are made and the masks scored (saved in ``run.json``).

    Attributes:
        box_jitter: ground-truth prompts only: each side moves by ``U(-j, j)`` times the box's width (x
            sides) or height (y sides), seeded per image. 0 = the exact boxes.
        seed: seeds the jitter.
        score: one of :data:`SCORE_MODES` (applied when results are written; may change on a resumed run).
        dilation_ratio: boundary AP's band width as a fraction of the image diagonal.
    """

    box_jitter: float = 0.0
    seed: int = 0
    score: str = "det_x_iou"
    dilation_ratio: float = 0.02

    def __post_init__(self) -> None:
        if self.score not in SCORE_MODES:
            raise ValueError(f"score={self.score!r} is not accepted; use one of {SCORE_MODES}")
        if not isinstance(self.box_jitter, int | float) or not 0 <= self.box_jitter < 1:
            raise ValueError(f"box_jitter must be in [0, 1), got {self.box_jitter!r}")


@dataclass(frozen=True)
class CocoSample:
    """One image and its boxes, everything :func:`evaluate_coco_sample` needs (picklable, for workers).

    Attributes:
        image_id: the COCO image id. name: its ``file_name`` (the record's key).
        image: RGB ``uint8`` ``H x W x 3``.
        boxes: ``float64`` ``(K, 4)`` ``XYXY`` pixels (``x1 = x + w``), clipped to the image, ``K >= 0``.
        category_ids: ``int64`` ``(K,)``. det_scores: ``float64`` ``(K,)`` (1.0 for ground-truth prompts).
    """

    image_id: int
    name: str
    image: np.ndarray
    boxes: np.ndarray
    category_ids: np.ndarray
    det_scores: np.ndarray


def _clipped(boxes: np.ndarray, h: int, w: int) -> np.ndarray:
    """``XYXY`` boxes put in corner order and clipped to a ``W x H`` image, at least one pixel wide and high
    (a detector's box may reach past the border; the predictor accepts only boxes inside the image)."""
    x0 = np.clip(np.minimum(boxes[:, 0], boxes[:, 2]), 0, w - 1)
    y0 = np.clip(np.minimum(boxes[:, 1], boxes[:, 3]), 0, h - 1)
    x1 = np.clip(np.maximum(boxes[:, 0], boxes[:, 2]), x0 + 1, w)
    y1 = np.clip(np.maximum(boxes[:, 1], boxes[:, 3]), y0 + 1, h)
    return np.stack([x0, y0, x1, y1], 1)


def _jittered(boxes: np.ndarray, jitter: float, rng: np.random.Generator) -> np.ndarray:
    """Move each side by ``U(-jitter, jitter)`` times the box's width (x sides) or height (y sides)."""
    bw, bh = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    return boxes + rng.uniform(-jitter, jitter, boxes.shape) * np.stack([bw, bh, bw, bh], 1)


class CocoDataset(Sequence[CocoSample]):
    """A COCO-format instance set: checked annotations, an image folder, and the boxes to prompt with.

    Use :func:`open_coco` to build one. ``dataset[i]`` reads image ``i`` and returns its
    :class:`CocoSample`; ``names`` are the images' ``file_name`` values, in the annotations' order.
    """

    def __init__(self, annotations: dict[str, Any], images_dir: Path, detections: list[dict[str, Any]] | None,
                 config: CocoConfig, *, source: str, detections_source: str | None,
                 source_sha256: str | None = None, detections_sha256: str | None = None) -> None:
        self.annotations = annotations
        self.images_dir = images_dir
        self.detections = detections
        self.config = config
        self.source = source
        self.detections_source = detections_source
        #: the inputs' content (SHA-256 of the files, or of the data given in memory), for the run identity
        self.source_sha256 = source_sha256 if source_sha256 is not None else content_sha256(annotations)
        self.detections_sha256 = (detections_sha256 if detections_sha256 is not None or detections is None
                                  else content_sha256(detections))
        self._images = annotations["images"]
        self._boxes: dict[int, list[dict[str, Any]]] = {img["id"]: [] for img in self._images}
        if detections is None:
            for ann in annotations["annotations"]:
                if not ann["iscrowd"]:
                    self._boxes[ann["image_id"]].append({"bbox": ann["bbox"], "category_id": ann["category_id"],
                                                         "score": 1.0})
        else:
            sizes = {img["id"]: (img["height"], img["width"]) for img in self._images}
            outside: list[tuple[int, list[float]]] = []
            for det in detections:
                if det["image_id"] not in self._boxes:
                    continue
                x, y, bw, bh = det["bbox"]
                h, w = sizes[det["image_id"]]
                if x >= w or y >= h or x + bw <= 0 or y + bh <= 0:  # wholly outside: nothing of it to segment
                    outside.append((det["image_id"], det["bbox"]))
                    continue
                self._boxes[det["image_id"]].append(det)
            if outside:
                logger.warning("%d detection box(es) lie wholly outside their image and are dropped (e.g. image %s, "
                               "bbox %s)", len(outside), *outside[0])
            crowded = {i: len(v) for i, v in self._boxes.items() if len(v) > COCO_MAX_DETS}
            if crowded:
                worst = max(crowded, key=crowded.get)
                logger.warning("%d image(s) have more than %d detections (image %s: %d): every box is segmented, "
                               "%d at a time, but COCOeval scores only each image's %d best-scored results",
                               len(crowded), COCO_MAX_DETS, worst, crowded[worst], DECODE_CHUNK, COCO_MAX_DETS)

    @property
    def prompts(self) -> str:
        """``"detections"`` or ``"ground truth"`` (the oracle boxes)."""
        return "ground truth" if self.detections is None else "detections"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(img["file_name"] for img in self._images)

    @property
    def image_ids(self) -> tuple[int, ...]:
        return tuple(img["id"] for img in self._images)

    def __len__(self) -> int:
        return len(self._images)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        from ..io.images import load_image

        meta = self._images[index]
        image = load_image(self.images_dir / meta["file_name"])
        if image.shape[:2] != (meta["height"], meta["width"]):
            raise CocoFormatError(f"image {meta['file_name']!r} is {image.shape[1]} x {image.shape[0]} "
                                  f"(W x H) but the annotations say {meta['width']} x {meta['height']}")
        entries = self._boxes[meta["id"]]
        boxes = xywh_to_xyxy([e["bbox"] for e in entries])
        if self.detections is None and self.config.box_jitter and len(boxes):
            rng = image_rng(self.config.seed, meta["file_name"], "box")
            boxes = _jittered(boxes, self.config.box_jitter, rng)
        boxes = _clipped(boxes, meta["height"], meta["width"]) if len(boxes) else np.zeros((0, 4))
        return CocoSample(meta["id"], meta["file_name"], image, boxes,
                          np.array([e["category_id"] for e in entries], np.int64),
                          np.array([e["score"] for e in entries], np.float64))

    def __iter__(self) -> Iterator[CocoSample]:
        for i in range(len(self)):
            yield self[i]

    def n_boxes(self) -> int:
        """How many boxes the whole set prompts with."""
        return sum(len(v) for v in self._boxes.values())

    def __repr__(self) -> str:
        return (f"CocoDataset({len(self)} images, {len(self.annotations['annotations'])} annotations, "
                f"{self.n_boxes()} boxes from {self.prompts}, images in {str(self.images_dir)!r})")


def open_coco(annotations: str | os.PathLike | Mapping[str, Any], images: str | os.PathLike,
              detections: str | os.PathLike | Sequence[Mapping[str, Any]] | None = None,
              config: CocoConfig = CocoConfig(), *, limit: int | None = None) -> CocoDataset:
    """Open a COCO-format set: check the annotations, that every image file is there, and the detections.

    Args:
        annotations: an instances JSON path or dict (:func:`hqsam_nb.io.coco_format.load_annotations`).
        images: the folder the ``file_name`` values are relative to.
        detections: a COCO results file (or list) of boxes; ``None`` prompts with the ground-truth boxes.
        config: :class:`CocoConfig` (``box_jitter`` only applies to ground-truth boxes).
        limit: keep only the first ``limit`` images (in the annotations' order), and their annotations.

    Raises:
        FileNotFoundError: the image folder, or image files named in the annotations, are missing.
        CocoFormatError: malformed annotations or detections (unknown ids, bad boxes or scores, ...).
    """
    ann = load_annotations(annotations)
    folder = Path(images).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {str(folder)!r} does not exist")
    names = [img["file_name"] for img in ann["images"]]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise CocoFormatError(f"file_name(s) {dup[:5]} appear for more than one image")
    if limit is not None:
        if not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be a positive int, got {limit!r}")
        keep = {img["id"] for img in ann["images"][:limit]}
        ann = {**ann, "images": ann["images"][:limit],
               "annotations": [a for a in ann["annotations"] if a["image_id"] in keep]}
    missing = [img["file_name"] for img in ann["images"] if not (folder / img["file_name"]).is_file()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} of {len(ann['images'])} images named in the annotations are "
                                f"not in {str(folder)!r}: {missing[:5]}{' ...' if len(missing) > 5 else ''}")
    dets = None
    if detections is not None:
        full = load_annotations(annotations) if limit is not None else ann
        dets = load_detections(detections, full)
        kept = {img["id"] for img in ann["images"]}
        dets = [d for d in dets if d["image_id"] in kept]
    # files by resolved path and content (a rerun from another working directory is the same run; a file rewritten
    # in place is not); data given in memory by its content
    src, src_sha = (file_identity(annotations) if isinstance(annotations, str | os.PathLike)
                    else ("<annotations dict>", content_sha256(annotations)))
    det_src, det_sha = (file_identity(detections) if isinstance(detections, str | os.PathLike | None)
                        else ("<detections list>", content_sha256(list(detections))))
    return CocoDataset(ann, folder.resolve(), dets, config, source=src, detections_source=det_src,
                       source_sha256=src_sha, detections_sha256=det_sha)


# -- the per-image work -------------------------------------------------------------------------------------
def evaluate_coco_sample(pair: PairPredictor, sample: CocoSample) -> dict[str, Any]:
    """One image of the COCO protocol: one encoder pass, every box through ``predict_batch`` (in chunks of
    :data:`DECODE_CHUNK` boxes).

    Returns:
        The record stored in ``results.jsonl`` (JSON-serialisable): ``{"image", "image_id", "height",
        "width", "encoder_ms" (None when the embedding was cached), "decode_ms", "detections": [
        {"category_id", "bbox" [x, y, w, h] of the prompt box, "det_score", "pred_iou": {branch: float},
        "counts": {branch: compressed COCO RLE string}}, ...]}``, one entry per box, in the boxes' order.
    """
    from ..io.exports import mask_to_rle

    h, w = sample.image.shape[:2]
    passes = pair.encoder_passes
    t0 = time.perf_counter()
    pair.set_image(sample.image)
    encoder_ms = (time.perf_counter() - t0) * 1e3 if pair.encoder_passes > passes else None
    record: dict[str, Any] = {"image": sample.name, "image_id": int(sample.image_id), "height": int(h),
                              "width": int(w), "encoder_ms": encoder_ms, "decode_ms": 0.0, "detections": []}
    if not len(sample.boxes):
        return record
    decode = 0.0
    for start in range(0, len(sample.boxes), DECODE_CHUNK):  # bounded memory however many boxes
        t0 = time.perf_counter()
        out = pair.predict_batch(boxes=sample.boxes[start:start + DECODE_CHUNK])
        decode += time.perf_counter() - t0
        branches = {b: getattr(out, b) for b in BRANCH_KEYS}
        for j, box in enumerate(sample.boxes[start:start + DECODE_CHUNK]):
            k = start + j
            x0, y0, x1, y1 = (float(v) for v in box)
            record["detections"].append({
                "category_id": int(sample.category_ids[k]),
                "bbox": [x0, y0, x1 - x0, y1 - y0],
                "det_score": float(sample.det_scores[k]),
                "pred_iou": {b: float(r.scores[j]) for b, r in branches.items()},
                "counts": {b: mask_to_rle(np.asarray(r.masks[j]))["counts"] for b, r in branches.items()},
            })
    record["decode_ms"] = decode * 1e3
    return record


def coco_results(records: Sequence[Mapping[str, Any]], branch: str, score: str = "det_x_iou"
                 ) -> list[dict[str, Any]]:
    """One branch's COCO segmentation results from the records, one per box, in record order.

    Args:
        branch: ``"sam"``, ``"hq"`` or ``"fused"``. score: one of :data:`SCORE_MODES`.
    """
    check_branches(branch, what="branch")
    if score not in SCORE_MODES:
        raise ValueError(f"score={score!r} is not accepted; use one of {SCORE_MODES}")
    out = []
    for rec in records:
        size = [rec["height"], rec["width"]]
        for d in rec["detections"]:
            s = d["det_score"] * d["pred_iou"][branch] if score == "det_x_iou" else d["det_score"]
            out.append({"image_id": rec["image_id"], "category_id": d["category_id"],
                        "segmentation": {"size": size, "counts": d["counts"][branch]}, "score": float(s)})
    return out


# -- reports ------------------------------------------------------------------------------------------------
#: Our model names -> the paper's row suffix (its COCO table has B, L, H; vit_tiny is Light HQ-SAM).
_PAPER_SIZE = {"vit_b": "B", "vit_l": "L", "vit_h": "H"}


def coco_markdown(metrics: Mapping[str, Mapping[str, float]], model: str, *, note: str = "") -> str:
    """The COCO table laid out like the paper's (AP_B, AP, AP_L, AP_M, AP_S), its numbers beside ours,
    then every branch with every metric.

    Args:
        metrics: ``{branch: {AP, ..., AP_B}}`` (percent). model: ``vit_b`` / ``vit_l`` / ``vit_h`` /
            ``vit_tiny``. note: a line under the table (e.g. "random weights: numbers meaningless").
    """
    from ..util import markdown_table
    from .paper_numbers import PAPER_COCO

    paper_cols = ("AP_B", "AP", "AP_L", "AP_M", "AP_S")
    hq = PAPER_BRANCH["coco"]
    if model in _PAPER_SIZE:
        paper_rows = {"sam": f"SAM-{_PAPER_SIZE[model]}", hq: f"HQ-SAM-{_PAPER_SIZE[model]}"}
    elif model == "vit_tiny":
        paper_rows = {"sam": "MobileSAM", hq: "Light HQ-SAM"}
    else:
        paper_rows = {}
    rows = []
    for b in ("sam", hq):
        if b in paper_rows:  # no paper row for a model the paper did not measure
            ref = PAPER_COCO.get(paper_rows[b], {})
            rows.append([paper_rows[b], BRANCHES[b].label, "paper"] + [ref.get(c, math.nan) for c in paper_cols])
        rows.append([model, BRANCHES[b].label, "ours"] + [metrics[b][c] for c in paper_cols])
    lines = [f"COCO instance segmentation, the paper's layout (HQ-SAM row = the {BRANCHES[hq].label} branch, "
             "as in the paper; percent)", "",
             markdown_table(["model", "branch", "source", *paper_cols], rows), ""]
    lines += ["Every branch, every metric (ours, percent):", "",
              markdown_table(["branch", *METRIC_KEYS], [[BRANCHES[b].label] + [metrics[b][k] for k in METRIC_KEYS]
                                                        for b in BRANCH_KEYS])]
    if note:
        lines += ["", note]
    return "\n".join(lines) + "\n"


def _speed(records: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    enc = [r["encoder_ms"] for r in records if r.get("encoder_ms") is not None]
    per_image = [r["encoder_ms"] + r["decode_ms"] for r in records if r.get("encoder_ms") is not None]
    dec = [r["decode_ms"] for r in records if r["detections"]]
    med = statistics.median
    return {"encoder_ms": med(enc) if enc else math.nan, "decode_ms_per_image": med(dec) if dec else math.nan,
            "images_per_s": 1e3 / med(per_image) if per_image else math.nan}


def write_coco_reports(out_dir: str | os.PathLike, annotations: Mapping[str, Any],
                       records: Sequence[Mapping[str, Any]], config: CocoConfig,
                       meta: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Write the result files, ``coco_metrics.json``, ``coco_table.md`` and ``coco_summary.json``.

    The metrics are computed over the images in ``records`` only (a ``--limit`` run is scored on its images).

    Returns:
        ``{branch: {AP, AP50, AP75, AP_S, AP_M, AP_L, AP_B}}`` in percent.
    """
    out = Path(out_dir)
    image_ids = [r["image_id"] for r in records]
    metrics = {}
    for b in BRANCH_KEYS:
        results = coco_results(records, b, config.score)
        atomic_write_json(out / RESULTS_NAME.format(b), results, indent=None)
        metrics[b] = coco_instance_metrics(annotations, results, image_ids=image_ids,
                                           dilation_ratio=config.dilation_ratio)
    atomic_write_json(out / METRICS_FILE, metrics, indent=2)
    note = (f"{len(records)} images, {sum(len(r['detections']) for r in records)} boxes from "
            f"{meta.get('prompts', '?')}; score = {config.score}; model {meta.get('model')}")
    weights = provenance_from_run(meta)
    if weights is None or not weights.official:
        note += " with weights that are NOT the official ones: the numbers say nothing about SAM or HQ-SAM"
    atomic_write_text(out / TABLE_FILE, coco_markdown(metrics, str(meta.get("model")), note=note))
    summary = {**meta, "config": asdict(config), "n_images": len(records),
               "n_results": sum(len(r["detections"]) for r in records), "metrics": metrics,
               "speed": _speed(records), "units": "AP in percent; times in milliseconds"}
    atomic_write_json(out / SUMMARY_FILE, summary, indent=2)
    return metrics


@dataclass
class CocoRun:
    """A finished COCO run: records in dataset order, the metrics per branch, the table, what was computed."""

    out_dir: Path
    config: CocoConfig
    records: list[dict[str, Any]]
    metrics: dict[str, dict[str, float]]
    computed: list[str]

    def markdown(self) -> str:
        """The table of ``coco_table.md``."""
        return (self.out_dir / TABLE_FILE).read_text(encoding="utf-8")


def coco_run_identity(dataset: CocoDataset, pair: PairPredictor | ModelDescription, *,
                      engine: str = "local") -> RunIdentity:
    """The COCO run's identity (``run.json``): the annotations' and detections' content (SHA-256), the model
    (:func:`~hqsam_nb.runs.identity.model_identity`) and how the boxes are made must match for a resume; the
    score mode may change (it is applied when the result files are written)."""
    model_same, model_recorded = model_identity(pair)
    config = dataset.config
    return RunIdentity(
        "coco",
        same={"dataset": "coco", "source_sha256": dataset.source_sha256,
              "detections_sha256": dataset.detections_sha256, **model_same, "box_jitter": config.box_jitter,
              "seed": config.seed},
        recorded={"source": dataset.source, "images_dir": str(dataset.images_dir),
                  "detections": dataset.detections_source, "prompts": dataset.prompts, "n_dataset": len(dataset),
                  **model_recorded, "engine": engine},
        added_later=("source_sha256", "detections_sha256", "checkpoint_sha256", "sam_checkpoint_sha256"),
    )


def run_coco_evaluation(dataset: CocoDataset, pair: PairPredictor | None, out_dir: str | os.PathLike, *,
                        progress: bool = True, restart: bool = False, engine: Engine | None = None) -> CocoRun:
    """Run the COCO protocol on every image of ``dataset`` (resuming a run in ``out_dir``), write the reports.

    Args:
        dataset: from :func:`open_coco` (its ``config`` is the run's).
        pair: a :class:`~hqsam_nb.pair.PairPredictor`.
        out_dir: created if needed; a run there with other settings is refused (``ValueError``).
        progress: a tqdm progress bar. restart: discard a previous run in ``out_dir`` first.
        engine: None (here, with ``pair``), or a :class:`~hqsam_nb.evaluation.engines.RayEngine` (``pair=None``):
            the images computed on Ray workers, their records stored here as they arrive.

    Raises:
        KeyboardInterrupt: passed on after the finished images are safely on disk; run again to continue.
    """
    config = dataset.config
    identity = coco_run_identity(dataset, pair if engine is None else engine.describe(),
                                 engine="local" if engine is None else engine.label)
    out = open_run(out_dir, identity, results=(RESULTS_FILE,), restart=restart)
    meta = identity.to_json()
    done = {r["image"]: r for r in load_records(out, repair=True)}

    def postfix(record: dict[str, Any]) -> dict[str, str]:
        return {"boxes": str(len(record["detections"]))}

    stream = None if engine is None else functools.partial(engine.records, dataset, task=evaluate_coco_sample)
    computed = run_images(out, dataset.names, lambda i: evaluate_coco_sample(pair, dataset[i]), done,
                          desc="COCO", progress=progress, postfix=postfix, stream=stream)
    records = [done[n] for n in dataset.names if n in done]
    metrics = write_coco_reports(out, dataset.annotations, records, config, meta)
    return CocoRun(out, config, records, metrics, computed)


# -- where the branches differ ------------------------------------------------------------------------------
def _gt_masks(annotations: Mapping[str, Any], image_id: int, h: int, w: int) -> list[tuple[dict, np.ndarray]]:
    return [(a, segmentation_to_mask(a["segmentation"], h, w)) for a in annotations["annotations"]
            if a["image_id"] == image_id and not a["iscrowd"]]


def branch_differences(annotations: Mapping[str, Any], records: Sequence[Mapping[str, Any]], *,
                       branch: str = "fused", k: int = 4, dilation_ratio: float = 0.02) -> list[dict[str, Any]]:
    """The boxes where ``branch`` and SAM differ most in boundary IoU against the object they cover.

    Each box is paired with the ground-truth object (same category, not crowd) its SAM or ``branch`` mask
    overlaps most; boxes that cover no object (false positives) are skipped.

    Returns:
        Up to ``k`` dicts, largest ``|delta|`` first: ``{"image", "image_id", "index" (box in the record),
        "category_id", "biou": {"sam", branch}, "iou": {...}, "delta"}`` (delta = branch minus SAM biou).
    """
    from ..io.exports import rle_to_mask
    from ..metrics.masks import boundary_iou, mask_iou

    rows = []
    for rec in records:
        h, w = rec["height"], rec["width"]
        gts = None
        for i, d in enumerate(rec["detections"]):
            if gts is None:
                gts = _gt_masks(annotations, rec["image_id"], h, w)
            masks = {b: rle_to_mask({"size": [h, w], "counts": d["counts"][b]}) for b in ("sam", branch)}
            cands = [(max(mask_iou(g, masks["sam"]), mask_iou(g, masks[branch])), g) for a, g in gts
                     if a["category_id"] == d["category_id"]]
            if not cands or max(c[0] for c in cands) == 0:
                continue
            g = max(cands, key=lambda c: c[0])[1]
            biou = {b: boundary_iou(g, m, dilation_ratio) for b, m in masks.items()}
            rows.append({"image": rec["image"], "image_id": rec["image_id"], "index": i,
                         "category_id": d["category_id"], "biou": biou,
                         "iou": {b: mask_iou(g, m) for b, m in masks.items()}, "delta": biou[branch] - biou["sam"]})
    rows.sort(key=lambda r: -abs(r["delta"]))
    return rows[:k]


def object_gallery_items(dataset: CocoDataset, records: Sequence[Mapping[str, Any]],
                         picks: Sequence[Mapping[str, Any]], *, dilation_ratio: float = 0.02
                         ) -> list[dict[str, Any]]:
    """Items for :func:`hqsam_nb.evaluation.plots.show_boundary_gallery`, one per pick of
    :func:`branch_differences`, from the stored masks (nothing is recomputed)."""
    from ..io.exports import rle_to_mask
    from ..metrics.masks import boundary_errors, boundary_iou, mask_iou

    by_name = {r["image"]: r for r in records}
    index = {n: i for i, n in enumerate(dataset.names)}
    cats = {c["id"]: c["name"] for c in dataset.annotations["categories"]}
    items = []
    for pick in picks:
        rec = by_name[pick["image"]]
        sample = dataset[index[pick["image"]]]
        h, w = rec["height"], rec["width"]
        d = rec["detections"][pick["index"]]
        masks = {b: rle_to_mask({"size": [h, w], "counts": d["counts"][b]}) for b in BRANCH_KEYS}
        gts = [g for a, g in _gt_masks(dataset.annotations, rec["image_id"], h, w)
               if a["category_id"] == d["category_id"]]
        gt = max(gts, key=lambda g: max(mask_iou(g, m) for m in masks.values()))
        x, y, bw, bh = d["bbox"]
        items.append({"name": f"{rec['image']} box {pick['index']} ({cats.get(d['category_id'], '?')})",
                      "image": sample.image, "gt": gt, "box": np.array([x, y, x + bw, y + bh]), "masks": masks,
                      "errors": {b: boundary_errors(gt, m, dilation_ratio) for b, m in masks.items()},
                      "biou": {b: boundary_iou(gt, m, dilation_ratio) for b, m in masks.items()}})
    return items
