"""SAM vs HQ-SAM on DAVIS 2017 (or any folder in its layout): result PNGs per branch and J&F, resumable.

Command line (:mod:`hqsam_nb.cli.video`; ``hqsam-nb video --help`` lists every option)::

    hqsam-nb video --data davis --root DAVIS --prompt boxes xmem_boxes.json --model vit_l --out runs/davis-xmem
    hqsam-nb video --data davis --root DAVIS --sequences bike-packing dogs-jump \\
        --prompt propagate --model vit_l --out runs/davis-propagate
    hqsam-nb video --data synthetic --root data/synthetic-davis --weights random \\
        --model vit_tiny --out runs/synthetic       # writes the synthetic clips first, no download

What it writes in ``--out``:

* ``<branch>/<sequence>/<frame>.png`` for each branch (``sam``, ``hq``, ``fused``): palette PNGs of object ids in
  the DAVIS results layout, so the official ``davis2017-evaluation`` can score each folder too;
* ``video_metrics.json``: ``{branch: {"label", "J&F", "J", "F", "J_recall", "J_decay", "F_recall", "F_decay",
  "n_objects", "per_sequence": {sequence: {"J&F", "J", "F", "frames", "J_per_frame", "F_per_frame",
  "per_object": {id: {...}}}}}}``, fractions in ``[0, 1]``, computed from the PNGs on disk
  (:func:`score_sequence`) with the definitions of :mod:`hqsam_nb.metrics.video` (first and last frames left
  out, object means, J&F = (J + F) / 2);
* ``run.json``: the run's identity (:mod:`hqsam_nb.runs.identity`); a rerun with other settings (data, model,
  checkpoint content, encoder dtype, prompts, tracker file content) into the same folder is refused.

**Resumable per frame.** Each PNG is written atomically; a frame is done once every branch's PNG exists. Rerunning
the same command skips done frames (no encoder pass) and goes on; propagation replays the done frames' prompts
from their PNGs, so an interrupted and resumed run writes byte-identical files to an uninterrupted one.

The work of one sequence is a plain function, :func:`evaluate_sequence`, so a cluster can run sequences in
parallel (each its own folders) and :func:`summarize_sequences` merges their scores.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..io.atomic import atomic_write_json
from ..metrics.video import BOUND_TH, boundary_f_measure, davis_statistics, region_similarity
from ..pair.branches import BRANCH_KEYS, BRANCHES, check_branches
from ..runs.identity import RunIdentity, file_identity, model_identity, open_run
from .davis import (
    DavisDataset,
    DavisError,
    DavisSequence,
    labels_to_masks,
    masks_to_labels,
    read_label_png,
    write_label_png,
)
from .prompts import OracleBoxes, PromptSource, Propagation, TrackerBoxes, load_tracker_boxes
from .tracking import decode_frame

if TYPE_CHECKING:
    from ..pair.predictor import PairPredictor

logger = logging.getLogger(__name__)

__all__ = ["METRICS_FILE", "PromptSpec", "evaluate_sequence", "make_source", "markdown", "prompt_sources",
           "result_masks", "run_video_evaluation", "score_sequence", "summarize_sequences", "video_run_identity"]

METRICS_FILE = "video_metrics.json"


@dataclass(frozen=True)
class PromptSpec:
    """How objects are prompted: ``kind`` ``"oracle"``, ``"propagate"`` (from the first frame's ``init``: ``"mask"``,
    ``"box"`` or ``"clicks"``) or ``"boxes"`` (tracker boxes from the JSON file ``boxes_file``)."""

    kind: str = "oracle"
    init: str = "mask"
    boxes_file: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("oracle", "propagate", "boxes"):
            raise ValueError(f"prompt kind {self.kind!r} is not accepted; use 'oracle', 'propagate' or 'boxes'")
        if self.kind == "boxes" and not self.boxes_file:
            raise ValueError("prompt kind 'boxes' needs the tracker-box JSON file (--prompt boxes FILE)")
        if self.init not in ("mask", "box", "clicks"):
            raise ValueError(f"init={self.init!r} is not accepted; use 'mask', 'box' or 'clicks'")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "init": self.init if self.kind == "propagate" else None,
                "boxes_file": None if self.boxes_file is None else str(Path(self.boxes_file).resolve())}


def make_source(spec: PromptSpec, sequence: str,
                tracker: Mapping[str, TrackerBoxes] | None = None) -> PromptSource:
    """A fresh :class:`~hqsam_nb.video.prompts.PromptSource` for one sequence."""
    if spec.kind == "oracle":
        return OracleBoxes()
    if spec.kind == "propagate":
        return Propagation(init=spec.init)  # type: ignore[arg-type]
    tracker = tracker if tracker is not None else load_tracker_boxes(spec.boxes_file)  # type: ignore[arg-type]
    if sequence not in tracker:
        raise ValueError(f"the tracker-box file has no boxes for sequence {sequence!r} (it has "
                         f"{', '.join(sorted(tracker)[:8])}{' ...' if len(tracker) > 8 else ''})")
    return tracker[sequence]


def prompt_sources(spec: PromptSpec, sequences: Sequence[DavisSequence]) -> dict[str, PromptSource]:
    """A fresh :class:`~hqsam_nb.video.prompts.PromptSource` per sequence, each checked against its sequence before
    any frame is decoded: tracker boxes must be keyed by the sequence's frame names
    (:meth:`~hqsam_nb.video.prompts.TrackerBoxes.check_frames`).

    Raises:
        FileNotFoundError, ValueError: an unreadable tracker-box file, a sequence it lacks, frame keys that name
            no frame.
    """
    tracker = load_tracker_boxes(spec.boxes_file) if spec.kind == "boxes" else None  # type: ignore[arg-type]
    sources = {}
    for seq in sequences:
        source = make_source(spec, seq.name, tracker)
        if isinstance(source, TrackerBoxes):
            source.check_frames(seq.frame_names)
        sources[seq.name] = source
    return sources


def _png(out_dir: Path, branch: str, sequence: str, frame: str) -> Path:
    return out_dir / branch / sequence / f"{frame}.png"


def evaluate_sequence(pair: PairPredictor, sequence: DavisSequence, out_dir: str | os.PathLike,
                      source: PromptSource, *, branches: Sequence[str] = BRANCH_KEYS,
                      on_frame: Callable[[int, bool], None] | None = None) -> dict[str, Any]:
    """Write one sequence's result PNGs for every branch (skipping frames already done) and return its timings.

    Args:
        pair: a :class:`~hqsam_nb.pair.PairPredictor`.
        sequence: a :class:`~hqsam_nb.video.davis.DavisSequence`.
        out_dir: the run folder; PNGs go to ``out_dir/<branch>/<sequence.name>/<frame>.png``.
        source: the prompts (:func:`make_source`); its state is reset for this sequence.
        branches: which branches to compute.
        on_frame: called after each frame as ``on_frame(index, computed)`` (a progress bar).

    Returns:
        ``{"sequence", "frames", "computed", "seconds"}``: frames in the sequence, frames computed by this call
        (the rest were done already) and the seconds spent computing them.
    """
    branches = check_branches(branches)
    out = Path(out_dir)
    ids = sequence.object_ids
    source.start(ids, sequence.masks(0))
    for b in branches:  # temporary files of a write that a crash (kill -9) cut short
        for stale in (out / b / sequence.name).glob(".*.png.*.tmp"):
            stale.unlink(missing_ok=True)
    previous: dict[str, np.ndarray] | None = None
    computed, seconds = 0, 0.0
    for t, name in enumerate(sequence.frame_names):
        paths = {b: _png(out, b, sequence.name, name) for b in branches}
        done = all(p.exists() for p in paths.values())
        if done and not source.needs_previous:
            if on_frame is not None:
                on_frame(t, False)
            continue
        gt = sequence.masks(t) if source.needs_ground_truth else None
        prompts = source.frame_prompts(t, name, branches, gt, previous)
        if done:  # replay: the state of propagation is the masks as stored
            labels = {b: read_label_png(p) for b, p in paths.items()}
        else:
            t0 = time.perf_counter()
            masks = decode_frame(pair, sequence.frames.frame(t), prompts, branches)
            labels = {b: masks_to_labels(masks[b], ids) for b in branches}
            for b in branches:
                write_label_png(paths[b], labels[b])
            seconds += time.perf_counter() - t0
            computed += 1
        previous = {b: labels_to_masks(labels[b], ids) for b in branches}
        if on_frame is not None:
            on_frame(t, not done)
    return {"sequence": sequence.name, "frames": len(sequence), "computed": computed, "seconds": seconds}


def result_masks(out_dir: str | os.PathLike, branch: str, sequence: DavisSequence, frame: str) -> np.ndarray:
    """A finished frame's masks as the run stored them: ``bool (K, H, W)``, one per object of ``sequence``."""
    return labels_to_masks(read_label_png(_png(Path(out_dir), branch, sequence.name, frame)), sequence.object_ids)


def score_sequence(sequence: DavisSequence, results_dir: str | os.PathLike,
                   bound_th: float = BOUND_TH) -> dict[str, Any]:
    """J and F of one sequence's result PNGs in ``results_dir/<sequence>/<frame>.png`` (one branch's folder).

    As the official semi-supervised evaluation: frames 1 .. n-2 (first and last left out), each object of the
    first annotation scored on every such frame (absent in both = 1).

    Returns:
        ``{"J&F", "J", "F", "frames", "J_per_frame", "F_per_frame", "per_object": {id: {"J", "F", "J_recall",
        "J_decay", "F_recall", "F_decay", "J_frames", "F_frames"}}}``; the per-frame lists are means over objects.

    Raises:
        FileNotFoundError: a result PNG is missing.
    """
    folder = Path(results_dir) / sequence.name
    ids = sequence.object_ids
    names = sequence.frame_names[1:-1]
    j = np.full((len(ids), len(names)), math.nan)
    f = np.full((len(ids), len(names)), math.nan)
    for c, name in enumerate(names, start=1):
        gt = sequence.masks(c)
        if gt is None:
            raise DavisError(f"sequence {sequence.name!r}: frame {name!r} has no annotation to score against")
        path = folder / f"{name}.png"
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: the run did not finish this frame; run it again")
        labels = read_label_png(path)
        if labels.shape != sequence.size:
            raise DavisError(f"{path}: result of size {labels.shape} for frames of size {sequence.size}")
        pred = labels_to_masks(labels, ids)
        for i in range(len(ids)):
            j[i, c - 1] = region_similarity(gt[i], pred[i])
            f[i, c - 1] = boundary_f_measure(gt[i], pred[i], bound_th)
    per_object = {}
    for i, k in enumerate(ids):
        sj, sf = davis_statistics(j[i]), davis_statistics(f[i])
        per_object[str(k)] = {"J": sj["mean"], "J_recall": sj["recall"], "J_decay": sj["decay"],
                              "F": sf["mean"], "F_recall": sf["recall"], "F_decay": sf["decay"],
                              "J_frames": j[i].tolist(), "F_frames": f[i].tolist()}
    jm = float(np.mean([o["J"] for o in per_object.values()])) if names else math.nan
    fm = float(np.mean([o["F"] for o in per_object.values()])) if names else math.nan
    return {"J&F": (jm + fm) / 2, "J": jm, "F": fm, "frames": list(names),
            "J_per_frame": j.mean(axis=0).tolist(), "F_per_frame": f.mean(axis=0).tolist(),
            "per_object": per_object}


def summarize_sequences(per_sequence: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """One branch's overall numbers from its sequences' :func:`score_sequence` results: means over all objects of
    all sequences (as the official evaluation averages), ``J&F = (J + F) / 2``, and ``per_sequence`` itself."""
    objects = [o for s in per_sequence.values() for o in s["per_object"].values()]

    def avg(key: str) -> float:
        vals = [o[key] for o in objects]
        return float(np.mean(vals)) if vals else math.nan

    out: dict[str, Any] = {key: avg(key) for key in ("J", "J_recall", "J_decay", "F", "F_recall", "F_decay")}
    out["J&F"] = (out["J"] + out["F"]) / 2
    out["n_objects"] = len(objects)
    out["per_sequence"] = dict(per_sequence)
    return out


def video_run_identity(dataset: DavisDataset, pair: PairPredictor, prompt: PromptSpec, branches: Sequence[str],
                       bound_th: float) -> RunIdentity:
    """The video run's identity (``run.json``): the data (resolved folder, subset's resolution), the model
    (:func:`~hqsam_nb.runs.identity.model_identity`: checkpoint content and encoder dtype included), the prompts
    (a tracker file by its content) and the branches must match for a resume."""
    model_same, model_recorded = model_identity(pair)
    boxes_path, boxes_sha = file_identity(prompt.boxes_file)
    # the tracker boxes by content (a file rewritten in place is another run); the path is only recorded
    prompt_same = {"kind": prompt.kind, "init": prompt.to_dict()["init"], "boxes_sha256": boxes_sha}
    return RunIdentity(
        "video",
        same={"dataset": str(dataset.root.resolve()), "resolution": dataset.resolution, **model_same,
              "prompt": prompt_same, "branches": list(branches)},
        recorded={"subset": dataset.subset, **model_recorded, "boxes_file": boxes_path, "bound_th": bound_th,
                  "units": "J, F, J&F, recall and decay as fractions in [0, 1]"},
        added_later=("checkpoint_sha256",),
    )


def run_video_evaluation(dataset: DavisDataset, pair: PairPredictor, out_dir: str | os.PathLike,
                         prompt: PromptSpec = PromptSpec(), *, branches: Sequence[str] = BRANCH_KEYS,
                         bound_th: float = BOUND_TH, progress: bool = True, restart: bool = False) -> dict[str, Any]:
    """Evaluate every sequence of ``dataset`` (resuming a previous run in ``out_dir``) and write
    ``video_metrics.json``; returns its content.

    Raises:
        ValueError: ``out_dir`` holds a run with other settings, or results without a ``run.json`` (use
            ``restart=True`` to discard it).
        KeyboardInterrupt: passed on; every finished frame is on disk, rerun to continue.
    """
    from tqdm.auto import tqdm

    branches = check_branches(branches)
    sequences = list(dataset)
    sources = prompt_sources(prompt, sequences)  # checked before the run folder is touched
    out = open_run(out_dir, video_run_identity(dataset, pair, prompt, branches, bound_th),
                   results=(*BRANCH_KEYS, METRICS_FILE), restart=restart)
    total = sum(len(s) for s in sequences)
    timings = []
    with tqdm(total=total, desc="frames", unit="frame", disable=not progress, dynamic_ncols=True) as bar:
        for seq in sequences:
            bar.set_description(seq.name)
            timings.append(evaluate_sequence(pair, seq, out, sources[seq.name],
                                             branches=branches, on_frame=lambda _t, _c: bar.update(1)))
    metrics = {}
    for b in branches:
        per_sequence = {seq.name: score_sequence(seq, out / b, bound_th) for seq in sequences}
        metrics[b] = {"label": BRANCHES[b].label, **summarize_sequences(per_sequence)}
    atomic_write_json(out / METRICS_FILE, metrics)
    computed = sum(t["computed"] for t in timings)
    seconds = sum(t["seconds"] for t in timings)
    if computed:
        logger.info("%d frames computed in %.1f s (%.2f frames/s, every object and branch of a frame included)",
                    computed, seconds, computed / seconds if seconds else math.nan)
    return metrics


def markdown(metrics: Mapping[str, Mapping[str, Any]]) -> str:
    """The overall table in percent, one row per branch."""
    from ..util import markdown_table

    keys = ("J&F", "J", "F", "J_recall", "F_recall", "J_decay", "F_decay")
    rows = [[m.get("label", b)] + [100 * float(m[k]) for k in keys] for b, m in metrics.items()]
    return markdown_table(["branch"] + [k.replace("_", " ") for k in keys], rows)
