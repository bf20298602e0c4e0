"""The HQ-SAM training loss: sigmoid binary cross-entropy + dice on uncertainty-sampled points.

This is the loss of sam-hq's ``train/train.py`` (after Mask2Former / PointRend), written from its definition:

1. For each object, draw ``oversample_ratio * n_points`` points uniformly in the unit square and read the HQ
   token's low-res logits there (bilinear, ``align_corners=False``).
2. Keep the ``importance_ratio * n_points`` most *uncertain* of them (uncertainty = ``-|logit|``: logits near 0),
   and add ``n_points - kept`` fresh uniform points.
3. Read the ground truth at the same points (bilinear, so a target sampled between pixels is a fraction), and
   take per object: ``bce`` = mean over points of ``BCEWithLogits``; ``dice = 1 - (2 sum(p t) + 1) /
   (sum(p) + sum(t) + 1)`` with ``p = sigmoid(logit)``.
4. Both are averaged over the objects; the training loss is their sum.

Option (not the paper's): ``balanced=True`` weights each point's BCE so that an object's foreground points and its
background points count equally (weights ``n / (2 n_fg)`` and ``n / (2 n_bg)`` from the sampled soft labels, mean
1). See :attr:`hqsam_nb.training.recipe.Recipe.balanced_bce` for when and why.

Because the points live in normalised coordinates, the 256 x 256 logits are compared with the full-resolution
(1024 x 1024) ground truth without upsampling either.

Randomness: the official code draws every object's points from the global RNG. Here each object has its own
seed, so a sample's points do not depend on which process or batch position it lands in (that is what makes a
two-process DDP run equal a one-process run, and a resumed run equal an uninterrupted one). For one object the
draws are, in order: ``torch.rand(oversampled, 2)``, then ``torch.rand(n_points - kept, 2)`` from a
``torch.Generator`` seeded with its seed; coordinates are ``(x, y)`` in ``[0, 1]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = ["LOSS_POINTS", "LossParts", "hq_loss", "point_sample", "uncertain_points"]

#: The official number of points per object: 112 x 112.
LOSS_POINTS = 112 * 112


@dataclass(frozen=True)
class LossParts:
    """The two terms of the loss (scalar tensors, averaged over objects) and their sum ``total``."""

    bce: torch.Tensor
    dice: torch.Tensor

    @property
    def total(self) -> torch.Tensor:
        return self.bce + self.dice


def point_sample(maps: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """Bilinear values of ``maps`` at normalised points.

    Args:
        maps: float ``(N, C, H, W)``.
        coords: float ``(N, P, 2)``, ``(x, y)`` in ``[0, 1]`` (0 = the left/top edge of the first pixel, 1 = the
            right/bottom edge of the last: ``align_corners=False``; outside the map reads as 0).

    Returns:
        float ``(N, C, P)``.
    """
    return F.grid_sample(maps, 2.0 * coords[:, :, None, :] - 1.0, mode="bilinear", align_corners=False)[..., 0]


def uncertain_points(logits: torch.Tensor, seeds: Sequence[int], *, n_points: int = LOSS_POINTS,
                     oversample_ratio: float = 3.0, importance_ratio: float = 0.75) -> torch.Tensor:
    """Points where the logits are least certain, plus random ones (PointRend's training-time sampling).

    Args:
        logits: float ``(N, 1, H, W)``; only read (no gradient flows through the choice of points).
        seeds: one int per object (see the module docstring for the draws).
        n_points: points per object.
        oversample_ratio: candidates drawn per kept point (>= 1).
        importance_ratio: fraction of ``n_points`` chosen by uncertainty, in ``[0, 1]``.

    Returns:
        float ``(N, n_points, 2)`` ``(x, y)`` in ``[0, 1]``: the uncertain points first, then the random ones.
    """
    if len(seeds) != logits.shape[0]:
        raise ValueError(f"one seed per object: {len(seeds)} seeds for {logits.shape[0]} objects")
    if oversample_ratio < 1 or not 0 <= importance_ratio <= 1:
        raise ValueError(f"oversample_ratio must be >= 1 and importance_ratio in [0, 1], got "
                         f"{oversample_ratio} and {importance_ratio}")
    n_candidates = int(n_points * oversample_ratio)
    n_uncertain = int(importance_ratio * n_points)
    candidates, extra = [], []
    for seed in seeds:
        gen = torch.Generator().manual_seed(int(seed))
        candidates.append(torch.rand(n_candidates, 2, generator=gen))
        extra.append(torch.rand(n_points - n_uncertain, 2, generator=gen))
    cand = torch.stack(candidates).to(logits.device)
    with torch.no_grad():
        uncertainty = -point_sample(logits.detach().float(), cand)[:, 0].abs()
        top = torch.topk(uncertainty, k=n_uncertain, dim=1).indices
    chosen = torch.gather(cand, 1, top[:, :, None].expand(-1, -1, 2))
    return torch.cat([chosen, torch.stack(extra).to(logits.device)], dim=1)


def hq_loss(logits: torch.Tensor, target: torch.Tensor, seeds: Sequence[int], *, n_points: int = LOSS_POINTS,
            oversample_ratio: float = 3.0, importance_ratio: float = 0.75, balanced: bool = False) -> LossParts:
    """The official HQ-SAM loss of a batch of objects.

    Args:
        logits: the HQ token's low-res logits, float ``(N, 1, 256, 256)`` (the model's input frame).
        target: the ground truth in the same frame at any resolution, float ``(N, 1, H, W)`` in ``[0, 1]``
            (typically ``1024 x 1024``).
        seeds: one int per object: its point sampling (:func:`uncertain_points`).
        n_points, oversample_ratio, importance_ratio: the point sampling; the defaults are the official ones
            (112 x 112 points, 3x oversampling, 75 % chosen by uncertainty).
        balanced: weight the BCE of foreground and background points equally per object (module docstring).

    Returns:
        :class:`LossParts` with ``bce`` and ``dice``, each averaged over the ``N`` objects.
    """
    if logits.ndim != 4 or logits.shape[1] != 1 or target.ndim != 4 or target.shape[:2] != logits.shape[:2]:
        raise ValueError(f"logits (N, 1, h, w) and target (N, 1, H, W) expected, got {tuple(logits.shape)} and "
                         f"{tuple(target.shape)}")
    coords = uncertain_points(logits, seeds, n_points=n_points, oversample_ratio=oversample_ratio,
                              importance_ratio=importance_ratio)
    with torch.no_grad():
        labels = point_sample(target.float(), coords)[:, 0]
    point_logits = point_sample(logits, coords)[:, 0]
    weight = None
    if balanced:
        n = labels.shape[1]
        fg = labels.sum(1, keepdim=True).clamp(min=1.0)
        bg = (1 - labels).sum(1, keepdim=True).clamp(min=1.0)
        weight = labels * (n / (2 * fg)) + (1 - labels) * (n / (2 * bg))
    bce = F.binary_cross_entropy_with_logits(point_logits, labels, weight=weight, reduction="none").mean(1)
    p = point_logits.sigmoid()
    dice = 1 - (2 * (p * labels).sum(1) + 1) / (p.sum(1) + labels.sum(1) + 1)
    return LossParts(bce=bce.mean(), dice=dice.mean())
