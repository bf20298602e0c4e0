"""What a mask is and what a box is, checked in one place for the whole package.

* :func:`check_image` - an image handed to drawing code is RGB ``uint8`` ``H x W x 3`` (convert anything else with
  :func:`hqsam_nb.as_rgb_uint8`);
* :func:`check_mask` - a mask is a numpy ``bool`` array ``H x W`` (``(1, H, W)`` as predictors return it, and 0/1
  numbers, are accepted and converted);
* :func:`ordered_boxes` - a box is ``(x0, y0, x1, y1)`` pixels (XYXY), finite. **Swapped corners are put in order**
  (``[150, 90, 20, 10]`` is the box ``[20, 10, 150, 90]``: the same rectangle, as a drag from the bottom-right
  corner draws it); a box with zero width or height is refused. Whether a box lies inside an image is the
  caller's rule (:func:`hqsam_nb.pair.prompts.check_inside`).

Ground floor: plain numpy, no model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["check_image", "check_mask", "ordered_boxes"]


def check_image(image: Any, name: str = "image") -> np.ndarray:
    """``image`` itself when it is an RGB ``uint8`` ``H x W x 3`` numpy array, else an error saying how to
    convert it."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name} must be a numpy array uint8 H x W x 3, got {type(image).__name__} "
                        "(convert with hqsam_nb.as_rgb_uint8)")
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{name} must be uint8 H x W x 3 (RGB), got {image.dtype} of shape {image.shape} "
                         "(convert with hqsam_nb.as_rgb_uint8)")
    return image


def check_mask(mask: Any, shape: tuple[int, int] | None = None, name: str = "mask") -> np.ndarray:
    """``mask`` as ``bool`` ``H x W``, or a ``TypeError`` / ``ValueError`` naming ``name`` and what was given.

    Args:
        mask: ``bool`` ``H x W``; ``(1, H, W)`` is squeezed; numbers must be 0 or 1 (threshold logits first).
        shape: the ``(H, W)`` it must have (an image's), or None.
        name: how messages call it.
    """
    if not isinstance(mask, np.ndarray):
        raise TypeError(f"{name} must be a numpy bool array H x W, got {type(mask).__name__}")
    if mask.ndim == 3 and mask.shape[0] == 1:  # (1, H, W) as predictors return it
        mask = mask[0]
    if mask.ndim != 2:
        raise ValueError(f"{name} must be 2-D H x W, got shape {mask.shape}")
    if mask.dtype != np.bool_:
        if mask.dtype.kind not in "uif":
            raise TypeError(f"{name} must be bool (or 0/1 numbers), got dtype {mask.dtype}")
        if not np.isin(mask, (0, 1)).all():
            raise ValueError(f"{name} of dtype {mask.dtype} must hold only 0 and 1 (threshold logits first: "
                             "mask = logits > 0)")
        mask = mask.astype(bool)
    if shape is not None and mask.shape != tuple(shape):
        raise ValueError(f"{name} has shape {mask.shape}, expected {tuple(shape)} to match the image")
    return mask


def ordered_boxes(boxes: Any, name: str = "box") -> np.ndarray:
    """``(..., 4)`` XYXY boxes as ``float64``, swapped corners put in order (see the module docstring).

    Raises:
        ValueError: not numeric, not ``(..., 4)``, NaN or inf, or zero width or height (the box is named, with its
            index when there are several).
    """
    try:
        b = np.asarray(boxes, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numbers [x0, y0, x1, y1], got {type(boxes).__name__}: "
                         f"{boxes!r:.80}") from None
    if b.ndim == 0 or b.shape[-1] != 4:
        raise ValueError(f"{name} must be [x0, y0, x1, y1] (4 numbers per box), got shape {b.shape}")
    if not np.isfinite(b).all():
        raise ValueError(f"{name} contains NaN or inf: {b.tolist()!r:.120}")
    x0, x1 = np.minimum(b[..., 0], b[..., 2]), np.maximum(b[..., 0], b[..., 2])
    y0, y1 = np.minimum(b[..., 1], b[..., 3]), np.maximum(b[..., 1], b[..., 3])
    out = np.stack([x0, y0, x1, y1], axis=-1)
    flat = out.reshape(-1, 4)
    empty = (flat[:, 2] - flat[:, 0] <= 0) | (flat[:, 3] - flat[:, 1] <= 0)
    if empty.any():
        i = int(np.argmax(empty))
        where = f" (object {i})" if b.ndim == 2 else ""
        raise ValueError(f"{name} {flat[i].tolist()}{where} has zero width or height")
    return out
