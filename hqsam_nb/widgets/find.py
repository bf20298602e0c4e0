"""A "find:" text field for :class:`~hqsam_nb.widgets.PromptCanvas`: type a caption, see every object it names.

The caption goes through :func:`~hqsam_nb.text.segment_text` (detector boxes -> one batched SAM / HQ-SAM decode);
the objects are drawn on the canvas' mask layer (one colour per object, the current view's branch; side by side
and difference views as usual) and their boxes, numbers, labels and scores on the prompt layer. They stay through
view changes until the next click, key edit or image: then the canvas shows its own prompt again.
"""

from __future__ import annotations

import html
import logging
from typing import Any

import numpy as np

from .._compat import held_canvas
from ..drawing.overlays import masks_rgba
from ..drawing.text_figures import TAG_CHARS, _object_text, object_color
from .layers import view_rgba
from .state import resize_mask_nearest

logger = logging.getLogger(__name__)

__all__ = ["FindField", "add_find_field", "objects_rgba"]


def objects_rgba(segmentation: Any, view: str, size: tuple[int, int]) -> np.ndarray | None:
    """The mask layer for a text segmentation's objects in ``view``: ``uint8`` RGBA ``h x (w * panels) x 4``.

    ``"sam"`` / ``"hq"`` / ``"fused"``: that branch's masks, object ``i`` in :func:`object_color` ``(i)``;
    ``"side"``: SAM's left, HQ-SAM's right; ``"diff"``: the difference map of the union of all objects. None
    when there is no object.
    """
    pred = segmentation.prediction
    if not len(pred):
        return None
    colors = [object_color(i) for i in range(len(pred))]

    def layer(key: str) -> np.ndarray:
        return masks_rgba([resize_mask_nearest(m, size) for m in pred.branch(key).masks], colors, alpha=0.45)

    if view in ("sam", "hq", "fused"):
        return layer(view)
    if view == "side":
        return np.concatenate([layer("sam"), layer("hq")], axis=1)
    return view_rgba({"sam": pred.sam.masks.any(0), "hq": pred.hq.masks.any(0)}, view, size)


class FindField:
    """The field and what it shows (see :func:`add_find_field`).

    Attributes:
        text: the ``ipywidgets.Text``. segmentation: the last :class:`~hqsam_nb.text.TextSegmentation` shown
            (None before the first search). active: whether its objects are on the canvas now.
    """

    def __init__(self, canvas: Any, detector: Any, *, box_threshold: float, text_threshold: float,
                 max_objects: int) -> None:
        self.canvas = canvas
        self.detector = detector
        self.options = {"box_threshold": box_threshold, "text_threshold": text_threshold, "max_objects": max_objects}
        self.segmentation: Any = None
        self.active = False
        self.text = canvas.add_text_field("find:", lambda c, text: self.find(text), placeholder="a cat. a dog.")
        canvas.view.observe(canvas._guard(lambda ch: self._redraw()), "value")  # after the canvas' own redraw

    def find(self, text: str) -> Any:
        """Detect and segment ``text`` on the canvas' image and show the objects (an empty text: nothing)."""
        from ..text.segment import segment_text

        c = self.canvas
        if not text.strip() or c.image is None:
            return None
        if not c.state.is_empty:
            c.clear()  # the objects replace the clicked prompt
        self.segmentation = segment_text(c.pair, self.detector, c.image, text, **self.options)
        self.active = True
        self._redraw()
        return self.segmentation

    def _redraw(self) -> None:
        c, seg = self.canvas, self.segmentation
        if seg is None or not self.active:
            return
        if c.image is not seg.image or not c.state.is_empty:
            self.active = False  # the user moved on: the canvas shows its own prompt
            return
        mapping = c.editor.mapping
        det = seg.detections
        with held_canvas():
            c.layers.draw_masks(objects_rgba(seg, c.view.value, mapping.display_size))
            layer = c.layers.prompt_layer
            layer.clear()
            layer.font = "bold 12px sans-serif"
            for panel in range(mapping.panels):
                for i, box in enumerate(det.boxes):
                    x0, y0 = (float(v) for v in mapping.to_canvas(float(box[0]), float(box[1]), panel))
                    x1, y1 = (float(v) for v in mapping.to_canvas(float(box[2]), float(box[3]), panel))
                    color = "#{:02x}{:02x}{:02x}".format(*object_color(i))
                    layer.line_width = 2
                    layer.stroke_style = color
                    layer.stroke_rect(x0, y0, x1 - x0, y1 - y0)
                    label = _object_text(det, i, TAG_CHARS)
                    layer.fill_style = color
                    layer.fill_rect(x0, y0, 7 * len(label) + 6, 16)
                    layer.fill_style = "white"
                    layer.fill_text(label, x0 + 3, y0 + 12)
        found = ", ".join(html.escape(_object_text(det, i)) for i in range(len(det))) or "nothing above the threshold"
        note = f" <b style='color:#c2410c'>{html.escape(seg.note)}</b>" if seg.note else ""
        c.status.value = f"<b>find</b> {html.escape(det.caption)!s}: {len(det)} object(s): {found}.{note}"


def add_find_field(canvas: Any, detector: Any, *, box_threshold: float = 0.35, text_threshold: float = 0.25,
                   max_objects: int = 10) -> FindField:
    """Add a "find:" field to a :class:`~hqsam_nb.widgets.PromptCanvas`: its caption's boxes become the objects shown.

    Args:
        canvas: the canvas (its pair and image are used).
        detector: from :func:`~hqsam_nb.text.load_detector` (or :func:`~hqsam_nb.text.load_detector_or_random`).
        box_threshold, text_threshold, max_objects: passed to :func:`~hqsam_nb.text.segment_text`.

    Returns:
        The :class:`FindField` (``.text`` is the widget; ``.find(text)`` does what Enter does).
    """
    return FindField(canvas, detector, box_threshold=box_threshold, text_threshold=text_threshold,
                     max_objects=max_objects)
