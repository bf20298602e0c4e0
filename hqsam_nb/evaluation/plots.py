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
from ..drawing.palette import BAND_PALETTE
from ..metrics.masks import ERROR_FN, ERROR_FP, ERROR_TP
from ..models.provenance import provenance_of
from ..notebook import stamp_figure
from ..pair.branches import BRANCHES, PAPER_BRANCH
from .paper_numbers import PAPER_POINT_MBIOU

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..models.provenance import ProvenanceLike

__all__ = [
    "BRANCH_COLOURS",
    "ERROR_COLOURS",
    "ERROR_LABELS",
    "boundary_bands_figure",
    "dataset_figure",
    "error_legend_handles",
    "error_overlay",
    "plot_per_image",
    "plot_point_curves",
    "plot_summary",
    "show_boundary_gallery",
]

#: Each branch's colour as ``#rrggbb`` (:mod:`hqsam_nb.pair.branches`, the colours of every figure).
BRANCH_COLOURS = {k: b.hex for k, b in BRANCHES.items()}
#: Boundary-band pixel colours (:data:`hqsam_nb.drawing.palette.BAND_PALETTE`): in both bands (TP) white, only
#: the prediction's (FP) magenta, only the ground truth's (FN) cyan - none of them a branch's colour or the
#: green / red of prompt points.
ERROR_COLOURS = {code: BAND_PALETTE.colors[k] for code, k in ((ERROR_TP, "tp"), (ERROR_FP, "fp"), (ERROR_FN, "fn"))}
#: Legend text for :data:`ERROR_COLOURS`.
ERROR_LABELS = {code: BAND_PALETTE.labels[k] for code, k in ((ERROR_TP, "tp"), (ERROR_FP, "fp"), (ERROR_FN, "fn"))}


def _noise_note(ax: Any, weights: ProvenanceLike) -> None:
    """On plots of numbers measured with random weights, say so on the plot itself."""
    info = provenance_of(weights)
    if info is not None and not info.official:
        ax.text(0.5, 0.5, "random weights:\nthese numbers are noise" if info.kind == "random" else
                "not the official weights", transform=ax.transAxes, ha="center", va="center", fontsize=16,
                color="#c00000", alpha=0.35, rotation=20, fontweight="bold", zorder=0)


def plot_summary(table: Sequence[Mapping[str, Any]], *, title: str | None = None,
                 weights: ProvenanceLike = None) -> Figure:
    """A run's table as a figure: grouped bars for one prompt setting, curves for several.

    Args:
        table: :func:`hqsam_nb.evaluation.runner.summarize`'s output.
        weights: the pair (or its ``WeightsProvenance``) the numbers came from: random weights are stamped on the plot.
    """
    if len(table) > 1:
        return plot_point_curves({"": table}, paper=None, metrics=("mIoU", "mBIoU"), title=title,
                                 weights=weights)
    fig = new_figure((8, 4.5))
    subplots = fig.subplots
    ax = subplots()
    row = table[0] if table else {}
    branches = ("sam", "hq", "fused")
    width = 0.26
    for i, b in enumerate(branches):
        vals = [row.get(b, {}).get(m, math.nan) for m in ("mIoU", "mBIoU")]
        bars = ax.bar(np.arange(2) + (i - 1) * width, vals, width, color=BRANCH_COLOURS[b],
                      label=BRANCHES[b].label)
        ax.bar_label(bars, fmt="%.1f", fontsize=10)
    ax.set_xticks(range(2), ["mIoU", "mBIoU"])
    ax.set_ylabel("percent")
    ax.set_ylim(0, 118)
    ax.legend(fontsize=10, loc="upper center", ncols=3, frameon=False)
    n = row.get("n_images", 0)
    ax.set_title(f"{title or ''}\n{row.get('setting', '')} prompt, {n} images".strip(), fontsize=12)
    _noise_note(ax, weights)
    return stamp_figure(fig, weights)


def plot_point_curves(tables: Mapping[str, Sequence[Mapping[str, Any]]], *,
                      paper: Mapping[str, Mapping[str, tuple[float, float]]] | None = PAPER_POINT_MBIOU,
                      metrics: Sequence[str] = ("mBIoU",), branches: Sequence[str] = ("sam", "hq", "fused"),
                      title: str | None = None, weights: ProvenanceLike = None) -> Figure:
    """Accuracy against the number of point prompts, one panel per dataset (and metric), as in the paper's
    COIFT / DIS figure.

    The y axis runs from 0 to 100 % (never zoomed onto the data, which would turn noise into a clear win);
    the legend sits beside the panels, off the curves.

    Args:
        tables: dataset name -> :func:`~hqsam_nb.evaluation.runner.summarize` output of a ``prompt="points"`` run.
        paper: the paper's mBIoU per dataset name (drawn dotted where a dataset's name matches; the paper's
            HQ-SAM curve is the HQ token's, ``PAPER_BRANCH["points"]``); None to leave them out.
        metrics: ``"mBIoU"`` and/or ``"mIoU"``.
        branches: which branches to draw.
        title: a title over all panels.
        weights: the pair (or its ``WeightsProvenance``) the numbers came from: random weights are stamped on the plot.
    """
    panels = [(name, m) for name in tables for m in metrics]
    fig = new_figure((5.5 * len(panels) + 3.2, 4.6))
    subplots = fig.subplots
    axes = np.atleast_1d(subplots(1, len(panels)))
    for ax, (name, metric) in zip(axes, panels, strict=True):
        table = tables[name]
        labels = [t["setting"] for t in table]
        x = np.arange(len(labels))
        for b in branches:
            ys = [t[b][metric] for t in table]
            ax.plot(x, ys, marker="o", color=BRANCH_COLOURS[b], label=f"{BRANCHES[b].label} (ours)",
                    linestyle="--" if b == "fused" else "-")
        ref = (paper or {}).get(name)
        if ref and metric == "mBIoU":
            for j, b in enumerate(("sam", PAPER_BRANCH["points"])):
                ys = [ref[s][j] if s in ref else math.nan for s in labels]
                ax.plot(x, ys, marker="s", markersize=4, linestyle=":", color=BRANCH_COLOURS[b],
                        label=f"{BRANCHES[b].label} (paper)")
        ax.set_xticks(x, labels)
        ax.set_xlabel("point prompts (positive [+ negative])")
        ax.set_ylabel(f"{metric} (%)")
        ax.set_ylim(0, 100)
        n = max((t["n_images"] for t in table), default=0)
        ax.set_title(f"{name} - {metric}, {n} images" if name else f"{metric}, {n} images", fontsize=12)
        ax.grid(alpha=0.3)
        _noise_note(ax, weights)
    handles, labels_ = axes[0].get_legend_handles_labels()
    for ax in axes[1:]:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels_:
                handles.append(h)
                labels_.append(lab)
    fig.legend(handles, labels_, loc="outside right center", fontsize=10, frameon=False)
    if title:
        fig.suptitle(title, fontsize=13)
    return stamp_figure(fig, weights)


def plot_per_image(records: Sequence[Mapping[str, Any]], *, setting: str | None = None,
                   metric: str = "biou", branch: str = PAPER_BRANCH["hq_datasets"],
                   weights: ProvenanceLike = None) -> Figure:
    """Per image: SAM's score (x) against an HQ-SAM branch's (y); above the diagonal HQ-SAM is better.

    Args:
        records: :func:`hqsam_nb.evaluate.load_records` output.
        setting: which prompt setting (default: the last of each image, e.g. ``"box"`` or ``"10+5neg"``).
        metric: ``"biou"`` or ``"iou"``.
        branch: ``"hq"`` (default, the branch of the paper's HQ-dataset numbers) or ``"fused"``.
        weights: the pair (or its ``WeightsProvenance``) the numbers came from: random weights are stamped on the plot.
    """
    xs, ys = [], []
    for rec in records:
        results = [r for r in rec.get("results", ()) if setting is None or r["setting"] == setting]
        if results:
            xs.append(results[-1][metric]["sam"])
            ys.append(results[-1][metric][branch])
    fig = new_figure((5.5, 5.8))
    subplots = fig.subplots
    ax = subplots()
    ax.plot([0, 1], [0, 1], color="0.6", linewidth=1)
    ax.scatter(xs, ys, s=20, color=BRANCH_COLOURS[branch], alpha=0.8)
    name = "boundary IoU" if metric == "biou" else "IoU"
    ax.set_xlabel(f"SAM {name}")
    ax.set_ylabel(f"{BRANCHES[branch].label} {name}")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    wins = int(np.sum(np.asarray(ys) > np.asarray(xs)))
    losses = int(np.sum(np.asarray(ys) < np.asarray(xs)))
    ax.set_title(f"per image ({len(xs)}): {BRANCHES[branch].short} better on {wins}, worse on {losses}",
                 fontsize=11)
    _noise_note(ax, weights)
    return stamp_figure(fig, weights)


def error_overlay(image: np.ndarray, errors: np.ndarray, *, dim: float = 0.45) -> np.ndarray:
    """Boundary-band pixels drawn over a dimmed image.

    Args:
        image: RGB ``uint8`` ``H x W x 3``.
        errors: ``uint8`` ``H x W`` from :func:`hqsam_nb.metrics.boundary_errors`.
        dim: how much of the image's brightness is kept under the overlay.

    Returns:
        RGB ``uint8`` ``H x W x 3``: TP (both bands) white, FP (prediction's band only) magenta, FN (ground
        truth's band only) cyan - see :data:`ERROR_COLOURS`.
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


def show_boundary_gallery(items: Sequence[Mapping[str, Any]], *,
                          branches: Sequence[str] = ("sam", PAPER_BRANCH["hq_datasets"]),
                          title: str | None = None, weights: ProvenanceLike = None) -> Figure:
    """One row per image: the image with its ground-truth band, then each branch's boundary errors.

    Args:
        items: :func:`hqsam_nb.evaluate.gallery_items` output (``name``, ``image``, ``gt``, ``errors``
            per branch, ``biou`` per branch, optional ``box``).
        branches: the columns after the image (default SAM and the HQ token, the paper's HQ-dataset branch).
        weights: the pair (or its ``WeightsProvenance``) the masks came from: random weights are stamped on the figure.
    """
    from matplotlib.patches import Rectangle

    from ..drawing.palette import BOX_COLOR

    ncols = 1 + len(branches)
    fig = new_figure((4.4 * ncols, 4.2 * max(1, len(items)) + 1.0))
    subplots = fig.subplots
    axes = np.asarray(subplots(max(1, len(items)), ncols, squeeze=False))
    for row, item in zip(axes, items, strict=False):
        ys, xs = _crop_box(item["gt"])
        row[0].imshow(item["image"][ys, xs])
        if item.get("box") is not None:
            x0, y0, x1, y1 = item["box"]
            row[0].add_patch(Rectangle((x0 - xs.start, y0 - ys.start), x1 - x0, y1 - y0, fill=False,
                                       edgecolor="#{:02x}{:02x}{:02x}".format(*BOX_COLOR), linewidth=2))
        row[0].set_title(f"{item['name']}", fontsize=12)
        for ax, b in zip(row[1:], branches, strict=True):
            ax.imshow(error_overlay(item["image"], item["errors"][b])[ys, xs], interpolation="nearest")
            ax.set_title(f"{BRANCHES[b].label}: boundary IoU {item['biou'][b]:.3f}", fontsize=12)
        for ax in row:
            ax.set_axis_off()
    fig.legend(handles=error_legend_handles(), loc="outside lower center", ncols=3, fontsize=11, frameon=False)
    if title:
        fig.suptitle(title, fontsize=13)
    return stamp_figure(fig, weights)


def error_legend_handles() -> list[Any]:
    """Legend patches for :data:`ERROR_COLOURS` (black-edged, so the white one shows on a white page)."""
    from matplotlib.patches import Patch

    return [Patch(facecolor=np.array(ERROR_COLOURS[k]) / 255, edgecolor="black", linewidth=0.6,
                  label=ERROR_LABELS[k]) for k in (ERROR_TP, ERROR_FP, ERROR_FN)]


def boundary_bands_figure(cases: Sequence[tuple[str, np.ndarray, np.ndarray]], *, panel_size: float = 4.2
                          ) -> Figure:
    """Boundary IoU's bands, drawn: one panel per ``(title, gt, pred)`` case, band pixels coloured by
    :data:`ERROR_COLOURS` over a light grey background, each panel's title giving mask IoU and boundary IoU,
    the legend under the panels.

    Args:
        cases: ``(title, gt, pred)`` with ``bool`` ``H x W`` masks (each case its own size).
    """
    from ..metrics.masks import boundary_errors, boundary_iou, mask_iou

    cases = list(cases)
    if not cases:
        raise ValueError("cases is empty: give (title, gt, pred) triples")
    fig = new_figure((panel_size * len(cases), panel_size + 1.3))
    axes = np.atleast_1d(fig.subplots(1, len(cases)))
    for ax, (title, gt, pred) in zip(axes, cases, strict=True):
        canvas = np.full((*gt.shape, 3), 230, np.uint8)
        canvas[gt & ~pred] = 200
        ax.imshow(error_overlay(canvas, boundary_errors(gt, pred), dim=1.0), interpolation="nearest")
        ax.set_title(f"{title}\nIoU {mask_iou(gt, pred):.2f}, boundary IoU {boundary_iou(gt, pred):.2f}",
                     fontsize=12)
        ax.set_axis_off()
    fig.legend(handles=error_legend_handles(), loc="outside lower center", ncols=3, fontsize=11, frameon=False)
    return fig


def dataset_figure(dataset: Any, n: int = 4, *, panel_size: float = 3.6) -> Figure:
    """The first ``n`` examples of a :class:`~hqsam_nb.evaluation.datasets.Dataset`: image above, ground-truth
    mask below, each titled with its name and size (width x height)."""
    n = min(int(n), len(dataset))
    if n < 1:
        raise ValueError(f"dataset {getattr(dataset, 'name', '')!r} is empty, or n={n} < 1")
    fig = new_figure((panel_size * n, panel_size * 1.6 + 0.6))
    axes = np.asarray(fig.subplots(2, n, squeeze=False))
    for i in range(n):
        ex = dataset[i]
        axes[0, i].imshow(ex.image)
        axes[0, i].set_title(f"{ex.name}\n{ex.image.shape[1]} x {ex.image.shape[0]}", fontsize=11)
        axes[1, i].imshow(ex.mask, cmap="gray", interpolation="nearest")
        axes[1, i].set_title("ground truth", fontsize=11)
        for ax in axes[:, i]:
            ax.set_axis_off()
    return fig
