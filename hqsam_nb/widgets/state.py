"""What an interactive prompting session holds, in pure Python: prompts, undo/redo, canvas mapping, replay.

The widget in :mod:`hqsam_nb.widgets` is a thin shell around the pieces here, so everything a click does can
be tested without a browser:

* :class:`CanvasMapping` - canvas pixels (fractional, as the browser reports them, already scaled by the page
  layout) to original-image pixels and back, clamped to the image; images are shown scaled to fit the canvas, and the
  "side by side" view shows the image twice, so a click on either panel means the same image pixel;
* :class:`PromptState` - the points (with labels) and the box, immutable;
* :class:`PromptEditor` - mouse and keyboard events in, prompt changes out, with an undo/redo history of the
  *actions* taken (add a point, draw a box, clear);
* :func:`check_action` - one history action (add a point, draw a box, clear) checked against the image, once,
  where it enters (a click, a call, a history file).

The history as JSON and its replay are in :mod:`hqsam_nb.widgets.history`.

Coordinates: ``(x, y)`` pixels of the original image, ``x`` to the right, ``y`` down, ``0 <= x <= W``,
``0 <= y <= H`` (see :mod:`hqsam_nb.pair.prompts`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ..pair.prompts import MAX_POINTS, Prompt

__all__ = [
    "KEY_BINDINGS",
    "CanvasMapping",
    "EditorUpdate",
    "PromptEditor",
    "PromptState",
    "check_action",
    "fit_display",
    "resize_mask_nearest",
]

#: Keyboard shortcuts of the canvas (shown in the widget's help line).
KEY_BINDINGS: dict[str, str] = {
    "z": "undo",
    "y": "redo",
    "Esc": "clear",
    "n": "negative mode on/off",
    "1 2 3": "SAM candidate",
}

Label = Literal[0, 1]


# ------------------------------------------------------------------------------------------------
# Canvas <-> image coordinates
# ------------------------------------------------------------------------------------------------
def fit_display(image_size: tuple[int, int], max_size: tuple[int, int] = (512, 640), *,
                upscale: bool = False) -> tuple[int, int]:
    """The ``(h, w)`` at which to show an image of ``image_size = (H, W)``: scaled to fit ``max_size``
    ``(max_h, max_w)`` keeping its aspect ratio, at least 1 pixel. Larger images are always scaled down;
    smaller ones are scaled up to fill ``max_size`` only with ``upscale=True`` (a widget on a projector).

    Example:
        >>> fit_display((1000, 2000), (512, 640))
        (320, 640)
        >>> fit_display((300, 451), (480, 640), upscale=True)
        (426, 640)
    """
    h, w = (int(v) for v in image_size)
    mh, mw = (int(v) for v in max_size)
    if h < 1 or w < 1 or mh < 1 or mw < 1:
        raise ValueError(f"sizes must be positive (H, W) pairs, got image_size={image_size}, "
                         f"max_size={max_size}")
    scale = min(mh / h, mw / w)
    if not upscale:
        scale = min(1.0, scale)
    return max(1, round(h * scale)), max(1, round(w * scale))


@dataclass(frozen=True)
class CanvasMapping:
    """Canvas pixels <-> original-image pixels.

    The canvas shows the image at ``display_size = (h, w)``; with ``panels=2`` (side by side) it shows it
    twice, left and right, on a canvas ``w * panels`` wide. Canvas coordinates are the fractional pixel
    positions that ipycanvas reports (the browser's position already scaled from CSS to canvas pixels).

    Attributes:
        image_size: ``(H, W)`` of the original image.
        display_size: ``(h, w)`` of one panel on the canvas.
        panels: 1, or 2 for the side-by-side view.
    """

    image_size: tuple[int, int]
    display_size: tuple[int, int]
    panels: int = 1

    def __post_init__(self) -> None:
        if min(self.image_size) < 1 or min(self.display_size) < 1 or len(self.image_size) != 2:
            raise ValueError(f"image_size and display_size must be positive (H, W), got {self.image_size}, "
                             f"{self.display_size}")
        if self.panels not in (1, 2):
            raise ValueError(f"panels must be 1 or 2, got {self.panels!r}")

    @property
    def canvas_size(self) -> tuple[int, int]:
        """``(height, width)`` of the whole canvas."""
        return self.display_size[0], self.display_size[1] * self.panels

    @property
    def scale(self) -> tuple[float, float]:
        """``(sx, sy)``: canvas pixels per image pixel along x and y."""
        return self.display_size[1] / self.image_size[1], self.display_size[0] / self.image_size[0]

    def panel_of(self, x: float) -> int:
        """Which panel a canvas ``x`` falls in (clamped to the existing panels)."""
        w = self.display_size[1]
        return min(max(int(math.floor(x / w)), 0), self.panels - 1) if math.isfinite(x) else 0

    def to_image(self, x: float, y: float, panel: int | None = None) -> tuple[float, float]:
        """Canvas ``(x, y)`` -> image ``(x, y)``, clamped to ``[0, W] x [0, H]``.

        Args:
            panel: the panel to interpret ``x`` in (a drag keeps the panel where it started); None: the panel
                ``x`` falls in.

        Raises:
            ValueError: ``x`` or ``y`` is not a finite number.
        """
        if not (isinstance(x, (int, float)) and isinstance(y, (int, float)) and math.isfinite(x)
                and math.isfinite(y)):
            raise ValueError(f"canvas coordinates must be finite numbers, got x={x!r}, y={y!r}")
        p = self.panel_of(x) if panel is None else panel
        sx, sy = self.scale
        xi = (float(x) - p * self.display_size[1]) / sx
        yi = float(y) / sy
        h, w = self.image_size
        return min(max(xi, 0.0), float(w)), min(max(yi, 0.0), float(h))

    def to_canvas(self, x: float, y: float, panel: int = 0) -> tuple[float, float]:
        """Image ``(x, y)`` -> canvas ``(x, y)`` in ``panel``."""
        sx, sy = self.scale
        return x * sx + panel * self.display_size[1], y * sy


def resize_mask_nearest(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resample a ``bool`` ``H x W`` mask to ``size = (h, w)`` by nearest neighbour (pixel centres)."""
    h, w = size
    H, W = mask.shape  # noqa: N806
    if (h, w) == (H, W):
        return mask
    rows = np.minimum(((np.arange(h) + 0.5) * (H / h)).astype(np.intp), H - 1)
    cols = np.minimum(((np.arange(w) + 0.5) * (W / w)).astype(np.intp), W - 1)
    return mask[rows[:, None], cols[None, :]]


# ------------------------------------------------------------------------------------------------
# Prompt state
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PromptState:
    """Points (with labels) and an optional box, in original-image pixels. Immutable.

    Attributes:
        points: ``((x, y), ...)``.
        labels: ``(1 | 0, ...)``, one per point: 1 positive (foreground), 0 negative (background).
        box: ``(x0, y0, x1, y1)`` with ``x0 < x1``, ``y0 < y1``, or None.
    """

    points: tuple[tuple[float, float], ...] = ()
    labels: tuple[int, ...] = ()
    box: tuple[float, float, float, float] | None = None

    @property
    def is_empty(self) -> bool:
        return not self.points and self.box is None

    def with_point(self, x: float, y: float, label: int) -> PromptState:
        return PromptState(self.points + ((float(x), float(y)),), self.labels + (int(label),), self.box)

    def with_box(self, box: Sequence[float]) -> PromptState:
        x0, x1 = sorted((float(box[0]), float(box[2])))
        y0, y1 = sorted((float(box[1]), float(box[3])))
        return PromptState(self.points, self.labels, (x0, y0, x1, y1))

    def to_prompt(self) -> Prompt | None:
        """The :class:`~hqsam_nb.Prompt` for ``pair.predict(prompt=...)``, or None when empty.

        Not checked again: the coordinates were checked when each action entered (:func:`check_action`).
        """
        if self.is_empty:
            return None
        return Prompt(points=np.array(self.points, dtype=np.float64).reshape(-1, 2) if self.points else None,
                      labels=np.array(self.labels, dtype=np.int32) if self.points else None,
                      box=None if self.box is None else np.array(self.box, dtype=np.float64))

    def to_dict(self) -> dict[str, Any]:
        return {"points": [list(p) for p in self.points] or None, "labels": list(self.labels) or None,
                "box": None if self.box is None else list(self.box)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PromptState:
        pts = data.get("points") or []
        labels = data.get("labels") or [1] * len(pts)
        if len(labels) != len(pts):
            raise ValueError(f"{len(pts)} points but {len(labels)} labels in {dict(data)!r:.200}")
        state = cls(tuple((float(x), float(y)) for x, y in pts), tuple(int(v) for v in labels))
        return state.with_box(data["box"]) if data.get("box") is not None else state


def _apply(state: PromptState, action: Mapping[str, Any]) -> PromptState:
    """``state`` after a checked action (see :func:`check_action`)."""
    op = action["op"]
    if op == "point":
        return state.with_point(action["x"], action["y"], action["label"])
    if op == "box":
        return state.with_box(action["box"])
    return PromptState()


def _coordinate(value: Any, name: str, size: int, axis: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number (pixels), got {value!r:.60}")
    if not 0 <= value <= size:
        raise ValueError(f"{name}={value!r} is outside the image: {axis} must be in [0, {size}]")
    return float(value)


def check_action(action: Any, image_size: tuple[int, int], name: str = "action") -> dict[str, Any]:
    """One history action checked against an image of ``image_size = (H, W)``, in its normal form.

    Accepted: ``{"op": "point", "x", "y", "label"}`` (label 1 positive, 0 negative), ``{"op": "box",
    "box": [x0, y0, x1, y1]}`` (corners put in order; non-zero width and height), ``{"op": "clear"}``; pixels
    of the original image, ``0 <= x <= W``, ``0 <= y <= H``.

    Args:
        name: how errors name the action (e.g. ``"actions[3]"``).

    Raises:
        ValueError: naming the field: not a dict, an unknown ``op``, a coordinate that is not a finite number
            or outside the image, a label other than 0 / 1, a box that is not 4 numbers or has no area.
    """
    if not isinstance(action, Mapping):
        raise ValueError(f"{name} must be a dict like {{'op': 'point', 'x': 10, 'y': 20, 'label': 1}}, got "
                         f"{type(action).__name__}")
    h, w = image_size
    op = action.get("op")
    if op == "point":
        x = _coordinate(action.get("x"), f"{name}.x", w, "x")
        y = _coordinate(action.get("y"), f"{name}.y", h, "y")
        label = action.get("label")
        if isinstance(label, bool) or not isinstance(label, numbers.Real) or label not in (0, 1):
            raise ValueError(f"{name}.label must be 1 (positive) or 0 (negative), got {label!r:.60}")
        return {"op": "point", "x": x, "y": y, "label": int(label)}
    if op == "box":
        box = action.get("box")
        if not isinstance(box, (list, tuple)) or len(box) != 4:
            raise ValueError(f"{name}.box must be [x0, y0, x1, y1] (4 numbers), got {box!r:.80}")
        x0, x1 = sorted(_coordinate(box[i], f"{name}.box[{i}]", w, "x") for i in (0, 2))
        y0, y1 = sorted(_coordinate(box[i], f"{name}.box[{i}]", h, "y") for i in (1, 3))
        if x1 - x0 <= 0 or y1 - y0 <= 0:
            raise ValueError(f"{name}.box {[x0, y0, x1, y1]} has zero width or height")
        return {"op": "box", "box": [x0, y0, x1, y1]}
    if op == "clear":
        return {"op": "clear"}
    raise ValueError(f"unknown history action {name}.op={op!r:.40}; accepted ops: 'point', 'box', 'clear'")


def _check_points(state: PromptState, name: str) -> None:
    if len(state.points) > MAX_POINTS:
        raise ValueError(f"{name} makes a prompt of {len(state.points)} points; at most {MAX_POINTS} points per "
                         "prompt are accepted (hqsam_nb.pair.prompts.MAX_POINTS)")


# ------------------------------------------------------------------------------------------------
# Events -> prompt changes
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EditorUpdate:
    """What an event changed. ``prompt``: the prompt (decode again, redraw masks and prompts); ``preview``:
    only the box being dragged (redraw the prompt layer); ``mode``: the click mode; ``action``: the history
    action taken, if any ("point", "box", "clear", "undo", "redo")."""

    prompt: bool = False
    preview: bool = False
    mode: bool = False
    action: str | None = None
    key: str | None = None  # a key the editor did not handle (for the widget's own shortcuts)


_NOTHING = EditorUpdate()


@dataclass
class PromptEditor:
    """Turns canvas mouse/keyboard events into prompt changes, with undo/redo.

    Mouse: a press and release closer than ``click_tolerance`` canvas pixels is a click (a point: positive, or
    negative in negative mode or with Shift held); farther apart, a drag (the box, replacing any previous box;
    points and the box combine). Leaving the canvas while dragging finishes the box at the clamped border.
    Keys: see :data:`KEY_BINDINGS`.

    The history is a list of actions in image pixels; ``position`` of them are applied (undo moves it back,
    redo forward; a new action drops the undone tail). Clear is an action too, so it can be undone.
    """

    mapping: CanvasMapping
    click_tolerance: float = 4.0
    negative_mode: bool = False
    actions: list[dict[str, Any]] = field(default_factory=list)
    position: int = 0
    shift_armed: bool = False
    drag_start: tuple[float, float] | None = None
    drag_end: tuple[float, float] | None = None
    _states: list[PromptState] = field(default_factory=lambda: [PromptState()], repr=False)

    # -- state --------------------------------------------------------------------------------------
    @property
    def state(self) -> PromptState:
        return self._states[self.position]

    @property
    def can_undo(self) -> bool:
        return self.position > 0

    @property
    def can_redo(self) -> bool:
        return self.position < len(self.actions)

    @property
    def next_label(self) -> int:
        """The label the next click gets: 0 (negative) in negative mode or with Shift held, else 1."""
        return 0 if (self.negative_mode != self.shift_armed) else 1

    @property
    def drag_box_image(self) -> tuple[float, float, float, float] | None:
        """The box being dragged, in image pixels (for the preview), or None."""
        if self.drag_start is None or self.drag_end is None:
            return None
        panel = self.mapping.panel_of(self.drag_start[0])
        x0, y0 = self.mapping.to_image(*self.drag_start, panel=panel)
        x1, y1 = self.mapping.to_image(*self.drag_end, panel=panel)
        return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)

    # -- programmatic edits (image pixels) ----------------------------------------------------------
    def do(self, action: Mapping[str, Any]) -> EditorUpdate:
        """Apply a history action (``{"op": "point", "x", "y", "label"}``, ``{"op": "box", "box"}``,
        ``{"op": "clear"}``, see :func:`check_action`), dropping any undone actions.

        Raises:
            ValueError: an invalid action, or a point beyond :data:`~hqsam_nb.pair.prompts.MAX_POINTS`.
        """
        action = check_action(action, self.mapping.image_size)
        if action["op"] == "clear" and self.state.is_empty:
            return _NOTHING
        new_state = _apply(self.state, action)
        _check_points(new_state, "this point")
        del self.actions[self.position:]
        del self._states[self.position + 1:]
        self.actions.append(action)
        self._states.append(new_state)
        self.position += 1
        return EditorUpdate(prompt=True, action=str(action["op"]))

    @classmethod
    def from_history(cls, mapping: CanvasMapping, actions: Sequence[Mapping[str, Any]], position: int,
                     negative_mode: bool = False) -> PromptEditor:
        """An editor holding ``actions`` (all kept for redo), ``position`` of them applied.

        Every action is checked (:func:`check_action`) before the editor is built; the actions are kept exactly
        as given (a ``clear`` of an empty prompt too), so undo / redo step through the same states as when they
        were recorded.

        Raises:
            ValueError: an invalid action (named ``actions[i]``), a prompt of more than
                :data:`~hqsam_nb.pair.prompts.MAX_POINTS` points, or ``position`` not in
                ``0 .. len(actions)``.
        """
        checked = [check_action(a, mapping.image_size, f"actions[{i}]") for i, a in enumerate(actions)]
        if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= len(checked):
            raise ValueError(f"position must be an int in [0, {len(checked)}] (the number of actions applied), "
                             f"got {position!r:.40}")
        states = [PromptState()]
        for i, action in enumerate(checked):
            states.append(_apply(states[-1], action))
            _check_points(states[-1], f"actions[{i}]")
        return cls(mapping, negative_mode=negative_mode, actions=checked, position=position, _states=states)

    def undo(self) -> EditorUpdate:
        if not self.can_undo:
            return _NOTHING
        self.position -= 1
        return EditorUpdate(prompt=True, action="undo")

    def redo(self) -> EditorUpdate:
        if not self.can_redo:
            return _NOTHING
        self.position += 1
        return EditorUpdate(prompt=True, action="redo")

    def clear(self) -> EditorUpdate:
        return self.do({"op": "clear"})

    def set_negative_mode(self, negative: bool) -> EditorUpdate:
        changed = bool(negative) != self.negative_mode
        self.negative_mode = bool(negative)
        return EditorUpdate(mode=changed)

    # -- events (canvas pixels) ---------------------------------------------------------------------
    def mouse_down(self, x: float, y: float) -> EditorUpdate:
        self.mapping.to_image(x, y)  # validates
        self.drag_start = self.drag_end = (float(x), float(y))
        return _NOTHING

    def pointer_modifiers(self, shift: bool) -> EditorUpdate:
        """Shift as the pointer event itself reports it (``MouseEvent.shiftKey`` at the press).

        The key events only reach a canvas that has the keyboard focus: right after a toolbar button was
        pressed the button has it, and a Shift+click would be read as a plain click. The pointer event's own
        modifier is the truth, so it overrides whatever the keys said (a released Shift is forgotten too).
        """
        changed = bool(shift) != self.shift_armed
        self.shift_armed = bool(shift)
        return EditorUpdate(mode=changed)

    def mouse_move(self, x: float, y: float) -> EditorUpdate:
        if self.drag_start is None:
            return _NOTHING
        self.mapping.to_image(x, y)
        self.drag_end = (float(x), float(y))
        return EditorUpdate(preview=self._is_drag())

    def mouse_up(self, x: float, y: float) -> EditorUpdate:
        if self.drag_start is None:
            return _NOTHING
        self.mapping.to_image(x, y)
        self.drag_end = (float(x), float(y))
        was_drag = self._is_drag()
        panel = self.mapping.panel_of(self.drag_start[0])
        start = self.drag_start
        box = self.drag_box_image
        self.drag_start = self.drag_end = None
        label = self.next_label
        self.shift_armed = False
        if not was_drag:
            x0, y0 = self.mapping.to_image(*start, panel=panel)
            return self.do({"op": "point", "x": x0, "y": y0, "label": label})
        assert box is not None
        if box[2] - box[0] <= 0 or box[3] - box[1] <= 0:  # dragged along the border, outside the image
            return EditorUpdate(preview=True)
        return self.do({"op": "box", "box": list(box)})

    def mouse_out(self, x: float, y: float) -> EditorUpdate:
        return self.mouse_up(x, y) if self.drag_start is not None else _NOTHING

    def key_down(self, key: str, shift_key: bool = False, ctrl_key: bool = False,
                 meta_key: bool = False) -> EditorUpdate:
        """Handle a key (``KeyboardEvent.key`` values). Unhandled keys come back in ``EditorUpdate.key``."""
        if key == "Shift":
            armed, self.shift_armed = self.shift_armed, True
            return EditorUpdate(mode=not armed)
        was_armed, self.shift_armed = self.shift_armed, False
        k = key.lower() if len(key) == 1 else key
        if k == "z" and (shift_key and (ctrl_key or meta_key)):
            return self.redo()
        if k == "z":
            return self.undo()
        if k == "y":
            return self.redo()
        if k in ("Escape", "Esc"):
            if self.drag_start is not None:
                self.drag_start = self.drag_end = None
                return EditorUpdate(preview=True)
            return self.clear()
        if k == "n":
            return self.set_negative_mode(not self.negative_mode)
        return EditorUpdate(mode=was_armed, key=key)

    def _is_drag(self) -> bool:
        assert self.drag_start is not None and self.drag_end is not None
        dx = self.drag_end[0] - self.drag_start[0]
        dy = self.drag_end[1] - self.drag_start[1]
        return math.hypot(dx, dy) > self.click_tolerance
