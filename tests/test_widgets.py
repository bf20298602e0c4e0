"""PromptCanvas driven from Python with synthetic mouse/keyboard events, as ipycanvas delivers them."""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone

import numpy as np
import pytest
from helpers import make_image

from hqsam_nb import MaskResult, PairPrediction
from hqsam_nb.io.exports import load_coco_json, load_mask_png
from hqsam_nb.widgets import PromptCanvas
from hqsam_nb.widgets.history import mask_sha256
from hqsam_nb.widgets.state import PromptState

IMAGE = make_image(240, 320, seed=11)  # shown at half size with max_display=(120, 160)


class Events:
    """Send browser events to the canvas the way ipycanvas does (through its message handler)."""

    def __init__(self, widget: PromptCanvas) -> None:
        self.handle = widget.canvas._canvases[-1]._handle_frontend_event

    def send(self, event: str, **content) -> None:
        self.handle(None, {"event": event, **content}, [])

    def click(self, x: float, y: float) -> None:
        self.send("mouse_down", x=x, y=y)
        self.send("mouse_up", x=x, y=y)

    def drag(self, x0: float, y0: float, x1: float, y1: float, steps: int = 3) -> None:
        self.send("mouse_down", x=x0, y=y0)
        for t in np.linspace(0, 1, steps + 2)[1:-1]:
            self.send("mouse_move", x=x0 + t * (x1 - x0), y=y0 + t * (y1 - y0))
        self.send("mouse_up", x=x1, y=y1)

    def key(self, key: str, shift: bool = False, ctrl: bool = False) -> None:
        self.send("key_down", key=key, shift_key=shift, ctrl_key=ctrl, meta_key=False)


class CountingPair:
    """A real PairPredictor with its predict calls counted."""

    def __init__(self, pair) -> None:
        self._pair = pair
        self.calls = 0

    def __getattr__(self, name):
        return getattr(self._pair, name)

    def predict(self, *args, **kwargs):
        self.calls += 1
        return self._pair.predict(*args, **kwargs)


@pytest.fixture
def pair(tiny_pair):
    return CountingPair(tiny_pair)


@pytest.fixture
def widget(pair, tmp_path):
    w = PromptCanvas(pair, IMAGE, max_display=(120, 160), export_dir=tmp_path / "exports")
    yield w
    w.close()


def _expected(pair, state: PromptState, multimask=False):
    return pair._pair.predict(prompt=state.to_prompt(), multimask=multimask)


def test_click_maps_to_original_pixels_and_decodes(widget, pair):
    ev = Events(widget)
    assert widget.canvas.width == 160 and widget.canvas.height == 120
    counts = dict(widget.draw_counts)
    ev.click(40.5, 30.25)
    assert widget.state == PromptState(((81.0, 60.5),), (1,))
    assert pair.calls == 1
    expected = _expected(pair, widget.state)
    assert widget.view.value == "fused" and sorted(widget.masks) == ["fused", "hq"]  # HQ decoder only
    for key in ("hq", "fused"):
        np.testing.assert_array_equal(widget.masks[key], getattr(expected, key).mask)
    # only the mask and prompt layers were redrawn, not the image
    assert widget.draw_counts == {"image": counts["image"], "mask": counts["mask"] + 1,
                                  "prompt": counts["prompt"] + 1}
    widget.view.value = "diff"  # needs SAM too: decoded once more, same prompt
    assert pair.calls == 2 and widget.draw_counts["image"] == counts["image"]
    for key in ("sam", "hq", "fused"):
        np.testing.assert_array_equal(widget.masks[key], getattr(expected, key).mask)
    widget.view.value = "sam"  # SAM's mask is there already: no decode
    assert pair.calls == 2
    assert widget.errors == []
    assert "decode" in widget.status.value and "1 positive" in widget.status.value
    log = widget.event_log[-1]
    assert log["action"] == "point" and log["decode_ms"] > 0 and log["t_sent"] >= log["t_recv"]


def test_drag_draws_a_box_and_previews_without_decoding(widget, pair):
    ev = Events(widget)
    ev.click(60, 60)
    calls, masks_drawn = pair.calls, widget.draw_counts["mask"]
    ev.send("mouse_down", x=10, y=10)
    ev.send("mouse_move", x=50, y=40)
    ev.send("mouse_move", x=90, y=70)
    assert pair.calls == calls and widget.draw_counts["mask"] == masks_drawn  # preview: prompt layer only
    ev.send("mouse_up", x=200, y=70)  # released outside the canvas: clamped to the image's right edge
    assert widget.state.box == (20.0, 20.0, 320.0, 140.0)
    assert widget.state.points == ((120.0, 120.0),)  # box + points combine
    assert pair.calls == calls + 1
    np.testing.assert_array_equal(widget.masks["hq"], _expected(pair, widget.state).hq.mask)


def test_negative_points_by_toggle_key_and_shift(widget):
    ev = Events(widget)
    widget.mode.value = "negative"  # the toggle buttons
    ev.click(10, 10)
    ev.key("n")  # shortcut: back to positive, and the toggle follows
    assert widget.mode.value == "positive"
    ev.click(20, 10)
    ev.key("Shift", shift=True)  # Shift held while clicking
    assert "negative" in widget.status.value
    ev.click(30, 10)
    ev.click(40, 10)
    assert widget.state.labels == (0, 1, 0, 1)


def test_undo_redo_clear_by_keys_and_buttons(widget, pair):
    ev = Events(widget)
    ev.click(50, 50)
    first = {k: v.copy() for k, v in widget.masks.items()}
    ev.click(100, 60)
    ev.drag(20, 20, 120, 100)
    assert len(widget.state.points) == 2 and widget.state.box is not None
    ev.key("Escape")
    assert widget.state.is_empty and widget.prediction is None and widget.layers.mask_digest is None
    ev.key("z")
    assert widget.state.box is not None
    widget.undo_button.click()
    ev.key("z")
    assert widget.state == PromptState(((100.0, 100.0),), (1,))
    for key in first:  # back to the first click: the very same masks
        np.testing.assert_array_equal(widget.masks[key], first[key])
    ev.key("y")
    widget.redo_button.click()
    assert widget.state.box is not None
    widget.clear_button.click()
    assert widget.state.is_empty
    assert "Undo (z)" in widget.undo_button.description and "Esc" in widget.clear_button.description
    assert "<kbd>z</kbd>" in widget.help.value


def test_views_redraw_masks_only_and_side_by_side_maps_both_panels(widget, pair):
    ev = Events(widget)
    ev.click(80, 60)
    calls, images = pair.calls, widget.draw_counts["image"]
    digests = set()
    for view in ("sam", "hq", "fused", "diff"):
        widget.view.value = view
        digests.add(widget.layers.mask_digest)
    assert len(digests) == 4  # four different layers (random weights: the masks differ)
    # the first view that shows SAM decodes SAM alone (the fused view decoded HQ only); then no decode at all,
    # and never an image redraw
    assert pair.calls == calls + 1 and widget.draw_counts["image"] == images
    widget.view.value = "side"
    # two panels, each fitted to 3/4 of max_display's 160 px: 120 x 90, the image at 3/8 of its size
    assert (widget.canvas.width, widget.canvas.height) == (240, 90)
    ev.click(150, 45)  # right panel, x = 30 within it
    assert widget.state.points[-1] == (80.0, 120.0)
    ev.click(30, 45)  # the same pixel in the left panel
    assert widget.state.points[-1] == (80.0, 120.0)
    assert "SAM (left)" in widget.legend.value


def test_multimask_candidates_by_buttons_and_keys(widget, pair):
    ev = Events(widget)
    widget.multimask.value = True
    ev.click(60, 50)
    assert len(widget.prediction.sam_candidates) == 3
    assert [v for _, v in widget.candidate.options] == [-1, 0, 1, 2]
    calls = pair.calls
    ev.key("2")
    assert widget.candidate.value == 1 and pair.calls == calls  # no decode to pick a candidate
    np.testing.assert_array_equal(widget.masks["sam"], widget.prediction.sam_candidates[1].mask)
    widget.candidate.value = 2
    np.testing.assert_array_equal(widget.masks["sam"], widget.prediction.sam_candidates[2].mask)


def test_errors_in_callbacks_are_shown_not_swallowed(widget, pair, monkeypatch):
    widget.path_text.value = "/no/such/image.png"
    widget.path_button.click()
    assert isinstance(widget.errors[-1], FileNotFoundError)
    assert "Error" in widget.status.value and "does not exist" in widget.status.value
    assert any("FileNotFoundError" in out["text"] for out in widget.output.outputs)

    def broken(*args, **kwargs):
        raise RuntimeError("decoder exploded")

    monkeypatch.setattr(pair, "predict", broken)
    Events(widget).click(10, 10)
    assert str(widget.errors[-1]) == "decoder exploded"
    assert "decoder exploded" in widget.status.value

    monkeypatch.undo()
    monkeypatch.setattr(widget, "_mask_rgba", lambda: 1 / 0)  # an error while drawing
    Events(widget).click(20, 10)
    assert isinstance(widget.errors[-1], ZeroDivisionError)
    from ipycanvas.canvas import _CANVAS_MANAGER

    assert _CANVAS_MANAGER._caching is False  # later drawing still reaches the browser


def test_image_chooser_sample_upload_and_cached_embedding(widget, pair):
    from PIL import Image

    passes = pair.encoder_passes
    name = widget.sample_choice.options[0][1]
    widget.sample_choice.value = name
    assert widget.source == f"sample:{name}" and pair.encoder_passes == passes + 1
    buf = io.BytesIO()
    Image.fromarray(IMAGE).save(buf, format="PNG")
    widget.upload.value = ({"name": "mine.png", "content": memoryview(buf.getvalue()), "type": "image/png",
                            "size": len(buf.getvalue()), "last_modified": datetime.now(timezone.utc)},)
    assert widget.source == "upload:mine.png"
    np.testing.assert_array_equal(widget.image, IMAGE)
    assert pair.encoder_passes == passes + 1  # the first image's embedding came from the cache
    assert widget.state.is_empty and widget.errors == []


def test_export_masks_and_history_replay_identically(widget, pair, tmp_path):
    ev = Events(widget)
    widget.multimask.value = True
    ev.click(70, 50)
    ev.key("Shift")
    ev.click(20, 20)
    ev.drag(30, 20, 130, 110)
    ev.key("3")
    paths = widget.export_masks()
    assert sorted(p.name for p in paths) == ["prompt_coco.json", "prompt_fused.png", "prompt_hq.png",
                                             "prompt_sam.png"]
    mask, meta = load_mask_png(tmp_path / "exports" / "prompt_sam.png", with_meta=True)
    np.testing.assert_array_equal(mask, widget.prediction.sam_candidates[2].mask)
    assert meta["prompt"]["labels"] == [1, 0]
    records = load_coco_json(tmp_path / "exports" / "prompt_coco.json")
    np.testing.assert_array_equal(records[1].mask, widget.masks["hq"])
    assert records[0].prompt["box"] == list(widget.state.box)

    ev.key("z")  # undone: replay must stop there, and keep the undone box for redo
    history_path = widget.save_history()
    saved = json.loads(history_path.read_text())
    assert saved["position"] == 2 and len(saved["actions"]) == 3

    fresh = PromptCanvas(pair, make_image(240, 320, seed=12), max_display=(120, 160))
    fresh.set_image(IMAGE)
    replay = fresh.replay(history_path)
    assert replay.matches is True
    assert fresh.state == widget.state
    for key in ("sam", "hq", "fused"):
        assert mask_sha256(fresh.masks[key]) == mask_sha256(widget.masks[key])
    fresh.redo()
    assert fresh.state.box is not None


# --- 1000 random events -------------------------------------------------------------------------------
class FakePair:
    """The PairPredictor interface with cheap deterministic masks (disks at points, the box filled)."""

    def __init__(self) -> None:
        from hqsam_nb.models.provenance import WeightsProvenance

        self.image = None
        self.encoder_passes = 0
        self.info = WeightsProvenance("official", "vit_tiny")  # stamps and notes say nothing about a fake's weights

    def set_image(self, image):
        self.image = image
        self.encoder_passes += 1

    @property
    def original_size(self):
        return self.image.shape[:2]

    def predict(self, *, prompt, multimask=False, only=None):
        h, w = self.original_size
        yy, xx = np.mgrid[0:h, 0:w]
        mask = np.zeros((h, w), bool)
        if prompt.box is not None:
            x0, y0, x1, y1 = prompt.box
            mask |= (xx >= x0) & (xx < x1) & (yy >= y0) & (yy < y1)
        for (x, y), lab in zip(prompt.points if prompt.points is not None else [],
                               prompt.labels if prompt.labels is not None else [], strict=True):
            disk = (xx - x) ** 2 + (yy - y) ** 2 < 15**2
            mask = mask | disk if lab == 1 else mask & ~disk
        res = MaskResult(mask, 0.5, np.zeros((256, 256), np.float32))
        hq = MaskResult(np.roll(mask, 2, axis=1), 0.6, res.logits)
        cands = ((res, hq, res) if multimask else (res,)) if only != "hq" else ()
        return PairPrediction(sam=cands[0] if cands else None, hq=hq if only != "sam" else None,
                              fused=hq if only != "sam" else None, sam_candidates=cands, prompt=prompt,
                              decode_ms=0.1)


def test_1000_random_events_then_undo_to_empty_restores_the_initial_state(tmp_path):
    rng = np.random.default_rng(7)
    w = PromptCanvas(FakePair(), IMAGE, max_display=(120, 160), export_dir=tmp_path)
    ev = Events(w)
    initial = (w.state, w.prediction, w.layers.mask_digest, w.mode.value, w.undo_button.disabled)
    keys = ["z", "y", "Escape", "n", "Shift", "1", "2", "3", "q", "Z"]
    views = ["sam", "hq", "fused", "side", "diff"]
    for i in range(1000):
        r = rng.random()
        x, y = float(rng.uniform(-40, 200)), float(rng.uniform(-40, 160))
        if r < 0.35:
            ev.send("mouse_move", x=x, y=y)
        elif r < 0.55:
            ev.send("mouse_down", x=x, y=y)
        elif r < 0.75:
            ev.send("mouse_up", x=x, y=y)
        elif r < 0.78:
            ev.send("mouse_out", x=x, y=y)
        elif r < 0.97:
            ev.key(str(rng.choice(keys)), shift=bool(rng.random() < 0.2), ctrl=bool(rng.random() < 0.1))
        elif r < 0.985:
            w.view.value = views[i % len(views)]
        else:
            w.multimask.value = not w.multimask.value
        assert w.errors == [], f"event {i} raised {w.errors[-1]!r}"
        if w.prediction is not None:
            assert w.masks["hq"].shape == IMAGE.shape[:2]
        for px, py in w.state.points:
            assert 0 <= px <= 320 and 0 <= py <= 240
    assert w.editor.position > 10
    w.mode.value = "positive"
    w.view.value = "fused"
    while w.editor.can_undo:
        ev.key("z")
    assert (w.state, w.prediction, w.layers.mask_digest, w.mode.value, w.undo_button.disabled) == initial
    assert w.errors == []


def test_extension_hooks_add_a_button_and_a_text_field(widget):
    seen = []
    assert widget.actions.layout.display == "none"  # the actions row is hidden while empty
    button = widget.add_action("Everything", lambda c: seen.append(("button", c.state)))
    text = widget.add_text_field("find:", lambda c, t: seen.append(("text", t)))
    assert widget.actions.children == (button, text) and widget.actions.layout.display is None
    assert widget.actions in widget.children
    button.click()
    text.value = "cat"
    assert seen == [("button", widget.state), ("text", "cat")]
    widget.add_action("Broken", lambda c: 1 / 0).click()  # errors are shown, as for every control
    assert isinstance(widget.errors[-1], ZeroDivisionError) and "Error" in widget.status.value


def test_each_canvas_decodes_on_its_own_image(tiny_pair, tmp_path):
    other = make_image(240, 320, seed=13)
    a = PromptCanvas(tiny_pair, IMAGE, max_display=(120, 160), export_dir=tmp_path)
    b = PromptCanvas(tiny_pair, other, max_display=(120, 160), export_dir=tmp_path)  # the pair now holds `other`

    def expected(image, state):
        tiny_pair.set_image(image)
        return tiny_pair.predict(prompt=state.to_prompt())

    Events(a).click(40, 30)
    Events(b).click(40, 30)  # the same click on the other canvas
    tiny_pair.set_image(make_image(240, 320, seed=14))  # a notebook cell between two clicks
    Events(a).drag(10, 10, 120, 100)
    a.view.value = "side"  # completes SAM on a's image
    a_masks, b_masks = dict(a.masks), dict(b.masks)
    for key in ("sam", "hq", "fused"):
        np.testing.assert_array_equal(a_masks[key], getattr(expected(IMAGE, a.state), key).mask)
    for key in ("hq", "fused"):
        np.testing.assert_array_equal(b_masks[key], getattr(expected(other, b.state), key).mask)
    a.view.value = "fused"
    a.undo()  # back to the click alone: the fused view decodes the HQ decoder only
    tiny_pair.set_image(other)
    a.export_name.value = "a"
    a.export_masks()  # completing SAM for the export decodes on a's image, too
    exp = expected(IMAGE, a.state)
    for key in ("sam", "hq", "fused"):
        np.testing.assert_array_equal(load_mask_png(tmp_path / f"a_{key}.png"), getattr(exp, key).mask)
    assert a.errors == [] and b.errors == []
    a.close()
    b.close()


# --- exports stay inside export_dir; replay checks the whole history before changing the widget ---------------
@pytest.mark.parametrize("name", ["../../escaped/x", "/tmp/abs", "", "   ", "a/b", "a\\b", "..", ".hidden",
                                  "C:x", "~user", "x\x00y", "x" * 121])
def test_export_names_stay_inside_export_dir(name, tmp_path):
    export_dir = tmp_path / "a" / "b" / "exports"
    w = PromptCanvas(FakePair(), IMAGE, max_display=(120, 160), export_dir=export_dir)
    w.add_point(100, 100)
    with pytest.raises(ValueError, match="plain file name"):
        w.export_masks(name)
    with pytest.raises(ValueError, match="plain file name"):
        w.save_history(name)
    w.export_name.value = name  # and through the buttons, as a Voila app's user would
    w.export_masks_button.click()
    w.export_history_button.click()
    assert [type(e) for e in w.errors] == [ValueError, ValueError] and "plain file name" in w.status.value
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # nothing written anywhere
    w.close()


def test_plain_export_names_are_accepted(tmp_path):
    w = PromptCanvas(FakePair(), IMAGE, max_display=(120, 160), export_dir=tmp_path)
    w.add_point(100, 100)
    w.export_name.value = " my cat (2) "
    w.export_masks_button.click()
    w.export_history_button.click()
    assert w.errors == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my cat (2).history.json", "my cat (2)_coco.json",
                                                         "my cat (2)_fused.png", "my cat (2)_hq.png",
                                                         "my cat (2)_sam.png"]


def _fake_widget(tmp_path) -> PromptCanvas:
    w = PromptCanvas(FakePair(), IMAGE, max_display=(120, 160), export_dir=tmp_path)
    w.add_point(100, 100)
    w.set_box([20, 20, 200, 150])
    w.add_point(5, 5, label=0)
    w.undo()  # actions[:2] rebuild the prompt; with position -1, actions[:-1] rebuild it too
    return w


def test_replay_of_a_bad_history_changes_nothing(tmp_path):
    w = _fake_widget(tmp_path)
    good = w.history_dict()
    w.clear()
    w.add_point(50, 60, label=1)
    before = (w.editor, w.state, w.prediction, w.layers.mask_digest, w.draw_counts["prompt"])
    tail = json.loads(json.dumps(good))
    tail["actions"].append({"op": "point", "x": 1e6, "y": 1, "label": 1})  # an invalid redo tail
    hang = dict(good, position=-1)  # looped forever before
    for bad, field in ((tail, r"actions\[3\].x"), (hang, "position")):
        with pytest.raises(ValueError, match=field):
            w.replay(bad)
        assert (w.editor, w.state, w.prediction, w.layers.mask_digest, w.draw_counts["prompt"]) == before
    assert w.replay(good).matches is True and w.state == PromptState(((100.0, 100.0),), (1,),
                                                                     (20.0, 20.0, 200.0, 150.0))


def test_replay_of_a_history_starting_with_clear_shows_no_stale_point(tmp_path):
    w = _fake_widget(tmp_path)
    data = w.history_dict()
    data.update(actions=[{"op": "clear"}, {"op": "point", "x": 10, "y": 10, "label": 1}], position=1,
                prompt={"points": None, "labels": None, "box": None}, masks_sha256=None)
    w.replay(data)
    assert w.state.is_empty and w.prediction is None and w.layers.mask_digest is None
    assert w.editor.can_redo
    w.redo()
    assert w.state.points == ((10.0, 10.0),) and w.prediction is not None


# --- the static still ----------------------------------------------------------------------------------------
def _displayed(obj):
    """The outputs IPython publishes when a cell shows ``obj`` (and later updates to them)."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.display import display
    from IPython.utils.capture import capture_output

    InteractiveShell.instance()
    cap = capture_output()
    outputs = cap.__enter__()
    display(obj)
    return cap, outputs


def _png(output) -> np.ndarray:
    import base64

    import cv2

    raw = np.frombuffer(base64.b64decode(output.data["image/png"]), np.uint8)
    return cv2.cvtColor(cv2.imdecode(raw, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def test_widget_leaves_a_png_still_that_follows_it(tmp_path):
    w = PromptCanvas(FakePair(), IMAGE, max_display=(120, 160), export_dir=tmp_path)
    cap, out = _displayed(w)
    try:
        assert len(out.outputs) == 2
        view, still = out.outputs
        assert "application/vnd.jupyter.widget-view+json" in view.data and "image/png" not in view.data
        assert set(still.data) == {"image/png", "text/plain"} and "still" in still.data["text/plain"]
        first = _png(still)
        np.testing.assert_array_equal(first, w.picture())
        picture = w.layers.picture()
        assert picture.shape == (120, 160, 3)  # the canvas, at its size, under a title bar
        np.testing.assert_array_equal(picture, np.asarray(__import__("cv2").resize(
            IMAGE, (160, 120), interpolation=__import__("cv2").INTER_AREA)))  # no mask, no prompt yet
        w.add_point(160, 120)  # a click (from code: no browser, so at once)
        assert len(out.outputs) == 3 and out.outputs[-1].update
        after = _png(out.outputs[-1])
        np.testing.assert_array_equal(after, w.picture())
        assert not np.array_equal(after, first)
        assert tuple(w.layers.picture()[60, 80]) != tuple(picture[60, 80])  # the point and the mask are on it
        assert w.still.hider.value == ""  # no browser view yet: the still is not hidden
        Events(w).send("client_ready")
        assert w.still.live and "hqsam-live" in w.still.hider.value and w.still.hider in w.children
    finally:
        cap.__exit__(None, None, None)
        w.close()


def test_the_still_names_the_view_and_random_weights(tiny_pair, tmp_path):
    w = PromptCanvas(tiny_pair, IMAGE, max_display=(120, 160), export_dir=tmp_path, view="side")
    assert tiny_pair.info.official is False
    picture = w.picture()
    assert picture.shape[1] == 240 and picture.shape[0] > 90 + 2 * 20  # two title bars over the canvas
    # the live widget says it too, above the canvas
    assert "RANDOM" in w.weights_note.value and w.weights_note.layout.display != "none"
    assert w.children.index(w.weights_note) == w.children.index(w.canvas) - 1
    w.close()


def test_small_images_are_scaled_up_and_prompts_stay_in_image_pixels(pair, tmp_path):
    w = PromptCanvas(pair, IMAGE[:60, :80], max_display=(120, 160), export_dir=tmp_path)
    assert (w.canvas.width, w.canvas.height) == (160, 120)  # 80 x 60 shown at twice its size
    Events(w).click(100, 50)
    assert w.state.points == ((50.0, 25.0),)
    w.close()


def test_shift_is_read_from_the_press_whatever_has_the_focus(widget):
    ev = Events(widget)
    press = widget._pointer_events._handle_mouse_msg  # what ipyevents sends for the mousedown on the canvas
    press(None, {"type": "mousedown", "shiftKey": True}, [])  # no key event reached the canvas (a button had focus)
    ev.click(30, 10)
    press(None, {"type": "mousedown", "shiftKey": False}, [])
    ev.click(40, 10)
    ev.key("Shift", shift=True)  # Shift pressed on the focused canvas, released before the click
    press(None, {"type": "mousedown", "shiftKey": False}, [])
    ev.click(50, 10)
    assert widget.state.labels == (0, 1, 1)
