"""Prompt histories: saved, checked as a whole (a file may come from anyone), replayed to identical masks."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import make_image

from hqsam_nb.widgets.history import history_to_dict, mask_sha256, replay_history
from hqsam_nb.widgets.state import CanvasMapping, PromptEditor


def test_history_replays_to_identical_masks(tiny_pair):
    image = make_image(120, 160, seed=3)
    tiny_pair.set_image(image)
    ed = PromptEditor(CanvasMapping((120, 160), (120, 160)))
    ed.do({"op": "point", "x": 70.3, "y": 60.1, "label": 1})
    ed.do({"op": "box", "box": [30, 20, 110, 100]})
    ed.do({"op": "point", "x": 10, "y": 10, "label": 0})
    ed.do({"op": "point", "x": 90, "y": 90, "label": 1})
    ed.undo()  # the history keeps the undone point for redo; replay stops before it
    pred = tiny_pair.predict(prompt=ed.state.to_prompt(), multimask=True)
    saved = history_to_dict(ed, image=image, multimask=True, candidate=2, prediction=pred)
    data = json.loads(json.dumps(saved))
    assert data["position"] == 3 and len(data["actions"]) == 4

    tiny_pair.set_image(make_image(120, 160, seed=4))  # another image in between
    replay = replay_history(tiny_pair, data, image)
    assert replay.matches is True
    assert replay.state == ed.state
    assert mask_sha256(replay.prediction.sam_candidates[2].mask) == mask_sha256(pred.sam_candidates[2].mask)
    np.testing.assert_array_equal(replay.prediction.hq.mask, pred.hq.mask)
    np.testing.assert_array_equal(replay.prediction.fused.mask, pred.fused.mask)

    tampered = dict(data, masks_sha256=dict(data["masks_sha256"], hq=mask_sha256(~pred.hq.mask)))
    assert replay_history(tiny_pair, tampered).matches is False


def test_replay_refuses_another_image_and_other_files(tiny_pair):
    image = make_image(64, 64, seed=5)
    ed = PromptEditor(CanvasMapping((64, 64), (64, 64)))
    ed.do({"op": "point", "x": 30, "y": 30, "label": 1})
    data = history_to_dict(ed, image=image)
    with pytest.raises(ValueError, match="another image"):
        replay_history(tiny_pair, data, make_image(64, 64, seed=6))
    with pytest.raises(ValueError, match="not a prompt history"):
        replay_history(tiny_pair, {"format": "coco"}, image)
    broken = dict(data, prompt={"points": [[1, 1]], "labels": [1], "box": None})
    with pytest.raises(ValueError, match="not the stored prompt"):
        replay_history(tiny_pair, broken, image)


# --- a history from anyone: checked as a whole, a ValueError naming the field ---------------------------------
IMG = make_image(64, 96, seed=8)


def _valid() -> dict:
    ed = PromptEditor(CanvasMapping((64, 96), (64, 96)))
    ed.do({"op": "point", "x": 30, "y": 20, "label": 1})
    ed.do({"op": "box", "box": [10, 10, 60, 50]})
    ed.do({"op": "point", "x": 5, "y": 5, "label": 0})
    ed.undo()
    return json.loads(json.dumps(history_to_dict(ed, image=IMG, multimask=True, candidate=1)))


def _with(data: dict, path: str, value) -> dict:
    """``data`` with the field at ``path`` ("a.b", "actions.2.x") set to ``value`` (``...``: deleted)."""
    data = json.loads(json.dumps(data))
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    key = int(last) if isinstance(node, list) else last
    if value is ...:
        del node[key]
    else:
        node[key] = value
    return data


@pytest.mark.parametrize(("path", "value", "message"), [
    ("position", -1, "position must be an int in"),  # looped forever before
    ("position", 99, "position must be an int in"),
    ("position", "2", "'position' must be int"),
    ("position", True, "'position' must be int"),
    ("position", ..., "'position' must be int"),
    ("actions", {"0": 1}, "'actions' must be list"),
    ("actions.0", "point", r"actions\[0\] must be a dict"),
    ("actions.0.x", 1e9, r"actions\[0\].x=1000000000.0 is outside the image"),
    ("actions.0.op", "lasso", r"actions\[0\].op='lasso'"),
    ("actions.2.label", 7, r"actions\[2\].label must be 1"),  # in the redo tail: checked too
    ("actions.1.box", [1, 2], r"actions\[1\].box must be"),
    ("decode.candidate", 5, "'decode.candidate' must be null, or 0, 1 or 2"),
    ("decode.multimask", "yes", "'decode.multimask' must be bool"),
    ("decode.multimask", False, "'decode.candidate' must be null"),  # a candidate without multimask
    ("image", None, "'image' must be Mapping"),
    ("image.height", 65, "recorded on an image of 96 x 65"),
    ("image.width", "96", "'image.width' must be int"),
    ("image.sha256", "abc", "'image.sha256' must be 64"),
    ("prompt", [1], "'prompt' must be Mapping"),
    ("prompt.points", [[1, 2, 3]], "'prompt' is malformed"),
    ("prompt.points", [[30, 21]], "'prompt': the actions rebuild"),
    ("masks_sha256", {"sam": "x"}, "'masks_sha256.hq' must be str"),
    ("model", 3, "'model' must be str"),
])
def test_malformed_fields_are_named(path, value, message):
    from hqsam_nb.widgets.history import check_history

    check_history(_valid(), (64, 96))
    with pytest.raises(ValueError, match=message):
        check_history(_with(_valid(), path, value), (64, 96))


def test_history_limits():
    from hqsam_nb.pair.prompts import MAX_POINTS
    from hqsam_nb.widgets.history import MAX_HISTORY_ACTIONS, check_history

    base = _valid()
    points = [{"op": "point", "x": 1, "y": 1, "label": 1}] * (MAX_POINTS + 1)
    many = dict(base, actions=points, position=0, prompt={"points": None, "labels": None, "box": None})
    with pytest.raises(ValueError, match=rf"actions\[{MAX_POINTS}\] makes a prompt of {MAX_POINTS + 1} points"):
        check_history(many)
    clears = dict(many, actions=[{"op": "clear"}] * (MAX_HISTORY_ACTIONS + 1))
    with pytest.raises(ValueError, match=f"at most {MAX_HISTORY_ACTIONS}"):
        check_history(clears)
    with pytest.raises(ValueError, match="must be a JSON object"):
        check_history([base])


def test_read_history_refuses_large_and_non_json_files(tmp_path):
    from hqsam_nb.widgets.files import read_history
    from hqsam_nb.widgets.history import MAX_HISTORY_BYTES

    big = tmp_path / "big.json"
    big.write_text(" " * (MAX_HISTORY_BYTES + 1))
    with pytest.raises(ValueError, match="larger than 4 MiB"):
        read_history(big)
    (tmp_path / "bad.json").write_bytes(b"\xff{")
    with pytest.raises(ValueError, match=r"prompt history '.*bad\.json' is not UTF-8 text"):
        read_history(tmp_path / "bad.json")
    (tmp_path / "deep.json").write_text("[" * 50_000 + "]" * 50_000)  # once a RecursionError traceback
    with pytest.raises(ValueError, match=r"prompt history '.*deep\.json' is JSON nested too deeply"):
        read_history(tmp_path / "deep.json")
    (tmp_path / "list.json").write_text("[1]")
    with pytest.raises(ValueError, match="holds JSON list"):
        read_history(tmp_path / "list.json")
    (tmp_path / "ok.json").write_text(json.dumps(_valid()))
    assert read_history(tmp_path / "ok.json") == _valid()
