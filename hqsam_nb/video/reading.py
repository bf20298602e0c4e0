"""Reading a clip lazily: a video file through PyAV, or a folder of frames (DAVIS ``JPEGImages/480p/<seq>``).

Both give a :class:`VideoSource`: its size, frame count and frame rate are known up front (from the container
or the folder listing), and iterating decodes one frame at a time, so memory stays flat however long the clip.

Example:
    >>> clip = open_video("DAVIS/JPEGImages/480p/bike-packing")   # doctest: +SKIP
    >>> clip.size, len(clip), clip.fps                           # doctest: +SKIP
    ((480, 854), 69, 24.0)
    >>> for name, frame in clip.named_frames():                   # doctest: +SKIP
    ...     ...                                                   # frame: uint8 H x W x 3
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..io.images import load_image

logger = logging.getLogger(__name__)

__all__ = ["FRAME_SUFFIXES", "VIDEO_SUFFIXES", "FrameFolder", "VideoFile", "VideoSource", "frame_name",
           "open_video"]

#: Image files a frame folder may hold (one frame per file, in name order).
FRAME_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
#: Video containers tried with PyAV (anything FFmpeg reads works; these are just the ones named in errors).
VIDEO_SUFFIXES: tuple[str, ...] = (".mp4", ".webm", ".mkv", ".avi", ".mov", ".gif", ".m4v")

#: DAVIS's frame rate (its clips are 24 fps); used for frame folders unless told otherwise.
DEFAULT_FPS = 24.0


def frame_name(index: int) -> str:
    """The name of frame ``index`` of a video file: 5 digits, as DAVIS names its frames (``00000``)."""
    return f"{int(index):05d}"


@dataclass(frozen=True)
class VideoSource:
    """What every clip reader shares: ``size`` ``(H, W)``, ``fps``, frame ``names`` (file stems or
    :func:`frame_name`), and lazy iteration over RGB ``uint8`` ``H x W x 3`` frames."""

    path: Path
    size: tuple[int, int]
    fps: float
    names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self) -> Iterator[np.ndarray]:
        for _, frame in self.named_frames():
            yield frame

    def named_frames(self, start: int = 0) -> Iterator[tuple[str, np.ndarray]]:
        """``(name, frame)`` pairs from frame ``start`` on, decoded one at a time."""
        raise NotImplementedError

    def frame(self, index: int) -> np.ndarray:
        """One frame (``uint8`` ``H x W x 3``); random access decodes from the start for a video file."""
        if not -len(self) <= index < len(self):
            raise IndexError(f"frame {index} is out of range for a clip of {len(self)} frames")
        index %= len(self)
        return next(self.named_frames(index))[1]


@dataclass(frozen=True)
class FrameFolder(VideoSource):
    """A folder of frame images, read in sorted file-name order (DAVIS: ``00000.jpg``, ``00001.jpg``, ...)."""

    files: tuple[Path, ...] = ()

    def named_frames(self, start: int = 0) -> Iterator[tuple[str, np.ndarray]]:
        for name, path in zip(self.names[start:], self.files[start:], strict=True):
            frame = load_image(path)
            if frame.shape[:2] != self.size:
                raise ValueError(f"{path}: frame of size {frame.shape[:2]} in a clip of size {self.size} "
                                 "(the first frame's); all frames of a clip must have one size")
            yield name, frame


@dataclass(frozen=True)
class VideoFile(VideoSource):
    """A video file decoded by PyAV (FFmpeg): mp4, webm, mkv, avi, mov, gif..."""

    def named_frames(self, start: int = 0) -> Iterator[tuple[str, np.ndarray]]:
        import av

        decoded = 0
        try:
            with av.open(str(self.path)) as container:
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"
                for i, frame in enumerate(container.decode(stream)):
                    if i >= len(self.names):
                        return
                    decoded = i + 1
                    if i >= start:
                        yield self.names[i], frame.to_ndarray(format="rgb24")
        except av.error.FFmpegError as exc:
            raise ValueError(f"{str(self.path)!r}: frame {decoded} of {len(self)} could not be decoded ({exc}); the "
                             "file is damaged from there on") from None
        if decoded < len(self):  # the container announced more frames than its data holds
            raise ValueError(f"{str(self.path)!r} announces {len(self)} frames but holds only {decoded} (a truncated "
                             f"file?); frame {max(start, decoded)} and later cannot be read")


def _open_folder(path: Path, fps: float | None) -> FrameFolder:
    files = tuple(sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in FRAME_SUFFIXES
                         and not p.name.startswith(".")))
    if not files:
        raise ValueError(f"{str(path)!r} holds no frame images ({', '.join(FRAME_SUFFIXES)}); give a folder of "
                         "frames (e.g. DAVIS JPEGImages/480p/<sequence>) or a video file")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(files[0]) as img:
            w, h = img.size
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"{str(files[0])!r} is not a readable image ({exc})") from None
    names = tuple(p.stem for p in files)
    if len(set(names)) != len(names):
        raise ValueError(f"{str(path)!r}: two frame files share a name (e.g. 00001.jpg and 00001.png)")
    return FrameFolder(path, (int(h), int(w)), float(fps or DEFAULT_FPS), names, files)


def _open_file(path: Path, fps: float | None) -> VideoFile:
    try:
        import av
    except ImportError as exc:  # pragma: no cover - av is a declared dependency
        raise ImportError("reading video files needs PyAV: pip install av") from exc
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise ValueError(f"{str(path)!r} has no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or Fraction(int(DEFAULT_FPS))
            n = int(stream.frames or 0)
            if n == 0:  # containers without a frame count (webm, some avi): count by demuxing, no decoding
                n = sum(1 for packet in container.demux(stream) if packet.size)
            size = (int(stream.codec_context.height), int(stream.codec_context.width))
    except av.error.FFmpegError as exc:
        raise ValueError(f"{str(path)!r} is not a readable video ({exc}); accepted: a video file FFmpeg reads "
                         f"({', '.join(VIDEO_SUFFIXES)}, ...) or a folder of frame images") from None
    if n == 0 or 0 in size:
        raise ValueError(f"{str(path)!r} holds no video frames")
    return VideoFile(path, size, float(fps or rate), tuple(frame_name(i) for i in range(n)))


def open_video(path: str | os.PathLike, *, fps: float | None = None) -> VideoSource:
    """Open a clip for lazy reading: a video file (PyAV) or a folder of frame images.

    Args:
        path: a video file (``.mp4``, ``.webm``, ...) or a folder of frames (``.jpg``/``.png``, sorted by name).
        fps: override the frame rate (default: the container's; 24 for a folder, DAVIS's rate).

    Returns:
        A :class:`VideoSource`: ``size`` ``(H, W)``, ``fps``, ``names``, ``len()``; iterate for frames.

    Raises:
        FileNotFoundError: no such file or folder.
        ValueError: not a readable video, or a folder without frames.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"{str(p)!r} does not exist; give a video file or a folder of frame images")
    if fps is not None and (isinstance(fps, bool) or not isinstance(fps, int | float) or not fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    return _open_folder(p, fps) if p.is_dir() else _open_file(p, fps)
