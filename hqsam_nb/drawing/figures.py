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
from .overlays import (
    DIFF_COLORS,
    DIFF_LABELS,
    FUSED_COLOR,
    MASK_COLORS,
    NEGATIVE_COLOR,
    POSITIVE_COLOR,
    _check_image,
    _check_mask,
    crop_zoom,
    difference_rgba,
    disagreement_boxes,
    mask_rgba,
    overlay_mask,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "boundary_zoom_figure",
    "compare_figure",
    "difference_figure",
    "gallery_figure",
    "new_figure",
    "show_box",
    "show_mask",
    "show_points",
    "show_prompt",
]

_BOX_COLOR = (0, 200, 0)

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


def show_box(ax: Axes, box: Any, color: Sequence[int] = _BOX_COLOR, linewidth: float = 2) -> None:
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
        ax.set_title(title, fontsize=11)


# --- figures ----------------------------------------------------------------------------------------

def compare_figure(image: np.ndarray, prediction: Any, *, fused: bool = False, alpha: float = 0.5,
                   show_prompts: bool = True, panel_size: float = 3.6, title: str | None = None) -> Figure:
    """image | SAM | HQ-SAM (| fused): the same prompt on each panel, each model's score in its title.

    Args:
        image: ``uint8`` ``H x W x 3``, the image the prediction was made on.
        prediction: a :class:`~hqsam_nb.PairPrediction` (``.sam``, ``.hq``, ``.fused``, ``.prompt``).
        fused: add the fused mask (SAM + HQ token, ``hq_token_only=False``) as a fourth panel.
        alpha: mask fill opacity.
        show_prompts: draw the prompt on every panel.
        panel_size: inches per panel (the figure's height follows the image's aspect ratio).
        title: a figure title (e.g. the sample's name).

    Returns:
        The ``matplotlib.figure.Figure``; its axes' titles read ``"SAM  score 0.91"`` and so on.
    """
    image = _check_image(image)
    results = [("SAM", prediction.sam, MASK_COLORS[0]), ("HQ-SAM", prediction.hq, MASK_COLORS[1])]
    if fused:
        results.append(("fused (SAM + HQ)", prediction.fused, FUSED_COLOR))
    h, w = image.shape[:2]
    n = 1 + len(results)
    fig = new_figure((panel_size * n, panel_size * h / w + (0.5 if title else 0.3)))
    axes = fig.subplots(1, n)
    _image_axes(axes[0], image, "image + prompt" if show_prompts else "image")
    if show_prompts:
        show_prompt(axes[0], prediction.prompt)
    for ax, (name, res, color) in zip(axes[1:], results, strict=True):
        _image_axes(ax, overlay_mask(image, res.mask, color, alpha), f"{name}  score {res.score:.2f}")
        if show_prompts:
            show_prompt(ax, prediction.prompt)
    if title:
        fig.suptitle(title, fontsize=12)
    return fig


def _diff_handles(counts: dict[str, int] | None = None) -> list[Any]:
    from matplotlib.patches import Patch

    return [Patch(facecolor=_rgb01(DIFF_COLORS[k]), edgecolor="black", linewidth=0.5,
                  label=DIFF_LABELS[k] + ("" if counts is None else f" ({counts[k]:,} px)"))
            for k in ("hq_only", "sam_only", "both")]


def _diff_legend(ax: Axes, counts: dict[str, int] | None = None, loc: str = "lower right",
                 fontsize: int = 9) -> None:
    ax.legend(handles=_diff_handles(counts), loc=loc, fontsize=fontsize, framealpha=0.85)


def _figure_diff_legend(fig: Figure) -> None:
    """The difference map's legend once, under all panels."""
    fig.legend(handles=_diff_handles(), loc="outside lower center", ncols=3, fontsize=10, frameon=False,
               title="difference map")


def difference_counts(sam_mask: np.ndarray, hq_mask: np.ndarray) -> dict[str, int]:
    """Pixels per difference class: ``{"hq_only": ..., "sam_only": ..., "both": ...}``."""
    sam_mask = _check_mask(sam_mask, name="sam_mask")
    hq_mask = _check_mask(hq_mask, sam_mask.shape, name="hq_mask")
    return {"hq_only": int(np.count_nonzero(hq_mask & ~sam_mask)),
            "sam_only": int(np.count_nonzero(sam_mask & ~hq_mask)),
            "both": int(np.count_nonzero(sam_mask & hq_mask))}


def difference_figure(image: np.ndarray, sam_mask: np.ndarray, hq_mask: np.ndarray, *, prompt: Any = None,
                      alpha: float = 0.6, dim: float = 0.35, size: float = 6.0, title: str | None = None,
                      ax: Axes | None = None) -> Figure:
    """The difference map: pixels only HQ-SAM marks, only SAM marks, and both mark, with a legend.

    The image is dimmed (``dim`` = 0 leaves it as is, 1 makes it black) so the three colours stand out.

    Args:
        image: ``uint8`` ``H x W x 3``. sam_mask, hq_mask: ``bool`` ``H x W``.
        prompt: optional :class:`~hqsam_nb.Prompt` drawn on top.
        ax: draw into this Axes instead of a new figure (its figure is returned).

    Returns:
        The figure. The legend gives each class's pixel count; the title the IoU between the two masks.
    """
    from .overlays import composite

    image = _check_image(image)
    layer = difference_rgba(sam_mask, hq_mask, alpha)
    base = (image.astype(np.float32) * (1 - dim)).astype(np.uint8)
    if ax is None:
        h, w = image.shape[:2]
        fig = new_figure((size, size * h / w + 0.4))
        ax = fig.subplots()
    else:
        fig = ax.figure
    _image_axes(ax, composite(base, layer))
    show_prompt(ax, prompt)
    _diff_legend(ax, difference_counts(sam_mask, hq_mask))
    iou = mask_iou(sam_mask, hq_mask)
    ax.set_title(f"{title + ': ' if title else ''}SAM vs HQ-SAM, IoU {iou:.3f}", fontsize=11)
    return fig


def boundary_zoom_figure(image: np.ndarray, sam_mask: np.ndarray, hq_mask: np.ndarray, *, n: int = 2,
                         size: int | None = None, boxes: Sequence[Sequence[int]] | None = None,
                         alpha: float = 0.5, panel_size: float = 2.8, title: str | None = None) -> Figure:
    """Enlarged crops where SAM and HQ-SAM disagree most: one row per region.

    Columns: the whole image with the region outlined | SAM's mask | HQ-SAM's mask | the difference map,
    the last three cropped to the region and enlarged with nearest-neighbour sampling (pixels stay square).

    Args:
        image: ``uint8`` ``H x W x 3``. sam_mask, hq_mask: ``bool`` ``H x W``.
        n, size: passed to :func:`~hqsam_nb.drawing.disagreement_boxes` to find the regions.
        boxes: regions ``(x0, y0, x1, y1)`` to show instead of searching for them.
        panel_size: inches per panel.

    Returns:
        The figure; when the masks agree everywhere, one row says so.
    """
    from matplotlib.patches import Rectangle

    from .overlays import composite

    image = _check_image(image)
    sam_mask = _check_mask(sam_mask, image.shape[:2], name="sam_mask")
    hq_mask = _check_mask(hq_mask, image.shape[:2], name="hq_mask")
    regions = [tuple(int(v) for v in b) for b in boxes] if boxes is not None else \
        disagreement_boxes(sam_mask, hq_mask, n=n, size=size)
    h, w = image.shape[:2]
    if not regions:
        fig = new_figure((panel_size * 2, panel_size * h / w + 0.4))
        ax = fig.subplots()
        _image_axes(ax, image, "SAM and HQ-SAM agree on every pixel: nothing to zoom into")
        return fig
    sam_view = overlay_mask(image, sam_mask, MASK_COLORS[0], alpha, contour_width=1)
    hq_view = overlay_mask(image, hq_mask, MASK_COLORS[1], alpha, contour_width=1)
    diff_view = composite((image * 0.65).astype(np.uint8), difference_rgba(sam_mask, hq_mask, 0.75))
    fig = new_figure((panel_size * 4, panel_size * len(regions) + 0.9))
    axes = np.atleast_2d(fig.subplots(len(regions), 4))
    out_px = 256
    for row, box in zip(axes, regions, strict=True):
        x0, y0, x1, y1 = box
        _image_axes(row[0], image)
        row[0].add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor="yellow",
                                   linewidth=2))
        crop_sam = sam_mask[y0:y1, x0:x1]
        crop_hq = hq_mask[y0:y1, x0:x1]
        n_diff = int(np.count_nonzero(crop_sam ^ crop_hq))
        row[0].set_title(f"region x {x0}-{x1}, y {y0}-{y1}", fontsize=9)
        for ax, view, name in ((row[1], sam_view, "SAM"), (row[2], hq_view, "HQ-SAM"),
                               (row[3], diff_view, f"difference ({n_diff:,} px)")):
            ax.imshow(crop_zoom(view, box, out_px), interpolation="nearest")
            ax.set_axis_off()
            ax.set_title(name, fontsize=10)
    _figure_diff_legend(fig)
    fig.suptitle(title or "Where SAM and HQ-SAM disagree most (enlarged)", fontsize=12)
    return fig


def gallery_figure(items: Sequence[tuple[str, np.ndarray, Any]], *, fused: bool = False, alpha: float = 0.5,
                   panel_size: float = 2.6) -> Figure:
    """One row per sample: image + prompt | SAM | HQ-SAM (| fused) | difference map.

    Args:
        items: ``(name, image, prediction)`` triples; ``prediction`` a :class:`~hqsam_nb.PairPrediction`
            made on ``image``.
        fused: add a fused-mask column.
    """
    from .overlays import composite

    items = list(items)
    if not items:
        raise ValueError("items is empty: give (name, image, prediction) triples")
    ncols = 5 if fused else 4
    fig = new_figure((panel_size * ncols, panel_size * len(items) * 0.85 + 0.8))
    axes = np.atleast_2d(fig.subplots(len(items), ncols))
    for row, (name, image, pred) in zip(axes, items, strict=True):
        image = _check_image(image, f"image of {name!r}")
        _image_axes(row[0], image, name)
        show_prompt(row[0], pred.prompt)
        cols = [("SAM", pred.sam, MASK_COLORS[0]), ("HQ-SAM", pred.hq, MASK_COLORS[1])]
        if fused:
            cols.append(("fused", pred.fused, FUSED_COLOR))
        for ax, (label, res, color) in zip(row[1:], cols, strict=False):
            _image_axes(ax, overlay_mask(image, res.mask, color, alpha), f"{label} {res.score:.2f}")
        diff = composite((image * 0.65).astype(np.uint8), difference_rgba(pred.sam.mask, pred.hq.mask, 0.75))
        _image_axes(row[-1], diff, f"IoU(SAM, HQ) {mask_iou(pred.sam.mask, pred.hq.mask):.2f}")
    _figure_diff_legend(fig)
    return fig
