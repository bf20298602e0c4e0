"""Turning what users call "an image" into the one form the models take: RGB ``uint8`` ``H x W x 3``.

Validation happens here, once, at the public boundary; everything downstream trusts the array it gets.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Union

import numpy as np

__all__ = ["ImageLike", "as_rgb_uint8", "image_sha256", "load_image"]

ImageLike = Union[np.ndarray, "os.PathLike[str]", str, Any]  # Any: PIL.Image.Image (imported lazily)

_ACCEPTED = (
    "accepted: a numpy array H x W x 3 (RGB) or H x W x 4 (RGBA, alpha dropped) or H x W (grayscale), "
    "dtype uint8 in [0, 255] or float in [0, 1]; a PIL.Image; or a path to an image file"
)


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as RGB ``uint8`` ``H x W x 3``, applying its EXIF orientation.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not an image that Pillow can read.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"image path {str(path)!r} does not exist or is not a file")
    try:
        with Image.open(path) as img:
            return _from_pil(img)
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"{str(path)!r} is not a readable image ({exc}); {_ACCEPTED}") from None


def _from_pil(img: Any) -> np.ndarray:
    from PIL import ImageOps

    img = ImageOps.exif_transpose(img)
    return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))


def as_rgb_uint8(image: ImageLike) -> np.ndarray:
    """Convert an image to a C-contiguous RGB ``uint8`` array of shape ``H x W x 3``.

    Args:
        image: ``uint8`` ``H x W x 3`` (returned as is, without a copy when already contiguous),
            ``H x W`` or ``H x W x 1`` grayscale (replicated to 3 channels), ``H x W x 4`` RGBA (alpha dropped),
            float arrays with values in ``[0, 1]`` (scaled by 255 and rounded), a ``PIL.Image.Image``
            (EXIF orientation applied), or a path (``str`` / ``os.PathLike``) to an image file.

    Raises:
        TypeError: an unsupported type or dtype (bool, uint16, int32, ...: convert them explicitly first).
        ValueError: wrong number of dimensions or channels, an empty image, float values outside ``[0, 1]``
            or NaN/inf.

    Example:
        >>> as_rgb_uint8(np.zeros((4, 5), np.uint8)).shape
        (4, 5, 3)
    """
    if isinstance(image, (str, os.PathLike)):
        return load_image(image)
    if type(image).__module__.startswith("PIL.") and hasattr(image, "convert"):
        return _from_pil(image)
    if not isinstance(image, np.ndarray):
        hint = " (call .cpu().numpy() and put channels last)" if type(image).__module__.startswith("torch") else ""
        raise TypeError(f"image of type {type(image).__name__} is not accepted{hint}; {_ACCEPTED}")
    arr = image
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ValueError(f"image of shape {arr.shape} is not accepted; {_ACCEPTED}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"image of shape {arr.shape} is empty; {_ACCEPTED}")
    if arr.dtype == np.uint8:
        pass
    elif arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise ValueError(f"float image contains NaN or inf; {_ACCEPTED}")
        lo, hi = float(arr.min()), float(arr.max())
        if lo < 0.0 or hi > 1.0:
            raise ValueError(
                f"float image has values in [{lo:.4g}, {hi:.4g}], outside [0, 1]; {_ACCEPTED}. "
                "For 0..255 floats use image.astype(np.uint8)."
            )
        arr = np.rint(arr * 255.0).astype(np.uint8)
    else:
        raise TypeError(
            f"image dtype {arr.dtype} is not accepted; {_ACCEPTED}. Convert explicitly, e.g. "
            "(img // 257).astype(np.uint8) for uint16, or img.astype(np.uint8) * 255 for a boolean mask."
        )
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    elif arr.shape[2] == 4:
        arr = arr[:, :, :3]
    return np.ascontiguousarray(arr)


def image_sha256(image: np.ndarray) -> str:
    """SHA-256 of an image array's shape, dtype and bytes: equal digests mean identical images.

    Used as the key of the pair predictor's embedding cache and to tie a saved prompt history to its image.
    SHA-256 runs on the CPU's SHA extensions where present: a 1024 x 1024 RGB image takes about 2 ms.
    """
    a = np.ascontiguousarray(image)
    digest = hashlib.sha256(f"{a.shape}{a.dtype}".encode())
    digest.update(a.data)
    return digest.hexdigest()
