"""Training curves: the loss per step and the validation mIoU / mBIoU per branch (thin matplotlib shells).

Branch names and colours come from :mod:`hqsam_nb.pair.branches`, as everywhere in the package.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..pair.branches import BRANCH_KEYS, BRANCHES

__all__ = ["before_after_figure", "curves_figure", "save_curves", "smooth"]


def smooth(values: Sequence[float], window: int = 10) -> np.ndarray:
    """Running mean over the last ``window`` values (the first ones over what there is)."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) == 0:
        return v
    c = np.cumsum(np.insert(v, 0, 0.0))
    idx = np.arange(1, len(v) + 1)
    lo = np.maximum(idx - window, 0)
    return (c[idx] - c[lo]) / (idx - lo)


def curves_figure(history: Mapping[str, Any], *, title: str | None = None, branches: Sequence[str] = BRANCH_KEYS):
    """Loss (left) and validation mIoU / mBIoU (right; solid mBIoU, dashed mIoU) against the step.

    Args:
        history: a run's history (:attr:`hqsam_nb.training.TrainResult.history`).
        branches: which branches' validation lines to draw.
    """
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_val) = plt.subplots(1, 2, figsize=(11, 3.8), constrained_layout=True)
    loss = np.asarray(history.get("loss", []), dtype=np.float64)
    if len(loss):
        steps = loss[:, 0]
        ax_loss.plot(steps, loss[:, 1], color="0.75", lw=1, label="loss per step")
        ax_loss.plot(steps, smooth(loss[:, 1]), color="0.1", lw=2, label="running mean (10 steps)")
        ax_loss.legend(loc="upper right", fontsize=9)
    ax_loss.set(xlabel="step", ylabel="BCE + dice (uncertain points)", title="training loss")
    val = history.get("validation", [])
    if val:
        steps = [v["step"] for v in val]
        for key in branches:
            b = BRANCHES[key]
            ax_val.plot(steps, [v["mbiou"][key] for v in val], "-o", color=b.hex, lw=2, ms=4,
                        label=f"{b.label} mBIoU")
            ax_val.plot(steps, [v["miou"][key] for v in val], "--", color=b.hex, lw=1, label=f"{b.label} mIoU")
        ax_val.legend(loc="best", fontsize=8)
    ax_val.set(xlabel="step", ylabel="held-out score", title="validation (box prompts)", ylim=(0, 1))
    if title:
        fig.suptitle(title)
    return fig


def save_curves(history: Mapping[str, Any], path: str | os.PathLike, *, title: str | None = None) -> Path:
    """:func:`curves_figure` saved as a PNG (atomically)."""
    import matplotlib.pyplot as plt

    from ..io.exports import save_figure

    fig = curves_figure(history, title=title)
    try:
        return save_figure(path, fig, report=True)
    finally:
        plt.close(fig)


def before_after_figure(before: Sequence[float], after: Sequence[float], names: Sequence[str], *,
                        metric: str = "boundary IoU", title: str | None = None):
    """Per example: the untrained vs the trained HQ token's score (one pair of bars per held-out example)."""
    import matplotlib.pyplot as plt

    b, a = np.asarray(before), np.asarray(after)
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(names) + 2), 3.6), constrained_layout=True)
    colour = BRANCHES["hq"].hex
    ax.bar(x - 0.2, b, 0.4, color="0.7", label=f"HQ token untrained (mean {b.mean():.3f})")
    ax.bar(x + 0.2, a, 0.4, color=colour, label=f"HQ token trained (mean {a.mean():.3f})")
    ax.set_xticks(x, names, rotation=70, fontsize=7)
    ax.set(ylabel=metric, ylim=(0, 1))
    ax.legend(loc="upper left", fontsize=9)
    if title:
        ax.set_title(title)
    return fig
