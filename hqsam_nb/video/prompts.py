"""Which prompt each object gets on each frame: tracker boxes, the ground truth's boxes, or propagation.

Three sources, one interface (:class:`PromptSource`), used by :func:`~hqsam_nb.video.tracking.track_clip`:

* :class:`TrackerBoxes` - boxes from any tracker, as the paper did (XMem's boxes on DAVIS), read from a JSON file
  (format below). Every model gets the same boxes.
* :class:`OracleBoxes` - the tight box of each object's ground-truth mask on every frame: the upper bound a
  perfect tracker would give. Every model gets the same boxes.
* :class:`Propagation` - each model follows **its own** masks: on frame ``t + 1`` an object is prompted with the
  box of the model's mask of frame ``t`` plus one positive point inside it (the mask pixel farthest from the
  mask's edge), starting on frame 0 from given masks (box + interior point), boxes or clicks. Where a model
  lost an object (an empty mask), the object keeps its last non-empty prompt, so that it can be found again.

Tracker-box JSON (``TRACKER_BOXES_FORMAT``), boxes ``[x0, y0, x1, y1]`` in pixels of the frame (XYXY, as
everywhere in :mod:`hqsam_nb`); frame keys are frame names (DAVIS file stems such as ``"00000"``; for a video
file, :func:`~hqsam_nb.video.reading.frame_name` of the index); object keys are the object ids as strings; an
object missing from a frame, or ``null``, means "not in this frame" (its mask is empty there)::

    {"format": "hqsam_nb.tracker_boxes", "version": 1,
     "sequences": {"bike-packing": {"00000": {"1": [312.0, 80.5, 398.0, 271.0], "2": [...]},
                                    "00001": {...}}}}
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from ..evaluation.protocols import tight_box
from ..io.atomic import atomic_write_json
from ..io.jsonfile import read_json
from ..validation import ordered_boxes

logger = logging.getLogger(__name__)

__all__ = ["PROMPT_KINDS", "TRACKER_BOXES_FORMAT", "ObjectPrompt", "OracleBoxes", "PromptSource", "Propagation",
           "TrackerBoxes", "interior_point", "load_tracker_boxes", "save_tracker_boxes"]

TRACKER_BOXES_FORMAT = "hqsam_nb.tracker_boxes"
#: The tracker-box format version this package reads and writes.
TRACKER_BOXES_VERSION = 1
#: The prompt sources by their command-line names.
PROMPT_KINDS: tuple[str, ...] = ("oracle", "propagate", "boxes")


@dataclass(frozen=True)
class ObjectPrompt:
    """One object's prompt on one frame: a box ``(4,)`` XYXY and/or points ``(N, 2)`` ``(x, y)`` with labels
    ``(N,)`` (1 positive, 0 negative); pixels of the frame."""

    box: np.ndarray | None = None
    points: np.ndarray | None = None
    labels: np.ndarray | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"box": None if self.box is None else [float(v) for v in self.box],
                "points": None if self.points is None else self.points.tolist(),
                "labels": None if self.labels is None else [int(v) for v in self.labels]}


#: Per branch (``"sam"``, ``"hq"``, ``"fused"``), per object (in the sequence's object order), its prompt or None
#: (no prompt: the object's mask is empty on this frame).
FramePrompts = dict[str, list[ObjectPrompt | None]]


def interior_point(mask: np.ndarray) -> np.ndarray:
    """The mask pixel farthest from the background (and from the image border), as ``(x, y)`` ``float64 (2,)``.

    On a thin structure that is a pixel on its thickest part; ties go to the first in row-major order. The
    mask must not be empty.
    """
    if not mask.any():
        raise ValueError("interior_point of an empty mask")
    padded = cv2.copyMakeBorder(np.ascontiguousarray(mask).view(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return np.array([x, y], np.float64)


def _mask_prompt(mask: np.ndarray) -> ObjectPrompt:
    return ObjectPrompt(box=tight_box(mask), points=interior_point(mask)[None], labels=np.ones(1, np.int64))


class PromptSource:
    """Gives each frame's prompts. ``shared`` sources give every branch the same prompts (one decode serves all);
    ``needs_previous`` sources (propagation) read the previous frame's masks of each branch."""

    shared: bool = True
    needs_previous: bool = False
    needs_ground_truth: bool = False

    def start(self, object_ids: Sequence[int], first_masks: np.ndarray | None) -> None:
        """Begin a sequence with these objects (``first_masks``: the first frame's ground truth ``(K, H, W)``)."""
        self.object_ids = tuple(int(k) for k in object_ids)

    def frame_prompts(self, index: int, name: str, branches: Sequence[str], gt_masks: np.ndarray | None,
                      previous: Mapping[str, np.ndarray] | None) -> FramePrompts:
        """Prompts of frame ``index`` (named ``name``) for each branch.

        Args:
            gt_masks: the frame's ground truth ``(K, H, W)`` when ``needs_ground_truth`` (else None).
            previous: per branch, its masks ``(K, H, W)`` on frame ``index - 1`` (None on frame 0).
        """
        raise NotImplementedError


class OracleBoxes(PromptSource):
    """The tight box of each object's ground-truth mask on every frame (no prompt where it is absent)."""

    needs_ground_truth = True

    def frame_prompts(self, index: int, name: str, branches: Sequence[str], gt_masks: np.ndarray | None,
                      previous: Mapping[str, np.ndarray] | None) -> FramePrompts:
        if gt_masks is None:
            raise ValueError(f"frame {name!r} has no annotation: oracle boxes need ground truth on every frame; "
                             "use tracker boxes (--prompt boxes FILE) or propagation (--prompt propagate)")
        shared = [ObjectPrompt(box=tight_box(m)) if m.any() else None for m in gt_masks]
        return dict.fromkeys(branches, shared)


def _check_box(box: Any, where: str) -> np.ndarray | None:
    """A tracker's box as ``float64 (4,)`` XYXY, by the package's one box rule (:func:`hqsam_nb.validation.
    ordered_boxes`: swapped corners put in order, zero width or height refused); None stays None."""
    if box is None:
        return None
    try:
        flat = not isinstance(box, str | bytes | Mapping) and np.ndim(box) == 1
    except ValueError:  # ragged nesting
        flat = False
    if not flat:
        raise ValueError(f"{where}: a box must be [x0, y0, x1, y1], got {box!r:.80}")
    return ordered_boxes(box, where)


@dataclass
class TrackerBoxes(PromptSource):
    """Boxes from a tracker for one sequence: ``boxes[frame name][object id] = (4,) XYXY`` (see the module
    docstring for the file format; :func:`load_tracker_boxes` reads a file of many sequences)."""

    boxes: dict[str, dict[int, np.ndarray]] = field(default_factory=dict)
    name: str = ""

    def start(self, object_ids: Sequence[int], first_masks: np.ndarray | None) -> None:
        super().start(object_ids, first_masks)
        unknown = sorted({k for per in self.boxes.values() for k in per} - set(self.object_ids))
        if unknown:
            logger.warning("tracker boxes of %r name object ids %s that the sequence does not have (it has %s); "
                           "they are ignored", self.name, unknown, list(self.object_ids))

    def check_frames(self, frame_names: Sequence[str]) -> None:
        """Check the boxes' frame keys against the sequence's frame names before any frame is decoded.

        Raises:
            ValueError: boxes are given, but under no frame name of the sequence (a file keyed ``"0"``, ``"1"``...
                instead of ``"00000"``, ``"00001"``... would prompt nothing: empty masks, J&F 0, after an encoder
                pass per frame). Keys that match no frame, when others do, are logged as a warning.
        """
        keys, names = set(self.boxes), set(frame_names)
        shown = ", ".join(repr(n) for n in list(frame_names)[:3]) + (" ..." if len(frame_names) > 3 else "")
        if keys and not keys & names:
            raise ValueError(f"tracker boxes of sequence {self.name!r} are keyed {_few(sorted(keys))}, but no frame "
                             f"of it has such a name (its frames: {shown}); frame keys must be frame names, e.g. "
                             "DAVIS file stems such as '00000'")
        if not keys:
            logger.warning("tracker boxes of %r hold no frame: every mask of it will be empty", self.name)
        elif keys - names:
            logger.warning("tracker boxes of %r name frames %s that the sequence does not have (its frames: %s); "
                           "they are ignored", self.name, _few(sorted(keys - names)), shown)

    def frame_prompts(self, index: int, name: str, branches: Sequence[str], gt_masks: np.ndarray | None,
                      previous: Mapping[str, np.ndarray] | None) -> FramePrompts:
        per = self.boxes.get(name, {})
        shared = [None if per.get(k) is None else ObjectPrompt(box=per[k]) for k in self.object_ids]
        return dict.fromkeys(branches, shared)


def _few(items: Sequence[Any], k: int = 5) -> str:
    return ", ".join(repr(x) for x in items[:k]) + (f" and {len(items) - k} more" if len(items) > k else "")


def load_tracker_boxes(path: str | os.PathLike) -> dict[str, TrackerBoxes]:
    """Read a tracker-box JSON file (format in the module docstring) into one :class:`TrackerBoxes` per sequence.

    Raises:
        FileNotFoundError: no such file. ValueError: not JSON, another format or version, a malformed box, or an
            object id given twice in a frame (``"1"`` and ``"01"``); the message names the sequence, frame and
            object.
    """
    p = Path(path).expanduser()
    data = read_json(p, "tracker-box")
    expected = (f"expected {{'format': {TRACKER_BOXES_FORMAT!r}, 'version': {TRACKER_BOXES_VERSION}, 'sequences': "
                "{sequence: {frame: {object id: [x0, y0, x1, y1]}}}}")
    if not isinstance(data, dict) or data.get("format") != TRACKER_BOXES_FORMAT or "sequences" not in data:
        raise ValueError(f"{p}: {expected}")
    if data.get("version") != TRACKER_BOXES_VERSION:
        raise ValueError(f"{p}: tracker-box format version {data.get('version')!r:.40} is not accepted; this "
                         f"version of hqsam_nb reads version {TRACKER_BOXES_VERSION}")
    if not isinstance(data["sequences"], dict):
        raise ValueError(f"{p}: 'sequences' must map sequence names to {{frame: {{object id: box}}}}, got "
                         f"{type(data['sequences']).__name__}; {expected}")
    out = {}
    for seq, frames in data["sequences"].items():
        if not isinstance(frames, dict):
            raise ValueError(f"{p}: sequences[{seq!r}] must map frame names to {{object id: box}}, got "
                             f"{type(frames).__name__}")
        boxes: dict[str, dict[int, np.ndarray]] = {}
        for frame, objects in frames.items():
            if not isinstance(objects, dict):
                raise ValueError(f"{p}: {seq}/{frame} must map object ids to boxes, got {type(objects).__name__}")
            per: dict[int, np.ndarray] = {}
            seen: dict[int, str] = {}
            for obj, box in objects.items():
                try:
                    k = int(obj)
                except ValueError:
                    raise ValueError(f"{p}: {seq}/{frame}: object id {obj!r:.40} is not an integer") from None
                if k in seen:
                    raise ValueError(f"{p}: {seq}/{frame}: object ids {seen[k]!r} and {obj!r} are the same object "
                                     f"{k}; give each object once")
                seen[k] = obj
                b = _check_box(box, f"{p}: {seq}/{frame}/object {obj}")
                if b is not None:
                    per[k] = b
            boxes[str(frame)] = per
        out[str(seq)] = TrackerBoxes(boxes, str(seq))
    return out


def save_tracker_boxes(path: str | os.PathLike,
                       sequences: Mapping[str, Mapping[str, Mapping[int, Any]]]) -> Path:
    """Write ``{sequence: {frame name: {object id: box}}}`` in the tracker-box format, atomically."""
    body = {str(s): {str(f): {str(k): None if b is None else [float(v) for v in np.asarray(b).reshape(-1)]
                               for k, b in objs.items()} for f, objs in frames.items()}
            for s, frames in sequences.items()}
    return atomic_write_json(path, {"format": TRACKER_BOXES_FORMAT, "version": TRACKER_BOXES_VERSION,
                                    "sequences": body})


@dataclass
class Propagation(PromptSource):
    """Each model follows its own masks (see the module docstring).

    Args:
        init: how frame 0 is prompted: ``"mask"`` (the first frame's ground-truth masks: their box + interior
            point), ``"box"`` (their tight boxes) or ``"clicks"`` (one positive click per object, the interior
            point). With ``boxes=`` or ``points=`` given, those are used instead of the ground truth.
        boxes: optional first-frame boxes, ``(K, 4)`` XYXY, one per object.
        points: optional first-frame clicks, ``(K, N, 2)`` ``(x, y)``, all positive.
    """

    init: Literal["mask", "box", "clicks"] = "mask"
    boxes: Any = None
    points: Any = None
    shared = False
    needs_previous = True
    _first: list[ObjectPrompt | None] = field(default_factory=list, init=False, repr=False)
    _last: dict[str, list[ObjectPrompt | None]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.init not in ("mask", "box", "clicks"):
            raise ValueError(f"init={self.init!r} is not accepted; use 'mask', 'box' or 'clicks'")

    def start(self, object_ids: Sequence[int], first_masks: np.ndarray | None) -> None:
        super().start(object_ids, first_masks)
        k = len(self.object_ids)
        self._last = {}
        if self.boxes is not None:
            b = np.asarray(self.boxes, dtype=np.float64).reshape(-1, 4)
            if len(b) != k:
                raise ValueError(f"got {len(b)} first-frame boxes for {k} objects")
            self._first = [ObjectPrompt(box=_check_box(x, f"first-frame box {i}")) for i, x in enumerate(b)]
        elif self.points is not None:
            pts = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in self.points]
            if len(pts) != k:
                raise ValueError(f"got clicks for {len(pts)} objects, the sequence has {k}")
            self._first = [ObjectPrompt(points=p, labels=np.ones(len(p), np.int64)) for p in pts]
        else:
            if first_masks is None:
                raise ValueError("propagation from the ground truth needs the first frame's annotation; give "
                                 "boxes= or points= for a clip without one")
            self._first = []
            for m in first_masks:
                if not m.any():
                    self._first.append(None)
                elif self.init == "mask":
                    self._first.append(_mask_prompt(m))
                elif self.init == "box":
                    self._first.append(ObjectPrompt(box=tight_box(m)))
                else:
                    self._first.append(ObjectPrompt(points=interior_point(m)[None], labels=np.ones(1, np.int64)))

    def frame_prompts(self, index: int, name: str, branches: Sequence[str], gt_masks: np.ndarray | None,
                      previous: Mapping[str, np.ndarray] | None) -> FramePrompts:
        out: FramePrompts = {}
        for b in branches:
            if index == 0 or previous is None:
                prompts = list(self._first)
            else:
                last = self._last.get(b, list(self._first))
                prompts = [_mask_prompt(m) if m.any() else last[i] for i, m in enumerate(previous[b])]
            self._last[b] = prompts
            out[b] = prompts
        return out
