"""Training figures (thin matplotlib shells over numpy): the prompts of the recipe, the loss's sampled points, the
curves of a run, and the HQ token before vs after training.

Branch names and colours come from :mod:`hqsam_nb.pair.branches`; figures are made with
:func:`hqsam_nb.drawing.new_figure` (no pyplot state) and stamped by :func:`hqsam_nb.notebook.stamp_figure` when
``weights`` says they were made with random weights.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..drawing.figures import new_figure, show_box, show_mask, show_points
from ..io.exports import save_figure
from ..notebook import stamp_figure
from ..pair.branches import BRANCH_KEYS, BRANCHES
from .prompts import TrainPrompt

__all__ = ["before_after_figure", "curves_figure", "loss_points_figure", "masks_before_after_figure",
           "prompts_figure", "save_curves", "smooth"]

_GT_COLOR = (40, 200, 90)


def smooth(values: Sequence[float], window: int = 10) -> np.ndarray:
    """Running mean over the last ``window`` values (the first ones over what there is)."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) == 0:
        return v
    c = np.cumsum(np.insert(v, 0, 0.0))
    idx = np.arange(1, len(v) + 1)
    lo = np.maximum(idx - window, 0)
    return (c[idx] - c[lo]) / (idx - lo)


def curves_figure(history: Mapping[str, Any], *, title: str | None = None, branches: Sequence[str] = BRANCH_KEYS,
                  weights: Any = None):
    """Loss (left) and validation mBIoU / mIoU per branch (right; solid mBIoU, dashed mIoU) against the step.

    Args:
        history: a run's history (:attr:`hqsam_nb.training.TrainResult.history`).
        branches: which branches' validation lines to draw.
        weights: stamp the figure when these are random weights (see :func:`hqsam_nb.notebook.stamp_figure`).
    """
    fig = new_figure((11, 3.8))
    ax_loss, ax_val = fig.subplots(1, 2)
    loss = np.asarray(history.get("loss", []), dtype=np.float64)
    if len(loss):
        steps = loss[:, 0]
        ax_loss.plot(steps, loss[:, 1], color="0.75", lw=1, label="loss of each step")
        ax_loss.plot(steps, smooth(loss[:, 1]), color="0.1", lw=2, label="running mean of 10 steps")
        ax_loss.legend(loc="upper right", fontsize=9)
    ax_loss.set(xlabel="step", ylabel="BCE + dice on sampled points", title="training loss")
    val = history.get("validation", [])
    if val:
        steps = [v["step"] for v in val]
        for key in branches:
            b = BRANCHES[key]
            ax_val.plot(steps, [v["mbiou"][key] for v in val], "-o", color=b.hex, lw=2, ms=4,
                        label=f"{b.label} mBIoU")
            ax_val.plot(steps, [v["miou"][key] for v in val], "--", color=b.hex, lw=1, label=f"{b.label} mIoU")
        ax_val.legend(loc="upper left", fontsize=8)
    ax_val.set(xlabel="step", ylabel="held-out score (box prompts)", title="validation", ylim=(0, 1))
    if title:
        fig.suptitle(title)
    return stamp_figure(fig, weights)


def save_curves(history: Mapping[str, Any], path: str | os.PathLike, *, title: str | None = None,
                weights: Any = None) -> Path:
    """:func:`curves_figure` saved as a PNG (atomically; marked as a report file, not a notebook figure)."""
    return save_figure(path, curves_figure(history, title=title, weights=weights), report=True)


def prompts_figure(image: np.ndarray, target: np.ndarray, prompts: Sequence[TrainPrompt], *,
                   title: str | None = None):
    """The view's image with the ground truth, then each prompt as the model receives it.

    Args:
        image: RGB ``uint8`` ``h x w x 3``, the training view (input frame, before padding).
        target: ``float32`` ``S x S`` ground truth of the view (``S`` = 1024, zero-padded).
        prompts: e.g. one of each kind (:data:`~hqsam_nb.training.prompts.PROMPT_KINDS`).
    """
    h, w = image.shape[:2]
    fig = new_figure((3.6 * (len(prompts) + 1), 3.9))
    axes = np.atleast_1d(fig.subplots(1, len(prompts) + 1))
    gt = target[:h, :w] > 0.5
    axes[0].imshow(image)
    show_mask(axes[0], gt, _GT_COLOR, alpha=0.55)
    axes[0].set_title("view + ground truth (green)", fontsize=11)
    names = {"box": "box: the mask's tight box", "points": "10 positive points in the mask",
             "noisy_mask": "noisy mask (mask_input, 256 x 256)"}
    for ax, prompt in zip(axes[1:], prompts, strict=True):
        if prompt.kind == "noisy_mask":
            ax.imshow(prompt.mask_input[: (h + 3) // 4, : (w + 3) // 4] > 0, cmap="gray", interpolation="nearest")
        else:
            ax.imshow(image)
            if prompt.box is not None:
                show_box(ax, prompt.box)
            if prompt.points is not None:
                show_points(ax, prompt.points, size=120)
        ax.set_title(names[prompt.kind], fontsize=11)
    for ax in axes:
        ax.set_axis_off()
    if title:
        fig.suptitle(title)
    return fig


def loss_points_figure(logits: np.ndarray, target: np.ndarray, coords: np.ndarray, n_uncertain: int, *,
                       size: tuple[int, int] | None = None, title: str | None = None):
    """Where the loss looks: the HQ token's low-res logits with the sampled points over the ground truth.

    Args:
        logits: ``float`` ``256 x 256`` (input frame).
        target: ``float`` ``S x S`` ground truth in the input frame.
        coords: ``(P, 2)`` ``(x, y)`` in ``[0, 1]``: the first ``n_uncertain`` chosen by uncertainty, the rest at
            random (:func:`~hqsam_nb.training.loss.uncertain_points`).
        size: ``(h, w)`` of the image inside the input frame, to crop the padding away (default: all).
    """
    s = target.shape[0]
    h, w = size or (s, s)
    fig = new_figure((10.5, 4.6))
    ax_l, ax_t = fig.subplots(1, 2)
    lim = float(np.abs(logits).max()) or 1.0
    shown = ax_l.imshow(logits, cmap="RdBu_r", vmin=-lim, vmax=lim, extent=(0, s, s, 0), interpolation="nearest")
    fig.colorbar(shown, ax=ax_l, fraction=0.046, label="logit")
    ax_l.set_title("HQ token logits (untrained)", fontsize=11)
    ax_t.imshow(target, cmap="gray", extent=(0, s, s, 0), interpolation="nearest")
    xy = np.asarray(coords) * s
    ax_t.scatter(xy[n_uncertain:, 0], xy[n_uncertain:, 1], s=3, color="#56b4e9",
                 label=f"{len(xy) - n_uncertain} random points")
    ax_t.scatter(xy[:n_uncertain, 0], xy[:n_uncertain, 1], s=3, color="#e69f00",
                 label=f"{n_uncertain} most uncertain (|logit| smallest)")
    ax_t.set_title("ground truth + the loss's points", fontsize=11)
    ax_t.legend(loc="lower left", fontsize=8, markerscale=4, framealpha=0.9)
    for ax in (ax_l, ax_t):
        ax.set_xlim(0, w)
        ax.set_ylim(h, 0)
        ax.set_axis_off()
    if title:
        fig.suptitle(title)
    return fig


def before_after_figure(before: Sequence[float], after: Sequence[float], names: Sequence[str], *,
                        metric: str = "boundary IoU", title: str | None = None, weights: Any = None):
    """Per example: the untrained vs the trained HQ token's score (a pair of bars per held-out example)."""
    b, a = np.asarray(before), np.asarray(after)
    x = np.arange(len(names))
    fig = new_figure((max(6.0, 0.4 * len(names) + 2), 3.8))
    ax = fig.subplots()
    ax.bar(x - 0.2, b, 0.4, color="0.65", label=f"HQ token untrained (mean {b.mean():.3f})")
    ax.bar(x + 0.2, a, 0.4, color=BRANCHES["hq"].hex, label=f"HQ token trained (mean {a.mean():.3f})")
    ax.set_xticks(x, names, rotation=70, fontsize=8)
    ax.set(ylabel=f"{metric} (held-out)", ylim=(0, 1))
    ax.legend(loc="upper left", fontsize=9)
    if title:
        ax.set_title(title, fontsize=11)
    return stamp_figure(fig, weights)


def masks_before_after_figure(rows: Sequence[Mapping[str, Any]], *, title: str | None = None, weights: Any = None):
    """Held-out examples, one per row: image + box prompt | ground truth | untrained HQ token | trained HQ token.

    Args:
        rows: per example ``{"name", "image" (uint8 H x W x 3), "mask" (bool), "box" (4,), "before" (bool mask),
            "after" (bool mask), "biou_before", "biou_after"}``.
    """
    n = len(rows)
    h, w = rows[0]["image"].shape[:2]
    fig = new_figure((13.0, 3.3 * n * h / w + 0.8))
    axes = np.asarray(fig.subplots(n, 4)).reshape(n, 4)
    colour = BRANCHES["hq"].color
    for r, row in enumerate(rows):
        ax = axes[r]
        ax[0].imshow(row["image"])
        show_box(ax[0], row["box"])
        ax[1].imshow(row["image"])
        show_mask(ax[1], row["mask"], _GT_COLOR, alpha=0.6)
        for a, key, label in ((ax[2], "before", "untrained"), (ax[3], "after", "trained")):
            a.imshow(row["image"])
            show_mask(a, row[key], colour, alpha=0.6)
            a.set_title(f"HQ token {label}: boundary IoU {row['biou_' + key]:.2f}", fontsize=10)
        ax[0].set_title(f"{row['name']}: box prompt", fontsize=10)
        ax[1].set_title("ground truth", fontsize=10)
        for a in ax:
            a.set_axis_off()
    if title:
        fig.suptitle(title)
    return stamp_figure(fig, weights)
