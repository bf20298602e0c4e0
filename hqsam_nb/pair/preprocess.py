"""The one preprocessing path: image resize + normalisation and prompt transforms, exactly the official
``SamPredictor``'s (``ResizeLongestSide`` of the long side to the encoder's 1024, then ``Sam.preprocess``:
normalise and pad to 1024 x 1024). Used by the pair predictor, the architecture trace and the speed measurements,
so all three feed the model the same tensors.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from .._compat import import_official
from .prompts import PromptBatch

if TYPE_CHECKING:
    from segment_anything_hq.modeling import Sam
    from segment_anything_hq.utils.transforms import ResizeLongestSide

__all__ = ["as_mask_input", "encoder_input", "input_size", "prompt_tensors", "resize_transform", "resized_image"]


@lru_cache(maxsize=4)
def resize_transform(img_size: int = 1024) -> ResizeLongestSide:
    """The official ``ResizeLongestSide(img_size)`` (stateless; one per size), with one change: the short side
    is never rounded down to 0 pixels.

    The official ``get_preprocess_shape`` rounds ``side * img_size / long_side``; for a very elongated image
    (1 x 5000, 2 x 5000, 5000 x 1, 1 x 2049: short side below ``long_side / (2 * img_size)``) that is 0 and PIL
    fails inside ``apply_image`` ("height and width must be > 0"). Here it is clamped to 1 pixel, in the image
    resize, the prompt transforms and the mask post-processing alike (they all ask ``get_preprocess_shape``).
    Parity: wherever the official shape has both sides >= 1 (every image it can process) the shapes, and so
    the outputs, are identical; the clamped shapes are ones the official predictor cannot process at all.
    """
    official = import_official().utils.transforms.ResizeLongestSide

    class ResizeLongestSideAtLeastOne(official):  # type: ignore[misc, valid-type]
        @staticmethod
        def get_preprocess_shape(oldh: int, oldw: int, long_side_length: int) -> tuple[int, int]:
            h, w = official.get_preprocess_shape(oldh, oldw, long_side_length)
            return max(1, h), max(1, w)

    return ResizeLongestSideAtLeastOne(img_size)


def input_size(original_size: tuple[int, int], img_size: int = 1024) -> tuple[int, int]:
    """``(h, w)`` of an ``(H, W)`` image after the long side is resized to ``img_size`` (before padding)."""
    h, w = resize_transform(img_size).get_preprocess_shape(original_size[0], original_size[1], img_size)
    return int(h), int(w)


def resized_image(rgb: np.ndarray, img_size: int, device: torch.device | str) -> torch.Tensor:
    """RGB ``uint8`` ``H x W x 3`` -> ``uint8`` tensor ``3 x h x w`` on ``device``, long side ``img_size`` (PIL
    resize, as the official predictor), not yet normalised: what ``Sam.forward`` takes as ``"image"``."""
    resized = resize_transform(img_size).apply_image(rgb)
    return torch.as_tensor(resized, device=device).permute(2, 0, 1).contiguous()


def encoder_input(model: Sam, rgb: np.ndarray) -> tuple[torch.Tensor, tuple[int, int]]:
    """The image encoder's input for ``rgb``: float ``1 x 3 x S x S`` (normalised, zero-padded; S = 1024) on the
    model's device, and the ``(h, w)`` input size before padding."""
    x = resized_image(rgb, model.image_encoder.img_size, model.device)
    size = (int(x.shape[1]), int(x.shape[2]))
    return model.preprocess(x[None]), size


def prompt_tensors(prompts: PromptBatch, original_size: tuple[int, int], img_size: int,
                   device: torch.device | str) -> tuple[tuple[torch.Tensor, torch.Tensor] | None, torch.Tensor | None]:
    """K prompts in the model's input frame, as the official ``predict_torch`` takes them.

    Returns:
        ``(points, boxes)``: ``points`` is ``(coords float (K, N, 2), labels int (K, N))`` or None; ``boxes`` is
        float ``(K, 4)`` or None, both scaled from original-image pixels to the resized image.
    """
    transform = resize_transform(img_size)
    points = boxes = None
    if prompts.points is not None:
        coords = transform.apply_coords(prompts.points, original_size)
        points = (torch.as_tensor(coords, dtype=torch.float, device=device),
                  torch.as_tensor(prompts.labels, dtype=torch.int, device=device))
    if prompts.boxes is not None:
        boxes = torch.as_tensor(transform.apply_boxes(prompts.boxes, original_size), dtype=torch.float,
                                device=device)
    return points, boxes


def as_mask_input(mask_input: Any, k: int, device: torch.device | str) -> torch.Tensor | None:
    """Low-res logits to refine from (the official ``mask_input``) as float ``(K, 1, 256, 256)``.

    Accepts ``(256, 256)`` or ``(1, 256, 256)`` (one mask for every object), ``(K, 256, 256)`` or
    ``(K, 1, 256, 256)``: e.g. a previous result's ``.logits``.
    """
    if mask_input is None:
        return None
    arr = mask_input.detach().cpu().numpy() if isinstance(mask_input, torch.Tensor) else mask_input
    try:
        arr = np.asarray(arr, dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError(f"mask_input must be numeric low-res logits, got {type(mask_input).__name__}") from None
    shape = arr.shape
    if arr.ndim == 2:
        arr = arr[None, None]
    elif arr.ndim == 3:
        arr = arr[:, None] if arr.shape[0] == k or arr.shape[0] != 1 else arr[None]
    if arr.ndim != 4 or arr.shape[1:] != (1, 256, 256) or arr.shape[0] not in (1, k):
        raise ValueError(f"mask_input must be low-res logits of shape (256, 256), (1, 256, 256), ({k}, 256, 256) "
                         f"or ({k}, 1, 256, 256) (a previous result's .logits), got shape {shape}")
    if not np.isfinite(arr).all():
        raise ValueError("mask_input contains NaN or inf")
    return torch.as_tensor(np.broadcast_to(arr, (k, 1, 256, 256)).copy(), device=device)
