"""Click on an image in JupyterLab (or a Voilà app) and watch SAM's and HQ-SAM's masks follow.

:class:`PromptCanvas` composes four small pieces; one click flows through them in this order:

1. **events** - ``ipycanvas`` mouse/keyboard events (canvas pixels) go to the
   :class:`~hqsam_nb.widgets.state.PromptEditor` (pure Python: prompt, undo/redo, canvas <-> image pixels);
2. **decode** - the editor's prompt goes to the :class:`~hqsam_nb.PairPredictor`, which computed the image
   embedding once per image (and caches it, so going back to an image is free);
3. **layers** - the masks and prompts are drawn by :class:`~hqsam_nb.widgets.layers.CanvasLayers`
   (image, mask and prompt layers of a ``MultiCanvas``, each redrawn only when it changes);
4. **files** - exports and prompt histories (:mod:`hqsam_nb.widgets.files`).

The controls (buttons, toggles, text fields) are declared in :mod:`hqsam_nb.widgets.controls` and connected
in :meth:`PromptCanvas._connect`. Add a button or a text field with :meth:`PromptCanvas.add_action` /
:meth:`PromptCanvas.add_text_field`.
"""

from __future__ import annotations

import html
import logging
import os
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as W  # noqa: N812
import numpy as np

from .._compat import held_canvas
from ..io.images import as_rgb_uint8
from . import files
from .controls import Controls, sample_options
from .history import Replay, history_to_dict, replay_history
from .layers import VIEWS, CanvasLayers, legend_html, view_rgba
from .state import CanvasMapping, EditorUpdate, PromptEditor, PromptState, fit_display
from .still import Still, StillBox

logger = logging.getLogger(__name__)

__all__ = ["VIEWS", "PromptCanvas"]

#: The one decoder a view needs (``pair.predict(..., only=...)``: about half the decode time); the side-by-side
#: and difference views need both.
_VIEW_DECODER = {"sam": "sam", "hq": "hq", "fused": "hq"}
_MAX_LOG = 500


def _watch_pointer(canvas: Any, callback: Callable[[dict[str, Any]], Any]) -> Any:
    """Send each mouse press on ``canvas`` with its modifier keys to ``callback`` (an ``ipyevents.Event``).

    ipycanvas reports positions only; the press's ``shiftKey`` comes from here, whatever has the keyboard focus.
    Without ipyevents (an install that skipped it) Shift is read from the key events as before.
    """
    try:
        from ipyevents import Event
    except ImportError:
        logger.warning("ipyevents is not installed: Shift+click needs the canvas to have the keyboard focus")
        return None
    events = Event(source=canvas, watched_events=["mousedown"])
    events.on_dom_event(callback)
    return events


class PromptCanvas(StillBox):
    """An interactive SAM vs HQ-SAM prompting widget.

    Mouse: click = positive point; Shift+click, or a click in negative mode (the toggle or ``n``) = negative
    point; drag = box (points and the box combine). Keys (when the canvas has focus): ``z`` undo, ``y`` redo,
    ``Esc`` clear, ``n`` toggle negative mode, ``1``-``3`` pick SAM's candidate with multimask.

    Args:
        pair: a :class:`~hqsam_nb.PairPredictor`.
        image: anything :func:`~hqsam_nb.as_rgb_uint8` accepts; None: the first bundled sample.
        view: ``"sam"``, ``"hq"``, ``"fused"``, ``"side"`` (side by side) or ``"diff"`` (difference map).
        multimask: ask SAM for its three candidates (pick one with the buttons or ``1``-``3``).
        max_display: ``(max_h, max_w)`` of the shown image (side by side: each panel ``3/4`` of ``max_w``);
            images are scaled to fit it, up or down, for display only (prompts stay in image pixels).
        export_dir: where the export buttons write; every export stays inside it (the "Save as" name must be a
            plain file name, see :func:`~hqsam_nb.widgets.files.export_path`).
        source: where ``image`` came from (shown, and stored in exports).

    State to read from code (e.g. in a notebook cell after clicking): :attr:`state` (the prompt),
    :attr:`prediction` (the :class:`~hqsam_nb.PairPrediction`), :attr:`masks`, :attr:`event_log` (timings),
    :attr:`errors`. Methods with image-pixel arguments do what the mouse does: :meth:`add_point`,
    :meth:`set_box`, :meth:`undo`, :meth:`redo`, :meth:`clear`. The controls are attributes too
    (``canvas.view``, ``canvas.mode``, ... : see :class:`~hqsam_nb.widgets.controls.Controls`).

    Displayed, the widget leaves a PNG still of its canvas as the next output (updated as it changes), which
    nbconvert's HTML, nbviewer and GitHub show; where the widget runs, the still is hidden
    (:mod:`hqsam_nb.widgets.still`). :meth:`picture` gives that still as an array.

    Several canvases may share one pair, and notebook cells may use the pair between clicks: each canvas
    decodes on its own image (it sets it on the pair again when needed; the pair's embedding cache makes that
    free). A pair is not thread-safe: do not decode from two threads at once (ipywidgets callbacks all run on
    the kernel's one thread, which is safe).
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
        self.image: np.ndarray | None = None
        self.source: str | None = None
        self._current_event: dict[str, Any] | None = None
        self._encode_note = ""
        self._replaying = False
        self.layers = CanvasLayers()
        self.canvas = self.layers.canvas
        self.controls = Controls(view=view, multimask=multimask)
        for name in Controls.NAMES:  # canvas.view, canvas.mode, ... (notebooks and tests read them)
            setattr(self, name, getattr(self.controls, name))
        self.still = Still(self.picture, label="PromptCanvas (a still of the interactive widget: run the notebook "
                           "to click)")
        self._connect()
        self._show_weights_note()
        super().__init__(children=[*self.controls.rows(self.canvas), self.still.hider],
                         layout=W.Layout(width="auto"))
        self.add_class("hqsam-prompt-canvas")
        if image is None:
            image, source = self._first_sample()
        if image is not None:
            self.set_image(image, source=source)

    def _connect(self) -> None:
        """What each control does (every callback guarded: errors are shown in the widget)."""
        g = self._guard
        self.canvas.on_mouse_down(g(self._on_mouse_down))
        self.canvas.on_mouse_move(g(self._on_mouse_move))
        self.canvas.on_mouse_up(g(self._on_mouse_up))
        self.canvas.on_mouse_out(g(self._on_mouse_out))
        self.canvas.on_key_down(g(self._on_key_down))
        self.canvas.on_client_ready(g(self._on_client_ready))
        self._pointer_events = _watch_pointer(self.canvas, g(self._on_pointer_down))
        c = self.controls
        c.mode.observe(g(self._mode_changed), "value")
        c.view.observe(g(lambda ch: self._view_changed()), "value")
        c.multimask.observe(g(lambda ch: self._multimask_changed()), "value")
        c.candidate.observe(g(lambda ch: (self._redraw_masks(), self.still.refresh())), "value")
        c.undo_button.on_click(g(lambda b: self.undo()))
        c.redo_button.on_click(g(lambda b: self.redo()))
        c.clear_button.on_click(g(lambda b: self.clear()))
        c.sample_choice.observe(g(self._on_sample), "value")
        c.path_button.on_click(g(lambda b: self._open_path()))
        c.upload.observe(g(self._on_upload), "value")
        c.export_masks_button.on_click(g(lambda b: self.export_masks()))
        c.export_history_button.on_click(g(lambda b: self.save_history()))

    def _on_client_ready(self) -> None:
        """A browser shows the canvas (now, or again after a reload): draw everything, hide the still there."""
        self.still.set_live()
        self._redraw_all()

    def _show_weights_note(self) -> None:
        """Say in the live widget itself, above the canvas, when the weights are not the official ones: a
        student who scrolled past the banner still reads that the masks are noise."""
        from ..text.segment import weights_note

        note = weights_note(pair=self.pair)
        self.weights_note.value = (f"<div style='color:#fff;background:#b91c1c;padding:2px 8px;font-weight:bold'>"
                                   f"{html.escape(note)}</div>") if note else ""
        self.weights_note.layout.display = None if note else "none"

    def picture(self) -> np.ndarray | None:
        """What the canvas shows (image, masks, prompt) as ``uint8`` RGB, with a title bar naming the view and,
        for weights that are not the official ones, saying so; None before the first image."""
        from ..drawing.overlays import label_panels
        from ..text.segment import weights_note

        picture = self.layers.picture()
        if picture is None:
            return None
        view = self.view.value
        side = f" (left {VIEWS['sam']}, right {VIEWS['hq']})" if view == "side" else ""
        title = f"Widget still: {VIEWS[view]} view{side}"
        note = weights_note(pair=self.pair)
        out = label_panels([picture], [note]) if note else picture
        return label_panels([out], [title])

    # ------------------------------------------------------------------------------------------------
    # extension hooks: one more button or text field
    # ------------------------------------------------------------------------------------------------
    def add_action(self, description: str, callback: Callable[[PromptCanvas], Any], *, icon: str = "",
                   tooltip: str = "", width: str = "150px") -> W.Button:
        """Add a button to the actions row (above the canvas); a click calls ``callback(canvas)``.

        Errors in ``callback`` are shown in the widget and logged (as for every control). To show masks of
        your own, draw an RGBA array on the mask layer (``canvas.layers.draw_masks(rgba)``, canvas size, see
        :func:`~hqsam_nb.widgets.layers.view_rgba`) or set a prompt (:meth:`set_box`, :meth:`add_point`).

        Returns:
            The ``ipywidgets.Button``.
        """
        button = W.Button(description=description, icon=icon, tooltip=tooltip or description,
                          layout=W.Layout(width=width))
        button.on_click(self._guard(lambda b: callback(self)))
        self.controls.add_action(button)
        return button

    def add_text_field(self, description: str, callback: Callable[[PromptCanvas, str], Any], *,
                       placeholder: str = "", width: str = "300px") -> W.Text:
        """Add a text field to the actions row; Enter (or leaving the field) calls ``callback(canvas, text)``.

        Returns:
            The ``ipywidgets.Text`` (``continuous_update=False``: one call per submitted text).
        """
        text = W.Text(description=description, placeholder=placeholder, continuous_update=False,
                      layout=W.Layout(width=width), style={"description_width": "initial"})
        text.observe(self._guard(lambda ch: callback(self, str(ch["new"]))), "value")
        self.controls.add_action(text)
        return text

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
        self.status.value = f"<span style='color:#b91c1c'><b>Error:</b> {html.escape(text)}</span>"
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.output.append_stderr(tb[-4000:])

    def _message(self, text: str) -> None:
        self.output.append_stdout(text.rstrip() + "\n")

    # ------------------------------------------------------------------------------------------------
    # images
    # ------------------------------------------------------------------------------------------------
    def _first_sample(self) -> tuple[Any, str | None]:
        from ..io.samples import load_sample

        name = sample_options()[0][1]
        return load_sample(name).image, f"sample:{name}"

    def _on_sample(self, change: dict[str, Any]) -> None:
        name = change["new"]
        if name is None or self.source == f"sample:{name}":
            return
        from ..io.samples import load_sample

        self.set_image(load_sample(name).image, source=f"sample:{name}")

    def _on_upload(self, change: dict[str, Any]) -> None:
        if change["new"]:
            image, name = files.image_from_upload(change["new"])
            self.set_image(image, source=f"upload:{name}")

    def _open_path(self) -> None:
        path = self.path_text.value.strip()
        if not path:
            raise ValueError("type the path of an image file first (e.g. data/cat.jpg)")
        self.set_image(path, source=path)

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
        self._encode_note = (f"{html.escape(source or 'image')} · {w} × {h} px"
                             + (f" (shown at {dw} × {dh})" if (dh, dw) != (h, w) else "")
                             + f" · embedding {encode_ms:.0f} ms")
        self._update_status()
        self.still.refresh()

    def _mode_changed(self, change: dict[str, Any]) -> None:
        self._apply(self.editor.set_negative_mode(change["new"] == "negative"))

    def _mapping(self) -> CanvasMapping:
        assert self.image is not None
        panels = 2 if self.view.value == "side" else 1
        mh, mw = self.max_display
        # side by side: two panels of 3/4 of the width each (a 640 px view gives 2 x 480, not 2 x 320); small
        # images are scaled up to fill the space (readable on a projector), prompts stay in image pixels
        panel_w = mw if panels == 1 else (3 * mw) // 4
        size = fit_display(self.image.shape[:2], (mh, panel_w), upscale=True)
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
        """The current :class:`~hqsam_nb.Prompt`, or None when empty (built once per decode, passed on as is)."""
        return self.editor.state.to_prompt()

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

    @property
    def draw_counts(self) -> dict[str, int]:
        """How often each canvas layer was redrawn (``{"image", "mask", "prompt"}``)."""
        return self.layers.draw_counts

    # ------------------------------------------------------------------------------------------------
    # decode: the prompt -> the pair
    # ------------------------------------------------------------------------------------------------
    def _predict(self, only: str | None) -> Any:
        """Decode the current (non-empty) prompt with ``pair.predict(..., only=only)`` on this canvas' image.

        The pair may serve several canvases, and a notebook cell may call ``pair.set_image(other)`` between two
        clicks: every decode first makes sure the pair holds this canvas' image (an identity check; when it
        does not, ``pair.set_image`` fetches the embedding from its cache, or computes it once if evicted).
        """
        if getattr(self.pair, "image", None) is not self.image:
            self.pair.set_image(self.image)
        return self.pair.predict(prompt=self.prompt, multimask=self.multimask.value, only=only)

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
            self.prediction = p.merge(self._predict("sam" if p.sam is None else "hq"))
        return self.prediction

    def _decode(self) -> None:
        if self.editor.state.is_empty:
            self.prediction = None
            return
        t0 = time.perf_counter()
        self.prediction = self._predict(self._decoder_needed())
        if self._current_event is not None:
            self._current_event["decode_ms"] = (time.perf_counter() - t0) * 1e3
        self._update_candidates()

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

    def _on_pointer_down(self, event: dict[str, Any]) -> None:
        """The press as the browser reports it, modifiers included (ipyevents); it arrives before the release,
        which :meth:`_on_mouse_up` turns into the point."""
        if event.get("type") == "mousedown":
            self._apply(self.editor.pointer_modifiers(bool(event.get("shiftKey"))))

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
        if update.prompt:
            self.still.refresh()

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
            p = self.prediction  # decode the missing decoder alone and keep both
            self.prediction = p.merge(self._predict("sam" if p.sam is None else "hq"))
            self._update_candidates()
            self._update_status()
        mapping = self._mapping()
        self.legend.value = legend_html(self.view.value)
        if mapping == self.editor.mapping:  # same layout: only the mask layer changes
            self._redraw_masks()
        else:
            self.editor.mapping = mapping
            self.editor.drag_start = self.editor.drag_end = None
            self._redraw_all()
        self.still.refresh()

    def _multimask_changed(self) -> None:
        if self._replaying:
            return
        if not self.multimask.value:
            self.candidate.value = -1
        self._apply(EditorUpdate(prompt=True))

    # ------------------------------------------------------------------------------------------------
    # drawing: each layer only when it changes
    # ------------------------------------------------------------------------------------------------
    def _redraw_all(self) -> None:
        if self.image is None:
            return
        mapping = self.editor.mapping
        with held_canvas():
            self.layers.fit(mapping)
            self.layers.draw_image(self.image, mapping)
            self.legend.value = legend_html(self.view.value)
            self._redraw_masks()
            self._redraw_prompts()

    def _mask_rgba(self) -> np.ndarray | None:
        return view_rgba(self.masks, self.view.value, self.editor.mapping.display_size)

    def _redraw_masks(self) -> None:
        self.layers.draw_masks(self._mask_rgba())

    def _redraw_prompts(self) -> None:
        editor = self.editor
        dragging = editor.drag_start is not None and editor.drag_end is not None and editor._is_drag()
        self.layers.draw_prompts(editor.mapping, editor.state, editor.drag_box_image if dragging else None)

    def _update_status(self) -> None:
        self.legend.value = legend_html(self.view.value)
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
                scores.append(f"{VIEWS['hq']} <b>{p.hq.score:.2f}</b>")
            last = self.event_log[-1] if self.event_log else {}
            parts += ["scores: " + ", ".join(scores), f"decode <b>{p.decode_ms:.0f} ms</b>"]
            if last.get("draw_ms"):
                parts.append(f"draw {last['draw_ms']:.0f} ms")
        parts.append(f"undo {self.editor.position} / redo {len(self.editor.actions) - self.editor.position}")
        note = f"<br><span style='color:#555'>{self._encode_note}</span>" if self._encode_note else ""
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

    def save_history(self, name: str | None = None) -> Path:
        """Write :meth:`history_dict` as JSON (atomically) to ``<export_dir>/<name>.history.json``.

        Args:
            name: a plain file name (see :func:`~hqsam_nb.widgets.files.export_path`: nothing outside
                ``export_dir``); None: the "Save as" field.
        """
        target = files.export_path(self.export_dir, self.export_name.value if name is None else name,
                                   ".history.json")
        files.write_history(target, self.history_dict())
        self._message(f"saved the prompt history to {target}")
        return target

    def replay(self, history: dict[str, Any] | str | os.PathLike) -> Replay:
        """Load a history (dict or JSON path) into the widget: rebuild its prompt and decode it again.

        The whole history is checked first (:func:`~hqsam_nb.widgets.history.check_history`: every field and
        action, the redo tail too, at most :data:`~hqsam_nb.widgets.history.MAX_HISTORY_ACTIONS` actions) and
        decoded; only then does the widget change, so a bad file leaves it as it was.

        Returns the :class:`~hqsam_nb.widgets.history.Replay` (``.matches``: the masks equal the recorded ones).

        Raises:
            ValueError: naming the malformed field; a history of another image.
        """
        if self.image is None:
            raise RuntimeError("no image is set: set_image() the image the history was recorded on first")
        result = replay_history(self.pair, files.read_history(history), self.image)
        checked = result.history
        assert checked is not None
        editor = checked.editor
        editor.mapping, editor.negative_mode = self._mapping(), self.editor.negative_mode
        self.editor = editor
        self._replaying = True  # the multimask box follows the history without decoding again
        try:
            self.multimask.value = checked.multimask
        finally:
            self._replaying = False
        self.prediction = result.prediction
        self._update_candidates()
        self.candidate.value = -1 if checked.candidate is None else checked.candidate
        self._redraw_masks()
        self._redraw_prompts()
        self._update_status()
        self.still.refresh()
        return result

    def export_masks(self, name: str | None = None) -> list[Path]:
        """Write the current masks with their prompt: ``<export_dir>/<name>_{sam,hq,fused}.png`` and one COCO
        RLE JSON ``<name>_coco.json`` (atomically).

        Args:
            name: a plain file name (see :func:`~hqsam_nb.widgets.files.export_path`: nothing outside
                ``export_dir``); None: the "Save as" field.
        """
        stem = files.export_path(self.export_dir, self.export_name.value if name is None else name)
        if self.prediction is None:
            raise RuntimeError("nothing to export yet: click the image to get a mask first")
        paths = files.export_masks(self.complete_prediction(), stem, candidate=self.candidate_index,
                                   source=self.source, multimask=bool(self.multimask.value))
        self._message("exported " + ", ".join(str(path) for path in paths))
        return paths
