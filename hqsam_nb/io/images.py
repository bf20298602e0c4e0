"""Turning what users call "an image" into the one form the models take: RGB ``uint8`` ``H x W x 3``.

Validation happens here, once, at the public boundary; everything downstream trusts the array it gets.

16-bit images (``uint16`` arrays, PIL modes ``I;16*`` and ``I``, 16-bit PNG/TIFF files) are reduced to 8 bits by
keeping the high byte (``v >> 8``: 0..65535 -> 0..255), which is what Pillow itself does when it reads a 16-bit
RGB PNG, so a 16-bit file, the PIL image opened from it and its array give the same pixels. PIL mode ``F``
(32-bit float) follows the float-array rule: values in ``[0, 1]``, scaled by 255.

Limits: an image *file* of more than ``2 * PIL.Image.MAX_IMAGE_PIXELS`` pixels (178,956,970 by default, e.g.
13,377 x 13,377) is refused with a ``ValueError`` before it is decoded (Pillow's decompression-bomb guard); above
half of that Pillow warns (``DecompressionBombWarning``). Arrays and PIL images already in memory are not limited.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any, Union

import numpy as np

from ..validation import check_image

__all__ = ["ImageLike", "as_rgb_uint8", "encode_png", "image_sha256", "load_image"]

ImageLike = Union[np.ndarray, "os.PathLike[str]", str, Any]  # Any: PIL.Image.Image (imported lazily)

_ACCEPTED = (
    "accepted: a numpy array H x W x 3 (RGB) or H x W x 4 (RGBA, alpha dropped) or H x W (grayscale), "
    "dtype uint8 in [0, 255], uint16 in [0, 65535] (reduced to 8 bits) or float in [0, 1]; a PIL.Image; or a "
    "path to an image file"
)
#: PIL modes holding 16-bit samples: read as arrays and reduced like ``uint16`` arrays (``convert("RGB")``
#: would clip them to white). Mode ``I`` (32-bit int) is how Pillow may open 16-bit greyscale files.
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as RGB ``uint8`` ``H x W x 3``, applying its EXIF orientation.

    16-bit files are reduced to 8 bits as the module docstring says (the high byte).

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not an image that Pillow can read, or it has more pixels than Pillow's
            decompression-bomb limit (``2 * PIL.Image.MAX_IMAGE_PIXELS``, 178,956,970 by default).
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"image path {str(path)!r} does not exist or is not a file")
    try:
        with Image.open(path) as img:
            return _from_pil(img)
    except Image.DecompressionBombError as exc:
        raise ValueError(_bomb_message(path, exc)) from None
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"{str(path)!r} is not a readable image ({exc}); {_ACCEPTED}") from None


def _bomb_message(path: Path, exc: Exception) -> str:
    from PIL import Image

    limit = 2 * (Image.MAX_IMAGE_PIXELS or 0)
    found = re.search(r"\((\d+) pixels\)", str(exc))  # Pillow: "Image size (200000000 pixels) exceeds limit ..."
    size = f" has {int(found.group(1)):,} pixels," if found else " is"
    return (f"image file {str(path)!r}{size} more than the {limit:,} pixels accepted (Pillow's decompression-bomb "
            "guard: a small file that would decode to gigabytes). If you trust the file, raise "
            "PIL.Image.MAX_IMAGE_PIXELS, or downscale it first.")


def _from_pil(img: Any) -> np.ndarray:
    from PIL import ImageOps

    img = ImageOps.exif_transpose(img)
    if img.mode in _SIXTEEN_BIT_MODES:
        arr = np.asarray(img)
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi > 65535:
            raise ValueError(f"PIL image of mode {img.mode!r} has values in [{lo}, {hi}]; it is read as 16-bit "
                             f"data (0..65535); {_ACCEPTED}. Scale it to 0..65535 or to uint8 first.")
        return as_rgb_uint8(arr.astype(np.uint16))
    if img.mode == "F":
        return as_rgb_uint8(_to_uint8(np.asarray(img), f"PIL image of mode {img.mode!r}"))
    return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))


def as_rgb_uint8(image: ImageLike) -> np.ndarray:
    """Convert an image to a C-contiguous RGB ``uint8`` array of shape ``H x W x 3``.

    Args:
        image: ``uint8`` ``H x W x 3`` (returned as is, without a copy when already contiguous),
            ``H x W`` or ``H x W x 1`` grayscale (replicated to 3 channels), ``H x W x 4`` RGBA (alpha dropped),
            ``uint16`` arrays (16-bit, reduced to 8 bits by keeping the high byte, ``v >> 8``), float arrays
            with values in ``[0, 1]`` (scaled by 255 and rounded), a ``PIL.Image.Image`` (EXIF orientation
            applied; 16-bit modes and mode ``F`` follow the same array rules), or a path (``str`` /
            ``os.PathLike``) to an image file (see :func:`load_image` for its size limit).

    Raises:
        TypeError: an unsupported type or dtype (bool, int32, int64, ...: convert them explicitly first).
        ValueError: wrong number of dimensions or channels, an empty image, float values outside ``[0, 1]``
            or NaN/inf, a file over the decompression-bomb limit.

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
    arr = _to_uint8(arr, "image")
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    elif arr.shape[2] == 4:
        arr = arr[:, :, :3]
    return np.ascontiguousarray(arr)


def _to_uint8(arr: np.ndarray, what: str) -> np.ndarray:
    """``uint8`` as is, ``uint16`` (any byte order) by its high byte, float ``[0, 1]`` times 255; else raise."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype.kind == "u" and arr.dtype.itemsize == 2:
        return (arr.astype(np.uint16) >> 8).astype(np.uint8)
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise ValueError(f"{what} contains NaN or inf; {_ACCEPTED}")
        lo, hi = float(arr.min()), float(arr.max())
        if lo < 0.0 or hi > 1.0:
            raise ValueError(
                f"{what} has values in [{lo:.4g}, {hi:.4g}], outside [0, 1] (float images are read as 0..1); "
                f"{_ACCEPTED}. For 0..255 floats use image.astype(np.uint8)."
            )
        return np.rint(arr * 255.0).astype(np.uint8)
    raise TypeError(
        f"image dtype {arr.dtype} is not accepted; {_ACCEPTED}. Convert explicitly, e.g. "
        "img.astype(np.uint16) for 16-bit data in a wider int, or img.astype(np.uint8) * 255 for a boolean mask."
    )


def image_sha256(image: np.ndarray) -> str:
    """SHA-256 of an image array's shape, dtype and bytes: equal digests mean identical images.

    Used as the key of the pair predictor's embedding cache and to tie a saved prompt history to its image.
    SHA-256 runs on the CPU's SHA extensions where present: a 1024 x 1024 RGB image takes about 2 ms.
    """
    a = np.ascontiguousarray(image)
    digest = hashlib.sha256(f"{a.shape}{a.dtype}".encode())
    digest.update(a.data)
    return digest.hexdigest()


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of an RGB ``uint8`` ``H x W x 3`` image (OpenCV's encoder, fast compression level)."""
    import cv2

    image = check_image(image)
    ok, buf = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:  # pragma: no cover - OpenCV fails only on invalid input, which check_image rejects
        raise RuntimeError("OpenCV could not encode the image as PNG")
    return buf.tobytes()
