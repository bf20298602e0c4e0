"""Figures for the video-instance protocol: a video's frames with the VIS model's boxes and the ground truth,
then each branch's masks per track.

A thin matplotlib shell over :func:`hqsam_nb.drawing.overlays.overlay_masks` and
:func:`hqsam_nb.drawing.figures.show_box`; it returns a ``Figure`` (shown as a notebook cell's value). For the
frames where two branches differ most, :func:`~hqsam_nb.video.ytvis_protocol.track_frames` feeds
:func:`hqsam_nb.evaluation.plots.show_boundary_gallery`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..drawing.figures import new_figure, show_box
from ..drawing.overlays import overlay_masks
from ..drawing.palette import BOX_COLOR, OBJECT_COLORS
from ..io.coco_format import segmentation_to_mask
from ..notebook import stamp_figure
from ..pair.branches import BRANCHES, PAPER_BRANCH

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .ytvis import YtvisDataset

__all__ = ["TRACK_COLORS", "show_track_frames", "show_ytvis_video"]

#: One colour per track, by its position in the video: the package's object colours
#: (:data:`~hqsam_nb.drawing.palette.OBJECT_COLORS`), none of which is a branch's, a prompt's or "both"'s colour.
TRACK_COLORS = OBJECT_COLORS


def show_ytvis_video(dataset: YtvisDataset, records: Sequence[Mapping[str, Any]] | None = None, *,
                     results: str | os.PathLike | Sequence[Mapping[str, Any]] | None = None, video: int | str = 0,
                     frames: int = 3, branches: Sequence[str] = ("sam", PAPER_BRANCH["video"]),
                     weights: Any = None) -> Figure:
    """One row per frame (``frames`` of them, evenly spread): the ground-truth tracks and the prompt boxes, then,
    given the prompting ``results``, the VIS model's own masks, then, given the run's ``records``, each branch's
    mask of every track.

    In the first column each ground-truth track has one colour of :data:`TRACK_COLORS`; in the others each
    *prompting* track has one, the same for the VIS model's mask and every branch's on every frame (an identity
    switch shows as two colours trading objects); the boxes are drawn in the prompt colour, named by the legend.

    Args:
        dataset: a :class:`~hqsam_nb.video.ytvis.YtvisDataset`.
        records: the run's records (:class:`~hqsam_nb.video.ytvis_protocol.YtvisRun` ``.records``); None: no
            branch columns.
        results: the VIS model's results the dataset was opened with (path or list); None: no such column.
        video: its position in the dataset or its name. frames: how many frames (rows).
        branches: the columns of the run (default SAM and the fused mask, the paper's video branch).
        weights: the pair (or ``WeightsInfo``) the run's masks came from: random weights are stamped on the figure.
    """
    from matplotlib.patches import Patch

    from ..io.exports import rle_to_mask

    index = dataset.names.index(video) if isinstance(video, str) else int(video)
    v = dataset[index]
    h, w = v.height, v.width
    rec = next((r for r in records or () if r["image"] == v.name), None)
    vis = None
    if results is not None:
        from ..io.ytvis_format import load_ytvis_results

        listed = load_ytvis_results(results, dataset.annotations)
        vis = [listed[tr.index]["segmentations"] for tr in v.tracks]
    ts = sorted({int(round(x)) for x in np.linspace(0, len(v) - 1, max(1, min(frames, len(v))))})
    cols = 1 + (vis is not None) + (len(branches) if records is not None else 0)
    fig = new_figure((3.3 * cols, 2.9 * len(ts) + 0.6))
    grid = np.asarray(fig.subplots(len(ts), cols, squeeze=False))
    gts = [a for a in dataset.annotations["annotations"] if a["video_id"] == v.video_id]

    def colours(n: int) -> list[tuple[int, int, int]]:
        return [TRACK_COLORS[k % len(TRACK_COLORS)] for k in range(n)]

    for row, t in zip(grid, ts, strict=True):
        image = v.frame(t)
        present = [(k, a) for k, a in enumerate(gts) if a["segmentations"][t] is not None]
        masks = [segmentation_to_mask(a["segmentations"][t], h, w) for _, a in present]
        row[0].imshow(overlay_masks(image, masks, [colours(len(gts))[k] for k, _ in present]) if masks else image)
        boxes = [tr.boxes[t] for tr in v.tracks if tr.present(t)]
        for box in boxes:
            show_box(row[0], box, linewidth=1.2)
        row[0].set_title(f"frame {t}: {len(masks)} objects, {len(boxes)} boxes", fontsize=9)
        cs = colours(len(v.tracks))
        if vis is not None:
            drawn = [(k, segs[t]) for k, segs in enumerate(vis) if segs[t] is not None]
            out = [segmentation_to_mask(seg, h, w) for _, seg in drawn]
            row[1].imshow(overlay_masks(image, out, [cs[k] for k, _ in drawn]) if out else image)
            row[1].set_title(f"VIS model: {sum(m.any() for m in out)} tracks", fontsize=9)
        for ax, b in zip(row[1 + (vis is not None):], branches, strict=False):
            if rec is None:
                ax.set_title(f"{BRANCHES[b].label}: not run", fontsize=9)
                continue
            drawn = [(k, c) for k, tr in enumerate(rec["tracks"]) if (c := tr["counts"][b][t]) is not None]
            out = [rle_to_mask({"size": [h, w], "counts": c}) for _, c in drawn]
            ax.imshow(overlay_masks(image, out, [cs[k] for k, _ in drawn]) if out else image)
            ax.set_title(f"{BRANCHES[b].label}: {len(out)} tracks", fontsize=9)
        for ax in row:
            ax.set_axis_off()
    title = (f"{v.name}: ground truth + the prompt boxes" + (", the VIS model's tracks" if vis is not None else "")
             + (", each branch's masks" if records is not None else ""))
    fig.suptitle(title, fontsize=10)
    box = Patch(facecolor="none", edgecolor=np.array(BOX_COLOR) / 255, linewidth=1.2,
                label="prompt box (a track's box on that frame)")
    fig.legend(handles=[box], loc="outside lower center", fontsize=9, frameon=False)
    return stamp_figure(fig, weights) if records is not None else fig


def show_track_frames(dataset: YtvisDataset, records: Sequence[Mapping[str, Any]], pick: Mapping[str, Any], *,
                      n: int = 3, branches: Sequence[str] = ("sam", PAPER_BRANCH["video"]),
                      weights: Any = None) -> Figure:
    """One track of :func:`~hqsam_nb.video.ytvis_protocol.track_differences`, ``n`` of its frames (one per row):
    the frame with its prompt box, then each branch's boundary errors against the ground truth
    (:func:`hqsam_nb.evaluation.plots.show_boundary_gallery`: the colours of its legend)."""
    from ..evaluation.plots import show_boundary_gallery
    from .ytvis_protocol import track_frames

    title = (f"{pick['video']}, track {pick['index']}: boundary tube IoU "
             + ", ".join(f"{BRANCHES[b].label} {pick['boundary'][b]:.3f}" for b in branches if b in pick["boundary"]))
    return show_boundary_gallery(track_frames(dataset, records, pick, n=n), branches=branches, title=title,
                                 weights=weights)
