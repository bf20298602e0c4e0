"""A prompt session as JSON, and its replay to the very same masks (checked by their SHA-256).

The format (:data:`HISTORY_FORMAT`, version 1)::

    {"format": "hqsam_nb/prompt-history", "version": 1,
     "image": {"height": H, "width": W, "sha256": "<64 hex>", "source": "sample:astronaut" | null},
     "model": "vit_tiny" | null,
     "decode": {"multimask": false, "candidate": null | 0 | 1 | 2},
     "actions": [{"op": "point", "x": 10.0, "y": 20.0, "label": 1}, {"op": "box", "box": [x0, y0, x1, y1]},
                 {"op": "clear"}, ...],
     "position": 2,                      # actions[:position] rebuild the prompt; the rest is the redo tail
     "prompt": {"points": [[x, y], ...] | null, "labels": [1, 0, ...] | null, "box": [...] | null},
     "masks_sha256": {"sam": "...", "hq": "...", "fused": "..."} | null}

A history file may come from anyone (a Voilà app's user, a colleague's e-mail), so :func:`check_history` checks
all of it - every field's type and range, every action (the redo tail too), the image size, at most
:data:`~hqsam_nb.pair.prompts.MAX_POINTS` points per prompt, at most :data:`MAX_HISTORY_ACTIONS` actions and
:data:`MAX_HISTORY_BYTES` bytes - before anything is decoded or shown. A malformed field gets a ``ValueError``
naming it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..io.images import image_sha256
from .state import CanvasMapping, PromptEditor, PromptState

__all__ = [
    "HISTORY_FORMAT",
    "MAX_HISTORY_ACTIONS",
    "MAX_HISTORY_BYTES",
    "Replay",
    "check_history",
    "history_to_dict",
    "mask_sha256",
    "replay_history",
]

HISTORY_FORMAT = "hqsam_nb/prompt-history"
#: Most actions a history may hold (a long interactive session is a few hundred; replay checks every one).
MAX_HISTORY_ACTIONS = 10_000
#: Largest history file read (10 000 actions take about 0.7 MB).
MAX_HISTORY_BYTES = 4 * 2**20
_SHA256 = re.compile(r"[0-9a-f]{64}")
_BRANCH_KEYS = ("sam", "hq", "fused")


def mask_sha256(mask: np.ndarray) -> str:
    """SHA-256 of a ``bool`` mask (its shape and packed bits): equal digests mean identical masks."""
    m = np.ascontiguousarray(mask, dtype=bool)
    h = hashlib.sha256(f"{m.shape}".encode())
    h.update(np.packbits(m).tobytes())
    return h.hexdigest()


def history_to_dict(editor: PromptEditor, *, image: np.ndarray, multimask: bool = False,
                    candidate: int | None = None, prediction: Any = None, source: str | None = None,
                    model: str | None = None) -> dict[str, Any]:
    """The editor's history as a JSON-serialisable dict (format :data:`HISTORY_FORMAT`, version 1).

    ``actions[:position]`` rebuild the current prompt; undone actions after them are kept (redo). With a
    ``prediction`` (a :class:`~hqsam_nb.PairPrediction` of the current prompt) the masks' SHA-256 digests are
    stored, so :func:`replay_history` can check that it reproduced them exactly.
    """
    data: dict[str, Any] = {
        "format": HISTORY_FORMAT,
        "version": 1,
        "image": {"height": int(image.shape[0]), "width": int(image.shape[1]), "sha256": image_sha256(image),
                  "source": source},
        "model": model,
        "decode": {"multimask": bool(multimask), "candidate": candidate},
        "actions": [dict(a) for a in editor.actions],
        "position": editor.position,
        "prompt": editor.state.to_dict(),
        "masks_sha256": None,
    }
    if prediction is not None:
        data["masks_sha256"] = _prediction_digests(prediction, candidate)
    return data


def _prediction_digests(prediction: Any, candidate: int | None) -> dict[str, str]:
    sam = prediction.sam if candidate is None else prediction.sam_candidates[candidate]
    return {"sam": mask_sha256(sam.mask), "hq": mask_sha256(prediction.hq.mask),
            "fused": mask_sha256(prediction.fused.mask)}


# ------------------------------------------------------------------------------------------------
# Checking a history, all of it, before it changes anything
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckedHistory:
    """A history that passed :func:`check_history`, in normal form.

    Attributes:
        image_size: ``(H, W)``. image_sha256: the recorded image's digest.
        editor: a :class:`~hqsam_nb.widgets.state.PromptEditor` holding every action, ``position`` applied
            (its ``mapping`` shows the image 1:1; a widget sets its own).
        multimask: SAM's three candidates were asked for. candidate: the picked one (0-2) or None.
        masks_sha256: the recorded masks' digests, or None.
    """

    image_size: tuple[int, int]
    image_sha256: str
    editor: PromptEditor
    multimask: bool
    candidate: int | None
    masks_sha256: dict[str, str] | None

    @property
    def state(self) -> PromptState:
        return self.editor.state


def _field(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], name: str,
           optional: bool = False) -> Any:
    value = data.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        value = object()  # True is an int to Python, not to a history
    if not isinstance(value, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise ValueError(f"history field {name!r} must be {names}{' or null' if optional else ''}, got "
                         f"{data.get(key)!r:.60}")
    return value


def check_history(data: Any, image_size: tuple[int, int] | None = None) -> CheckedHistory:
    """Check a whole prompt history (see the module docstring), changing nothing.

    Args:
        data: the history dict (e.g. ``json.load`` of an exported file).
        image_size: ``(H, W)`` of the image it will be replayed on; the recorded size must equal it.

    Raises:
        ValueError: naming the field: not a history of this format, a field of the wrong type or out of range,
            an invalid action (``actions[i]``, the redo tail too), more than
            :data:`~hqsam_nb.pair.prompts.MAX_POINTS` points in a prompt, more than :data:`MAX_HISTORY_ACTIONS`
            actions, ``position`` not in ``0 .. len(actions)``, another image size, ``candidate`` without
            multimask, or actions that do not rebuild the stored ``prompt``.
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"a prompt history must be a JSON object (dict), got {type(data).__name__}")
    if data.get("format") != HISTORY_FORMAT or data.get("version") != 1 or isinstance(data.get("version"), bool):
        raise ValueError(f"not a prompt history (format {HISTORY_FORMAT!r}, version 1): got format "
                         f"{data.get('format')!r:.60}, version {data.get('version')!r:.20}")
    image = _field(data, "image", Mapping, "image")
    h, w = (_field(image, k, int, f"image.{k}") for k in ("height", "width"))
    if h < 1 or w < 1:
        raise ValueError(f"history fields 'image.height' and 'image.width' must be >= 1, got {h} x {w}")
    sha = _field(image, "sha256", str, "image.sha256")
    if not _SHA256.fullmatch(sha):
        raise ValueError(f"history field 'image.sha256' must be 64 lowercase hex digits, got {sha!r:.80}")
    _field(image, "source", str, "image.source", optional=True)
    _field(data, "model", str, "model", optional=True)
    if image_size is not None and (h, w) != tuple(image_size):
        raise ValueError(f"history field 'image': recorded on an image of {w} x {h} pixels, not on this one "
                         f"({image_size[1]} x {image_size[0]})")
    decode = _field(data, "decode", Mapping, "decode", optional=True) or {}
    multimask = bool(_field(decode, "multimask", bool, "decode.multimask", optional=True))
    candidate = _field(decode, "candidate", int, "decode.candidate", optional=True)
    if candidate is not None and not (multimask and 0 <= candidate <= 2):
        raise ValueError(f"history field 'decode.candidate' must be null, or 0, 1 or 2 with multimask, got "
                         f"{candidate!r} (multimask={multimask})")
    actions = _field(data, "actions", list, "actions")
    if len(actions) > MAX_HISTORY_ACTIONS:
        raise ValueError(f"history field 'actions' holds {len(actions)} actions; at most {MAX_HISTORY_ACTIONS} "
                         "are accepted (hqsam_nb.widgets.history.MAX_HISTORY_ACTIONS)")
    position = _field(data, "position", int, "position")
    mapping = CanvasMapping((h, w), (h, w))
    editor = PromptEditor.from_history(mapping, actions, position)  # every action and the position
    stored = _field(data, "prompt", Mapping, "prompt")
    try:
        stored_state = PromptState.from_dict(stored)
    except (TypeError, ValueError, KeyError, IndexError) as exc:
        raise ValueError(f"history field 'prompt' is malformed: {exc}") from None
    if editor.state != stored_state:
        raise ValueError(f"history field 'prompt': the actions rebuild {editor.state.to_dict()}, not the stored "
                         f"prompt {stored!r:.200}")
    digests = _field(data, "masks_sha256", Mapping, "masks_sha256", optional=True)
    if digests is not None:
        digests = {k: _field(digests, k, str, f"masks_sha256.{k}") for k in _BRANCH_KEYS}
    return CheckedHistory((h, w), sha, editor, multimask, candidate, digests)


# ------------------------------------------------------------------------------------------------
# Replay
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Replay:
    """The outcome of :func:`replay_history`.

    Attributes:
        state: the rebuilt prompt state. prediction: the masks decoded for it (None for an empty prompt).
        matches: True when the stored mask digests equal the replayed masks' (None when none were stored).
        history: the checked history (its editor holds the redo tail).
    """

    state: PromptState
    prediction: Any
    matches: bool | None
    history: CheckedHistory | None = None


def replay_history(pair: Any, data: Mapping[str, Any], image: np.ndarray | None = None) -> Replay:
    """Check a history saved with :func:`history_to_dict` (all of it, :func:`check_history`), then rebuild its
    prompt and decode it on ``pair``.

    Args:
        pair: a :class:`~hqsam_nb.PairPredictor`.
        data: the history dict (e.g. ``json.load`` of the exported file).
        image: the image to decode on; None uses ``pair``'s current image. Its SHA-256 must equal the
            stored one.

    Raises:
        ValueError: see :func:`check_history`; also a history recorded on another image.
    """
    if image is None:
        image = getattr(pair, "image", None)
        if image is None:
            raise ValueError("no image: pass image= or call pair.set_image() first")
    checked = check_history(data, tuple(image.shape[:2]))
    digest = image_sha256(image)
    if digest != checked.image_sha256:
        h, w = checked.image_size
        raise ValueError(f"the history was recorded on another image (sha256 {checked.image_sha256[:12]}..., "
                         f"{w} x {h}), not on this one ({digest[:12]}..., {image.shape[1]} x {image.shape[0]})")
    state = checked.state
    stored = checked.masks_sha256
    if state.is_empty:
        return Replay(state, None, None if stored is None else False, checked)
    if getattr(pair, "image", None) is not image:
        pair.set_image(image)
    prediction = pair.predict(prompt=state.to_prompt(), multimask=checked.multimask)
    matches = None if stored is None else stored == _prediction_digests(prediction, checked.candidate)
    return Replay(state, prediction, matches, checked)
