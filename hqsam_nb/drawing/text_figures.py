"""Figures for text prompts: the detector's boxes with label and score, and SAM vs HQ-SAM for every object.

Thin matplotlib wrappers over :mod:`hqsam_nb.drawing.overlays`, like :mod:`hqsam_nb.drawing.figures`; each returns
its ``Figure``. Boxes are ``(x0, y0, x1, y1)`` pixels of the original image. Object ``i`` has colour
``OBJECT_COLORS[i % 6]`` (never a branch's colour) and tag ``i + 1`` everywhere. A ``note`` (what is random about
the weights) is printed on the figure itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..metrics.masks import mask_iou
from ..pair.branches import BRANCHES
from ..validation import check_image
from .figures import _figure_diff_legend, _image_axes, _rgb01, new_figure, show_box
from .overlays import composite, crop_zoom, difference_rgba, masks_rgba, overlay_mask
from .palette import OBJECT_COLORS

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["detections_figure", "object_color", "text_masks_figure", "text_objects_figure", "threshold_figure"]


#: Longest label printed in a box's tag (the full label is in ``Detections.labels`` and ``summary()``).
TAG_CHARS = 24


def object_color(i: int) -> tuple[int, int, int]:
    """The colour of object ``i`` (0-based) in every text-prompt figure: :data:`~hqsam_nb.drawing.OBJECT_COLORS`."""
    return OBJECT_COLORS[i % len(OBJECT_COLORS)]


def tag_anchors(boxes: np.ndarray, sizes: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    """Where each box's tag goes so that no tag covers an earlier one or leaves the image (pure numpy).

    A tag sits at its box's top-left corner, inside the box; when an earlier tag (a better box: boxes come best
    first) is already there it steps down one tag height at a time (inside the box first, below it when the box
    is too short), and where the whole column is taken it keeps the corner. A tag wider than the room to the
    image's right edge is moved left.

    Args:
        boxes: ``float`` ``N x 4``, ``(x0, y0, x1, y1)`` image pixels.
        sizes: ``float`` ``N x 2``, each tag's ``(width, height)`` in image pixels.
        image_size: ``(H, W)``.

    Returns:
        ``float`` ``N x 2``: each tag's top-left ``(x, y)`` in image pixels.
    """
    h, w = image_size
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    sizes = np.asarray(sizes, dtype=float).reshape(-1, 2)
    placed: list[tuple[float, float, float, float]] = []
    out = np.zeros((len(boxes), 2))
    for i, ((x0, y0, _, _), (tw, th)) in enumerate(zip(boxes, sizes, strict=True)):
        x = float(np.clip(x0, 0.0, max(w - tw, 0.0)))
        ys = np.arange(max(y0, 0.0), max(h - th, y0) + 1e-9, th) if th > 0 else np.array([y0])
        y = next((float(c) for c in ys if not any(x < px + pw and px < x + tw and c < py + ph and py < c + th
                                                for px, py, pw, ph in placed)), float(max(y0, 0.0)))
        placed.append((x, y, tw, th))
        out[i] = (x, y)
    return out


def _tags(ax: Axes, boxes: np.ndarray, texts: list[str], image_size: tuple[int, int], fontsize: float = 8) -> None:
    """Filled labels at the boxes' top-left corners, inside the image, none over another (:func:`tag_anchors`)."""
    if not texts:
        return
    h, w = image_size
    fig_w, fig_h = ax.figure.get_size_inches()
    pos = ax.get_position()
    # image pixels per typographic point: the image fills the axes' width or height (imshow keeps the aspect)
    px_per_pt = max(w / (pos.width * fig_w * 72), h / (pos.height * fig_h * 72))
    sizes = np.array([((0.62 * fontsize * len(t) + 3) * px_per_pt, (1.2 * fontsize + 3) * px_per_pt) for t in texts])
    for i, ((x, y), text) in enumerate(zip(tag_anchors(boxes, sizes, image_size), texts, strict=True)):
        pad = 1.5 * px_per_pt  # the filled box's padding: (x, y) is the filled box's corner, not the text's
        ax.text(x - 0.5 + pad, y - 0.5 + pad, text, fontsize=fontsize, color="white", va="top", ha="left",
                bbox={"facecolor": _rgb01(object_color(i)), "edgecolor": "none", "pad": 1.5, "alpha": 0.9},
                zorder=4, clip_on=True)


def _note(fig: Figure, note: str | None) -> None:
    """The note under everything, one line per clause (the constrained layout makes room for it)."""
    if note:
        fig.supxlabel(note.replace("; ", "\n"), fontsize=10, color="#c2410c", weight="bold")


def _object_text(detections: Any, i: int, max_chars: int | None = None) -> str:
    """``"<n> <label> <score>"``; a label longer than ``max_chars`` is cut with an ellipsis (figure tags)."""
    label = detections.labels[i] or "(no phrase)"
    if max_chars is not None and len(label) > max_chars:
        label = label[:max_chars - 1] + "\u2026"
    return f"{i + 1} {label} {detections.scores[i]:.2f}"


def detections_figure(image: np.ndarray, detections: Any, *, note: str | None = None, size: float = 6.0,
                      ax: Axes | None = None) -> Figure:
    """The image with every detected box, tagged ``"<n> <label> <score>"``.

    Args:
        image: ``uint8`` ``H x W x 3``, the image ``detections`` were made on.
        detections: :class:`~hqsam_nb.text.Detections`.
        note: a line printed under the image (e.g. ``"RANDOM detector weights: boxes are noise"``).
        size: the figure's width in inches. ax: draw into this Axes instead (its figure is returned).

    Returns:
        The figure; its title gives the caption, the number of boxes and ``box_threshold``.
    """
    image = check_image(image)
    if ax is None:
        h, w = image.shape[:2]
        fig = new_figure((size, size * h / w + 0.6))
        ax = fig.subplots()
    else:
        fig = ax.figure
    _image_axes(ax, image)
    for i, box in enumerate(detections.boxes):
        show_box(ax, box, color=object_color(i))
    _tags(ax, detections.boxes, [_object_text(detections, i, TAG_CHARS) for i in range(len(detections))],
          image.shape[:2])
    n = len(detections)
    what = f"{n} box{'es' if n != 1 else ''}" if n else "no box"
    ax.set_title(f"{detections.caption!r}: {what} above box_threshold={detections.box_threshold:.2f}", fontsize=11)
    _note(fig, note)
    return fig


def threshold_figure(image: np.ndarray, detections: Any, thresholds: tuple[float, ...] = (0.25, 0.35, 0.5), *,
                     note: str | None = None, panel_size: float = 4.0) -> Figure:
    """What ``box_threshold`` does: the boxes kept at each threshold, one panel each.

    Args:
        image: ``uint8`` ``H x W x 3``.
        detections: :class:`~hqsam_nb.text.Detections` made at a threshold no higher than the lowest shown
            (e.g. ``detect(..., box_threshold=0.0)``); each panel is ``detections.above(t)``.
        thresholds: the thresholds to show, left to right.
    """
    image = check_image(image)
    h, w = image.shape[:2]
    fig = new_figure((panel_size * len(thresholds), panel_size * h / w + 0.8))
    axes = np.atleast_1d(fig.subplots(1, len(thresholds)))
    for ax, t in zip(axes, thresholds, strict=True):
        detections_figure(image, detections.above(t), ax=ax)
        ax.set_title(f"box_threshold={t:.2f}: {int((detections.scores > t).sum())} boxes", fontsize=11)
    # "surer" only when the scores mean something: with random weights the title says what is true of any run
    claim = "higher thresholds keep fewer boxes" if note else "higher thresholds keep fewer, surer boxes"
    fig.suptitle(f"{detections.caption!r}: {claim}", fontsize=12)
    _note(fig, note)
    return fig


def text_masks_figure(segmentation: Any, *, branches: tuple[str, ...] = ("sam", "hq"), alpha: float = 0.5,
                      panel_size: float = 4.5) -> Figure:
    """All objects' masks at once, one panel per branch (default SAM | HQ-SAM (HQ token)), boxes and tags on top.

    Args:
        segmentation: a :class:`~hqsam_nb.text.TextSegmentation` (``.image``, ``.detections``, ``.prediction``).
        branches: branch keys (:data:`~hqsam_nb.pair.branches.BRANCHES`) to show, each decoded in the prediction.
    """
    image, det, pred = segmentation.image, segmentation.detections, segmentation.prediction
    h, w = image.shape[:2]
    fig = new_figure((panel_size * len(branches), panel_size * h / w + 0.8))
    axes = np.atleast_1d(fig.subplots(1, len(branches)))
    colors = [object_color(i) for i in range(len(det))]
    for ax, key in zip(axes, branches, strict=True):
        batch = pred.branch(key)
        if batch is None:
            raise ValueError(f"branch {key!r} was not decoded (only=...): decode it or leave it out of branches")
        view = composite(image, masks_rgba(list(batch.masks), colors, alpha)) if len(det) else image
        _image_axes(ax, view, f"{BRANCHES[key].label}: {len(det)} object{'s' if len(det) != 1 else ''}")
        for i, box in enumerate(det.boxes):
            show_box(ax, box, color=object_color(i), linewidth=1.2)
        _tags(ax, det.boxes, [_object_text(det, i, TAG_CHARS) for i in range(len(det))], (h, w))
    fig.suptitle(f"{det.caption!r}: every object, SAM and HQ-SAM from the same boxes", fontsize=12)
    _note(fig, segmentation.note)
    return fig


def _crop_around(box: np.ndarray, image_size: tuple[int, int], margin: float) -> tuple[int, int, int, int]:
    h, w = image_size
    x0, y0, x1, y1 = (float(v) for v in box)
    pad = margin * max(x1 - x0, y1 - y0, 8.0)
    return (max(0, int(x0 - pad)), max(0, int(y0 - pad)), min(w, int(np.ceil(x1 + pad))),
            min(h, int(np.ceil(y1 + pad))))


def text_objects_figure(segmentation: Any, *, max_objects: int = 6, margin: float = 0.15, alpha: float = 0.5,
                        panel_size: float = 2.6) -> Figure:
    """SAM vs HQ-SAM per object: one row each, cropped around the object's box and enlarged.

    Columns: the whole image with this object's box and tag | SAM's mask | HQ-SAM's (HQ token) mask | the
    difference map (only HQ-SAM / only SAM / both), titled with the IoU between the two masks.

    Args:
        segmentation: a :class:`~hqsam_nb.text.TextSegmentation` with ``sam`` and ``hq`` decoded.
        max_objects: rows shown (the best-scoring objects).
        margin: context around each box, as a fraction of its longer side.
    """
    image, det, pred = segmentation.image, segmentation.detections, segmentation.prediction
    h, w = image.shape[:2]
    n = min(len(det), max_objects)
    if n == 0:
        fig = new_figure((panel_size * 2, panel_size * h / w + 0.6))
        _image_axes(fig.subplots(), image, f"{det.caption!r}: no object found - nothing to compare")
        _note(fig, segmentation.note)
        return fig
    if pred.sam is None or pred.hq is None:
        raise ValueError("this figure needs SAM's and HQ-SAM's masks: segment without only=...")
    fig = new_figure((panel_size * 4, panel_size * n + 1.0))
    axes = np.atleast_2d(fig.subplots(n, 4))
    out_px = 256
    for i, row in enumerate(axes):
        box = det.boxes[i]
        sam, hq = pred.sam[i], pred.hq[i]
        crop = _crop_around(box, (h, w), margin)
        _image_axes(row[0], image)
        show_box(row[0], box, color=object_color(i))
        row[0].set_title(_object_text(det, i), fontsize=9, color=_rgb01(object_color(i)))
        diff = composite((image * 0.65).astype(np.uint8), difference_rgba(sam.mask, hq.mask, 0.75))
        views = ((overlay_mask(image, sam.mask, BRANCHES["sam"].color, alpha, contour_width=1),
                  f"{BRANCHES['sam'].label}  score {sam.score:.2f}"),
                 (overlay_mask(image, hq.mask, BRANCHES["hq"].color, alpha, contour_width=1),
                  f"{BRANCHES['hq'].label}  {hq.score:.2f}"),
                 (diff, f"IoU(SAM, HQ) {mask_iou(sam.mask, hq.mask):.2f}"))
        for ax, (view, title) in zip(row[1:], views, strict=True):
            ax.imshow(crop_zoom(view, crop, out_px), interpolation="nearest")
            ax.set_axis_off()
            ax.set_title(title, fontsize=9)
    _figure_diff_legend(fig)
    shown = f" (best {n} of {len(det)})" if n < len(det) else ""
    title = f"{det.caption!r}: SAM vs HQ-SAM per object{shown}, cropped around each box"
    # the difference legend sits below the panels, so the note goes under the title instead
    fig.suptitle(title + (f"\n{segmentation.note.upper()}" if segmentation.note else ""), fontsize=12)
    return fig
