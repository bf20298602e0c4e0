"""DAVIS 2017: the folder layout, its palette PNGs of object ids, and a lazy loader.

Layout (what the official download unpacks to, and what :func:`~hqsam_nb.video.synthetic.write_synthetic_davis`
writes)::

    DAVIS/
      JPEGImages/480p/<sequence>/00000.jpg ...   frames
      Annotations/480p/<sequence>/00000.png ...  palette PNGs: pixel value = object id (0 background, 255 void)
      ImageSets/2017/train.txt, val.txt          one sequence name per line

Results are written in the same form, ``<results>/<sequence>/<frame>.png``, which the official
``davis2017-evaluation`` reads; :func:`write_label_png` writes them with DAVIS's palette, atomically.

As the official semi-supervised evaluation does, a sequence's objects are the ids ``1 .. max`` of its first
annotation, and void pixels (255) count as background.
"""

from __future__ import annotations

import functools
import io
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io.atomic import atomic_write_bytes
from ..io.names import check_plain_name
from .reading import FrameFolder, open_video

__all__ = ["VOID_LABEL", "DavisDataset", "DavisError", "DavisSequence", "davis_palette", "labels_to_masks",
           "masks_to_labels", "open_davis", "read_label_png", "write_label_png"]

#: Annotation value of "void" pixels (object borders left unlabelled); treated as background.
VOID_LABEL = 255


class DavisError(ValueError):
    """A DAVIS folder that is missing parts or holds something unexpected (the message says what)."""


@functools.cache
def davis_palette() -> np.ndarray:
    """DAVIS's (PASCAL VOC's) 256-colour palette, ``uint8`` ``256 x 3``: id 1 red, 2 green, 3 yellow...

    Colour ``i`` spreads the bits of ``i`` over the channels: bit ``3k`` of ``i`` -> bit ``7-k`` of red, bit
    ``3k+1`` -> green, bit ``3k+2`` -> blue.
    """
    ids = np.arange(256)
    pal = np.zeros((256, 3), np.int64)
    for k in range(8):
        for c in range(3):
            pal[:, c] |= ((ids >> (3 * k + c)) & 1) << (7 - k)
    out = pal.astype(np.uint8)
    out.setflags(write=False)
    return out


def read_label_png(path: str | os.PathLike) -> np.ndarray:
    """A DAVIS annotation or result PNG as its object ids, ``uint8`` ``H x W`` (0 background, 255 void).

    Palette ("P") and grayscale ("L") PNGs are read as their pixel values; anything else is rejected.
    """
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    try:
        with Image.open(p) as img:
            if img.mode not in ("P", "L"):
                raise DavisError(f"{p}: a {img.mode} image; DAVIS label PNGs are palette (P) or grayscale (L) "
                                 "images whose pixel values are object ids")
            return np.asarray(img, dtype=np.uint8).copy()
    except FileNotFoundError:
        raise
    except (UnidentifiedImageError, OSError) as exc:
        raise DavisError(f"{p} is not a readable PNG ({exc})") from None


def write_label_png(path: str | os.PathLike, labels: np.ndarray) -> Path:
    """Write object ids as a DAVIS palette PNG (what the official evaluation reads), atomically.

    Args:
        labels: ``uint8`` (or any integer type with values in ``[0, 255]``) ``H x W``: 0 background, ``k`` object
            ``k``.
    """
    from PIL import Image

    labels = np.asarray(labels)
    if labels.ndim != 2 or not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"labels must be an integer H x W array of object ids, got {labels.dtype} {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() > 255):
        raise ValueError(f"object ids must be in [0, 255], got {labels.min()}..{labels.max()}")
    img = Image.fromarray(labels.astype(np.uint8), mode="P")
    img.putpalette(davis_palette().reshape(-1).tolist())
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    return atomic_write_bytes(path, buf.getvalue())


def labels_to_masks(labels: np.ndarray, object_ids: Sequence[int]) -> np.ndarray:
    """One ``bool`` mask per object id: ``(K, H, W)`` (void and other ids are background)."""
    ids = np.asarray(list(object_ids), dtype=np.int64).reshape(-1, 1, 1)
    return labels[None].astype(np.int64) == ids


def masks_to_labels(masks: np.ndarray, object_ids: Sequence[int]) -> np.ndarray:
    """Merge per-object masks ``(K, H, W)`` into one ``uint8`` id map; where masks overlap the later object wins
    (the order DAVIS methods paint them in)."""
    masks = np.asarray(masks, dtype=bool)
    if masks.ndim != 3 or len(masks) != len(object_ids):
        raise ValueError(f"masks must be (K, H, W) with K = {len(object_ids)} object ids, got {masks.shape}")
    out = np.zeros(masks.shape[1:], np.uint8)
    for m, k in zip(masks, object_ids, strict=True):
        out[m] = int(k)
    return out


@dataclass(frozen=True)
class DavisSequence:
    """One DAVIS sequence: its frames (lazy), annotation files and object ids.

    Attributes:
        name: e.g. ``"bike-packing"``.
        frames: a :class:`~hqsam_nb.video.reading.FrameFolder` over ``JPEGImages/<res>/<name>``.
        annotation_files: per frame, its annotation PNG or None (test sets annotate only the first frame).
        object_ids: ``1 .. max id`` of the first annotation.
    """

    name: str
    frames: FrameFolder
    annotation_files: tuple[Path | None, ...]
    object_ids: tuple[int, ...]

    def __post_init__(self) -> None:
        # The name becomes a folder of every results tree (<out>/<branch>/<name>/): one plain path component.
        check_plain_name(self.name, "DAVIS sequence name")

    @property
    def frame_names(self) -> tuple[str, ...]:
        return self.frames.names

    @property
    def size(self) -> tuple[int, int]:
        return self.frames.size

    def __len__(self) -> int:
        return len(self.frames)

    def labels(self, index: int) -> np.ndarray | None:
        """Frame ``index``'s object ids, ``uint8`` ``H x W``, void (255) set to 0; None if not annotated."""
        path = self.annotation_files[index]
        if path is None:
            return None
        labels = read_label_png(path)
        if labels.shape != self.size:
            raise DavisError(f"{path}: annotation of size {labels.shape} for frames of size {self.size}")
        labels[labels == VOID_LABEL] = 0
        return labels

    def masks(self, index: int) -> np.ndarray | None:
        """Frame ``index``'s ground truth, one ``bool`` ``H x W`` mask per object: ``(K, H, W)``."""
        labels = self.labels(index)
        return None if labels is None else labels_to_masks(labels, self.object_ids)

    def iter_frames(self, start: int = 0) -> Iterator[tuple[str, np.ndarray]]:
        """``(frame name, RGB uint8 H x W x 3)`` from ``start`` on, one at a time."""
        return self.frames.named_frames(start)


class DavisDataset:
    """A DAVIS 2017 folder: sequences of a subset (``ImageSets/2017/<subset>.txt``) or named ones.

    Args:
        root: the folder holding ``JPEGImages``, ``Annotations`` and ``ImageSets``.
        subset: ``"val"`` (default), ``"train"``, ``"test-dev"``...: the ``ImageSets/2017/<subset>.txt`` list.
        sequences: names to take instead of the subset's list (each must have frames).
        resolution: ``"480p"`` (default) or ``"Full-Resolution"``.

    Raises:
        DavisError: a missing folder or list, a sequence without frames or without a first annotation.
    """

    def __init__(self, root: str | os.PathLike, subset: str = "val", sequences: Sequence[str] | None = None,
                 resolution: str = "480p") -> None:
        self.root = Path(root).expanduser()
        self.subset = subset
        self.resolution = resolution
        if not self.root.is_dir():
            raise DavisError(f"DAVIS root {str(self.root)!r} is not a folder; it should hold JPEGImages/, "
                             "Annotations/ and ImageSets/ (https://davischallenge.org/davis2017/code.html)")
        self.image_dir = self.root / "JPEGImages" / resolution
        self.annotation_dir = self.root / "Annotations" / resolution
        for d in (self.image_dir, self.annotation_dir):
            if not d.is_dir():
                raise DavisError(f"{d} is missing: is {self.root} a DAVIS folder (resolution {resolution!r})?")
        if sequences is None:
            listing = self.root / "ImageSets" / "2017" / f"{subset}.txt"
            if not listing.is_file():
                have = sorted(p.stem for p in (self.root / "ImageSets" / "2017").glob("*.txt"))
                raise DavisError(f"{listing} is missing (subsets here: {have or 'none'}); pass sequences= to "
                                 "name sequences directly")
            sequences = [s.strip() for s in listing.read_text(encoding="utf-8").splitlines() if s.strip()]
            where = str(listing)
        else:
            where = "the sequences given"
        if isinstance(sequences, str):
            sequences = [sequences]
        # Each name becomes a folder under the results folder: a name such as ../../Annotations/480p/x would write
        # over the ground truth (and then score it as a perfect result). Checked before anything is read or written.
        for name in sequences:
            try:
                check_plain_name(name, "sequence name")
            except (TypeError, ValueError) as exc:
                raise DavisError(f"{where}: {exc}; a sequence is a folder of {self.image_dir}") from None
        self.names: tuple[str, ...] = tuple(s.strip() for s in sequences)
        if not self.names:
            raise DavisError(f"no sequences selected in {self.root}")
        for name in self.names:
            if not (self.image_dir / name).is_dir():
                raise DavisError(f"sequence {name!r} has no frames in {self.image_dir}")

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self) -> Iterator[DavisSequence]:
        for name in self.names:
            yield self.sequence(name)

    def __repr__(self) -> str:
        return f"DavisDataset({str(self.root)!r}, {len(self)} sequences, {self.resolution})"

    def sequence(self, name: str) -> DavisSequence:
        """One sequence (frames listed, nothing decoded)."""
        if name not in self.names:
            raise KeyError(f"{name!r} is not a selected sequence; selected: {', '.join(self.names[:8])}"
                           + (" ..." if len(self.names) > 8 else ""))
        frames = open_video(self.image_dir / name)
        assert isinstance(frames, FrameFolder)
        ann_dir = self.annotation_dir / name
        available = {p.stem: p for p in ann_dir.glob("*.png")} if ann_dir.is_dir() else {}
        files = tuple(available.get(n) for n in frames.names)
        if files[0] is None:
            raise DavisError(f"sequence {name!r}: no annotation for its first frame {frames.names[0]!r} in {ann_dir}")
        first = read_label_png(files[0])
        first[first == VOID_LABEL] = 0
        n_objects = int(first.max())
        if n_objects == 0:
            raise DavisError(f"sequence {name!r}: its first annotation {files[0]} holds no object")
        return DavisSequence(name, frames, files, tuple(range(1, n_objects + 1)))


def open_davis(root: str | os.PathLike, subset: str = "val", sequences: Sequence[str] | None = None,
               resolution: str = "480p") -> DavisDataset:
    """:class:`DavisDataset` (see there)."""
    return DavisDataset(root, subset, sequences, resolution)
