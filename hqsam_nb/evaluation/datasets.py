"""Image + ground-truth-mask datasets: the paper's four evaluation sets, any "images/ + masks/" folder, and
the built-in synthetic thin-structure benchmark.

HQ-SAM is evaluated on DIS5K (validation split, DIS-VD), COIFT, HRSOD and ThinObject-5K (test split). You
download them yourself (this package never does); point a loader at the folder. The official training
script expects these layouts, and each loader accepts the dataset's own folder or any parent of it:

============  ==============================================  =================================
dataset       images                                          masks
============  ==============================================  =================================
DIS5K-VD      ``DIS5K/DIS-VD/im/*.jpg``                       ``DIS5K/DIS-VD/gt/*.png``
COIFT         ``thin_object_detection/COIFT/images/*.jpg``    ``.../COIFT/masks/*.png``
HRSOD         ``thin_object_detection/HRSOD/images/*.jpg``    ``.../HRSOD/masks_max255/*.png``
ThinObject5K  ``.../ThinObject5K/images_test/*.jpg``          ``.../ThinObject5K/masks_test/*.png``
============  ==============================================  =================================

Images and masks are matched by file stem (``0001.jpg`` <-> ``0001.png``). Masks are read as the official
evaluation reads them (first channel, grey level > 128), with two safeguards: a two-level mask such as 0/1
(HRSOD's original masks) is read as "the higher level is the object", and a mask that is not essentially
binary (more than ``max_soft_fraction`` of its pixels strictly between 0 and 255, or differing colour
channels) is refused rather than silently thresholded.

Example:
    >>> data = synthetic_dataset(n=2)
    >>> len(data), data.names
    (2, ('000_wires', '001_fence'))
    >>> ex = data[1]; ex.image.shape[2], ex.mask.dtype
    (3, dtype('bool'))
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io.images import load_image
from ..io.synthetic import BENCHMARK_SIZES, benchmark_specs

logger = logging.getLogger(__name__)

__all__ = [
    "IMAGE_EXTENSIONS",
    "LAYOUTS",
    "Dataset",
    "DatasetError",
    "Example",
    "coift",
    "dis5k_vd",
    "find_paper_datasets",
    "hrsod",
    "image_mask_folder",
    "open_dataset",
    "read_mask",
    "synthetic_dataset",
    "thinobject5k_test",
]

#: File extensions read as images or masks (case-insensitive).
IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")

#: Known layouts: dataset name -> the (images, masks) folder pairs tried under the given path, in order.
LAYOUTS: dict[str, tuple[tuple[str, str], ...]] = {
    "DIS5K-VD": (("im", "gt"), ("DIS-VD/im", "DIS-VD/gt"), ("DIS5K/DIS-VD/im", "DIS5K/DIS-VD/gt")),
    "COIFT": (("images", "masks"), ("COIFT/images", "COIFT/masks"),
              ("thin_object_detection/COIFT/images", "thin_object_detection/COIFT/masks")),
    "HRSOD": (("images", "masks_max255"), ("HRSOD/images", "HRSOD/masks_max255"),
              ("thin_object_detection/HRSOD/images", "thin_object_detection/HRSOD/masks_max255"),
              ("images", "masks"), ("HRSOD/images", "HRSOD/masks")),
    "ThinObject5K-TE": (("images_test", "masks_test"),
                        ("ThinObject5K/images_test", "ThinObject5K/masks_test"),
                        ("thin_object_detection/ThinObject5K/images_test",
                         "thin_object_detection/ThinObject5K/masks_test")),
}


class DatasetError(ValueError):
    """A dataset folder or file that cannot be used as it is (the message says why and what to do)."""


@dataclass(frozen=True)
class Example:
    """One evaluation example.

    Attributes:
        name: a stable identifier (the file stem, or e.g. ``"007_frame"``), unique within its dataset.
        image: RGB ``uint8`` ``H x W x 3``.
        mask: ground truth, ``bool`` ``H x W`` (same ``H x W`` as the image).
    """

    name: str
    image: np.ndarray
    mask: np.ndarray


@dataclass(frozen=True)
class _Entry:
    name: str
    load: Callable[[], tuple[np.ndarray, np.ndarray]]


class Dataset(Sequence[Example]):
    """An ordered, lazily loaded list of :class:`Example` s: ``data[i]`` reads (or draws) example ``i``.

    Attributes:
        name: e.g. ``"COIFT"`` or ``"synthetic"``.
        source: where it came from (a folder, or the synthetic benchmark's parameters).
    """

    def __init__(self, name: str, entries: Sequence[_Entry], source: str) -> None:
        self.name = name
        self.source = source
        self._entries = tuple(entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return Dataset(self.name, self._entries[index], self.source)
        entry = self._entries[index]
        image, mask = entry.load()
        return Example(entry.name, image, mask)

    def __iter__(self) -> Iterator[Example]:
        for i in range(len(self)):
            yield self[i]

    @property
    def names(self) -> tuple[str, ...]:
        """The examples' names, in order (no file is read)."""
        return tuple(e.name for e in self._entries)

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, {len(self)} examples, source={self.source!r})"


# ----------------------------------------------------------------------------------------------------
def read_mask(path: str | os.PathLike, *, max_soft_fraction: float = 0.05) -> np.ndarray:
    """Read a ground-truth mask file as ``bool`` ``H x W``, as the official evaluation does (> 128).

    Two-level masks (0/1, 0/255, 0/v) are read as "the higher level is the object". Grey-level masks with
    anti-aliased edges are thresholded at 128, provided at most ``max_soft_fraction`` of their pixels lie
    strictly between 0 and 255. A mask stored only in the alpha channel (``RGBA`` or ``LA`` whose colour is
    one flat level while the alpha varies, as image editors export a selection) is read from the alpha.

    Raises:
        FileNotFoundError: no such file. DatasetError: unreadable, colour-coded, or not essentially binary.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"mask file {str(path)!r} does not exist")
    try:
        with Image.open(path) as img:
            arr = np.asarray(img)
    except (UnidentifiedImageError, OSError) as exc:
        raise DatasetError(f"mask {str(path)!r} is not a readable image ({exc})") from None
    if arr.ndim == 3 and arr.shape[2] in (2, 4):  # LA / RGBA: the mask may live in the alpha alone
        colour, alpha = arr[:, :, :-1], arr[:, :, -1]
        if colour.min() == colour.max() and alpha.min() != alpha.max():
            arr = alpha
    if arr.ndim == 3:
        channels = arr[:, :, :3] if arr.shape[2] >= 3 else arr[:, :, :1]
        if not (channels == channels[:, :, :1]).all():
            raise DatasetError(f"mask {str(path)!r} is a colour image whose channels differ (a colour-coded "
                               "or instance map?); a ground-truth mask must be a single-channel binary "
                               "image, object > 128 (or two levels such as 0/1)")
        arr = arr[:, :, 0]
    if arr.dtype == bool:
        return arr
    if arr.dtype != np.uint8:
        if not np.issubdtype(arr.dtype, np.integer):
            raise DatasetError(f"mask {str(path)!r} has dtype {arr.dtype}; "
                               "expected an 8-bit or 16-bit grey image")
        sixteen_bit = int(arr.max()) > 255
        arr = (arr.astype(np.uint32) * 255 // 65535).astype(np.uint8) if sixteen_bit else arr.astype(np.uint8)
    counts = np.bincount(arr.reshape(-1), minlength=256)
    levels = np.flatnonzero(counts)
    if len(levels) <= 2:
        if len(levels) == 1:
            return np.full(arr.shape, levels[0] > 128, bool)
        return arr == levels[-1]
    soft = int(counts[1:255].sum()) / arr.size
    if soft > max_soft_fraction:
        raise DatasetError(
            f"mask {str(path)!r} is not binary: {soft:.1%} of its pixels are grey levels strictly between 0 "
            f"and 255 (accepted: at most {max_soft_fraction:.0%}, e.g. anti-aliased edges). Is it a "
            "soft/saliency map or a photo? Threshold it yourself, or raise max_soft_fraction= to accept it "
            "(> 128 is used)")
    return arr > 128


def _load_pair(image_path: Path, mask_path: Path, max_soft_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    image = load_image(image_path)
    mask = read_mask(mask_path, max_soft_fraction=max_soft_fraction)
    if mask.shape != image.shape[:2]:
        raise DatasetError(
            f"mask {mask_path.name!r} is {mask.shape[1]} x {mask.shape[0]} (W x H) but its image "
            f"{image_path.name!r} is {image.shape[1]} x {image.shape[0]}; masks must have their image's size "
            f"(in {str(mask_path.parent)!r})")
    return image, mask


def _files_by_stem(folder: Path, what: str) -> dict[str, Path]:
    if not folder.is_dir():
        raise DatasetError(f"{what} folder {str(folder)!r} does not exist or is not a folder")
    found: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.name.startswith(".") or not p.is_file() or p.suffix.lower() not in IMAGE_EXTENSIONS:
            continue
        if p.stem in found:
            raise DatasetError(f"two {what} files share the stem {p.stem!r} in {str(folder)!r}: "
                               f"{found[p.stem].name!r} and {p.name!r}; keep one")
        found[p.stem] = p
    if not found:
        raise DatasetError(f"{what} folder {str(folder)!r} holds no image files "
                           f"(accepted extensions: {', '.join(IMAGE_EXTENSIONS)})")
    return found


def image_mask_folder(images: str | os.PathLike, masks: str | os.PathLike | None = None, *,
                      name: str | None = None, max_soft_fraction: float = 0.05) -> Dataset:
    """A dataset of images and masks matched by file stem.

    Args:
        images: the images folder; or, with ``masks=None``, a folder holding ``images/`` and ``masks/``.
        masks: the masks folder (``<stem>.png`` etc. for each image ``<stem>.jpg``).
        name: the dataset's name (default: the folder's name).
        max_soft_fraction: see :func:`read_mask`.

    Raises:
        DatasetError: a missing or empty folder, duplicate stems, or images without masks / masks without
            images (the message lists them). Size mismatches and non-binary masks are reported when an
            example is read (``data[i]``).
    """
    images = Path(images).expanduser()
    if masks is None:
        root = images
        images, masks = root / "images", root / "masks"
        if not images.is_dir() or not Path(masks).is_dir():
            raise DatasetError(f"{str(root)!r} has no images/ and masks/ folders; pass both folders, e.g. "
                               "image_mask_folder('data/images', 'data/masks')")
        name = name or root.name
    masks = Path(masks).expanduser()
    image_files = _files_by_stem(images, "images")
    mask_files = _files_by_stem(masks, "masks")
    no_mask = sorted(set(image_files) - set(mask_files))
    no_image = sorted(set(mask_files) - set(image_files))
    if no_mask or no_image:
        parts = []
        if no_mask:
            parts.append(f"{len(no_mask)} image(s) without a mask in {str(masks)!r}: {_few(no_mask)}")
        if no_image:
            parts.append(f"{len(no_image)} mask(s) without an image in {str(images)!r}: {_few(no_image)}")
        raise DatasetError("unmatched files (images and masks are matched by file stem): " + "; ".join(parts))
    entries = [_Entry(stem, _loader(image_files[stem], mask_files[stem], max_soft_fraction))
               for stem in sorted(image_files)]
    return Dataset(name or images.parent.name or images.name, entries, str(images.parent))


def _loader(image_path: Path, mask_path: Path, max_soft_fraction: float) -> Callable[[], tuple]:
    return lambda: _load_pair(image_path, mask_path, max_soft_fraction)


def _few(names: list[str], k: int = 5) -> str:
    return ", ".join(repr(n) for n in names[:k]) + (f" and {len(names) - k} more" if len(names) > k else "")


def _layout(name: str, root: str | os.PathLike, max_soft_fraction: float) -> Dataset:
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"{name}: {str(root)!r} does not exist or is not a folder")
    for images, masks in LAYOUTS[name]:
        if (root / images).is_dir() and (root / masks).is_dir():
            return image_mask_folder(root / images, root / masks, name=name,
                                     max_soft_fraction=max_soft_fraction)
    tried = ", ".join(f"{i}/ + {m}/" for i, m in LAYOUTS[name])
    raise DatasetError(f"{name}: no known layout under {str(root)!r} (looked for {tried}). Point at the "
                       "dataset's folder or a parent of it, or use image_mask_folder(images, masks)")


def dis5k_vd(root: str | os.PathLike, *, max_soft_fraction: float = 0.05) -> Dataset:
    """DIS5K's validation split (DIS-VD, 470 images): ``root`` is ``DIS-VD/``, ``DIS5K/`` or a parent."""
    return _layout("DIS5K-VD", root, max_soft_fraction)


def coift(root: str | os.PathLike, *, max_soft_fraction: float = 0.05) -> Dataset:
    """COIFT (280 images): ``root`` is ``COIFT/``, ``thin_object_detection/`` or a parent of it."""
    return _layout("COIFT", root, max_soft_fraction)


def hrsod(root: str | os.PathLike, *, max_soft_fraction: float = 0.05) -> Dataset:
    """HRSOD's test split (400 images; ``masks_max255/`` preferred, 0/1 ``masks/`` accepted)."""
    return _layout("HRSOD", root, max_soft_fraction)


def thinobject5k_test(root: str | os.PathLike, *, max_soft_fraction: float = 0.05) -> Dataset:
    """ThinObject-5K's test split (500 images): ``root`` is ``ThinObject5K/`` or a parent of it."""
    return _layout("ThinObject5K-TE", root, max_soft_fraction)


#: The folder name that identifies each dataset when a path points at it directly.
_FOLDER_NAMES = {"DIS-VD": "DIS5K-VD", "COIFT": "COIFT", "HRSOD": "HRSOD", "ThinObject5K": "ThinObject5K-TE"}


def _auto(root: Path, max_soft_fraction: float) -> Dataset:
    """A known dataset by its folder name or nested layout, else a generic images/ + masks/ folder."""
    if root.name in _FOLDER_NAMES:
        return _layout(_FOLDER_NAMES[root.name], root, max_soft_fraction)
    for name, layouts in LAYOUTS.items():
        for images, masks in layouts:
            if "/" in images and (root / images).is_dir() and (root / masks).is_dir():
                return _layout(name, root, max_soft_fraction)
    return image_mask_folder(root, max_soft_fraction=max_soft_fraction)


_LOADERS = {"DIS5K-VD": dis5k_vd, "COIFT": coift, "HRSOD": hrsod, "ThinObject5K-TE": thinobject5k_test}


def find_paper_datasets(root: str | os.PathLike) -> dict[str, Dataset]:
    """Every one of the paper's four evaluation sets found under ``root`` (by their official layouts)."""
    found = {}
    for name, loader in _LOADERS.items():
        try:
            found[name] = loader(root)
        except DatasetError as exc:
            logger.info("%s not found under %s: %s", name, root, exc)
    return found


def synthetic_dataset(n: int = 50, seed: int = 0,
                      sizes: tuple[tuple[int, int], ...] = BENCHMARK_SIZES) -> Dataset:
    """The built-in thin-structure benchmark (:mod:`hqsam_nb.io.synthetic`) as a :class:`Dataset`."""
    specs = benchmark_specs(n, seed, sizes)
    # The source names the benchmark, not its length: the first k scenes of any n are the same scenes, so a
    # run over n = 20 can be extended to n = 50 in the same output folder.
    source = f"synthetic(seed={seed})"
    if sizes != BENCHMARK_SIZES:
        source = f"synthetic(seed={seed}, sizes={sizes})"
    return Dataset("synthetic", [_Entry(s.name, s.draw) for s in specs], source)


def open_dataset(spec: str | os.PathLike, *, layout: str = "auto", n: int | None = None, seed: int = 0,
                 max_soft_fraction: float = 0.05) -> Dataset:
    """Open a dataset by description: ``"synthetic"`` or a path.

    Args:
        spec: ``"synthetic"`` (the built-in benchmark), or a folder.
        layout: ``"auto"`` (try the paper's layouts, then ``images/ + masks/``), one of :data:`LAYOUTS`'
            names, or ``"folder"`` (``images/ + masks/``).
        n: keep only the first ``n`` examples, ``n >= 1`` (for the synthetic benchmark: how many to draw;
            default 50).
        seed: the synthetic benchmark's seed.
    """
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(f"n={n!r} is not accepted: give a positive number of examples, or None for all")
    if str(spec) == "synthetic":
        return synthetic_dataset(n=50 if n is None else n, seed=seed)
    root = Path(spec).expanduser()
    if layout == "auto":
        data = _auto(root, max_soft_fraction)
    elif layout == "folder":
        data = image_mask_folder(root, max_soft_fraction=max_soft_fraction)
    elif layout in _LOADERS:
        data = _LOADERS[layout](root, max_soft_fraction=max_soft_fraction)
    else:
        raise ValueError(f"layout={layout!r} is not known; use 'auto', 'folder' or one of {tuple(_LOADERS)}")
    return data if n is None else data[:n]
