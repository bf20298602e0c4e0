"""What the canvas shows: the image, mask and prompt layers of an ``ipycanvas.MultiCanvas``, and the legend.

:class:`CanvasLayers` owns the ``MultiCanvas`` and redraws each of its three layers only when it changes:

0. the image (scaled to the display size; twice for the side-by-side view),
1. the masks, sent as one RGBA array at display resolution (``put_image_data`` inside ``hold_canvas``),
2. the prompts (points, box, the box being dragged, the panel titles of the side-by-side view).

The pictures themselves are numpy (:func:`view_rgba`, from :mod:`hqsam_nb.drawing`); this module only sends
them to the browser. It knows nothing about predictors or events: :class:`~hqsam_nb.widgets.PromptCanvas` tells
it what to draw.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Mapping

import ipywidgets as W  # noqa: N812
import numpy as np
from ipycanvas import MultiCanvas

from .._compat import held_canvas
from ..drawing.overlays import difference_rgba, mask_rgba
from ..drawing.palette import BOX_COLOR, DIFF_COLORS, DIFF_LABELS, NEGATIVE_COLOR, POSITIVE_COLOR
from ..pair.branches import BRANCHES
from .state import CanvasMapping, PromptState, resize_mask_nearest

__all__ = ["VIEWS", "VIEW_COLORS", "CanvasLayers", "legend_html", "view_rgba"]

#: The views: value -> button label.
VIEWS: dict[str, str] = {
    "sam": BRANCHES["sam"].label,
    "hq": BRANCHES["hq"].label,
    "fused": BRANCHES["fused"].label,
    "side": "side by side",
    "diff": "difference",
}
#: The branches' colours (:mod:`hqsam_nb.pair.branches`, as in every figure; none of them the points' green / red).
VIEW_COLORS: dict[str, tuple[int, int, int]] = {key: BRANCHES[key].color for key in ("sam", "hq", "fused")}


def _rgb(color: tuple[int, int, int]) -> str:
    return "rgb({}, {}, {})".format(*color)


def _resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    h, w = size
    if (h, w) == image.shape[:2]:
        return image
    shrink = h * w < image.shape[0] * image.shape[1]
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def view_rgba(masks: Mapping[str, np.ndarray], view: str, size: tuple[int, int]) -> np.ndarray | None:
    """The mask layer of ``view`` as ``uint8`` RGBA ``h x (w * panels) x 4``, or None without masks.

    Args:
        masks: ``{"sam", "hq", "fused"}`` -> ``bool`` ``H x W`` masks of the original image (the keys the
            view needs).
        view: a key of :data:`VIEWS`.
        size: ``(h, w)`` of one panel on the canvas (masks are resampled by nearest neighbour).
    """
    if not masks:
        return None
    if view in VIEW_COLORS:
        return mask_rgba(resize_mask_nearest(masks[view], size), VIEW_COLORS[view], alpha=0.45)
    sam, hq = resize_mask_nearest(masks["sam"], size), resize_mask_nearest(masks["hq"], size)
    if view == "diff":
        return difference_rgba(sam, hq, alpha=0.6)
    return np.concatenate([mask_rgba(sam, VIEW_COLORS["sam"], alpha=0.45),
                           mask_rgba(hq, VIEW_COLORS["hq"], alpha=0.45)], axis=1)


def legend_html(view: str) -> str:
    """The legend under the canvas for ``view``: colour swatches of the masks, points and box."""
    if view == "diff":
        items = [(DIFF_COLORS[k], DIFF_LABELS[k]) for k in ("hq_only", "sam_only", "both")]
    elif view == "side":
        items = [(VIEW_COLORS["sam"], f"{VIEWS['sam']} (left)"), (VIEW_COLORS["hq"], f"{VIEWS['hq']} (right)")]
    else:
        items = [(VIEW_COLORS[view], f"{VIEWS[view]} mask")]
    items += [(POSITIVE_COLOR, "positive point"), (NEGATIVE_COLOR, "negative point")]
    swatch = "<span style='display:inline-block;width:12px;height:12px;background:{};margin:0 4px'></span>{}"
    return " ".join(swatch.format(_rgb(c), html.escape(t)) for c, t in items) + \
        f" <span style='display:inline-block;width:12px;height:12px;border:2px solid {_rgb(BOX_COLOR)};" \
        "margin:0 4px'></span>box"


def _digest(array: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(array).tobytes()).hexdigest()


class CanvasLayers:
    """The ``MultiCanvas`` (``.canvas``, a widget) and its image / mask / prompt layers.

    Attributes:
        canvas: the ``ipycanvas.MultiCanvas`` to put in a layout (CSS class ``hqsam-canvas``).
        draw_counts: how often each layer was redrawn (``{"image", "mask", "prompt"}``; tests read it).
        mask_digest: SHA-1 of the RGBA array on the mask layer (None when empty).
    """

    def __init__(self) -> None:
        self.canvas = MultiCanvas(3, width=320, height=240)
        self.canvas.add_class("hqsam-canvas")
        self.image_layer, self.mask_layer, self.prompt_layer = self.canvas[0], self.canvas[1], self.canvas[2]
        self.draw_counts = {"image": 0, "mask": 0, "prompt": 0}
        self.mask_digest: str | None = None
        # what the layers show, kept for picture(): the tiled image, the mask RGBA, the prompts
        self._image: np.ndarray | None = None
        self._masks: np.ndarray | None = None
        self._prompts: tuple[CanvasMapping, PromptState] | None = None

    def fit(self, mapping: CanvasMapping) -> None:
        """Size the canvas for ``mapping`` (1:1 pixels, shrinking with the page when it is narrower)."""
        h, w = mapping.canvas_size
        if (self.canvas.width, self.canvas.height) != (w, h):
            self.canvas.width, self.canvas.height = w, h
        self.canvas.layout = W.Layout(width=f"{w}px", height="auto", max_width="100%")

    def draw_image(self, image: np.ndarray, mapping: CanvasMapping) -> None:
        """Draw ``image`` (``uint8`` ``H x W x 3``) at the display size, once per panel."""
        small = _resize_image(image, mapping.display_size)
        self._image = np.concatenate([small] * mapping.panels, axis=1) if mapping.panels > 1 else small
        with held_canvas():
            self.image_layer.clear()
            for p in range(mapping.panels):
                self.image_layer.put_image_data(small, p * mapping.display_size[1], 0)
        self.draw_counts["image"] += 1

    def draw_masks(self, rgba: np.ndarray | None) -> None:
        """Replace the mask layer by ``rgba`` (``uint8`` ``h x w x 4`` at canvas size), or clear it (None)."""
        with held_canvas():
            self.mask_layer.clear()
            if rgba is not None:
                self.mask_layer.put_image_data(rgba, 0, 0)
        self.mask_digest = None if rgba is None else _digest(rgba)
        self._masks = rgba
        self.draw_counts["mask"] += 1

    def draw_prompts(self, mapping: CanvasMapping, state: PromptState,
                     drag_box: tuple[float, float, float, float] | None = None) -> None:
        """Draw the prompt's points and box (image pixels) and the box being dragged (dashed) in each panel."""
        layer = self.prompt_layer
        self._prompts = (mapping, state)
        with held_canvas():
            layer.clear()
            for panel in range(mapping.panels):
                for box, dash in ((state.box, []), (drag_box, [6, 4])):
                    if box is None:
                        continue
                    x0, y0 = mapping.to_canvas(box[0], box[1], panel)
                    x1, y1 = mapping.to_canvas(box[2], box[3], panel)
                    layer.set_line_dash(dash)
                    layer.line_width = 2
                    layer.stroke_style = _rgb(BOX_COLOR)
                    layer.stroke_rect(x0, y0, x1 - x0, y1 - y0)
                    layer.set_line_dash([])
                for (x, y), label in zip(state.points, state.labels, strict=True):
                    self._draw_point(*mapping.to_canvas(x, y, panel), label)
            if mapping.panels == 2:
                layer.font = "bold 14px sans-serif"
                for panel, name in enumerate((VIEWS["sam"], VIEWS["hq"])):
                    x = panel * mapping.display_size[1] + 6
                    layer.fill_style = "rgba(0, 0, 0, 0.6)"
                    layer.fill_rect(x - 4, 4, 9 * len(name) + 8, 22)
                    layer.fill_style = _rgb(VIEW_COLORS["sam" if panel == 0 else "hq"])
                    layer.fill_text(name, x, 20)
        self.draw_counts["prompt"] += 1

    def picture(self) -> np.ndarray | None:
        """What the canvas shows, as ``uint8`` RGB ``h x w x 3`` at canvas size (image, masks, prompt), made in
        numpy (the browser's pixels never come back to the kernel); None before the first image."""
        from ..drawing.overlays import composite, draw_box, draw_points

        if self._image is None:
            return None
        out = self._image
        if self._masks is not None and self._masks.shape[:2] == out.shape[:2]:
            out = composite(out, self._masks)
        if self._prompts is not None:
            mapping, state = self._prompts
            for panel in range(mapping.panels):
                if state.box is not None:
                    x0, y0 = mapping.to_canvas(state.box[0], state.box[1], panel)
                    x1, y1 = mapping.to_canvas(state.box[2], state.box[3], panel)
                    out = draw_box(out, (x0, y0, x1, y1), color=BOX_COLOR, thickness=2)
                if state.points:
                    pts = [mapping.to_canvas(x, y, panel) for x, y in state.points]
                    out = draw_points(out, pts, state.labels, radius=5)
        return out

    def _draw_point(self, cx: float, cy: float, label: int) -> None:
        """A filled disc with a white ring and a white + (positive) or - (negative)."""
        layer = self.prompt_layer
        layer.fill_style = _rgb(POSITIVE_COLOR if label == 1 else NEGATIVE_COLOR)
        layer.fill_circle(cx, cy, 6)
        layer.line_width = 2
        layer.stroke_style = "white"
        layer.stroke_circle(cx, cy, 6)
        layer.fill_style = "white"
        layer.fill_rect(cx - 3.5, cy - 1, 7, 2)
        if label == 1:
            layer.fill_rect(cx - 1, cy - 3.5, 2, 7)
