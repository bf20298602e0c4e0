"""Figures of "segment everything": every branch's masks side by side, and the objects whose mask changed most.

Thin matplotlib shells over numpy drawing (:func:`~hqsam_nb.drawing.overlays.segments_rgba`,
:func:`~hqsam_nb.drawing.overlays.difference_rgba`); figures come from
:func:`~hqsam_nb.drawing.figures.new_figure`, so Jupyter shows them as the cell's value. With random weights
every figure says, on itself, that the masks are meaningless.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..drawing.figures import _figure_diff_legend, _image_axes, new_figure
from ..drawing.overlays import (
    composite,
    crop_zoom,
    difference_rgba,
    overlay_mask,
    random_colors,
    segments_rgba,
)
from ..pair.branches import branch
from ..validation import check_image
from .generator import EverythingResult, PairMaskGenerator, record_mask
from .matching import MaskMatching, match_branches

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["RANDOM_WEIGHTS_NOTE", "branch_colors", "changed_objects_figure", "everything_figure", "grid_figure"]

#: Added to the weights' description on every figure made without the official weights.
RANDOM_WEIGHTS_NOTE = "random weights make random masks"


def _check_result(image: Any, result: Any) -> np.ndarray:
    if not isinstance(result, EverythingResult):
        raise TypeError(f"result must be an EverythingResult (PairMaskGenerator.generate), got {type(result).__name__}")
    image = check_image(image)
    if tuple(image.shape[:2]) != tuple(result.image_size):
        raise ValueError(f"image is {image.shape[:2]}, the masks are {result.image_size}: pass the image they were "
                         "generated on")
    return image


def branch_colors(result: EverythingResult, keys: Iterable[str], *, seed: int = 0,
                  min_iou: float = 0.5) -> dict[str, np.ndarray]:
    """One colour per mask per branch, ``uint8`` ``(N, 3)``, such that the same object has the same colour in
    every branch: the first branch's masks get :func:`~hqsam_nb.drawing.overlays.random_colors`; a mask of a
    later branch matched to it (:func:`~hqsam_nb.automatic.matching.match_masks`, IoU >= ``min_iou``) takes
    its colour, an unmatched one a fresh colour."""
    keys = list(keys)
    first = keys[0]
    n_first = len(result.branch(first))
    palette = random_colors(n_first + sum(len(result.branch(k)) for k in keys[1:]), seed)
    colors = {first: palette[:n_first]}
    fresh = n_first
    for key in keys[1:]:
        n = len(result.branch(key))
        cols = np.empty((n, 3), np.uint8)
        matching = match_branches(result, first, key, min_iou=min_iou) if n and n_first else None
        partner = {p.b: p.a for p in matching.pairs} if matching is not None else {}
        for j in range(n):
            if j in partner:
                cols[j] = colors[first][partner[j]]
            else:
                cols[j] = palette[fresh]
                fresh += 1
        colors[key] = cols
    return colors


def everything_figure(image: np.ndarray, result: EverythingResult, branches: Iterable[str] | None = None, *,
                      alpha: float = 0.35, seed: int = 0, same_colors: bool = True, panel_size: float = 4.2,
                      title: str | None = None) -> Figure:
    """Every branch's automatic masks, side by side: one panel per branch, all its masks in one overlay
    (largest first, random but fixed colours; with ``same_colors`` an object matched across branches keeps its
    colour).

    Args:
        image: ``uint8`` ``H x W x 3``, the image the masks were generated on.
        result: :meth:`~hqsam_nb.automatic.generator.PairMaskGenerator.generate`'s result.
        branches: which branches (default all generated), in order; the first sets the colours.
        alpha: fill opacity. seed: of the colours. panel_size: inches per panel.
        title: a figure title (the random-weights note is added when the weights are random).

    Returns:
        The figure; each panel's title is ``"<branch label>: <n> masks"``.
    """
    image = _check_result(image, result)
    keys = [branch(k).key for k in (result.branches if branches is None else branches)]
    if not keys:
        raise ValueError("branches is empty: give some of the generated branches")
    if same_colors:
        colors = branch_colors(result, keys, seed=seed)
    else:
        colors = {k: random_colors(len(result.branch(k)), seed) for k in keys}
    h, w = image.shape[:2]
    extra = 0.35 * (bool(title) + bool(result.weights_note))
    fig = new_figure((panel_size * len(keys), panel_size * h / w + 0.45 + extra))
    axes = np.atleast_1d(fig.subplots(1, len(keys)))
    for ax, key in zip(axes, keys, strict=True):
        masks = result.masks(key)
        layer = segments_rgba(masks, colors[key], alpha=alpha, contour_width=max(1, round(max(h, w) / 600)))
        _image_axes(ax, composite(image, layer), f"{branch(key).label}: {len(masks)} masks")
    _suptitle(fig, title, result)
    return fig


def grid_figure(image: np.ndarray, generator: PairMaskGenerator, *, panel_size: float = 4.2) -> Figure:
    """Where the generator prompts: one panel per crop layer, with that layer's crops (rectangles) and every
    crop's grid points (dots), in original-image pixels, exactly as ``generate`` will use them.

    Args:
        image: ``uint8`` ``H x W x 3``. generator: a :class:`~hqsam_nb.automatic.generator.PairMaskGenerator`.

    Returns:
        The figure; panel titles give the layer, its number of crops and of points.
    """
    from matplotlib.patches import Rectangle

    image = check_image(image)
    h, w = image.shape[:2]
    boxes, layers = generator.crop_boxes((h, w))
    grids = generator.point_grids
    n_layers = max(layers) + 1
    fig = new_figure((panel_size * n_layers, panel_size * h / w + 0.5))
    axes = np.atleast_1d(fig.subplots(1, n_layers))
    for layer, ax in enumerate(axes):
        crops = [b for b, lay in zip(boxes, layers, strict=True) if lay == layer]
        n_points = len(grids[layer]) * len(crops)
        _image_axes(ax, image, f"layer {layer}: {len(crops)} crop(s), {n_points} points")
        for i, (x0, y0, x1, y1) in enumerate(crops):
            color = random_colors(len(crops), seed=layer + 1)[i] / 255
            pts = grids[layer] * np.array([x1 - x0, y1 - y0]) + np.array([x0, y0])
            ax.scatter(pts[:, 0], pts[:, 1], s=10, color=color, edgecolor="black", linewidth=0.4, zorder=3)
            if layer:
                ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor=color,
                                       linewidth=2, linestyle=("-", "--")[i % 2]))
    fig.suptitle(f"points_per_side {generator.params['points_per_side']}, crop_n_layers "
                 f"{generator.params['crop_n_layers']}: {sum(len(grids[lay]) for lay in layers)} prompts in all",
                 fontsize=11)
    return fig


def _suptitle(fig: Figure, title: str | None, result: EverythingResult) -> None:
    lines = [title] if title else []
    if result.weights_note:
        lines.append(f"{result.weights_note} ({RANDOM_WEIGHTS_NOTE})")
    if lines:
        import textwrap

        width = max(30, int(fig.get_figwidth() * 13))  # characters of 10 pt text that fit the figure's width
        text = "\n".join(textwrap.fill(line, width) for line in lines)
        fig.suptitle(text, fontsize=10, color="#b00020" if result.weights_note else "black")


def _union_box(a: np.ndarray, b: np.ndarray, pad: float = 0.15, min_size: int = 24) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(a | b)
    h, w = a.shape
    if len(xs) == 0:
        return 0, 0, w, h
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    side = max(x1 - x0, y1 - y0, min_size) * (1 + 2 * pad)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half = side / 2
    return (max(0, int(cx - half)), max(0, int(cy - half)), min(w, int(np.ceil(cx + half))),
            min(h, int(np.ceil(cy + half))))


def changed_objects_figure(image: np.ndarray, result: EverythingResult, a: str = "sam", b: str = "hq", *,
                           n: int = 6, matching: MaskMatching | None = None, min_iou: float = 0.5,
                           alpha: float = 0.5, panel_size: float = 2.4) -> Figure:
    """The matched objects whose mask changed most between two branches (lowest IoU first): one row per object,
    cropped around both masks and enlarged: branch ``a`` | branch ``b`` | the difference map.

    Args:
        image: ``uint8`` ``H x W x 3``. result: the generator's result.
        a, b: the two branches (default SAM vs HQ-SAM's HQ token); the difference map's "only HQ-SAM" means
            "only ``b``".
        n: at most this many objects. matching: a :func:`~hqsam_nb.automatic.matching.match_branches` of
            ``(a, b)`` to use (default: made with ``min_iou``).

    Returns:
        The figure; each row's first title gives the two mask indices and their IoU. When no object is matched,
        one panel says so.
    """
    image = _check_result(image, result)
    ka, kb = branch(a).key, branch(b).key
    if matching is None:
        matching = match_branches(result, ka, kb, min_iou=min_iou)
    elif matching.names != (ka, kb):
        raise ValueError(f"matching is between {matching.names}, not ({ka!r}, {kb!r})")
    pairs = matching.most_changed(n)
    h, w = image.shape[:2]
    if not pairs:
        fig = new_figure((panel_size * 3, panel_size * h / w + 1.2))
        ax = fig.subplots()
        _image_axes(ax, image, f"no {branch(ka).short} mask matches a {branch(kb).short} mask (IoU >= "
                               f"{matching.min_iou:g})")
        _suptitle(fig, None, result)
        return fig
    recs_a, recs_b = result.branch(ka), result.branch(kb)
    other = kb if ka == "sam" else "hq"  # the difference map's "only HQ-SAM" colour: branch b's own
    fig = new_figure((panel_size * 3, panel_size * len(pairs) + 0.9 + 0.3 * bool(result.weights_note)))
    axes = np.atleast_2d(fig.subplots(len(pairs), 3))
    dim = (image * 0.65).astype(np.uint8)
    for row, pair in zip(axes, pairs, strict=True):
        ma, mb = record_mask(recs_a[pair.a]), record_mask(recs_b[pair.b])
        box = _union_box(ma, mb)
        views = (
            (overlay_mask(image, ma, branch(ka).color, alpha, contour_width=1),
             f"{branch(ka).short} #{pair.a}  IoU {pair.iou:.2f}"),
            (overlay_mask(image, mb, branch(kb).color, alpha, contour_width=1), f"{branch(kb).short} #{pair.b}"),
            (composite(dim, difference_rgba(ma, mb, 0.75, other=other)),
             f"{int(np.count_nonzero(ma ^ mb)):,} px differ"),
        )
        for ax, (view, label) in zip(row, views, strict=True):
            ax.imshow(crop_zoom(view, box, 256), interpolation="nearest")
            ax.set_axis_off()
            ax.set_title(label, fontsize=9)
    _figure_diff_legend(fig, other=other)
    _suptitle(fig, f"Matched objects that changed most: {branch(ka).label} vs {branch(kb).label}", result)
    return fig
