"""Figures for the COCO protocol: each image's ground-truth objects and prompt boxes, then each branch's masks.

A thin matplotlib shell over :func:`hqsam_nb.drawing.overlays.overlay_masks` and
:func:`hqsam_nb.drawing.figures.show_box`; it returns a ``Figure`` (shown as a notebook cell's value).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..drawing.figures import new_figure, show_box
from ..drawing.overlays import overlay_masks
from ..io.coco_format import segmentation_to_mask
from ..pair.branches import BRANCHES

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .coco import CocoDataset

__all__ = ["show_coco_images"]


def show_coco_images(dataset: CocoDataset, records: Sequence[Mapping[str, Any]] | None = None, *,
                     branches: Sequence[str] = ("sam", "fused"), k: int = 3, note: str | None = None) -> Figure:
    """One row per image: its ground-truth objects (one colour each) with the prompt boxes, then, given the
    run's ``records``, every box's mask per branch.

    Args:
        dataset: a :class:`~hqsam_nb.evaluation.coco.CocoDataset`.
        records: the run's records (:class:`~hqsam_nb.evaluation.coco.CocoRun` ``.records``); None draws the
            ground truth only.
        branches: the columns after the ground truth. k: the first ``k`` images.
        note: a line under the title (e.g. "RANDOM weights: masks meaningless"), drawn on the figure itself.
    """
    from ..io.exports import rle_to_mask

    by_name = {r["image"]: r for r in records or ()}
    n = max(1, min(int(k), len(dataset)))
    if records is None:  # the ground truth only: the images side by side
        fig = new_figure((3.2 * n, 3.7))
        grid = np.asarray(fig.subplots(1, n, squeeze=False)).T
    else:  # one row per image: the ground truth, then each branch
        fig = new_figure((3.2 * (1 + len(branches)), 3.3 * n + 0.4))
        grid = np.asarray(fig.subplots(n, 1 + len(branches), squeeze=False))
    for row, i in zip(grid, range(n), strict=False):
        sample = dataset[i]
        h, w = sample.image.shape[:2]
        gts = [segmentation_to_mask(a["segmentation"], h, w) for a in dataset.annotations["annotations"]
               if a["image_id"] == sample.image_id]
        row[0].imshow(overlay_masks(sample.image, gts) if gts else sample.image)
        for box in sample.boxes:
            show_box(row[0], box, linewidth=1.2)
        row[0].set_title(f"{sample.name}: {len(gts)} objects, {len(sample.boxes)} boxes", fontsize=9)
        rec = by_name.get(sample.name)
        for ax, b in zip(row[1:], branches, strict=False):
            if rec is None:
                ax.set_title(f"{BRANCHES[b].label}: not run", fontsize=9)
                continue
            masks = [rle_to_mask({"size": [h, w], "counts": d["counts"][b]}) for d in rec["detections"]]
            ax.imshow(overlay_masks(sample.image, masks) if masks else sample.image)
            ax.set_title(f"{BRANCHES[b].label}: a mask per box", fontsize=9)
        for ax in row:
            ax.set_axis_off()
    title = "COCO protocol: ground truth + prompt boxes" + (", then each branch's masks" if records else "")
    fig.suptitle(title if not note else f"{title}\n{note}", fontsize=10)
    return fig
