"""Plots of evaluation results: the summary bars, the paper-style point-count curves, per-image scatter, and
galleries that show what boundary IoU scores (the pixels of each boundary band, right and wrong).

The pure part is :func:`error_overlay` (numpy in, RGB ``uint8`` out); the rest are thin matplotlib shells that
return a ``Figure`` (nothing is shown or saved unless you ask:
:func:`hqsam_nb.io.exports.save_figure` writes atomically).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..drawing.figures import new_figure
from ..metrics.masks import ERROR_FN, ERROR_FP, ERROR_TP
from .paper_numbers import PAPER_POINT_MBIOU

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "BRANCH_COLOURS",
    "ERROR_COLOURS",
    "error_overlay",
    "plot_per_image",
    "plot_point_curves",
    "plot_summary",
    "show_boundary_gallery",
]

#: Colour-blind-safe colours (Okabe-Ito) per branch.
BRANCH_COLOURS = {"sam": "#0072B2", "hq": "#CC79A7", "fused": "#D55E00"}
_BRANCH_NAMES = {"sam": "SAM", "hq": "HQ-SAM (HQ token only)", "fused": "HQ-SAM"}
#: Boundary-band pixel colours: in both bands (TP), only the prediction's (FP), only the ground truth's (FN).
ERROR_COLOURS = {ERROR_TP: (0, 158, 115), ERROR_FP: (230, 159, 0), ERROR_FN: (86, 180, 233)}


def plot_summary(table: Sequence[Mapping[str, Any]], *, title: str | None = None) -> Figure:
    """A run's table as a figure: grouped bars for one prompt setting, curves for several.

    Args:
        table: :func:`hqsam_nb.evaluation.runner.summarize`'s output.
    """
    if len(table) > 1:
        return plot_point_curves({"": table}, paper=None, metrics=("mIoU", "mBIoU"), title=title)
    fig = new_figure((6.4, 3.6))
    subplots = fig.subplots
    ax = subplots()
    row = table[0] if table else {}
    branches = ("sam", "hq", "fused")
    width = 0.26
    for i, b in enumerate(branches):
        vals = [row.get(b, {}).get(m, math.nan) for m in ("mIoU", "mBIoU")]
        bars = ax.bar(np.arange(2) + (i - 1) * width, vals, width, color=BRANCH_COLOURS[b],
                      label=_BRANCH_NAMES[b])
        ax.bar_label(bars, fmt="%.1f", fontsize=8)
    ax.set_xticks(range(2), ["mIoU", "mBIoU"])
    ax.set_ylabel("percent")
    ax.set_ylim(0, 118)
    ax.legend(fontsize=8, loc="upper center", ncols=3, frameon=False)
    n = row.get("n_images", 0)
    ax.set_title(f"{title or ''}\n{row.get('setting', '')} prompt, {n} images".strip(), fontsize=10)
    return fig


def plot_point_curves(tables: Mapping[str, Sequence[Mapping[str, Any]]], *,
                      paper: Mapping[str, Mapping[str, tuple[float, float]]] | None = PAPER_POINT_MBIOU,
                      metrics: Sequence[str] = ("mBIoU",), branches: Sequence[str] = ("sam", "fused", "hq"),
                      title: str | None = None) -> Figure:
    """Accuracy against the number of point prompts, one panel per dataset (and metric), as in the paper's
    COIFT / DIS figure.

    Args:
        tables: dataset name -> :func:`~hqsam_nb.evaluation.runner.summarize` output of a ``prompt="points"`` run.
        paper: the paper's mBIoU per dataset name (drawn dotted where a dataset's name matches);
            None to leave them out.
        metrics: ``"mBIoU"`` and/or ``"mIoU"``.
        branches: which branches to draw.
        title: a title over all panels.
    """
    panels = [(name, m) for name in tables for m in metrics]
    fig = new_figure((4.2 * len(panels), 3.4))
    subplots = fig.subplots
    axes = np.atleast_1d(subplots(1, len(panels)))
    for ax, (name, metric) in zip(axes, panels, strict=True):
        table = tables[name]
        labels = [t["setting"] for t in table]
        x = np.arange(len(labels))
        for b in branches:
            ys = [t[b][metric] for t in table]
            ax.plot(x, ys, marker="o", color=BRANCH_COLOURS[b], label=f"{_BRANCH_NAMES[b]} (ours)",
                    linestyle="--" if b == "hq" else "-")
        ref = (paper or {}).get(name)
        if ref and metric == "mBIoU":
            for j, b in enumerate(("sam", "fused")):
                ys = [ref[s][j] if s in ref else math.nan for s in labels]
                ax.plot(x, ys, marker="s", markersize=3, linestyle=":", color=BRANCH_COLOURS[b],
                        label=f"{_BRANCH_NAMES[b]} (paper)")
        ax.set_xticks(x, labels)
        ax.set_xlabel("point prompts (positive [+ negative])")
        ax.set_ylabel(f"{metric} (%)")
        n = max((t["n_images"] for t in table), default=0)
        ax.set_title(f"{name} - {metric}, {n} images" if name else f"{metric}, {n} images", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def plot_per_image(records: Sequence[Mapping[str, Any]], *, setting: str | None = None,
                   metric: str = "biou") -> Figure:
    """Per image: SAM's score (x) against HQ-SAM's (y); above the diagonal HQ-SAM is better.

    Args:
        records: :func:`hqsam_nb.evaluate.load_records` output.
        setting: which prompt setting (default: the last of each image, e.g. ``"box"`` or ``"10+5neg"``).
        metric: ``"biou"`` or ``"iou"``.
    """
    xs, ys = [], []
    for rec in records:
        results = [r for r in rec.get("results", ()) if setting is None or r["setting"] == setting]
        if results:
            xs.append(results[-1][metric]["sam"])
            ys.append(results[-1][metric]["fused"])
    fig = new_figure((4, 4))
    subplots = fig.subplots
    ax = subplots()
    ax.plot([0, 1], [0, 1], color="0.6", linewidth=1)
    ax.scatter(xs, ys, s=14, color=BRANCH_COLOURS["fused"], alpha=0.8)
    name = "boundary IoU" if metric == "biou" else "IoU"
    ax.set_xlabel(f"SAM {name}")
    ax.set_ylabel(f"HQ-SAM {name}")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    wins = int(np.sum(np.asarray(ys) > np.asarray(xs)))
    ax.set_title(f"per image ({len(xs)}): HQ-SAM better on {wins}", fontsize=10)
    return fig


def error_overlay(image: np.ndarray, errors: np.ndarray, *, dim: float = 0.45) -> np.ndarray:
    """Boundary-band pixels drawn over a dimmed image.

    Args:
        image: RGB ``uint8`` ``H x W x 3``.
        errors: ``uint8`` ``H x W`` from :func:`hqsam_nb.metrics.boundary_errors`.
        dim: how much of the image's brightness is kept under the overlay.

    Returns:
        RGB ``uint8`` ``H x W x 3``: TP (both bands) green, FP (prediction's band only) orange, FN (ground
        truth's band only) sky blue - see :data:`ERROR_COLOURS`.
    """
    out = (image.astype(np.float32) * dim).astype(np.uint8)
    for label, colour in ERROR_COLOURS.items():
        out[errors == label] = colour
    return out


def _crop_box(mask: np.ndarray, margin: float = 0.08) -> tuple[slice, slice]:
    h, w = mask.shape
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if not len(rows):
        return slice(0, h), slice(0, w)
    my, mx = int(margin * (rows[-1] - rows[0] + 1)) + 2, int(margin * (cols[-1] - cols[0] + 1)) + 2
    return (slice(max(0, rows[0] - my), min(h, rows[-1] + my + 1)),
            slice(max(0, cols[0] - mx), min(w, cols[-1] + mx + 1)))


def show_boundary_gallery(items: Sequence[Mapping[str, Any]], *, branches: Sequence[str] = ("sam", "fused"),
                          title: str | None = None) -> Figure:
    """One row per image: the image with its ground-truth band, then each branch's boundary errors.

    Args:
        items: :func:`hqsam_nb.evaluate.gallery_items` output (``name``, ``image``, ``gt``, ``errors``
            per branch, ``biou`` per branch, optional ``box``).
        branches: the columns after the image.
    """
    from matplotlib.patches import Patch, Rectangle

    ncols = 1 + len(branches)
    fig = new_figure((3.3 * ncols, 3.0 * max(1, len(items))))
    subplots = fig.subplots
    axes = np.asarray(subplots(max(1, len(items)), ncols, squeeze=False))
    for row, item in zip(axes, items, strict=False):
        ys, xs = _crop_box(item["gt"])
        row[0].imshow(item["image"][ys, xs])
        if item.get("box") is not None:
            x0, y0, x1, y1 = item["box"]
            row[0].add_patch(Rectangle((x0 - xs.start, y0 - ys.start), x1 - x0, y1 - y0, fill=False,
                                       edgecolor="#F0E442", linewidth=1.2))
        row[0].set_title(f"{item['name']}", fontsize=9)
        for ax, b in zip(row[1:], branches, strict=True):
            ax.imshow(error_overlay(item["image"], item["errors"][b])[ys, xs], interpolation="nearest")
            ax.set_title(f"{_BRANCH_NAMES[b]}: boundary IoU {item['biou'][b]:.3f}", fontsize=9)
        for ax in row:
            ax.set_axis_off()
    handles = [Patch(color=np.array(c) / 255, label=lab) for lab, c in
               (("in both bands (counts for)", ERROR_COLOURS[ERROR_TP]),
                ("prediction's band only (FP)", ERROR_COLOURS[ERROR_FP]),
                ("ground truth's band only (FN)", ERROR_COLOURS[ERROR_FN]))]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig
