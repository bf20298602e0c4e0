"""Side-by-side clips of SAM | HQ-SAM | where they differ, as MP4 (PyAV) or GIF.

Each frame of the export (:func:`comparison_frame`) holds three labelled panels built by
:mod:`hqsam_nb.drawing.overlays`: SAM's masks in SAM's colour, HQ-SAM's masks in its branch's colour (every
object's contour drawn), and the difference map in the one "both / only A / only B" palette
(:func:`~hqsam_nb.drawing.palette.overlap_palette`: only SAM in SAM's colour, only HQ-SAM in the branch's, both
grey), with its legend in the panel. :func:`save_mp4` streams frames to the encoder one at a time (memory flat in
the clip length); :func:`save_comparison` writes MP4 or GIF by the file's suffix.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..drawing.overlays import composite, difference_rgba, label_panels, overlay_masks
from ..drawing.palette import overlap_palette
from ..io.atomic import atomic_path
from ..io.exports import save_gif
from ..pair.branches import BRANCHES

__all__ = ["comparison_frame", "save_comparison", "save_mp4"]


def comparison_frame(image: np.ndarray, sam_masks: np.ndarray, hq_masks: np.ndarray, *, hq_branch: str = "fused",
                     note: str | None = None, height: int | None = None) -> np.ndarray:
    """One export frame: ``SAM | HQ-SAM | difference`` with titles.

    Args:
        image: the frame, ``uint8`` ``H x W x 3``.
        sam_masks, hq_masks: ``bool`` ``(K, H, W)``, one mask per object (or ``H x W`` for one object).
        hq_branch: which HQ-SAM branch ``hq_masks`` are (``"hq"`` or ``"fused"``), for the title.
        note: appended to the first title, e.g. ``"frame 12"`` or ``"random weights"``.
        height: panel height in pixels (default: the frame's).

    Returns:
        ``uint8`` picture, three panels side by side under a title bar.
    """
    sam = np.asarray(sam_masks, bool)
    hq = np.asarray(hq_masks, bool)
    if sam.ndim == 2:
        sam, hq = sam[None], hq[None]
    if sam.shape != hq.shape or sam.shape[1:] != image.shape[:2]:
        raise ValueError(f"sam_masks {sam.shape} and hq_masks {hq.shape} must be (K, H, W) of the frame's size "
                         f"{image.shape[:2]}")
    if hq_branch not in ("hq", "fused"):
        raise ValueError(f"hq_branch must be 'hq' or 'fused', got {hq_branch!r}")
    panels = [overlay_masks(image, list(masks), [BRANCHES[key].color] * len(masks), alpha=0.45, contour_width=1)
              if len(masks) else image.copy() for masks, key in ((sam, "sam"), (hq, hq_branch))]
    grey = (image.astype(np.float32) * 0.45 + 140).astype(np.uint8)  # pale image under the difference
    layer = difference_rgba(sam.any(axis=0), hq.any(axis=0), 0.85, other=hq_branch)
    panels.append(_legend(composite(grey, layer), hq_branch))
    sam_title = BRANCHES["sam"].label + (f" - {note}" if note else "")
    titles = [sam_title, BRANCHES[hq_branch].label, "difference"]
    return label_panels(panels, titles, height=height)


def _legend(panel: np.ndarray, hq_branch: str) -> np.ndarray:
    """The difference palette's three swatches and labels in the bottom-left corner, readable on a slide."""
    import cv2

    palette = overlap_palette("sam", hq_branch)
    h = panel.shape[0]
    scale = max(0.45, h / 520)
    size = max(10, round(h / 18))
    y = h - 6
    for key in reversed(palette.keys):
        cv2.rectangle(panel, (6, y - size), (6 + size, y), palette.colors[key], -1)
        cv2.rectangle(panel, (6, y - size), (6 + size, y), (0, 0, 0), 1)
        cv2.putText(panel, palette.labels[key], (12 + size, y - 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1,
                    cv2.LINE_AA)
        y -= size + 6
    return panel


def _even(frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return frame
    out = np.full((h + h % 2, w + w % 2, 3), 255, np.uint8)
    out[:h, :w] = frame
    return out


def save_mp4(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float = 8.0, *, crf: int = 18) -> Path:
    """Encode ``uint8`` ``H x W x 3`` frames as an H.264 MP4 with PyAV, one frame at a time, atomically.

    Frames are padded with white to even sizes (H.264's 4:2:0 needs them); every frame must have the first's size.
    Falls back to MPEG-4 Part 2 where FFmpeg was built without an H.264 encoder.

    Returns:
        The path written.
    """
    import av

    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps!r}")
    target = Path(path).expanduser()
    n = 0
    with atomic_path(target) as tmp, av.open(str(tmp), mode="w", format="mp4") as container:
        codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
        stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": str(int(crf))}
        size = None
        for i, frame in enumerate(frames):
            if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.shape[2:] != (3,):
                got = f"{frame.dtype} {frame.shape}" if isinstance(frame, np.ndarray) else type(frame).__name__
                raise ValueError(f"frames[{i}] must be uint8 H x W x 3, got {got}")
            frame = _even(frame)
            if size is None:
                size = frame.shape[:2]
                stream.height, stream.width = size
            elif frame.shape[:2] != size:
                raise ValueError(f"frames[{i}] has size {frame.shape[:2]}, the first frame {size}")
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
            n += 1
        if n == 0:
            raise ValueError("frames is empty: give at least one uint8 H x W x 3 image")
        for packet in stream.encode():
            container.mux(packet)
    return target


def save_comparison(path: str | os.PathLike, frames: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]], *,
                    fps: float = 8.0, hq_branch: str = "fused", notes: Sequence[str] | None = None,
                    height: int | None = None) -> Path:
    """Write a SAM | HQ-SAM | difference clip: ``.mp4`` (PyAV, streamed) or ``.gif`` (Pillow, held in memory).

    Args:
        frames: ``(image, sam_masks, hq_masks)`` per frame (see :func:`comparison_frame`), e.g. from
            :class:`~hqsam_nb.video.tracking.TrackedFrame` ``(f.image, f.masks["sam"], f.masks["fused"])``.
        notes: an optional note per frame for the first title (e.g. ``"frame 3, random weights"``).
    """
    target = Path(path).expanduser()
    suffix = target.suffix.lower()
    if suffix not in (".mp4", ".gif"):
        raise ValueError(f"{target.name}: give a .mp4 or .gif path")
    pictures = (comparison_frame(img, s, h, hq_branch=hq_branch, note=None if notes is None else notes[i],
                                 height=height)
                for i, (img, s, h) in enumerate(frames))
    if suffix == ".mp4":
        return save_mp4(target, pictures, fps)
    return save_gif(target, list(pictures), duration_ms=int(round(1000 / fps)))
