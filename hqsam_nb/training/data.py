"""Training data: any ``images/ + masks/`` folder, the HQSeg-44K collection the paper trained on, or the synthetic
thin-structure generator; and the check that refuses bad data before a run starts.

* :func:`open_training_data` - ``"synthetic"``, a folder with ``images/`` and ``masks/`` (or any layout
  :func:`hqsam_nb.evaluation.datasets.open_dataset` knows), or an HQSeg-44K root (:func:`hqseg44k`).
* :func:`hqseg44k` - the seven training sets of ``train/train.py`` under one root, in their official layout
  (:data:`HQSEG44K_LAYOUT`); :func:`download_hqseg44k` fetches them from the Hugging Face Hub (needs network;
  never called by the tests).
* :func:`check_training_data` - reads every example once and raises :class:`TrainingDataError` naming each
  unusable one (unreadable image or mask, a mask of another size than its image, an empty mask, a mask that is
  not binary). Folders without masks and images whose stems have no mask are refused when the folder is opened
  (:class:`~hqsam_nb.evaluation.datasets.DatasetError`). Either way nothing has been trained yet.

All return a :class:`~hqsam_nb.evaluation.datasets.Dataset`-like sequence of
:class:`~hqsam_nb.evaluation.datasets.Example` (``name``, RGB ``uint8`` image, ``bool`` mask).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..evaluation.datasets import DatasetError, Example, open_dataset, read_mask, synthetic_dataset
from ..io.images import load_image

logger = logging.getLogger(__name__)

__all__ = [
    "HQSEG44K_LAYOUT",
    "HQSEG44K_REPO",
    "DataSummary",
    "TrainingData",
    "TrainingDataError",
    "check_training_data",
    "download_hqseg44k",
    "hqseg44k",
    "open_training_data",
    "synthetic_training_data",
]

#: The Hugging Face dataset repository holding HQSeg-44K (as the sam-hq README links it).
HQSEG44K_REPO = "sam-hq-team/sam-hq-training"

#: HQSeg-44K: name -> (image folder, mask folder, image extension, mask extension) under the data root, as
#: ``train/train.py`` lists them. The cascade_psp sets keep images and masks in one folder.
HQSEG44K_LAYOUT: dict[str, tuple[str, str, str, str]] = {
    "DIS5K-TR": ("DIS5K/DIS-TR/im", "DIS5K/DIS-TR/gt", ".jpg", ".png"),
    "ThinObject5K-TR": ("thin_object_detection/ThinObject5K/images_train",
                        "thin_object_detection/ThinObject5K/masks_train", ".jpg", ".png"),
    "FSS": ("cascade_psp/fss_all", "cascade_psp/fss_all", ".jpg", ".png"),
    "DUTS-TR": ("cascade_psp/DUTS-TR", "cascade_psp/DUTS-TR", ".jpg", ".png"),
    "DUTS-TE": ("cascade_psp/DUTS-TE", "cascade_psp/DUTS-TE", ".jpg", ".png"),
    "ECSSD": ("cascade_psp/ecssd", "cascade_psp/ecssd", ".jpg", ".png"),
    "MSRA10K": ("cascade_psp/MSRA_10K", "cascade_psp/MSRA_10K", ".jpg", ".png"),
}


class TrainingDataError(DatasetError):
    """Training data that cannot be used as it is; the message names each bad example and why."""


@dataclass(frozen=True)
class _File:
    name: str
    image: Path
    mask: Path


class TrainingData(Sequence[Example]):
    """Examples read from image/mask file pairs (``data[i]`` reads pair ``i``).

    Attributes:
        name: e.g. ``"HQSeg-44K"``.
        source: where it came from.
    """

    def __init__(self, name: str, files: Sequence[_File], source: str) -> None:
        self.name = name
        self.source = source
        self._files = tuple(files)

    def __len__(self) -> int:
        return len(self._files)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return TrainingData(self.name, self._files[index], self.source)
        f = self._files[index]
        return Example(f.name, load_image(f.image), read_mask(f.mask))

    def __iter__(self) -> Iterator[Example]:
        for i in range(len(self)):
            yield self[i]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self._files)

    def __repr__(self) -> str:
        return f"TrainingData({self.name!r}, {len(self)} examples, source={self.source!r})"


def hqseg44k(root: str | os.PathLike, *, parts: Sequence[str] | None = None) -> TrainingData:
    """HQSeg-44K under ``root`` (the ``data/`` folder of sam-hq's ``train/``): DIS5K-TR, ThinObject5K-TR, FSS,
    DUTS-TR, DUTS-TE, ECSSD, MSRA10K (:data:`HQSEG44K_LAYOUT`).

    Args:
        root: the folder holding ``DIS5K/``, ``thin_object_detection/`` and ``cascade_psp/``.
        parts: a subset of the seven names (default all).

    Raises:
        TrainingDataError: a part's folder is missing (named, with the path looked for), or an image has no mask.
    """
    root = Path(root).expanduser()
    parts = tuple(HQSEG44K_LAYOUT) if parts is None else tuple(parts)
    unknown = [p for p in parts if p not in HQSEG44K_LAYOUT]
    if unknown:
        raise ValueError(f"unknown HQSeg-44K parts {unknown}; known: {list(HQSEG44K_LAYOUT)}")
    files: list[_File] = []
    for part in parts:
        im_dir, gt_dir, im_ext, gt_ext = HQSEG44K_LAYOUT[part]
        images, masks = root / im_dir, root / gt_dir
        if not images.is_dir() or not masks.is_dir():
            raise TrainingDataError(f"HQSeg-44K part {part}: {str(images)!r} or {str(masks)!r} is missing; "
                                    f"download it (download_hqseg44k) or pass parts= without {part}")
        image_files = sorted(p for p in images.iterdir() if p.suffix.lower() == im_ext)
        if not image_files:
            raise TrainingDataError(f"HQSeg-44K part {part}: no {im_ext} images in {str(images)!r}")
        missing = [p.stem for p in image_files if not (masks / (p.stem + gt_ext)).is_file()]
        if missing:
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise TrainingDataError(f"HQSeg-44K part {part}: {len(missing)} image(s) without a {gt_ext} mask in "
                                    f"{str(masks)!r}: {', '.join(map(repr, missing[:5]))}{more}")
        files += [_File(f"{part}/{p.stem}", p, masks / (p.stem + gt_ext)) for p in image_files]
    return TrainingData("HQSeg-44K", files, str(root))


def download_hqseg44k(dest: str | os.PathLike) -> Path:
    """Download HQSeg-44K from the Hugging Face Hub (:data:`HQSEG44K_REPO`, about 8 GB) into ``dest``.

    Needs network access and ``huggingface_hub``; unpack its archives so that ``dest`` matches
    :data:`HQSEG44K_LAYOUT`, then ``hqseg44k(dest)``. Command line: ``hqsam-nb train --download-hqseg44k DEST``.
    """
    from huggingface_hub import snapshot_download

    path = snapshot_download(repo_id=HQSEG44K_REPO, repo_type="dataset", local_dir=str(dest))
    logger.info("HQSeg-44K downloaded to %s; unpack its archives there", path)
    return Path(path)


def synthetic_training_data(n: int = 60, *, seed: int = 0, size: tuple[int, int] = (256, 256)):
    """``n`` synthetic thin-structure scenes (:func:`hqsam_nb.io.synthetic.thin_structure_scene`) of one size.

    Any ``n`` is drawn offline in milliseconds; different ``seed`` s give disjoint scenes (use one seed to train
    and another to hold out).
    """
    return synthetic_dataset(n=n, seed=seed, sizes=(tuple(int(s) for s in size),))


def open_training_data(spec: str | os.PathLike, *, n: int | None = None, seed: int = 0,
                       size: tuple[int, int] = (256, 256)):
    """Training data by description.

    Args:
        spec: ``"synthetic"`` (``n`` scenes, default 60, of ``size``, seeded by ``seed``); an HQSeg-44K root
            (it holds ``cascade_psp/`` or ``DIS5K/DIS-TR``); or a folder with ``images/ + masks/`` or any layout
            :func:`~hqsam_nb.evaluation.datasets.open_dataset` knows.
        n: keep the first ``n`` examples.
    """
    if str(spec) == "synthetic":
        return synthetic_training_data(60 if n is None else n, seed=seed, size=size)
    root = Path(spec).expanduser()
    if (root / "cascade_psp").is_dir() or (root / "DIS5K" / "DIS-TR").is_dir():
        data = hqseg44k(root, parts=[p for p, (im, *_rest) in HQSEG44K_LAYOUT.items() if (root / im).is_dir()])
        return data if n is None else data[:n]
    return open_dataset(root, n=n)


@dataclass(frozen=True)
class DataSummary:
    """What :func:`check_training_data` found.

    Attributes:
        count: examples.
        sizes: ``(H, W)`` per example.
        fg_fraction: the object's share of each image's pixels.
        sha256: a content fingerprint of the whole sequence, in order: per example its name, size, every mask
            pixel and every 8th image pixel in each direction (a resumed run must see the same data; hashing
            the decoded pixels makes it independent of paths and file formats).
    """

    count: int
    sizes: tuple[tuple[int, int], ...]
    fg_fraction: tuple[float, ...]
    sha256: str


def _check_one(data: Sequence[Example], index: int) -> tuple[str | None, tuple[int, int], float, bytes]:
    try:
        ex = data[index]
    except (DatasetError, OSError, ValueError) as exc:
        return f"{exc}".splitlines()[0], (0, 0), 0.0, b""
    digest = hashlib.sha256(f"{ex.name}\0{ex.image.shape}".encode())
    digest.update(np.packbits(ex.mask).tobytes())
    digest.update(np.ascontiguousarray(ex.image[::8, ::8]).tobytes())
    if not ex.mask.any():
        return "empty mask (no object pixel)", ex.image.shape[:2], 0.0, b""
    return None, ex.image.shape[:2], float(ex.mask.mean()), digest.digest()


def _name_of(data: Sequence[Example], index: int) -> str:
    names = getattr(data, "names", None)
    return names[index] if names is not None else f"example {index}"


def check_training_data(data: Sequence[Example], *, workers: int = 4,
                        progress: Callable[[int], None] | None = None) -> DataSummary:
    """Read every example once; refuse the data, before training starts, if any is unusable.

    Args:
        data: the examples.
        workers: reader threads (image decoding releases the GIL).
        progress: called with 1 after each example (a progress bar's ``update``).

    Raises:
        TrainingDataError: one line naming every bad example (the first 5, then a count) and why: unreadable
            image or mask, sizes that differ, an empty mask, a mask that is not binary.
    """
    if len(data) == 0:
        raise TrainingDataError("the training data holds no examples")
    results: list[tuple[str | None, tuple[int, int], float, bytes]] = [(None, (0, 0), 0.0, b"")] * len(data)

    def run(i: int) -> None:
        results[i] = _check_one(data, i)
        if progress is not None:
            progress(1)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        list(pool.map(run, range(len(data))))
    problems = [(i, r[0]) for i, r in enumerate(results) if r[0] is not None]
    if problems:
        shown = "; ".join(f"[{_name_of(data, i)}] {why}" for i, why in problems[:5])
        more = f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        raise TrainingDataError(f"{len(problems)} of {len(data)} training examples are unusable, nothing was "
                                f"trained: {shown}{more}. Fix or remove them and start again.")
    whole = hashlib.sha256()
    for r in results:
        whole.update(r[3])
    return DataSummary(len(data), tuple(r[1] for r in results), tuple(r[2] for r in results), whole.hexdigest())

