"""The pure prompt logic under the widget: mapping, editor events, undo/redo, history replay."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hqsam_nb.pair.prompts import MAX_POINTS
from hqsam_nb.widgets.state import (
    CanvasMapping,
    PromptEditor,
    PromptState,
    check_action,
    fit_display,
    resize_mask_nearest,
)


# --- mapping ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("image", "max_size", "expected"), [
    ((100, 200), (512, 640), (100, 200)),     # small: never upscaled
    ((1000, 2000), (512, 640), (320, 640)),   # wide: width-limited
    ((2000, 1000), (512, 640), (512, 256)),   # tall: height-limited
    ((3, 5000), (512, 640), (1, 640)),        # at least one pixel
])
def test_fit_display(image, max_size, expected):
    assert fit_display(image, max_size) == expected


def test_mapping_scales_large_images_to_original_pixels():
    m = CanvasMapping(image_size=(1000, 2000), display_size=(320, 640))
    assert m.scale == (0.32, 0.32)
    assert m.to_image(320.0, 160.0) == pytest.approx((1000.0, 500.0))
    assert m.to_image(12.5, 3.2) == pytest.approx((12.5 / 0.32, 10.0))  # fractional canvas pixels
    x, y = m.to_canvas(*m.to_image(101.7, 33.3))
    assert (x, y) == pytest.approx((101.7, 33.3))


@pytest.mark.parametrize(("canvas_xy", "image_xy"), [
    ((-10.0, -5.0), (0.0, 0.0)),
    ((700.0, 400.0), (2000.0, 1000.0)),
    ((-1e9, 1e9), (0.0, 1000.0)),
    ((640.0, 320.0), (2000.0, 1000.0)),
])
def test_mapping_clamps_to_the_image(canvas_xy, image_xy):
    m = CanvasMapping(image_size=(1000, 2000), display_size=(320, 640))
    assert m.to_image(*canvas_xy) == pytest.approx(image_xy)


def test_mapping_side_by_side_panels_mean_the_same_pixel():
    m = CanvasMapping(image_size=(100, 200), display_size=(100, 200), panels=2)
    assert m.canvas_size == (100, 400)
    assert m.to_image(50, 20) == m.to_image(250, 20) == (50.0, 20.0)
    assert m.to_canvas(50, 20, panel=1) == (250.0, 20.0)
    # a drag that started in the left panel stays in it: x beyond the panel is clamped to its right edge
    assert m.to_image(350, 20, panel=0) == (200.0, 20.0)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "3", None])
def test_mapping_rejects_non_finite(bad):
    m = CanvasMapping(image_size=(10, 10), display_size=(10, 10))
    with pytest.raises(ValueError, match="finite numbers"):
        m.to_image(bad, 1.0)


def test_mapping_rejects_bad_sizes():
    with pytest.raises(ValueError, match="positive"):
        CanvasMapping(image_size=(0, 10), display_size=(10, 10))
    with pytest.raises(ValueError, match="panels"):
        CanvasMapping(image_size=(10, 10), display_size=(10, 10), panels=3)


def test_resize_mask_nearest():
    mask = np.zeros((100, 200), bool)
    mask[10:50, 20:100] = True
    small = resize_mask_nearest(mask, (50, 100))
    assert small.shape == (50, 100) and small.dtype == bool
    assert small.sum() == mask.sum() // 4
    assert resize_mask_nearest(mask, (100, 200)) is mask


# --- editor --------------------------------------------------------------------------------------------
def _editor(image_size=(200, 400), display=(100, 200), panels=1) -> PromptEditor:
    return PromptEditor(CanvasMapping(image_size, display, panels))


def _click(ed: PromptEditor, x: float, y: float):
    ed.mouse_down(x, y)
    return ed.mouse_up(x, y)


def test_click_adds_positive_point_in_image_pixels():
    ed = _editor()
    update = _click(ed, 10.5, 20.25)
    assert update.prompt and update.action == "point"
    assert ed.state == PromptState(((21.0, 40.5),), (1,))


def test_negative_by_mode_toggle_key_and_shift():
    ed = _editor()
    ed.key_down("n")
    assert ed.negative_mode and ed.next_label == 0
    _click(ed, 10, 10)
    ed.key_down("n")
    _click(ed, 20, 10)
    ed.key_down("Shift", shift_key=True)  # Shift held while clicking: a negative point, once
    assert ed.next_label == 0
    _click(ed, 30, 10)
    _click(ed, 40, 10)
    ed.set_negative_mode(True)
    ed.key_down("Shift", shift_key=True)  # in negative mode Shift gives a positive point
    _click(ed, 50, 10)
    assert ed.state.labels == (0, 1, 0, 1, 1)


def test_small_wobble_is_a_click_larger_move_is_a_box():
    ed = _editor()
    ed.mouse_down(10, 10)
    assert not ed.mouse_move(12, 11).preview  # within the click tolerance
    ed.mouse_up(12, 11)
    assert ed.state.points == ((20.0, 20.0),)  # the point is where the press was
    ed.mouse_down(60, 50)
    assert ed.mouse_move(40, 30).preview
    assert ed.drag_box_image == (80.0, 60.0, 120.0, 100.0)
    update = ed.mouse_up(20, 10)
    assert update.action == "box"
    assert ed.state.box == (40.0, 20.0, 120.0, 100.0)  # corners in order
    assert ed.state.points == ((20.0, 20.0),)  # box and points combine


def test_second_box_replaces_the_first_and_drag_out_of_canvas_clamps():
    ed = _editor()
    ed.mouse_down(10, 10)
    ed.mouse_up(50, 50)
    ed.mouse_down(150, 80)
    ed.mouse_move(190, 95)
    update = ed.mouse_out(250, 130)  # left the canvas while dragging: finish at the border
    assert update.action == "box"
    assert ed.state.box == (300.0, 160.0, 400.0, 200.0)
    assert ed.drag_start is None


def test_drag_along_the_border_outside_makes_no_box():
    ed = _editor()
    ed.mouse_down(-30, -30)
    update = ed.mouse_up(-30, 80)  # x clamps to 0 at both ends: zero width
    assert not update.prompt and ed.state.is_empty


def test_escape_cancels_a_drag_then_clears():
    ed = _editor()
    _click(ed, 10, 10)
    ed.mouse_down(20, 20)
    ed.mouse_move(60, 60)
    assert ed.key_down("Escape").preview and ed.drag_start is None
    assert ed.mouse_up(60, 60).prompt is False  # the cancelled drag does not come back
    assert ed.key_down("Escape").action == "clear"
    assert ed.state.is_empty
    assert ed.key_down("Escape").prompt is False  # clearing an empty prompt is not an action


def test_undo_redo_and_new_action_drops_redo_tail():
    ed = _editor()
    _click(ed, 10, 10)
    _click(ed, 20, 20)
    ed.mouse_down(30, 30)
    ed.mouse_up(80, 80)
    ed.key_down("Escape")
    states = [PromptState(), PromptState(((20.0, 20.0),), (1,)),
              PromptState(((20.0, 20.0), (40.0, 40.0)), (1, 1)),
              PromptState(((20.0, 20.0), (40.0, 40.0)), (1, 1), (60.0, 60.0, 160.0, 160.0)), PromptState()]
    assert ed.state == states[4]
    for expected in reversed(states[:4]):
        assert ed.key_down("z").action == "undo"
        assert ed.state == expected
    assert ed.key_down("z").prompt is False and ed.state.is_empty
    assert ed.key_down("y").action == "redo" and ed.state == states[1]
    assert ed.key_down("Z", shift_key=True, ctrl_key=True).action == "redo" and ed.state == states[2]
    _click(ed, 100, 5)
    assert not ed.can_redo and len(ed.actions) == 3
    assert ed.state.points[-1] == (200.0, 10.0)


def test_unknown_keys_come_back_to_the_widget():
    ed = _editor()
    assert ed.key_down("2").key == "2"
    assert ed.key_down("ArrowLeft").prompt is False


@pytest.mark.parametrize(("action", "message"), [
    ({"op": "point", "x": 500, "y": 10, "label": 1}, r"action.x=500 is outside the image: x must be in \[0, 400\]"),
    ({"op": "point", "x": 5, "y": 10, "label": 3}, "action.label must be 1"),
    ({"op": "point", "x": 5, "y": 10, "label": True}, "action.label must be 1"),
    ({"op": "point", "x": "5", "y": 10, "label": 1}, "action.x must be a finite number"),
    ({"op": "point", "x": 5, "y": float("nan"), "label": 1}, "action.y must be a finite number"),
    ({"op": "point", "y": 10, "label": 1}, "action.x must be a finite number"),
    ({"op": "box", "box": [1, 2, 3]}, "action.box must be"),
    ({"op": "box", "box": [5, 5, 5, 50]}, "zero width"),
    ({"op": "box", "box": [0, 0, 10, 900]}, r"action.box\[3\]=900 is outside the image"),
    ({"op": "lasso"}, "unknown history action"),
    (["point", 1, 2], "action must be a dict"),
])
def test_programmatic_actions_are_validated(action, message):
    ed = _editor()
    with pytest.raises(ValueError, match=message):
        ed.do(action)
    assert ed.state.is_empty and ed.position == 0


def test_check_action_normal_form():
    assert check_action({"op": "box", "box": [30, 40, 10, 20]}, (100, 100)) == {"op": "box",
                                                                                 "box": [10.0, 20.0, 30.0, 40.0]}
    assert check_action({"op": "point", "x": np.int64(3), "y": 4.5, "label": 1.0}, (10, 10)) == {
        "op": "point", "x": 3.0, "y": 4.5, "label": 1}
    assert check_action({"op": "clear", "extra": 1}, (10, 10)) == {"op": "clear"}


def test_points_per_prompt_are_capped():
    ed = _editor()
    for i in range(MAX_POINTS):
        ed.do({"op": "point", "x": i % 400, "y": 5, "label": 1})
    with pytest.raises(ValueError, match=f"at most {MAX_POINTS} points"):
        ed.do({"op": "point", "x": 1, "y": 1, "label": 1})
    assert len(ed.state.points) == MAX_POINTS
    ed.do({"op": "clear"})  # a new prompt may have points again
    ed.do({"op": "point", "x": 1, "y": 1, "label": 1})


def test_from_history_keeps_actions_as_recorded():
    mapping = CanvasMapping((200, 400), (100, 200))
    actions = [{"op": "clear"}, {"op": "point", "x": 10, "y": 20, "label": 1}, {"op": "box", "box": [0, 0, 9, 9]}]
    ed = PromptEditor.from_history(mapping, actions, 1)
    assert ed.state.is_empty and ed.position == 1 and len(ed.actions) == 3  # a clear of nothing is kept
    assert ed.redo().prompt and ed.state.points == ((10.0, 20.0),)
    with pytest.raises(ValueError, match="position must be an int in"):
        PromptEditor.from_history(mapping, actions, -1)
    with pytest.raises(ValueError, match=r"actions\[2\].box"):
        PromptEditor.from_history(mapping, [*actions[:2], {"op": "box", "box": [0, 0, 9, 999]}], 1)


def test_prompt_state_round_trips_through_dict():
    s = PromptState(((1.5, 2.0), (3.0, 4.0)), (1, 0), (0.0, 1.0, 5.0, 6.0))
    assert PromptState.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    p = s.to_prompt()
    assert p.points.tolist() == [[1.5, 2.0], [3.0, 4.0]] and p.labels.tolist() == [1, 0]
    assert PromptState().to_prompt() is None


def test_random_events_never_raise_and_undo_returns_to_empty():
    rng = np.random.default_rng(0)
    ed = _editor(panels=2, display=(100, 200))
    keys = ["z", "y", "Escape", "n", "Shift", "1", "a"]
    for _ in range(2000):
        kind = rng.integers(0, 5)
        x, y = rng.uniform(-50, 450), rng.uniform(-50, 150)
        if kind == 0:
            ed.mouse_down(x, y)
        elif kind == 1:
            ed.mouse_move(x, y)
        elif kind == 2:
            ed.mouse_up(x, y)
        elif kind == 3:
            ed.mouse_out(x, y)
        else:
            ed.key_down(str(rng.choice(keys)), bool(rng.integers(0, 2)), bool(rng.integers(0, 2)))
        for (px, py) in ed.state.points:
            assert 0 <= px <= 400 and 0 <= py <= 200
    assert len(ed.actions) > 50
    while ed.can_undo:
        ed.undo()
    assert ed.state == PromptState()


def test_the_pointer_events_shift_overrides_the_keys():
    ed = PromptEditor(CanvasMapping((100, 200), (50, 100)))
    assert ed.pointer_modifiers(True).mode and ed.next_label == 0
    ed.mouse_down(10, 10)
    ed.mouse_up(10, 10)
    ed.key_down("Shift", shift_key=True)
    assert ed.pointer_modifiers(False).mode and ed.next_label == 1
    ed.mouse_down(20, 10)
    ed.mouse_up(20, 10)
    assert ed.state.labels == (0, 1)
