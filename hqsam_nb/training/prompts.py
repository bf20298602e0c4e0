"""Training prompts: per object, one of a box, ten positive points or a noisy low-res mask, drawn at random.

As in sam-hq's ``train/train.py``, all in the model's input frame (``img_size x img_size`` pixels):

* ``"box"`` - the tight box of the ground truth (``x0, y0, x1, y1``: first and last object pixel columns/rows);
* ``"points"`` - ``n_points`` (10) distinct object pixels ``(x, y)``, all positive. An object with fewer pixels
  than that gets another kind (the official loop switches the *whole batch* to box / noisy mask then; here only
  that object changes);
* ``"noisy_mask"`` - the ground truth resized bilinearly to ``256 x 256``, with Gaussian noise (sigma 1) added
  where it differs from its own ``32 x 32`` blur (its detailed parts), thresholded at 0.5 and given as
  ``mask_input`` with the official values 0 / 255 (sam-hq passes ``0/255`` masks, not logits).

Each draw comes from the ``numpy.random.Generator`` it is given (see :mod:`hqsam_nb.training.loop` for how
generators are seeded per sample, so a sample's prompt is the same in every process and after a resume).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["NOISY_MASK_VALUE", "PROMPT_KINDS", "TrainPrompt", "check_kinds", "draw_prompt", "noisy_mask",
           "prompt_tensors"]

#: The prompt kinds of the official recipe.
PROMPT_KINDS: tuple[str, ...] = ("box", "points", "noisy_mask")
#: The value a noisy mask's object pixels get as ``mask_input`` (sam-hq's 0/255 masks).
NOISY_MASK_VALUE = 255.0


@dataclass(frozen=True)
class TrainPrompt:
    """One object's prompt in the input frame.

    Attributes:
        kind: one of :data:`PROMPT_KINDS`.
        box: ``float32 (4,)`` ``x0, y0, x1, y1`` pixels, for ``"box"``.
        points: ``float32 (n, 2)`` ``(x, y)`` pixels, all positive, for ``"points"``.
        mask_input: ``float32 (256, 256)`` of 0 / :data:`NOISY_MASK_VALUE`, for ``"noisy_mask"``.
    """

    kind: str
    box: np.ndarray | None = None
    points: np.ndarray | None = None
    mask_input: np.ndarray | None = None


def check_kinds(kinds: Sequence[str]) -> tuple[str, ...]:
    """``kinds`` as a tuple, or a ValueError naming the accepted kinds."""
    kinds = tuple(kinds)
    if not kinds or any(k not in PROMPT_KINDS for k in kinds) or len(set(kinds)) != len(kinds):
        raise ValueError(f"prompt kinds {kinds!r} are not accepted: give one or more distinct kinds of "
                         f"{PROMPT_KINDS}")
    return kinds


def noisy_mask(target: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The official noisy mask of a ground truth (see the module docstring).

    Args:
        target: ``float32`` ``S x S`` in ``[0, 1]``, the object in the input frame.

    Returns:
        ``float32`` ``256 x 256`` of 0 / :data:`NOISY_MASK_VALUE`.
    """
    t = torch.from_numpy(np.ascontiguousarray(target, dtype=np.float32))[None, None]
    low = F.interpolate(t, size=(256, 256), mode="bilinear", align_corners=False)
    blur = F.interpolate(F.interpolate(low, size=(32, 32), mode="bilinear", align_corners=False),
                         size=(256, 256), mode="bilinear", align_corners=False)
    detailed = ((low - blur).abs() >= 0.01)[0, 0].numpy()
    noise = rng.standard_normal((256, 256)).astype(np.float32)
    noisy = low[0, 0].numpy() + noise * detailed
    return np.where(noisy > 0.5, NOISY_MASK_VALUE, 0.0).astype(np.float32)


def draw_prompt(target: np.ndarray, kinds: Sequence[str], rng: np.random.Generator, *,
                n_points: int = 10) -> TrainPrompt:
    """Draw one prompt for the object ``target > 0.5``.

    Args:
        target: ``float32`` ``S x S`` in ``[0, 1]`` (the view's ground truth); must contain the object.
        kinds: the kinds to choose from, uniformly (:data:`PROMPT_KINDS` for the official recipe).
        rng: the generator; draws, in order: the kind, then the kind's own randomness.
        n_points: points of a ``"points"`` prompt.
    """
    fg = target > 0.5
    ys, xs = np.nonzero(fg)
    if len(xs) == 0:
        raise ValueError("draw_prompt: the target holds no object pixel (> 0.5)")
    usable = [k for k in kinds if k != "points" or len(xs) >= n_points] or ["box"]
    kind = usable[int(rng.integers(len(usable)))]
    if kind == "box":
        box = np.array([xs.min(), ys.min(), xs.max(), ys.max()], np.float32)
        return TrainPrompt("box", box=box)
    if kind == "points":
        pick = rng.choice(len(xs), size=n_points, replace=False)
        return TrainPrompt("points", points=np.stack([xs[pick], ys[pick]], 1).astype(np.float32))
    return TrainPrompt("noisy_mask", mask_input=noisy_mask(target, rng))


def prompt_tensors(prompt: TrainPrompt, device: torch.device | str = "cpu") -> dict[str, object]:
    """The official ``PromptEncoder`` arguments for one object: ``points=(coords (1, n, 2), labels (1, n))``,
    ``boxes=(1, 4)``, ``masks=(1, 1, 256, 256)``; None where the prompt has none."""
    points = boxes = masks = None
    if prompt.points is not None:
        coords = torch.as_tensor(prompt.points, device=device)[None]
        points = (coords, torch.ones(coords.shape[:2], dtype=torch.int, device=device))
    if prompt.box is not None:
        boxes = torch.as_tensor(prompt.box, device=device)[None]
    if prompt.mask_input is not None:
        masks = torch.as_tensor(prompt.mask_input, device=device)[None, None]
    return {"points": points, "boxes": boxes, "masks": masks}
