"""Figures for a clip: J&F per frame per branch, where two branches drift apart, and rows of export frames.

Thin matplotlib shells (:func:`~hqsam_nb.drawing.figures.new_figure`) over the numbers of
:func:`~hqsam_nb.video.runner.run_video_evaluation` and the pictures of :mod:`hqsam_nb.video.exports`. Each figure
takes a ``note`` that is printed on the figure itself (e.g. :func:`weights_note`: "RANDOM weights"), so that a
figure copied out of a notebook still says what it shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..drawing.figures import new_figure
from ..models.provenance import provenance_of
from ..pair.branches import BRANCHES

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..models.provenance import ProvenanceLike

__all__ = ["drift_frames", "jf_per_frame", "plot_jf_per_frame", "show_pictures", "weights_note"]


def weights_note(weights: ProvenanceLike) -> str | None:
    """A warning for figures when the weights are not the official ones (a
    :class:`~hqsam_nb.models.provenance.WeightsProvenance`, or a pair carrying one as ``.info``); None for official
    weights or None given."""
    info = provenance_of(weights)
    return None if info is None else {
        "official": None,
        "random": "RANDOM weights: masks and scores are meaningless",
        "fine-tuned": "FINE-TUNED weights: not the paper's HQ-SAM",
        "unknown": "NOT the official weights: these are not HQ-SAM's masks",
    }[info.kind]


def jf_per_frame(metrics: Mapping[str, Any], sequence: str, branch: str) -> tuple[list[str], np.ndarray]:
    """One branch's per-frame J&F on one sequence (mean over objects; first and last frames are not scored).

    Args:
        metrics: the content of ``video_metrics.json`` (``{branch: {..., "per_sequence": ...}}``).

    Returns:
        ``(frame names, J&F)`` with ``J&F = (J + F) / 2`` per frame, fractions in ``[0, 1]``.
    """
    if branch not in metrics:
        raise ValueError(f"branch {branch!r} is not in these metrics (they hold {', '.join(metrics)})")
    per = metrics[branch]["per_sequence"]
    if sequence not in per:
        raise ValueError(f"sequence {sequence!r} is not in these metrics (they hold {', '.join(per)})")
    s = per[sequence]
    return list(s["frames"]), (np.asarray(s["J_per_frame"]) + np.asarray(s["F_per_frame"])) / 2


def drift_frames(metrics: Mapping[str, Any], sequence: str, a: str = "sam", b: str = "fused",
                 k: int = 3) -> list[tuple[str, float]]:
    """The frames where branch ``b``'s J&F differs most from branch ``a``'s: ``[(frame, jf_b - jf_a), ...]``,
    largest absolute difference first (at most ``k``)."""
    names, ja = jf_per_frame(metrics, sequence, a)
    _, jb = jf_per_frame(metrics, sequence, b)
    order = np.argsort(-np.abs(jb - ja), kind="stable")[:k]
    return [(names[i], float(jb[i] - ja[i])) for i in order]


def plot_jf_per_frame(metrics: Mapping[str, Any], sequence: str, branches: Sequence[str] | None = None, *,
                      note: str | None = None, title: str | None = None) -> Figure:
    """J&F per frame of each branch on one sequence, in percent, in the branches' colours.

    The legend gives each branch's sequence J&F; ``note`` is written on the figure (e.g. :func:`weights_note`).
    """
    branches = list(branches) if branches is not None else [b for b in BRANCHES if b in metrics]
    fig = new_figure((9.5, 3.4))
    ax = fig.add_subplot()
    for key in branches:
        names, jf = jf_per_frame(metrics, sequence, key)
        seq_jf = metrics[key]["per_sequence"][sequence]["J&F"]
        ax.plot(range(1, len(names) + 1), 100 * jf, marker="o", ms=4, color=BRANCHES[key].hex,
                label=f"{BRANCHES[key].label}: J&F {100 * seq_jf:.1f}")
    ax.set_xlabel("frame (first and last are not scored)")
    ax.set_ylabel("J&F (%)")
    ax.set_ylim(-2, 102)
    ax.grid(alpha=0.3)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.set_title(title or f"{sequence}: J&F per frame")
    if note:
        ax.text(0.99, 0.97, note, transform=ax.transAxes, ha="right", va="top", fontsize=9, color="#c2410c",
                weight="bold", bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "#c2410c"})
    return fig


def show_pictures(pictures: Sequence[np.ndarray], titles: Sequence[str] | None = None, *, note: str | None = None,
                  width: float = 12.0, difference_of: str | None = None) -> Figure:
    """Pictures (``uint8`` ``H x W x 3``, e.g. :func:`~hqsam_nb.video.exports.comparison_frame`) one under the
    other, each with an optional title; ``note`` is written across the top of the figure; ``difference_of``
    (``"hq"`` or ``"fused"``) adds the legend of SAM vs that branch's difference map under the pictures."""
    if not pictures:
        raise ValueError("pictures is empty")
    heights = [p.shape[0] / p.shape[1] for p in pictures]
    fig = new_figure((width, width * sum(heights) + 0.5 * len(pictures) + (0.4 if note else 0)))
    axes = fig.subplots(len(pictures), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    for i, (ax, pic) in enumerate(zip(axes, pictures, strict=True)):
        ax.imshow(pic, interpolation="nearest")
        ax.set_axis_off()
        if titles is not None:
            ax.set_title(titles[i], fontsize=10)
    if note:
        fig.suptitle(note, color="#c2410c", weight="bold", fontsize=11)
    if difference_of is not None:
        from ..drawing.figures import _figure_diff_legend

        _figure_diff_legend(fig, other=difference_of)
    return fig
