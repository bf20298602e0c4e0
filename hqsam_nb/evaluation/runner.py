"""SAM vs HQ-SAM on a dataset: mIoU and mBIoU per prompt setting, resumable (:func:`run_evaluation`).

Command line (:mod:`hqsam_nb.cli.evaluate`)::

    hqsam-nb evaluate --data synthetic --model vit_tiny --prompt box --out runs/synthetic-box
    hqsam-nb evaluate --data ~/data/thin_object_detection/COIFT --model vit_l --prompt points \\
        --out runs/coift-points

Every image gets one image-encoder pass, shared by SAM and HQ-SAM (:class:`~hqsam_nb.pair.PairPredictor`),
then one decode per prompt setting (the tight box; or the six point settings of
:data:`~hqsam_nb.evaluation.protocols.POINT_SETTINGS`). Each finished image is appended to ``results.jsonl`` in the
output folder and flushed to disk (``fsync``) before the next one starts, so Ctrl-C, a crash or a lost
session loses no finished image; running the same command again continues where it stopped (a half-written
last line is dropped and redone). At the end it writes, each atomically:

* ``per_image.csv`` - one row per image and prompt setting, IoU / boundary IoU / score of each branch;
* ``summary.json`` - the run's settings, the table (mIoU, mBIoU in percent per setting and branch) and speed;
* ``summary.png`` - bars (box) or the point-count curves (points), and ``per_image.png`` - SAM vs HQ-SAM
  boundary IoU per image.

Branches (:mod:`hqsam_nb.pair.branches`): ``sam`` (the original SAM decoder), ``hq`` (the HQ token alone,
``hq_token_only=True``: what sam-hq's own evaluation scores on the four HQ datasets, so the branch set beside the
paper's mIoU / mBIoU) and ``fused`` (SAM + HQ token logits, ``hq_token_only=False``: the predictor's default,
used for COCO).

Resize protocols: ``predictor`` (default) feeds the image as the official ``SamPredictor`` does (long side to
1024, aspect ratio kept, masks resized back to the original size); ``stretch`` is the paper's evaluation
pipeline (image stretched to 1024 x 1024 ignoring the aspect ratio, the 256 x 256 logits upsampled bilinearly
straight to the ground truth's size). Numbers differ slightly between the two; tables say which they used.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import statistics
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..io.atomic import atomic_write_text
from ..metrics.masks import boundary_iou, logits_to_mask, mask_iou
from ..pair.branches import BRANCH_KEYS, PAPER_BRANCH, hq_branch
from ..pair.branches import BRANCHES as _BRANCHES
from ..runs.identity import RunIdentity, model_identity, open_run, provenance_from_run
from ..runs.records import RESULTS_FILE, load_records, run_images
from ..util import markdown_table
from .engines import Engine
from .protocols import POINT_SETTINGS, image_rng, point_prompts, tight_box

if TYPE_CHECKING:
    from ..pair.predictor import PairPredictor
    from .datasets import Dataset, Example
    from .engines import ModelDescription

logger = logging.getLogger(__name__)

__all__ = [
    "BRANCHES",
    "BRANCH_LABELS",
    "RESIZE_MODES",
    "EvalConfig",
    "EvaluationRun",
    "biggest_changes",
    "gallery_items",
    "PromptOutcome",
    "evaluate_example",
    "predict_example",
    "run_evaluation",
    "setting_labels",
    "speed_summary",
    "summarize",
    "write_reports",
]

#: The three masks compared for every prompt (the keys of :data:`hqsam_nb.pair.branches.BRANCHES`).
BRANCHES: tuple[str, ...] = BRANCH_KEYS
#: How tables and plots name them (:attr:`Branch.label <hqsam_nb.pair.branches.Branch.label>`).
BRANCH_LABELS: dict[str, str] = {k: b.label for k, b in _BRANCHES.items()}
#: ``predictor``: SamPredictor's aspect-preserving resize (default); ``stretch``: the paper's 1024 x 1024.
RESIZE_MODES: tuple[str, ...] = ("predictor", "stretch")

@dataclass(frozen=True)
class EvalConfig:
    """What a run measures (saved in ``run.json``; a resumed run must use the same).

    Attributes:
        prompt: ``"box"`` (tight ground-truth box) or ``"points"`` (the paper's six point settings).
        resize: ``"predictor"`` or ``"stretch"`` (see the module docstring).
        box_jitter: 0 for the exact box, else the jitter of :func:`~hqsam_nb.evaluation.protocols.tight_box`.
        seed: seeds point sampling and box jitter (per image, independent of order).
        dilation_ratio: boundary IoU's band width as a fraction of the image diagonal.
    """

    prompt: str = "box"
    resize: str = "predictor"
    box_jitter: float = 0.0
    seed: int = 0
    dilation_ratio: float = 0.02

    def __post_init__(self) -> None:
        if self.prompt not in ("box", "points"):
            raise ValueError(f"prompt={self.prompt!r} is not accepted; use 'box' or 'points'")
        if self.resize not in RESIZE_MODES:
            raise ValueError(f"resize={self.resize!r} is not accepted; use one of {RESIZE_MODES}")
        if not 0 <= self.box_jitter < 1:
            raise ValueError(f"box_jitter must be in [0, 1), got {self.box_jitter!r}")


def setting_labels(config: EvalConfig) -> tuple[str, ...]:
    """The prompt settings a run evaluates, in order: ``("box",)`` or the point settings' labels."""
    return ("box",) if config.prompt == "box" else tuple(s.label for s in POINT_SETTINGS)


@dataclass(frozen=True)
class PromptOutcome:
    """One prompt on one image: the prompt, each branch's mask (``bool H x W``) and score, decoder time."""

    setting: str
    points: np.ndarray | None
    labels: np.ndarray | None
    box: np.ndarray | None
    masks: dict[str, np.ndarray]
    scores: dict[str, float]
    decode_ms: float


def _prompts(name: str, mask: np.ndarray, config: EvalConfig) -> list[tuple[str, Any, Any, Any]]:
    if config.prompt == "box":
        rng = image_rng(config.seed, name, "box") if config.box_jitter else None
        return [("box", None, None, tight_box(mask, jitter=config.box_jitter, rng=rng))]
    prompts = point_prompts(mask, image_rng(config.seed, name, "points"))
    return [(label, pts, lab, None) for label, (pts, lab) in prompts.items()]


def predict_example(pair: PairPredictor, name: str, image: np.ndarray, mask: np.ndarray,
                    config: EvalConfig = EvalConfig()) -> tuple[float | None, list[PromptOutcome]]:
    """Set the image (one encoder pass) and decode every prompt of the protocol.

    Args:
        pair: a :class:`~hqsam_nb.pair.PairPredictor`.
        name: the example's name (seeds its prompts).
        image: RGB ``uint8`` ``H x W x 3``. mask: ground truth ``bool`` ``H x W`` (not empty).

    Returns:
        ``(encoder_ms, outcomes)``: the encoder time (None when the pair had the image cached) and one
        :class:`PromptOutcome` per prompt setting, masks at ``H x W``.
    """
    import cv2

    h, w = mask.shape
    fed = image
    scale = np.array([1.0, 1.0])
    if config.resize == "stretch":
        size = pair.model.image_encoder.img_size
        fed = cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR)
        scale = np.array([size / w, size / h])
    passes = pair.encoder_passes
    t0 = time.perf_counter()
    pair.set_image(fed)
    encoder_ms = (time.perf_counter() - t0) * 1e3 if pair.encoder_passes > passes else None
    outcomes = []
    for setting, points, labels, box in _prompts(name, mask, config):
        p = None if points is None else points * scale
        b = None if box is None else box * np.tile(scale, 2)
        out = pair.predict(points=p, labels=labels, box=b)
        results = {"sam": out.sam, "hq": out.hq, "fused": out.fused}
        if config.resize == "stretch":
            masks = {k: logits_to_mask(r.logits, size=(h, w)) for k, r in results.items()}
        else:
            masks = {k: r.mask for k, r in results.items()}
        outcomes.append(PromptOutcome(setting, points, labels, box, masks,
                                      {k: float(r.score) for k, r in results.items()}, out.decode_ms))
    return encoder_ms, outcomes


def evaluate_example(pair: PairPredictor, name: str, image: np.ndarray, mask: np.ndarray,
                     config: EvalConfig = EvalConfig()) -> dict[str, Any]:
    """One image's record, as stored in ``results.jsonl`` (JSON-serialisable).

    ``{"image", "height", "width", "encoder_ms", "results": [{"setting", "n_pos", "n_neg", "decode_ms",
    "iou": {branch: float}, "biou": {...}, "score": {...}}, ...]}``; IoUs in ``[0, 1]``. An image with an
    empty ground-truth mask gets ``{"image", "skipped": reason}``.
    """
    record: dict[str, Any] = {"image": name, "height": int(mask.shape[0]), "width": int(mask.shape[1])}
    if not mask.any():
        record["skipped"] = "empty ground-truth mask"
        return record
    encoder_ms, outcomes = predict_example(pair, name, image, mask, config)
    record["encoder_ms"] = encoder_ms
    record["results"] = [{
        "setting": o.setting,
        "n_pos": int(0 if o.labels is None else (o.labels == 1).sum()),
        "n_neg": int(0 if o.labels is None else (o.labels == 0).sum()),
        "decode_ms": o.decode_ms,
        "iou": {b: mask_iou(mask, o.masks[b]) for b in BRANCHES},
        "biou": {b: boundary_iou(mask, o.masks[b], config.dilation_ratio) for b in BRANCHES},
        "score": o.scores,
    } for o in outcomes]
    return record


def example_record(pair: PairPredictor, example: Example, config: EvalConfig = EvalConfig()) -> dict[str, Any]:
    """:func:`evaluate_example` on one of a dataset's examples (the task an engine's workers run)."""
    return evaluate_example(pair, example.name, example.image, example.mask, config)


# -- storage (shared with the COCO protocol: records.py) ---------------------------------------------------
def _write_text(path: Path, text: str) -> None:
    atomic_write_text(path, text)


# -- summaries ----------------------------------------------------------------------------------------------
def summarize(records: Iterable[dict[str, Any]],
              settings: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The table: per prompt setting, mIoU and mBIoU (in percent, means over images) of each branch.

    Returns:
        ``[{"setting", "n_images", "sam": {"mIoU", "mBIoU"}, "hq": {...}, "fused": {...}}, ...]``.
    """
    by_setting: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        for res in rec.get("results", ()):
            by_setting.setdefault(res["setting"], []).append(res)
    order = list(settings) if settings is not None else list(by_setting)
    table = []
    for setting in order:
        rows = by_setting.get(setting, [])
        entry: dict[str, Any] = {"setting": setting, "n_images": len(rows)}
        for b in BRANCHES:
            entry[b] = {"mIoU": 100 * float(np.mean([r["iou"][b] for r in rows])) if rows else math.nan,
                        "mBIoU": 100 * float(np.mean([r["biou"][b] for r in rows])) if rows else math.nan}
        table.append(entry)
    return table


def speed_summary(records: Iterable[dict[str, Any]]) -> dict[str, float]:
    """Medians from the run itself: encoder ms per image, decode ms per prompt (SAM's and HQ-SAM's
    decoders together), and images per second for a whole image (encoder + all its prompts)."""
    records = [r for r in records if "results" in r]
    enc = [r["encoder_ms"] for r in records if r.get("encoder_ms") is not None]
    dec = [res["decode_ms"] for r in records for res in r["results"]]
    per_image = [(r["encoder_ms"] + sum(x["decode_ms"] for x in r["results"])) for r in records
                 if r.get("encoder_ms") is not None]
    med = statistics.median
    return {
        "encoder_ms": med(enc) if enc else math.nan,
        "decode_ms": med(dec) if dec else math.nan,
        "images_per_s": 1e3 / med(per_image) if per_image else math.nan,
    }


def _csv_rows(records: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    header = ["image", "height", "width", "setting", "n_pos", "n_neg", "encoder_ms", "decode_ms"]
    header += [f"{m}_{b}" for b in BRANCHES for m in ("iou", "biou", "score")]
    rows = []
    for rec in records:
        for res in rec.get("results", ()):
            row = [rec["image"], rec["height"], rec["width"], res["setting"], res["n_pos"], res["n_neg"],
                   rec.get("encoder_ms"), res["decode_ms"]]
            row += [res[m][b] for b in BRANCHES for m in ("iou", "biou", "score")]
            rows.append(row)
    return header, rows


@dataclass
class EvaluationRun:
    """A finished (or resumed-and-finished) run: its records in dataset order, the table and speed."""

    out_dir: Path
    config: EvalConfig
    records: list[dict[str, Any]]
    table: list[dict[str, Any]]
    speed: dict[str, float]
    computed: list[str] = field(default_factory=list)  # the images this call computed (not resumed ones)

    def markdown(self) -> str:
        """The table as markdown: one row per prompt setting, mIoU / mBIoU per branch."""
        metrics = ("mIoU", "mBIoU")
        header = ["prompt", "images"] + [f"{BRANCH_LABELS[b]} {m}" for b in BRANCHES for m in metrics]
        rows = [[t["setting"], t["n_images"]] + [t[b][m] for b in BRANCHES for m in ("mIoU", "mBIoU")]
                for t in self.table]
        return markdown_table(header, rows)


def write_reports(out_dir: str | os.PathLike, records: list[dict[str, Any]], config: EvalConfig,
                  meta: dict[str, Any], *,
                  plots: bool = True) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Write ``per_image.csv``, ``summary.json`` and (``plots=True``) ``summary.png`` / ``per_image.png``."""
    import csv
    import io

    out = Path(out_dir)
    table = summarize(records, setting_labels(config))
    speed = speed_summary(records)
    header, rows = _csv_rows(records)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    _write_text(out / "per_image.csv", buf.getvalue())
    skipped = [r["image"] for r in records if "skipped" in r]
    summary = {**meta, "config": asdict(config), "n_images": len(records) - len(skipped), "skipped": skipped,
               "table": table, "speed": speed, "units": "mIoU / mBIoU in percent; times in milliseconds"}
    _write_text(out / "summary.json", json.dumps(summary, indent=2, allow_nan=True) + "\n")
    if plots:
        from ..io.exports import save_figure
        from .plots import plot_per_image, plot_summary

        weights = provenance_from_run(meta)
        save_figure(out / "summary.png", plot_summary(table, title=meta.get("title"), weights=weights),
                    report=True, bbox_inches="tight")
        save_figure(out / "per_image.png", plot_per_image(records, weights=weights), report=True,
                    bbox_inches="tight")
    return table, speed


# -- the run ------------------------------------------------------------------------------------------------
def run_identity(dataset: Dataset, pair: PairPredictor | ModelDescription, config: EvalConfig, *,
                 engine: str = "local") -> RunIdentity:
    """The run's identity (``run.json``): what must match for it to be resumed is everything that changes the
    numbers (the data, the model: :func:`~hqsam_nb.runs.identity.model_identity`, the protocol)."""
    model_same, model_recorded = model_identity(pair)
    source = Path(dataset.source).expanduser()
    return RunIdentity(
        "evaluate",
        same={"dataset": dataset.name,
              # a folder by its resolved path: a rerun from another working directory is the same run
              "source": str(source.resolve()) if source.exists() else dataset.source,
              **model_same, "config": asdict(config)},
        recorded={"n_dataset": len(dataset), **model_recorded, "engine": engine,
                  "title": f"{dataset.name} - {pair.info.model}, {config.prompt} prompts, {config.resize} resize"},
        added_later=("checkpoint_sha256", "sam_checkpoint_sha256"),
    )


def run_evaluation(dataset: Dataset, pair: PairPredictor | None, out_dir: str | os.PathLike,
                   config: EvalConfig = EvalConfig(), *, progress: bool = True, plots: bool = True,
                   restart: bool = False, engine: Engine | None = None) -> EvaluationRun:
    """Evaluate every example of ``dataset`` (resuming a previous run in ``out_dir``) and write the reports.

    Args:
        dataset: a :class:`~hqsam_nb.evaluation.datasets.Dataset`.
        pair: a :class:`~hqsam_nb.pair.PairPredictor` (its ``.info`` names the model in the reports); None
            with ``engine=``.
        out_dir: created if needed. If it holds a run with other settings (another dataset, model, checkpoint
            file or content, encoder dtype, or protocol), a ``ValueError`` names them.
        config: the protocol (:class:`EvalConfig`).
        progress: show a tqdm progress bar.
        plots: write the PNG plots.
        restart: discard a previous run's results in ``out_dir`` first.
        engine: None: the images are computed here with ``pair``; a
            :class:`~hqsam_nb.evaluation.engines.RayEngine` computes them on Ray workers, and this process stores
            their records as they arrive (the same files, resumable the same way).

    Raises:
        KeyboardInterrupt: passed on after the finished images are safely on disk; run again to continue.
    """

    identity = run_identity(dataset, pair if engine is None else engine.describe(), config,
                            engine="local" if engine is None else engine.label)
    out = open_run(out_dir, identity, results=(RESULTS_FILE,), restart=restart)
    meta = identity.to_json()
    done = {r["image"]: r for r in load_records(out, repair=True)}

    def work(i: int) -> dict[str, Any]:
        example = dataset[i]
        return evaluate_example(pair, example.name, example.image, example.mask, config)

    def postfix(record: dict[str, Any]) -> dict[str, str]:
        if "results" not in record:
            return {}
        last = record["results"][-1]
        hq = PAPER_BRANCH["hq_datasets"]
        return {"BIoU_SAM": f"{last['biou']['sam']:.2f}", "BIoU_HQ": f"{last['biou'][hq]:.2f}"}

    stream = None if engine is None else functools.partial(engine.records, dataset,
                                                           task=functools.partial(example_record, config=config))
    computed = run_images(out, dataset.names, work, done, desc=dataset.name, progress=progress, postfix=postfix,
                          stream=stream)
    records = [done[n] for n in dataset.names if n in done]
    table, speed = write_reports(out, records, config, meta, plots=plots)
    return EvaluationRun(out, config, records, table, speed, computed)


# -- galleries ----------------------------------------------------------------------------------------------
def biggest_changes(records: Iterable[dict[str, Any]], *, setting: str | None = None, k: int = 3,
                    metric: str = "biou", branch: str = PAPER_BRANCH["hq_datasets"], min_delta: float = 0.005
                    ) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """The images where HQ-SAM gained most over SAM, and where it lost.

    Args:
        records: a run's records. setting: the prompt setting (default: each image's last one).
        k: how many of each. metric: ``"biou"`` or ``"iou"``.
        branch: ``"hq"`` (default: the HQ token, the branch the paper's HQ-dataset numbers score) or
            ``"fused"``.
        min_delta: a difference smaller than this (default 0.005: half a point of IoU) is a tie, not a win or
            a loss: a gallery of a "+0.001 gain" would teach noise.

    Returns:
        ``(wins, losses)``: lists of ``(image name, branch minus SAM)``; wins are images where the branch
        scores higher than SAM, largest gain first; losses only images where it scores lower, largest loss
        first. Either list may be shorter than ``k``, or empty (ties are neither).
    """
    hq_branch(branch)
    deltas = []
    for rec in records:
        results = [r for r in rec.get("results", ()) if setting is None or r["setting"] == setting]
        if results:
            deltas.append((rec["image"], results[-1][metric][branch] - results[-1][metric]["sam"]))
    wins = [d for d in sorted(deltas, key=lambda t: t[1], reverse=True) if d[1] >= min_delta][:k]
    losses = [d for d in sorted(deltas, key=lambda t: t[1]) if d[1] <= -min_delta][:k]
    return wins, losses


def gallery_items(pair: PairPredictor, dataset: Dataset, names: Iterable[str],
                  config: EvalConfig = EvalConfig(), *, setting: str | None = None) -> list[dict[str, Any]]:
    """Recompute a few images' masks (the pair is deterministic) for :func:`~hqsam_nb.evaluation.plots.
    show_boundary_gallery`: ``name``, ``image``, ``gt``, ``box``, and per branch ``masks``, ``errors``
    (:func:`~hqsam_nb.metrics.boundary_errors`) and ``biou``."""
    from ..metrics.masks import boundary_errors

    index = {n: i for i, n in enumerate(dataset.names)}
    items = []
    for name in names:
        if name not in index:
            raise ValueError(f"{name!r} is not an image of dataset {dataset.name!r}")
        ex = dataset[index[name]]
        _, outcomes = predict_example(pair, ex.name, ex.image, ex.mask, config)
        chosen = [o for o in outcomes if setting is None or o.setting == setting][-1]
        items.append({
            "name": ex.name, "image": ex.image, "gt": ex.mask, "box": chosen.box, "points": chosen.points,
            "labels": chosen.labels, "masks": chosen.masks,
            "errors": {b: boundary_errors(ex.mask, m, config.dilation_ratio)
                       for b, m in chosen.masks.items()},
            "biou": {b: boundary_iou(ex.mask, m, config.dilation_ratio) for b, m in chosen.masks.items()},
        })
    return items
