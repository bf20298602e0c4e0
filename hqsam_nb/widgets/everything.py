"""An "everything" button for the prompting widget: the automatic masks of the canvas' image, for its view.

:func:`add_everything_button` adds the button (and a progress bar) to a
:class:`~hqsam_nb.widgets.canvas.PromptCanvas` through its ``add_action`` hook. A click runs
:class:`~hqsam_nb.automatic.generator.PairMaskGenerator` on the canvas' image for what the view shows (``sam``,
``hq`` or ``fused``: that branch alone; ``side``: SAM left, HQ token right; ``diff``: the difference map of the
pixels each model's masks cover) and draws every mask on the mask layer. The next prompt replaces them.
It takes seconds on a CPU: the bar advances per decoded chunk of points.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from ..automatic.generator import EverythingResult, PairMaskGenerator, suggested_thresholds
from ..drawing.overlays import difference_rgba, segments_rgba
from .state import resize_mask_nearest

logger = logging.getLogger(__name__)

__all__ = ["EverythingAction", "add_everything_button"]

#: The branches each canvas view shows.
VIEW_BRANCHES: dict[str, tuple[str, ...]] = {"sam": ("sam",), "hq": ("hq",), "fused": ("fused",),
                                             "side": ("sam", "hq"), "diff": ("sam", "hq")}


class EverythingAction:
    """The button's state: ``.button``, ``.progress`` (``ipywidgets.IntProgress``), ``.result`` (the last
    :class:`~hqsam_nb.automatic.generator.EverythingResult`, or None) and ``.params``."""

    def __init__(self, canvas: Any, params: dict[str, Any]) -> None:
        import ipywidgets as W

        self.canvas = canvas
        self.params = params
        self.result: EverythingResult | None = None
        self.progress = W.IntProgress(value=0, min=0, max=1, description="", bar_style="info",
                                      layout=W.Layout(width="160px", visibility="hidden"))
        self.button = canvas.add_action("everything", lambda c: self.run(), icon="th",
                                        tooltip="segment everything: the automatic masks of this image, for this view")
        canvas.controls.add_action(self.progress)

    def _step(self, done: int, total: int) -> None:
        self.progress.max = total
        self.progress.value = done
        self.canvas.status.value = f"segment everything: {done}/{total} chunks of points decoded"

    def run(self) -> EverythingResult:
        """Generate and draw the automatic masks of the canvas' image for its current view."""
        canvas = self.canvas
        if canvas.image is None:
            raise ValueError("the canvas has no image: choose a sample or open a file first")
        view = canvas.view.value
        keys = VIEW_BRANCHES[view]
        params = {**suggested_thresholds(canvas.pair), **self.params}
        self.progress.layout.visibility = "visible"
        self.progress.value = 0
        t0 = time.perf_counter()
        try:
            result = PairMaskGenerator(canvas.pair, **params).generate(canvas.image, branches=keys,
                                                                       progress=self._step)
        finally:
            self.progress.layout.visibility = "hidden"
        self.result = result
        canvas.layers.draw_masks(_view_layer(result, view, canvas.editor.mapping.display_size))
        counts = ", ".join(f"{k}: {n}" for k, n in result.counts().items())
        note = f" <b style='color:#b00020'>({result.weights_note})</b>" if result.weights_note else ""
        canvas.status.value = (f"segment everything ({view} view): {counts} masks from {result.n_points} points in "
                               f"{time.perf_counter() - t0:.1f} s; the next prompt replaces them{note}")
        return result


def _view_layer(result: EverythingResult, view: str, size: tuple[int, int]) -> np.ndarray:
    """The canvas mask layer (``uint8`` RGBA, ``h x (w * panels)``) of ``result`` for ``view``."""
    def panel(key: str) -> np.ndarray:
        masks = result.masks(key)
        if not len(masks):
            return np.zeros((*size, 4), np.uint8)
        return segments_rgba(np.stack([resize_mask_nearest(m, size) for m in masks]), alpha=0.45)

    if view == "diff":
        sam, hq = (resize_mask_nearest(result.masks(k).any(axis=0), size) for k in ("sam", "hq"))
        return difference_rgba(sam, hq, alpha=0.6)
    return np.concatenate([panel(k) for k in VIEW_BRANCHES[view]], axis=1)


def add_everything_button(canvas: Any, **params: Any) -> EverythingAction:
    """Add an "everything" button (and its progress bar) to a :class:`~hqsam_nb.widgets.canvas.PromptCanvas`.

    Args:
        canvas: the widget.
        params: :class:`~hqsam_nb.automatic.generator.PairMaskGenerator` parameters; default
            ``points_per_side=16`` (256 points: seconds on a CPU; Meta's 32 takes four times as long) and
            :func:`~hqsam_nb.automatic.generator.suggested_thresholds` for the pair's weights.

    Returns:
        The :class:`EverythingAction` (``.result`` holds the last masks).

    Raises:
        ValueError: a parameter out of range (checked now, not at the first click).
    """
    params = {"points_per_side": 16, **params}
    PairMaskGenerator(canvas.pair, **params)  # check the parameters now
    return EverythingAction(canvas, params)
