"""Training views of an example: random horizontal flip and large-scale jitter, in the model's input frame.

The official recipe augments every sample afresh (``RandomHFlip`` + ``LargeScaleJitter``: the image is scaled so
that its long side is ``s x 1024`` with ``s ~ U(0.1, 2.0)``, randomly cropped to at most ``1024 x 1024`` and padded
to ``1024 x 1024``). A :class:`View` is one such draw, a plain value: the feature cache keys the encoder's output
by ``(example, view)``, so an example seen again in the same view costs no encoder pass.

Input frame: the view's image is what the image encoder takes before normalisation and padding (``uint8``,
long side at most ``img_size``, anchored top-left); :meth:`Sam.preprocess` then normalises and zero-pads it, as at
inference. The official loop pads with grey 128 before normalising instead; 128 is within 13 grey levels of
SAM's pixel mean, which is what a zero pad after normalisation means. The identity view (no flip, ``scale=1``) is
exactly the official predictor's resize (``ResizeLongestSide``: torchvision's PIL resize), so validation features
equal inference features.

Ground truth in the view: resized bilinearly (soft edges in ``[0, 1]``, as the official loop's bilinear label
resize), cropped and zero-padded to ``img_size x img_size``.

Example:
    >>> rng = np.random.default_rng(0)
    >>> mask = np.zeros((256, 256), bool); mask[100:120, 40:200] = True
    >>> view = draw_view(rng, mask, hflip=True, jitter=(0.1, 2.0))
    >>> image, target = apply_view(np.zeros((256, 256, 3), np.uint8), mask, view)
    >>> image.shape[2], image.shape[0] <= 1024, target.shape
    (3, True, (1024, 1024))
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["IDENTITY", "JITTER_RANGE", "View", "apply_view", "draw_view", "view_size"]

#: The official large-scale-jitter range of the long side, as a fraction of the input size.
JITTER_RANGE = (0.1, 2.0)
#: How many times :func:`draw_view` redraws a crop that cut the object out before it falls back to no jitter.
_MAX_REDRAWS = 10


@dataclass(frozen=True)
class View:
    """One augmentation of an example.

    Attributes:
        flip: mirror left-right (before scaling).
        scale: the scaled image's long side as a fraction of ``img_size`` (1.0: the predictor's resize).
        crop: ``(y, x)`` of the ``img_size x img_size`` window's top-left corner in the scaled image (0, 0 when
            the scaled image fits).
    """

    flip: bool = False
    scale: float = 1.0
    crop: tuple[int, int] = (0, 0)

    def key(self) -> str:
        """A short stable text for logs and cache manifests."""
        return f"{'f' if self.flip else 'n'}{self.scale:.6f}@{self.crop[0]},{self.crop[1]}"


#: No augmentation: the official predictor's resize.
IDENTITY = View()


def view_size(shape: tuple[int, int], scale: float, img_size: int = 1024) -> tuple[int, int]:
    """``(h, w)`` of an ``(H, W)`` image scaled so that its long side is ``scale * img_size`` (rounded as
    ``ResizeLongestSide`` rounds, at least 1 pixel)."""
    h, w = int(shape[0]), int(shape[1])
    factor = scale * img_size / max(h, w)
    return max(1, int(h * factor + 0.5)), max(1, int(w * factor + 0.5))


def draw_view(rng: np.random.Generator, mask: np.ndarray, *, hflip: bool = True,
              jitter: tuple[float, float] | None = JITTER_RANGE, img_size: int = 1024) -> View:
    """Draw a random :class:`View` of an example whose ground truth is ``mask``.

    Args:
        rng: the source of randomness (one draw for the flip, then scale and crop).
        mask: ``bool`` ``H x W``, the object (a crop that leaves none of it is redrawn, up to 10 times, then the
            un-jittered view is used).
        hflip: flip with probability 1/2.
        jitter: ``(min, max)`` of the scale, or None for no jitter (``scale = 1``).
        img_size: the encoder's input size.
    """
    flip = bool(hflip and rng.random() < 0.5)
    if jitter is None:
        return View(flip=flip)
    lo, hi = jitter
    for _ in range(_MAX_REDRAWS):
        scale = float(rng.uniform(lo, hi))
        h, w = view_size(mask.shape, scale, img_size)
        y = int(rng.integers(0, max(h - img_size, 0) + 1))
        x = int(rng.integers(0, max(w - img_size, 0) + 1))
        view = View(flip=flip, scale=scale, crop=(y, x))
        if _target(mask, view, img_size).max() > 0.5:
            return view
    return View(flip=flip)


def _target(mask: np.ndarray, view: View, img_size: int) -> np.ndarray:
    m = mask[:, ::-1] if view.flip else mask
    h, w = view_size(m.shape, view.scale, img_size)
    soft = cv2.resize(np.ascontiguousarray(m, dtype=np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    y, x = view.crop
    soft = soft[y:y + img_size, x:x + img_size]
    out = np.zeros((img_size, img_size), np.float32)
    out[:soft.shape[0], :soft.shape[1]] = soft
    return out


def apply_view(image: np.ndarray, mask: np.ndarray, view: View,
               img_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """The encoder's input image and the ground truth of ``(image, mask)`` in ``view``.

    Args:
        image: RGB ``uint8`` ``H x W x 3``.
        mask: ``bool`` ``H x W``.

    Returns:
        ``(image, target)``: RGB ``uint8`` ``h x w x 3`` with ``h, w <= img_size`` (anchored top-left, not
        padded), and ``float32`` ``img_size x img_size`` in ``[0, 1]`` (zero outside the image).
    """
    img = image[:, ::-1] if view.flip else image
    h, w = view_size(img.shape[:2], view.scale, img_size)
    from torchvision.transforms.functional import resize, to_pil_image

    # torchvision's PIL resize, as the official ResizeLongestSide.apply_image does it
    resized = np.array(resize(to_pil_image(np.ascontiguousarray(img)), [h, w]))
    y, x = view.crop
    return np.ascontiguousarray(resized[y:y + img_size, x:x + img_size]), _target(mask, view, img_size)
