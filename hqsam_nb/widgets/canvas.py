"""Click on an image in JupyterLab (or a Voilà app) and watch SAM's and HQ-SAM's masks follow.

:class:`PromptCanvas` is a thin ``ipywidgets`` / ``ipycanvas`` shell: the prompt logic (events, undo/redo,
canvas <-> image coordinates, history replay) is pure Python in :mod:`hqsam_nb.widgets.state`, the mask layers
are drawn by :mod:`hqsam_nb.drawing`, and the masks come from a :class:`~hqsam_nb.PairPredictor`, which
computes the image embedding once per image (and caches it, so going back to an image is free).

The canvas is an ``ipycanvas.MultiCanvas`` with three layers, each redrawn only when it changes:

0. the image (downscaled to at most ``max_display`` pixels; prompts stay in original-image pixels),
1. the masks, sent as one RGBA array at display resolution (``put_image_data`` inside ``hold_canvas``),
2. the prompts (points, box, the box being dragged).
"""

from __future__ import annotations

import io
import json
import logging
import os
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as W  # noqa: N812
import numpy as np
from ipycanvas import MultiCanvas

from .._compat import held_canvas
from ..drawing.overlays import (
    DIFF_COLORS,
    DIFF_LABELS,
    FUSED_COLOR,
    MASK_COLORS,
    NEGATIVE_COLOR,
    POSITIVE_COLOR,
    difference_rgba,
    mask_rgba,
)
from ..io.atomic import atomic_write_json
from ..io.images import as_rgb_uint8
from .state import (
    KEY_BINDINGS,
    CanvasMapping,
    EditorUpdate,
    PromptEditor,
    PromptState,
    Replay,
    fit_display,
    history_to_dict,
    replay_history,
    resize_mask_nearest,
)

logger = logging.getLogger(__name__)

__all__ = ["VIEWS", "PromptCanvas"]

#: The views: value -> button label.
VIEWS: dict[str, str] = {
    "sam": "SAM",
    "hq": "HQ-SAM",
    "fused": "fused",
    "side": "side by side",
    "diff": "difference",
}
# The figures' colours: blue SAM, orange HQ-SAM, violet fused (none of them the green / red of the points).
VIEW_COLORS = {"sam": MASK_COLORS[0], "hq": MASK_COLORS[1], "fused": FUSED_COLOR}
#: The one decoder a view needs (``pair.predict(..., only=...)``: about half the decode time); the side-by-side
#: and difference views need both.
_VIEW_DECODER = {"sam": "sam", "hq": "hq", "fused": "hq"}
_BOX_COLOR = "#ffd400"
_MAX_LOG = 500


def _rgb(color: tuple[int, int, int]) -> str:
    return "rgb({}, {}, {})".format(*color)


def _resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    h, w = size
    if (h, w) == image.shape[:2]:
        return image
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)


class PromptCanvas(W.VBox):
    """An interactive SAM vs HQ-SAM prompting widget.

    Mouse: click = positive point; Shift+click, or a click in negative mode (the toggle or ``n``) = negative
    point; drag = box (points and the box combine). Keys (when the canvas has focus): ``z`` undo, ``y`` redo,
    ``Esc`` clear, ``n`` toggle negative mode, ``1``-``3`` pick SAM's candidate with multimask.

    Args:
        pair: a :class:`~hqsam_nb.PairPredictor`.
        image: anything :func:`~hqsam_nb.as_rgb_uint8` accepts; None: the first bundled sample.
        view: ``"sam"``, ``"hq"``, ``"fused"``, ``"side"`` (side by side) or ``"diff"`` (difference map).
        multimask: ask SAM for its three candidates (pick one with the buttons or ``1``-``3``).
        max_display: ``(max_h, max_w)`` of the shown image; larger images are downscaled for display only.
        export_dir: where the export buttons write.

    State to read from code (e.g. in a notebook cell after clicking): :attr:`state` (the prompt),
    :attr:`prediction` (the :class:`~hqsam_nb.PairPrediction`), :attr:`masks`, :attr:`event_log` (timings),
    :attr:`errors`. Methods with image-pixel arguments do what the mouse does: :meth:`add_point`,
    :meth:`set_box`, :meth:`undo`, :meth:`redo`, :meth:`clear`.
    """

    def __init__(self, pair: Any, image: Any = None, *, view: str = "fused", multimask: bool = False,
                 max_display: tuple[int, int] = (480, 640), export_dir: str | os.PathLike = "exports",
                 source: str | None = None) -> None:
        if view not in VIEWS:
            raise ValueError(f"view={view!r} is not accepted; use one of {list(VIEWS)}")
        if not (isinstance(max_display, tuple) and len(max_display) == 2 and min(max_display) >= 16):
            raise ValueError(f"max_display must be (max_h, max_w) with both >= 16, got {max_display!r}")
        self.pair = pair
        self.max_display = max_display
        self.export_dir = Path(export_dir)
        self.prediction: Any = None
        self.event_log: list[dict[str, Any]] = []
        self.errors: list[BaseException] = []
        self.draw_counts = {"image": 0, "mask": 0, "prompt": 0}
        self.image: np.ndarray | None = None
        self.source: str | None = None
        self._current_event: dict[str, Any] | None = None
        self._mask_layer_digest: str | None = None
        self._build_controls(view, multimask)
        super().__init__(children=self._layout_children(), layout=W.Layout(width="auto"))
        self.add_class("hqsam-prompt-canvas")
        if image is None:
            image, source = self._first_sample()
        if image is not None:
            self.set_image(image, source=source)

    # ------------------------------------------------------------------------------------------------
    # construction
    # ------------------------------------------------------------------------------------------------
    def _build_controls(self, view: str, multimask: bool) -> None:
        self.canvas = MultiCanvas(3, width=320, height=240)
        self.canvas.add_class("hqsam-canvas")
        self.image_layer, self.mask_layer, self.prompt_layer = self.canvas[0], self.canvas[1], self.canvas[2]
        self.mode = W.ToggleButtons(options=[("+ positive", "positive"), ("− negative", "negative")],
                                    value="positive", description="",
                                    tooltips=["a click adds a foreground point",
                                              "a click adds a background point (n)"],
                                    style={"button_width": "96px", "description_width": "initial"})
        self.view = W.ToggleButtons(options=[(label, key) for key, label in VIEWS.items()], value=view,
                                    description="",
                                    style={"button_width": "104px", "description_width": "initial"})
        self.multimask = W.Checkbox(value=multimask, description="SAM multimask (3 candidates)", indent=False,
                                    layout=W.Layout(width="220px"))
        self.candidate = W.ToggleButtons(options=[("best", -1)], value=-1, description="",
                                         style={"button_width": "72px", "description_width": "initial"},
                                         layout=W.Layout(display=None if multimask else "none"))
        self.undo_button = W.Button(description="Undo (z)", icon="undo", layout=W.Layout(width="110px"))
        self.redo_button = W.Button(description="Redo (y)", icon="repeat", layout=W.Layout(width="110px"))
        self.clear_button = W.Button(description="Clear (Esc)", icon="trash", layout=W.Layout(width="120px"))
        self.status = W.HTML(value="")
        self.status.add_class("hqsam-status")
        keys = " · ".join(f"<kbd>{k}</kbd> {v}" for k, v in KEY_BINDINGS.items())
        self.help = W.HTML(
            "<b>Click</b>: positive point · <b>Shift+click</b> (or negative mode): negative point · "
            "<b>drag</b>: box (points and a box combine)<br>"
            f"<span style='color:#555'>Keys, after clicking the image once: {keys}</span>")
        self.legend = W.HTML(value="")
        samples = self._sample_options()
        self.sample_choice = W.Dropdown(options=samples, value=None, description="Sample",
                                        layout=W.Layout(width="240px"))
        self.path_text = W.Text(placeholder="path/to/image.png", description="or path",
                                layout=W.Layout(width="300px"))
        self.path_button = W.Button(description="Open", layout=W.Layout(width="70px"))
        self.upload = W.FileUpload(accept="image/*", multiple=False, description="Upload")
        self.export_name = W.Text(value="prompt", description="Save as", layout=W.Layout(width="220px"))
        self.export_masks_button = W.Button(description="Masks (PNG + COCO)", icon="download",
                                            layout=W.Layout(width="190px"))
        self.export_history_button = W.Button(description="History (JSON)", icon="history",
                                              layout=W.Layout(width="140px"))
        self.output = W.Output(layout=W.Layout(max_height="160px", overflow="auto"))

        self.canvas.on_mouse_down(self._guard(self._on_mouse_down))
        self.canvas.on_mouse_move(self._guard(self._on_mouse_move))
        self.canvas.on_mouse_up(self._guard(self._on_mouse_up))
        self.canvas.on_mouse_out(self._guard(self._on_mouse_out))
        self.canvas.on_key_down(self._guard(self._on_key_down))
        self.canvas.on_client_ready(self._guard(self._redraw_all))
        self.mode.observe(self._guard(self._mode_changed), "value")
        self.view.observe(self._guard(lambda ch: self._view_changed()), "value")
        self.multimask.observe(self._guard(lambda ch: self._multimask_changed()), "value")
        self.candidate.observe(self._guard(lambda ch: self._redraw_masks()), "value")
        self.undo_button.on_click(self._guard(lambda b: self.undo()))
        self.redo_button.on_click(self._guard(lambda b: self.redo()))
        self.clear_button.on_click(self._guard(lambda b: self.clear()))
        self.sample_choice.observe(self._guard(self._on_sample), "value")
        self.path_button.on_click(self._guard(lambda b: self._open_path()))
        self.upload.observe(self._guard(self._on_upload), "value")
        self.export_masks_button.on_click(self._guard(lambda b: self.export_masks()))
        self.export_history_button.on_click(self._guard(lambda b: self.save_history()))

    def _layout_children(self) -> list[W.Widget]:
        row = W.HBox
        return [
            row([self.sample_choice, self.path_text, self.path_button, self.upload]),
            row([_label("Click adds"), self.mode, self.undo_button, self.redo_button, self.clear_button]),
            row([_label("Show"), self.view]),
            row([_label(""), self.multimask, self.candidate]),
            self.help,
            self.canvas,
            self.legend,
            self.status,
            row([self.export_name, self.export_masks_button, self.export_history_button]),
            self.output,
        ]

    # ------------------------------------------------------------------------------------------------
    # errors: shown in the widget, logged, never swallowed
    # ------------------------------------------------------------------------------------------------
    def _guard(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - shown to the user below, and logged
                self._show_error(exc)
                return None

        guarded.__name__ = getattr(fn, "__name__", "callback")
        return guarded

    def _show_error(self, exc: BaseException) -> None:
        self.errors.append(exc)
        logger.error("PromptCanvas: %s: %s", type(exc).__name__, exc, exc_info=exc)
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        self.status.value = f"<span style='color:#b91c1c'><b>Error:</b> {_escape(text)}</span>"
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.output.append_stderr(tb[-4000:])

    def _message(self, text: str) -> None:
        self.output.append_stdout(text.rstrip() + "\n")

    # ------------------------------------------------------------------------------------------------
    # images
    # ------------------------------------------------------------------------------------------------
    @staticmethod
    def _sample_options() -> list[tuple[str, str]]:
        """(label, name) of the bundled samples: skimage photographs, and generated scenes when available."""
        from ..io.samples import list_samples

        try:
            from ..io import synthetic  # noqa: F401  (the generated scenes need it)
        except ImportError:
            rows = list_samples("photo")
        else:
            rows = list_samples("all")
        return [(row["name"].replace("_", " "), row["name"]) for row in rows]

    def _first_sample(self) -> tuple[Any, str | None]:
        from ..io.samples import load_sample

        name = self._sample_options()[0][1]
        return load_sample(name).image, f"sample:{name}"

    def _on_sample(self, change: dict[str, Any]) -> None:
        name = change["new"]
        if name is None or self.source == f"sample:{name}":
            return
        from ..io.samples import load_sample

        self.set_image(load_sample(name).image, source=f"sample:{name}")

    def _on_upload(self, change: dict[str, Any]) -> None:
        files = change["new"]
        if not files:
            return
        item = files[0] if isinstance(files, (list, tuple)) else next(iter(files.values()))
        from PIL import Image

        with Image.open(io.BytesIO(bytes(item["content"]))) as img:
            image = as_rgb_uint8(img)
        self.set_image(image, source=f"upload:{item.get('name', 'image')}")

    def set_image(self, image: Any, *, source: str | None = None) -> None:
        """Show a new image (one encoder pass, or none when the pair has it cached) with an empty prompt."""
        t0 = time.perf_counter()
        rgb = as_rgb_uint8(image)
        self.pair.set_image(rgb)
        encode_ms = (time.perf_counter() - t0) * 1e3
        self.image = rgb
        self.source = source
        sample = source[len("sample:"):] if source and source.startswith("sample:") else None
        self.sample_choice.value = sample if sample in dict(self.sample_choice.options).values() else None
        self.prediction = None
        self.editor = PromptEditor(self._mapping(), negative_mode=self.mode.value == "negative")
        self._redraw_all()
        h, w = rgb.shape[:2]
        dh, dw = self.editor.mapping.display_size
        self._encode_note = (f"{_escape(source or 'image')} · {w} × {h} px" + (f" (shown at {dw} × {dh})"
                             if (dh, dw) != (h, w) else "") + f" · embedding {encode_ms:.0f} ms")
        self._update_status()

    def _open_path(self) -> None:
        path = self.path_text.value.strip()
        if not path:
            raise ValueError("type the path of an image file first (e.g. data/cat.jpg)")
        self.set_image(path, source=path)

    def _mode_changed(self, change: dict[str, Any]) -> None:
        self._apply(self.editor.set_negative_mode(change["new"] == "negative"))

    def _mapping(self) -> CanvasMapping:
        assert self.image is not None
        panels = 2 if self.view.value == "side" else 1
        mh, mw = self.max_display
        size = fit_display(self.image.shape[:2], (mh, mw // panels))
        return CanvasMapping(self.image.shape[:2], size, panels)

    # ------------------------------------------------------------------------------------------------
    # public state
    # ------------------------------------------------------------------------------------------------
    @property
    def state(self) -> PromptState:
        """The current prompt (points, labels, box) in original-image pixels."""
        return self.editor.state

    @property
    def prompt(self) -> Any:
        """The current :class:`~hqsam_nb.Prompt`, or None when empty."""
        return self.editor.state.to_prompt(self.editor.mapping.image_size)

    @property
    def candidate_index(self) -> int | None:
        """The SAM candidate picked with multimask (0-2), or None for the best-scoring one."""
        return None if self.candidate.value in (-1, None) else int(self.candidate.value)

    @property
    def masks(self) -> dict[str, np.ndarray]:
        """``{"sam", "hq", "fused"}`` -> ``bool`` ``H x W`` masks of the current prompt (``{}`` if none)."""
        if self.prediction is None:
            return {}
        p = self.prediction
        masks = {}
        if p.sam is not None:
            masks["sam"] = (p.sam if self.candidate_index is None else p.sam_candidates[self.candidate_index]).mask
        if p.hq is not None:
            masks["hq"], masks["fused"] = p.hq.mask, p.fused.mask
        return masks

    def _decoder_needed(self) -> str | None:
        """``pair.predict(only=...)`` for what is shown: the view's decoder, both with SAM's candidates."""
        need = _VIEW_DECODER.get(self.view.value)
        return None if self.multimask.value and need == "hq" else need

    def _decoded_for_view(self) -> bool:
        """Whether the current prediction holds the masks the current view shows."""
        need = self._decoder_needed()
        p = self.prediction
        return p is None or ((need == "hq" or p.sam is not None) and (need == "sam" or p.hq is not None))

    def complete_prediction(self) -> Any:
        """The current prediction with both decoders' masks (decoding the missing one), for exports."""
        p = self.prediction
        if p is not None and (p.sam is None or p.hq is None):
            prompt = self.prompt
            extra = self.pair.predict(prompt.points, prompt.labels, prompt.box, multimask=self.multimask.value,
                                      only="sam" if p.sam is None else "hq")
            self.prediction = p.merge(extra)
        return self.prediction

    # ------------------------------------------------------------------------------------------------
    # edits (image pixels) - what the mouse and keys do
    # ------------------------------------------------------------------------------------------------
    def add_point(self, x: float, y: float, label: int = 1) -> None:
        """Add a point at image pixel ``(x, y)``: label 1 positive, 0 negative."""
        self._apply(self.editor.do({"op": "point", "x": x, "y": y, "label": label}))

    def set_box(self, box: Any) -> None:
        """Set the box ``(x0, y0, x1, y1)`` in image pixels (replacing any previous box)."""
        self._apply(self.editor.do({"op": "box", "box": list(box)}))

    def undo(self) -> None:
        self._apply(self.editor.undo())

    def redo(self) -> None:
        self._apply(self.editor.redo())

    def clear(self) -> None:
        self._apply(self.editor.clear())

    # ------------------------------------------------------------------------------------------------
    # events (canvas pixels)
    # ------------------------------------------------------------------------------------------------
    def _begin(self, event: str) -> None:
        self._current_event = {"event": event, "t_recv": time.time(), "decode_ms": 0.0, "draw_ms": 0.0}

    def _on_mouse_down(self, x: float, y: float) -> None:
        self._begin("mouse_down")
        self._apply(self.editor.mouse_down(x, y))

    def _on_mouse_move(self, x: float, y: float) -> None:
        if self.editor.drag_start is None:
            return
        self._begin("mouse_move")
        self._apply(self.editor.mouse_move(x, y))

    def _on_mouse_up(self, x: float, y: float) -> None:
        self._begin("mouse_up")
        self._apply(self.editor.mouse_up(x, y))

    def _on_mouse_out(self, x: float, y: float) -> None:
        self._begin("mouse_out")
        self._apply(self.editor.mouse_out(x, y))

    def _on_key_down(self, key: str, shift_key: bool = False, ctrl_key: bool = False,
                     meta_key: bool = False) -> None:
        self._begin("key_down")
        update = self.editor.key_down(key, shift_key, ctrl_key, meta_key)
        if update.key in ("1", "2", "3") and self.multimask.value:
            self.candidate.value = int(update.key) - 1
        self._apply(update)

    def _apply(self, update: EditorUpdate) -> None:
        """Decode and redraw what an edit changed."""
        t0 = time.perf_counter()
        if update.mode and (self.mode.value == "negative") != self.editor.negative_mode:
            self.mode.value = "negative" if self.editor.negative_mode else "positive"
        if update.prompt:
            self._decode()
        if update.prompt or update.preview:
            t1 = time.perf_counter()
            with held_canvas():  # masks and prompts in one message: they appear in the same frame
                if update.prompt:
                    self._redraw_masks()
                self._redraw_prompts()
            if self._current_event is not None:
                self._current_event["draw_ms"] = (time.perf_counter() - t1) * 1e3
        if update.prompt or update.mode:
            self._update_status()
        event = self._current_event
        if event is not None and (update.prompt or update.preview):
            event.update(action=update.action, t_sent=time.time(),
                         total_ms=(time.perf_counter() - t0) * 1e3)
            self.event_log.append(event)
            del self.event_log[:-_MAX_LOG]
        self._current_event = None

    def _decode(self) -> None:
        prompt = self.prompt
        if prompt is None:
            self.prediction = None
            return
        t0 = time.perf_counter()
        self.prediction = self.pair.predict(prompt.points, prompt.labels, prompt.box,
                                            multimask=self.multimask.value, only=self._decoder_needed())
        if self._current_event is not None:
            self._current_event["decode_ms"] = (time.perf_counter() - t0) * 1e3
        self._update_candidates()

    def _update_candidates(self) -> None:
        if not self.multimask.value or self.prediction is None:
            options = [("best", -1)]
        else:
            scores = [c.score for c in self.prediction.sam_candidates]
            options = [("best", -1)] + [(f"{i + 1}: {s:.2f}", i) for i, s in enumerate(scores)]
        if list(self.candidate.options) != options:
            keep = self.candidate.value if self.candidate.value in [v for _, v in options] else -1
            with self.candidate.hold_trait_notifications():
                self.candidate.options = options
                self.candidate.value = keep
        self.candidate.layout.display = None if self.multimask.value else "none"

    def _view_changed(self) -> None:
        if self.image is None:
            return
        if not self._decoded_for_view():  # e.g. from the fused view (HQ decoder only) to side by side:
            p, prompt = self.prediction, self.prompt  # decode the missing decoder alone and keep both
            missing = "sam" if p.sam is None else "hq"
            extra = self.pair.predict(prompt.points, prompt.labels, prompt.box, multimask=self.multimask.value,
                                      only=missing)
            self.prediction = p.merge(extra)
            self._update_candidates()
            self._update_status()
        mapping = self._mapping()
        self._update_legend()
        if mapping == self.editor.mapping:  # same layout: only the mask layer changes
            self._redraw_masks()
            return
        self.editor.mapping = mapping
        self.editor.drag_start = self.editor.drag_end = None
        self._redraw_all()

    def _multimask_changed(self) -> None:
        if not self.multimask.value:
            self.candidate.value = -1
        self._apply(EditorUpdate(prompt=True))

    # ------------------------------------------------------------------------------------------------
    # drawing: each layer only when it changes
    # ------------------------------------------------------------------------------------------------
    def _redraw_all(self) -> None:
        if self.image is None:
            return
        h, w = self.editor.mapping.canvas_size
        with held_canvas():
            if (self.canvas.width, self.canvas.height) != (w, h):
                self.canvas.width, self.canvas.height = w, h
            # 1:1 pixels (no blurry upscaling), shrinking with the page when it is narrower than the canvas
            self.canvas.layout = W.Layout(width=f"{w}px", height="auto", max_width="100%")
            self._draw_image()
            self._redraw_masks()
            self._redraw_prompts()

    def _draw_image(self) -> None:
        assert self.image is not None
        mapping = self.editor.mapping
        small = _resize_image(self.image, mapping.display_size)
        layer = self.image_layer
        with held_canvas():
            layer.clear()
            for p in range(mapping.panels):
                layer.put_image_data(small, p * mapping.display_size[1], 0)
        self.draw_counts["image"] += 1
        self._update_legend()

    def _mask_rgba(self) -> np.ndarray | None:
        masks = self.masks
        if not masks:
            return None
        mapping = self.editor.mapping
        size = mapping.display_size
        view = self.view.value
        if view in VIEW_COLORS:
            return mask_rgba(resize_mask_nearest(masks[view], size), VIEW_COLORS[view], alpha=0.45)
        sam, hq = resize_mask_nearest(masks["sam"], size), resize_mask_nearest(masks["hq"], size)
        if view == "diff":
            return difference_rgba(sam, hq, alpha=0.6)
        return np.concatenate([mask_rgba(sam, VIEW_COLORS["sam"], alpha=0.45),
                               mask_rgba(hq, VIEW_COLORS["hq"], alpha=0.45)], axis=1)

    def _redraw_masks(self) -> None:
        rgba = self._mask_rgba()
        with held_canvas():
            self.mask_layer.clear()
            if rgba is not None:
                self.mask_layer.put_image_data(rgba, 0, 0)
        self._mask_layer_digest = None if rgba is None else _digest(rgba)
        self.draw_counts["mask"] += 1

    def _redraw_prompts(self) -> None:
        mapping = self.editor.mapping
        state = self.editor.state
        layer = self.prompt_layer
        with held_canvas():
            layer.clear()
            for panel in range(mapping.panels):
                if state.box is not None:
                    x0, y0 = mapping.to_canvas(state.box[0], state.box[1], panel)
                    x1, y1 = mapping.to_canvas(state.box[2], state.box[3], panel)
                    layer.set_line_dash([])
                    layer.line_width = 2
                    layer.stroke_style = _BOX_COLOR
                    layer.stroke_rect(x0, y0, x1 - x0, y1 - y0)
                drag = self.editor.drag_box_image
                if drag is not None and self.editor._is_drag():
                    x0, y0 = mapping.to_canvas(drag[0], drag[1], panel)
                    x1, y1 = mapping.to_canvas(drag[2], drag[3], panel)
                    layer.set_line_dash([6, 4])
                    layer.line_width = 2
                    layer.stroke_style = _BOX_COLOR
                    layer.stroke_rect(x0, y0, x1 - x0, y1 - y0)
                    layer.set_line_dash([])
                for (x, y), label in zip(state.points, state.labels, strict=True):
                    cx, cy = mapping.to_canvas(x, y, panel)
                    layer.fill_style = _rgb(POSITIVE_COLOR if label == 1 else NEGATIVE_COLOR)
                    layer.fill_circle(cx, cy, 6)
                    layer.line_width = 2
                    layer.stroke_style = "white"
                    layer.stroke_circle(cx, cy, 6)
                    layer.fill_style = "white"
                    layer.fill_rect(cx - 3.5, cy - 1, 7, 2)
                    if label == 1:
                        layer.fill_rect(cx - 1, cy - 3.5, 2, 7)
            if mapping.panels == 2:
                layer.font = "bold 14px sans-serif"
                for panel, name in enumerate(("SAM", "HQ-SAM")):
                    x = panel * mapping.display_size[1] + 6
                    layer.fill_style = "rgba(0, 0, 0, 0.6)"
                    layer.fill_rect(x - 4, 4, 70, 22)
                    layer.fill_style = _rgb(VIEW_COLORS["sam" if panel == 0 else "hq"])
                    layer.fill_text(name, x, 20)
        self.draw_counts["prompt"] += 1

    def _update_legend(self) -> None:
        view = self.view.value
        if view == "diff":
            items = [(DIFF_COLORS[k], DIFF_LABELS[k]) for k in ("hq_only", "sam_only", "both")]
        elif view == "side":
            items = [(VIEW_COLORS["sam"], "SAM (left)"), (VIEW_COLORS["hq"], "HQ-SAM (right)")]
        else:
            items = [(VIEW_COLORS[view], f"{VIEWS[view]} mask")]
        items += [(POSITIVE_COLOR, "positive point"), (NEGATIVE_COLOR, "negative point")]
        swatch = ("<span style='display:inline-block;width:12px;height:12px;background:{};margin:0 4px'>"
                  "</span>{}")
        self.legend.value = " ".join(swatch.format(_rgb(c), _escape(t)) for c, t in items) + \
            f" <span style='display:inline-block;width:12px;height:12px;border:2px solid {_BOX_COLOR};" \
            "margin:0 4px'></span>box"

    def _update_status(self) -> None:
        self._update_legend()
        state = self.editor.state
        pos = sum(1 for v in state.labels if v == 1)
        neg = len(state.labels) - pos
        prompt = f"{pos} positive, {neg} negative point(s)" + (", a box" if state.box is not None else "")
        mode = "<b style='color:#b91c1c'>negative</b>" if self.editor.next_label == 0 else "positive"
        parts = [f"next click: {mode}", prompt if not state.is_empty else "no prompt yet: click the image"]
        p = self.prediction
        if p is not None:
            cand = self.candidate_index
            scores = []
            if p.sam is not None:
                scores.append(f"SAM <b>{(p.sam if cand is None else p.sam_candidates[cand]).score:.2f}</b>")
            if p.hq is not None:
                scores.append(f"HQ-SAM <b>{p.hq.score:.2f}</b>")
            last = self.event_log[-1] if self.event_log else {}
            parts += ["scores: " + ", ".join(scores), f"decode <b>{p.decode_ms:.0f} ms</b>"]
            if last.get("draw_ms"):
                parts.append(f"draw {last['draw_ms']:.0f} ms")
        parts.append(f"undo {self.editor.position} / redo {len(self.editor.actions) - self.editor.position}")
        note = getattr(self, "_encode_note", "")
        note = f"<br><span style='color:#555'>{note}</span>" if note else ""
        self.status.value = " · ".join(parts) + note
        self.undo_button.disabled = not self.editor.can_undo
        self.redo_button.disabled = not self.editor.can_redo

    # ------------------------------------------------------------------------------------------------
    # export and replay
    # ------------------------------------------------------------------------------------------------
    def history_dict(self) -> dict[str, Any]:
        """The prompt history (JSON-serialisable), replayable with :meth:`replay` / :func:`replay_history`."""
        if self.image is None:
            raise RuntimeError("no image is set")
        return history_to_dict(self.editor, image=self.image, multimask=self.multimask.value,
                               candidate=self.candidate_index, prediction=self.complete_prediction(),
                               source=self.source,
                               model=getattr(getattr(self.pair, "info", None), "model", None))

    def save_history(self, path: str | os.PathLike | None = None) -> Path:
        """Write :meth:`history_dict` as JSON (atomically); default ``<export_dir>/<name>.history.json``."""
        name = f"{self.export_name.value}.history.json"
        target = Path(path) if path is not None else self.export_dir / name
        atomic_write_json(target, self.history_dict())
        self._message(f"saved the prompt history to {target}")
        return target

    def replay(self, history: dict[str, Any] | str | os.PathLike) -> Replay:
        """Load a history (dict or JSON path) into the widget: rebuild its prompt and decode it again.

        Returns the :class:`~hqsam_nb.widgets.state.Replay` (``.matches``: the masks equal the recorded ones).
        """
        data = history if isinstance(history, dict) else json.loads(Path(history).read_text())
        result = replay_history(self.pair, data, self.image)
        decode = data.get("decode") or {}
        self.editor = PromptEditor(self._mapping(), negative_mode=self.editor.negative_mode)
        for action in data["actions"]:
            self.editor.do(action)
        while self.editor.position > int(data["position"]):
            self.editor.undo()
        with self.multimask.hold_trait_notifications():
            self.multimask.value = bool(decode.get("multimask"))
        self.prediction = result.prediction
        self._update_candidates()
        cand = decode.get("candidate")
        self.candidate.value = -1 if cand is None else int(cand)
        self._redraw_masks()
        self._redraw_prompts()
        self._update_status()
        return result

    def export_masks(self, stem: str | os.PathLike | None = None) -> list[Path]:
        """Write the current masks with their prompt: a PNG per mask and one COCO RLE JSON (atomically).

        Args:
            stem: path without extension; default ``<export_dir>/<name>``.
        """
        if self.prediction is None:
            raise RuntimeError("nothing to export yet: click the image to get a mask first")
        from ..io.exports import MaskRecord, save_coco_json, save_mask_png

        stem = Path(stem) if stem is not None else self.export_dir / str(self.export_name.value)
        p = self.complete_prediction()
        cand = self.candidate_index
        extra = {"source": self.source, "multimask": bool(self.multimask.value), "candidate": cand}
        sam = p.sam if cand is None else p.sam_candidates[cand]
        records = [MaskRecord(res.mask, p.prompt, name=stem.name, model=key, score=res.score, extra=extra)
                   for key, res in (("sam", sam), ("hq", p.hq), ("fused", p.fused))]
        paths = [save_mask_png(stem.with_name(f"{stem.name}_{r.model}.png"), r) for r in records]
        paths.append(save_coco_json(stem.with_name(f"{stem.name}_coco.json"), records,
                                    file_name=self.source or ""))
        self._message("exported " + ", ".join(str(path) for path in paths))
        return [Path(path) for path in paths]


def _label(text: str) -> W.Label:
    return W.Label(text, layout=W.Layout(width="80px"))


def _escape(text: str) -> str:
    import html

    return html.escape(str(text))


def _digest(array: np.ndarray) -> str:
    import hashlib

    return hashlib.sha1(np.ascontiguousarray(array).tobytes()).hexdigest()
