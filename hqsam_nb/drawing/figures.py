"""Matplotlib figures for comparing SAM and HQ-SAM: thin wrappers over :mod:`hqsam_nb.drawing`.

Every function paints numpy arrays made by :mod:`hqsam_nb.drawing` and returns the ``Figure`` (or draws
into an ``Axes`` you pass), so a notebook shows it, a script saves it (:func:`hqsam_nb.io.exports.save_figure`),
and a test inspects it. Nothing here is needed to draw masks into arrays or files.

Coordinates are ``(x, y)`` pixels of the original image; masks are ``bool`` ``H x W``.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..metrics.masks import mask_iou
from ..notebook import stamp_figure
from ..pair.branches import BRANCHES, hq_branch
from ..validation import check_image, check_mask
from .overlays import crop_zoom, difference_rgba, disagreement_boxes, mask_rgba, overlay_mask
from .palette import BOX_COLOR, MASK_COLORS, NEGATIVE_COLOR, POSITIVE_COLOR, diff_colors, diff_labels

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..models.provenance import ProvenanceLike

__all__ = [
    "boundary_zoom_figure",
    "colour_key_figure",
    "compare_figure",
    "difference_figure",
    "gallery_figure",
    "new_figure",
    "show_box",
    "show_mask",
    "show_points",
    "show_prompt",
]

#: Resolution of figures shown in notebooks (pixels per inch).
FIGURE_DPI = 100


def _rgb01(color: Sequence[int]) -> tuple[float, float, float]:
    return tuple(c / 255 for c in color)  # type: ignore[return-value]


@functools.lru_cache(maxsize=1)
def _figure_class() -> type:
    from matplotlib.figure import Figure

    class NotebookFigure(Figure):
        """A ``Figure`` that Jupyter shows as PNG even when ``matplotlib.pyplot`` was never imported."""

        def _repr_png_(self) -> bytes:
            buf = io.BytesIO()
            self.savefig(buf, format="png", dpi=FIGURE_DPI)
            return buf.getvalue()

    return NotebookFigure


def new_figure(figsize: tuple[float, float], **kwargs: Any) -> Figure:
    """A new figure that is not registered with pyplot: no global state, nothing left open in loops.

    Every figure of this package is made here (``layout="constrained"`` unless given). Jupyter displays it
    through ``_repr_png_``: the inline backend's formatter, which pyplot installs, is missing when pyplot was
    never imported; where it is installed it takes precedence, so the figure is shown once either way.
    """
    kwargs.setdefault("layout", "constrained")
    return _figure_class()(figsize=figsize, **kwargs)


# --- drawing into an Axes ---------------------------------------------------------------------------

def show_mask(ax: Axes, mask: np.ndarray, color: Sequence[int] = MASK_COLORS[0], alpha: float = 0.5,
              contour_width: int = 2) -> None:
    """Draw a mask on ``ax`` as an RGBA layer (:func:`~hqsam_nb.drawing.mask_rgba`) over what is there."""
    ax.imshow(mask_rgba(mask, color, alpha, contour_width), interpolation="nearest")


def show_points(ax: Axes, points: Any, labels: Any = None, size: float = 220) -> None:
    """Positive points as green stars, negative as red, with a white edge (the markers SAM's notebooks use).

    Args:
        points: ``(N, 2)`` ``(x, y)`` pixels. labels: ``(N,)`` 1 / 0; None means all positive.
        size: marker area in points^2.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    labs = np.ones(len(pts), int) if labels is None else np.asarray(labels).reshape(-1)
    if len(labs) != len(pts):
        raise ValueError(f"got {len(labs)} labels for {len(pts)} points")
    for value, color in ((1, POSITIVE_COLOR), (0, NEGATIVE_COLOR)):
        sel = pts[labs == value]
        if len(sel):
            ax.scatter(sel[:, 0], sel[:, 1], s=size, marker="*", color=_rgb01(color), edgecolor="white",
                       linewidth=1.25, zorder=3)


def show_box(ax: Axes, box: Any, color: Sequence[int] = BOX_COLOR, linewidth: float = 2.5) -> None:
    """A box prompt ``(x0, y0, x1, y1)`` in pixels as an unfilled rectangle."""
    from matplotlib.patches import Rectangle

    x0, y0, x1, y1 = (float(v) for v in np.asarray(box, dtype=np.float64).reshape(4))
    # pixel (i, j) covers [j - 0.5, j + 0.5] in imshow's coordinates; prompt pixels have their origin at
    # the top-left corner of the top-left pixel
    ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor=_rgb01(color),
                           linewidth=linewidth, zorder=3))


def show_prompt(ax: Axes, prompt: Any) -> None:
    """A :class:`~hqsam_nb.Prompt`'s box and points (either may be None)."""
    if prompt is None:
        return
    if getattr(prompt, "box", None) is not None:
        show_box(ax, prompt.box)
    if getattr(prompt, "points", None) is not None:
        show_points(ax, prompt.points, prompt.labels)


def _image_axes(ax: Axes, image: np.ndarray, title: str | None = None) -> None:
    ax.imshow(image, interpolation="antialiased")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=13)


def _score_title(key: str, result: Any) -> str:
    """``"HQ-SAM (HQ token)\npredicted IoU 0.91"``: the branch's label and its *predicted* IoU (the model's
    own estimate of its mask's quality, not a measurement; random weights can make it negative)."""
    return f"{BRANCHES[key].label}\npredicted IoU {float(result.score):.2f}"


def _check_other(other: str) -> str:
    return hq_branch(other, "the branch compared with SAM")


# --- figures ----------------------------------------------------------------------------------------

def compare_figure(image: np.ndarray, prediction: Any, *, fused: bool = False, alpha: float = 0.5,
                   show_prompts: bool = True, panel_size: float = 5.0, title: str | None = None,
                   weights: ProvenanceLike = None) -> Figure:
    """image | SAM | HQ-SAM (HQ token) (| HQ-SAM (fused)): the same prompt on each panel.

    Three panels sit in one row; with ``fused`` the four panels form a 2 x 2 grid, so that each stays large
    enough to project. Each mask panel's title gives the branch's label (:mod:`hqsam_nb.pair.branches`) and
    its predicted IoU.

    Args:
        image: ``uint8`` ``H x W x 3``, the image the prediction was made on.
        prediction: a :class:`~hqsam_nb.PairPrediction` (``.sam``, ``.hq``, ``.fused``, ``.prompt``).
        fused: add the fused mask (SAM + HQ token, ``hq_token_only=False``) as a fourth panel.
        alpha: mask fill opacity.
        show_prompts: draw the prompt on every panel.
        panel_size: inches per panel (the height follows the image's aspect ratio).
        title: a figure title (e.g. the sample's name).
        weights: the pair (or its ``WeightsProvenance``): random / unofficial weights stamp the figure so.

    Returns:
        The ``matplotlib.figure.Figure``.
    """
    image = check_image(image)
    keys = ("sam", "hq", "fused") if fused else ("sam", "hq")
    h, w = image.shape[:2]
    nrows, ncols = (2, 2) if fused else (1, 3)
    fig = new_figure((panel_size * ncols, (panel_size * h / w + 0.6) * nrows + (0.5 if title else 0.2)))
    axes = np.asarray(fig.subplots(nrows, ncols)).ravel()
    _image_axes(axes[0], image, "image + prompt" if show_prompts else "image")
    if show_prompts:
        show_prompt(axes[0], prediction.prompt)
    for ax, key in zip(axes[1:], keys, strict=True):
        res = getattr(prediction, key)
        _image_axes(ax, overlay_mask(image, res.mask, BRANCHES[key].color, alpha), _score_title(key, res))
        if show_prompts:
            show_prompt(ax, prediction.prompt)
    if title:
        fig.suptitle(title, fontsize=14)
    return stamp_figure(fig, weights)


def _diff_handles(counts: dict[str, int] | None = None, other: str = "hq") -> list[Any]:
    from matplotlib.patches import Patch

    colors, labels = diff_colors(other), diff_labels(other)
    return [Patch(facecolor=_rgb01(colors[k]), edgecolor="black", linewidth=0.5,
                  label=labels[k] + ("" if counts is None else f" ({counts[k]:,} px)"))
            for k in ("hq_only", "sam_only", "both")]


def _figure_diff_legend(fig: Figure, counts: dict[str, int] | None = None, other: str = "hq") -> None:
    """The difference map's legend once, under all panels (never on the image)."""
    fig.legend(handles=_diff_handles(counts, other), loc="outside lower center", ncols=3, fontsize=12,
               frameon=False, title="difference map", title_fontsize=12)


def difference_counts(sam_mask: np.ndarray, hq_mask: np.ndarray) -> dict[str, int]:
    """Pixels per difference class: ``{"hq_only": ..., "sam_only": ..., "both": ...}``."""
    sam_mask = check_mask(sam_mask, name="sam_mask")
    hq_mask = check_mask(hq_mask, sam_mask.shape, name="hq_mask")
    return {"hq_only": int(np.count_nonzero(hq_mask & ~sam_mask)),
            "sam_only": int(np.count_nonzero(sam_mask & ~hq_mask)),
            "both": int(np.count_nonzero(sam_mask & hq_mask))}


def _dimmed(image: np.ndarray, dim: float) -> np.ndarray:
    return (image.astype(np.float32) * (1 - dim)).astype(np.uint8)


def difference_figure(image: np.ndarray, sam_mask: np.ndarray, hq_mask: np.ndarray, *, prompt: Any = None,
                      alpha: float = 0.6, dim: float = 0.35, size: float = 9.0, title: str | None = None,
                      other: str = "hq", weights: ProvenanceLike = None) -> Figure:
    """The difference map: pixels only HQ-SAM marks, only SAM marks, and both mark, legend under the image.

    The image is dimmed (``dim`` = 0 leaves it as is, 1 makes it black) so the three colours stand out: SAM's
    colour where only SAM claims a pixel, the HQ-SAM branch's colour where only it does, grey where both do.

    Args:
        image: ``uint8`` ``H x W x 3``. sam_mask, hq_mask: ``bool`` ``H x W``.
        prompt: optional :class:`~hqsam_nb.Prompt` drawn on top.
        other: which HQ-SAM branch ``hq_mask`` is: ``"hq"`` (the HQ token) or ``"fused"``.
        weights: the pair (or its ``WeightsProvenance``): random / unofficial weights stamp the figure so.

    Returns:
        The figure. The legend gives each class's pixel count; the title the IoU between the two masks.
    """
    from .overlays import composite

    image = check_image(image)
    other = _check_other(other)
    layer = difference_rgba(sam_mask, hq_mask, alpha, other=other)
    h, w = image.shape[:2]
    fig = new_figure((size, size * h / w + 1.4))
    ax = fig.subplots()
    _image_axes(ax, composite(_dimmed(image, dim), layer))
    show_prompt(ax, prompt)
    _figure_diff_legend(fig, difference_counts(sam_mask, hq_mask), other)
    iou = mask_iou(sam_mask, hq_mask)
    ax.set_title(f"{title + ': ' if title else ''}SAM vs {BRANCHES[other].label}, IoU {iou:.3f}", fontsize=13)
    return stamp_figure(fig, weights)


def _zoom_region(prompt: Any, sam_mask: np.ndarray, hq_mask: np.ndarray, margin: float = 0.1
                 ) -> tuple[float, float, float, float] | None:
    """Where a zoom may look: the prompt's box itself (the windows drawn stay inside the box drawn), else the box
    around both masks and the prompt's points, a little larger; None when there is nothing to go by."""
    h, w = sam_mask.shape
    box = getattr(prompt, "box", None)
    if box is not None:
        x0, y0, x1, y1 = (float(v) for v in np.asarray(box, dtype=np.float64).reshape(4))
        margin = 0.0
    else:
        union = sam_mask | hq_mask
        ys, xs = np.nonzero(union)
        pts = getattr(prompt, "points", None)
        if pts is not None:
            pts = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
            xs, ys = np.concatenate([xs, pts[:, 0]]), np.concatenate([ys, pts[:, 1]])
        if not len(xs):
            return None
        x0, y0, x1, y1 = float(xs.min()), float(ys.min()), float(xs.max()) + 1, float(ys.max()) + 1
    mx, my = margin * (x1 - x0), margin * (y1 - y0)
    return max(0.0, x0 - mx), max(0.0, y0 - my), min(float(w), x1 + mx), min(float(h), y1 + my)


def boundary_zoom_figure(image: np.ndarray, sam_mask: np.ndarray, hq_mask: np.ndarray, *, n: int = 2,
                         size: int | None = None, boxes: Sequence[Sequence[int]] | None = None,
                         prompt: Any = None, alpha: float = 0.5, panel_size: float = 3.6,
                         title: str | None = None, other: str = "hq", within: Sequence[float] | None = None,
                         weights: ProvenanceLike = None) -> Figure:
    """Enlarged crops where SAM and HQ-SAM disagree most, inside the prompt: one row per region.

    Columns: the whole image with the region outlined | SAM's mask | HQ-SAM's mask | the difference map,
    the last three cropped to the region and enlarged with nearest-neighbour sampling (pixels stay square).

    Args:
        image: ``uint8`` ``H x W x 3``. sam_mask, hq_mask: ``bool`` ``H x W``.
        n, size: passed to :func:`~hqsam_nb.drawing.disagreement_boxes` to find the regions.
        boxes: regions ``(x0, y0, x1, y1)`` to show instead of searching for them.
        prompt: the :class:`~hqsam_nb.Prompt` that made the masks: the windows stay inside its box, or around
            the masks and points (grown by 10 %) for a point prompt, so the zoom shows the object asked for.
        within: ``(x0, y0, x1, y1)`` pixels to search inside instead of the prompt's (e.g. the ground truth's
            box on a video frame, where the prompt is each model's own previous mask).
        panel_size: inches per panel.
        other: which HQ-SAM branch ``hq_mask`` is: ``"hq"`` or ``"fused"``.
        weights: the pair (or its ``WeightsProvenance``): random / unofficial weights stamp the figure so.

    Returns:
        The figure; when the masks agree everywhere, one row says so.
    """
    from matplotlib.patches import Rectangle

    from .overlays import composite

    image = check_image(image)
    other = _check_other(other)
    sam_mask = check_mask(sam_mask, image.shape[:2], name="sam_mask")
    hq_mask = check_mask(hq_mask, image.shape[:2], name="hq_mask")
    if within is None and prompt is not None:
        within = _zoom_region(prompt, sam_mask, hq_mask)
    regions = [tuple(int(v) for v in b) for b in boxes] if boxes is not None else \
        disagreement_boxes(sam_mask, hq_mask, n=n, size=size, within=within)
    h, w = image.shape[:2]
    if not regions:
        fig = new_figure((panel_size * 2, panel_size * h / w + 0.6))
        ax = fig.subplots()
        where = " inside the prompt" if within is not None else ""
        _image_axes(ax, image, f"SAM and HQ-SAM agree on every pixel{where}: nothing to zoom into")
        return stamp_figure(fig, weights)
    sam_view = overlay_mask(image, sam_mask, BRANCHES["sam"].color, alpha, contour_width=1)
    hq_view = overlay_mask(image, hq_mask, BRANCHES[other].color, alpha, contour_width=1)
    diff_view = composite(_dimmed(image, 0.35), difference_rgba(sam_mask, hq_mask, 0.75, other=other))
    fig = new_figure((panel_size * 4, (panel_size + 0.5) * len(regions) + 1.6))
    axes = np.atleast_2d(fig.subplots(len(regions), 4))
    out_px = 384
    for row, box in zip(axes, regions, strict=True):
        x0, y0, x1, y1 = box
        _image_axes(row[0], image)
        show_prompt(row[0], prompt)
        row[0].add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor="white",
                                   linewidth=2.5, linestyle="--"))
        crop_sam = sam_mask[y0:y1, x0:x1]
        crop_hq = hq_mask[y0:y1, x0:x1]
        n_diff = int(np.count_nonzero(crop_sam ^ crop_hq))
        row[0].set_title(f"region x {x0}-{x1}, y {y0}-{y1}", fontsize=11)
        for ax, view, name in ((row[1], sam_view, BRANCHES["sam"].label), (row[2], hq_view, BRANCHES[other].label),
                               (row[3], diff_view, f"difference ({n_diff:,} px)")):
            ax.imshow(crop_zoom(view, box, out_px), interpolation="nearest")
            ax.set_axis_off()
            ax.set_title(name, fontsize=12)
    _figure_diff_legend(fig, other=other)
    fig.suptitle(title or "Where SAM and HQ-SAM disagree most (enlarged)", fontsize=14)
    return stamp_figure(fig, weights)


def gallery_figure(items: Sequence[tuple[str, np.ndarray, Any]], *, fused: bool = False, alpha: float = 0.5,
                   panel_size: float = 3.6, weights: ProvenanceLike = None) -> Figure:
    """One row per sample: SAM | HQ-SAM (HQ token) (| HQ-SAM (fused)) | difference map (SAM vs HQ token).

    The prompt is drawn on every mask panel (no separate image column, so each panel stays larger); the
    sample's name heads the row.

    Args:
        items: ``(name, image, prediction)`` triples; ``prediction`` a :class:`~hqsam_nb.PairPrediction`
            made on ``image``.
        fused: add a fused-mask column.
        weights: the pair (or its ``WeightsProvenance``): random / unofficial weights stamp the figure so.
    """
    from .overlays import composite

    items = list(items)
    if not items:
        raise ValueError("items is empty: give (name, image, prediction) triples")
    keys = ("sam", "hq", "fused") if fused else ("sam", "hq")
    ncols = len(keys) + 1
    fig = new_figure((panel_size * ncols, (panel_size + 0.55) * len(items) + 1.4))
    axes = np.atleast_2d(fig.subplots(len(items), ncols))
    for row, (name, image, pred) in zip(axes, items, strict=True):
        image = check_image(image, f"image of {name!r}")
        for ax, key in zip(row, keys, strict=False):
            res = getattr(pred, key)
            _image_axes(ax, overlay_mask(image, res.mask, BRANCHES[key].color, alpha), _score_title(key, res))
            show_prompt(ax, pred.prompt)
        diff = composite(_dimmed(image, 0.35), difference_rgba(pred.sam.mask, pred.hq.mask, 0.75))
        _image_axes(row[-1], diff, f"IoU(SAM, HQ token) {mask_iou(pred.sam.mask, pred.hq.mask):.2f}")
        show_prompt(row[-1], pred.prompt)
        row[0].annotate(name, (-0.04, 0.5), xycoords="axes fraction", rotation=90, ha="right", va="center",
                        fontsize=13, fontweight="bold")
    _figure_diff_legend(fig)
    return stamp_figure(fig, weights)


def colour_key_figure() -> Figure:
    """The colour key of every figure, export and widget view, as a legend to put on a slide: the three branches'
    masks, the positive and negative points and the box, each labelled with its colour's name
    (:func:`hqsam_nb.drawing.palette.colour_name`)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from .palette import colour_name

    handles: list[Any] = [Patch(facecolor=_rgb01(b.color), edgecolor="black", linewidth=0.5,
                                label=f"{b.label} mask ({colour_name(b.color)})") for b in BRANCHES.values()]
    for color, label in ((POSITIVE_COLOR, "positive point"), (NEGATIVE_COLOR, "negative point")):
        handles.append(Line2D([], [], linestyle="none", marker="*", markersize=16, markerfacecolor=_rgb01(color),
                              markeredgecolor="white", label=f"{label} ({colour_name(color)})"))
    handles.append(Patch(facecolor="none", edgecolor=_rgb01(BOX_COLOR), linewidth=2.5,
                         label=f"box ({colour_name(BOX_COLOR)})"))
    fig = new_figure((10.5, 1.5))
    fig.legend(handles=handles, loc="center", ncols=3, fontsize=11, frameon=False, title="colour key",
               title_fontsize=12)
    return fig

