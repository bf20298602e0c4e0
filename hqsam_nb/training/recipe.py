"""The training recipe: every setting of a run that changes what it learns, with the paper's values by default.

:class:`Recipe` defaults are sam-hq's ``train/train.py`` (read there, written here from the paper's description):
Adam (lr 1e-3, betas 0.9 / 0.999, no weight decay), the learning rate divided by 10 at epoch 10, 12 epochs, 4
images per process per step, per object one prompt drawn uniformly from box / 10 points / noisy mask, the loss of
:mod:`hqsam_nb.training.loss` on 112 x 112 uncertainty-sampled points, random horizontal flip + large-scale
jitter (0.1 to 2.0), a fresh augmentation for every sample (no feature cache), seed 42.

Options that deviate from it, each off by default and documented where it is defined:

* ``cache_views`` - a fixed number of augmentation views per example, so that the frozen encoder's outputs can
  be cached (:mod:`hqsam_nb.training.features`): after ``cache_views`` epochs no step runs the image encoder;
* ``prompts_per_image`` - several objects (prompt draws) per image and step, sharing one encoder pass;
* ``lr_schedule="cosine"`` with ``warmup_steps`` - a smooth decay for short runs, where the official step decay
  at epoch 10 of 12 would come too late or never;
* ``jitter=None`` / ``hflip=False`` - no augmentation (a small synthetic set drawn at one scale);
* ``standardise_early`` - train the layer that reads the encoder's early feature as if that feature had unit
  scale (it does not on random SAM weights: see the attribute).

:meth:`Recipe.cpu_demo` is the preset notebook 09 and ``benchmarks/bench_learning.py`` use to show real learning
on a laptop CPU; its docstring says what it changes and why.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from .augment import JITTER_RANGE
from .loss import LOSS_POINTS
from .prompts import PROMPT_KINDS, check_kinds

__all__ = ["LR_SCHEDULES", "Recipe", "learning_rate"]

#: Learning-rate schedules: the official step decay, or cosine with linear warm-up.
LR_SCHEDULES = ("step", "cosine")


@dataclass(frozen=True)
class Recipe:
    """What a training run does (everything but the data, the model and where it writes).

    Attributes:
        lr: Adam's learning rate (official 1e-3).
        betas: Adam's betas (official (0.9, 0.999)); no weight decay.
        epochs: passes over the data (official 12).
        lr_schedule: ``"step"`` (official: times ``lr_drop_factor`` every ``lr_drop_epoch`` epochs) or
            ``"cosine"`` (per step, after ``warmup_steps`` of linear warm-up, down to 0 at the last step).
        lr_drop_epoch: epochs between drops of the step schedule (official 10).
        lr_drop_factor: the factor of each drop (official 0.1, ``StepLR``'s default).
        warmup_steps: linear warm-up steps of the cosine schedule.
        batch_size: images per process and step (official 4 per GPU; the global batch is this times the number
            of processes).
        prompts_per_image: objects decoded per image and step, each with its own prompt draw (official 1).
        prompt_kinds: the prompt kinds drawn uniformly per object (official: box, points, noisy mask).
        n_points: points of a ``"points"`` prompt (official 10).
        loss_points: points per object in the loss (official 112 x 112).
        oversample_ratio, importance_ratio: the loss's point sampling (official 3 and 0.75).
        loss_weights: the weights of the loss's ``(BCE, dice)`` terms (official ``(1, 1)``: their sum).
        balanced_bce: weight each object's foreground and background points equally in the BCE (official
            False). On frozen features that barely separate a thin object from its background (random SAM
            weights; notebook 09 sets it) the official BCE first drives the HQ token to predict background
            everywhere, the best constant when 95 % of the pixels are background,
            and the few hundred steps of a CPU run end there; balanced, the best constant is "undecided" and the
            sign of the logit follows whatever the features say from the first steps on.
        hflip: random horizontal flip (official on).
        jitter: large-scale jitter range of the long side relative to the input size (official (0.1, 2.0)), or
            None.
        standardise_early: train ``mask_decoder.compress_vit_feat.0`` (the transposed convolution that reads the
            encoder's early feature) as if its input were divided by ``s``, the feature's root mean square on the
            first training images (official False). Done by reparametrisation, so that the checkpoint keeps the
            official architecture and its forward: a fresh layer's initial weight is the official one divided
            by ``s``, its learning rate is ``lr / s`` and its Adam ``eps`` is ``eps * s`` - with Adam, whose
            step does not depend on the gradient's scale, exactly the run a standardised input would give. Why:
            on random SAM weights (the official initialisation) the early feature of ``vit_tiny`` has a root
            mean square of 0.0032, so the layer's output is almost all its bias (RMS 0.018 against 0.00075 from
            the feature) and each Adam step (~lr, whatever the scale) moves the bias far more than the feature's
            contribution; the HQ additions then learn mostly from the image embedding. Measured with
            ``benchmarks/bench_learning.py`` (40 epochs): held-out HQ-token mBIoU 0.251 without, 0.285 with.
            On trained weights the scale is whatever training made it (unmeasured here); for fine-tuning (an
            HQ-SAM start) only the learning rate and eps are scaled, the trained weight is kept.
        cache_views: None (official): a fresh augmentation per sample, the encoder runs every step; an int V:
            each example has V fixed views (epoch ``e`` uses view ``e % V``) and the encoder's outputs are cached.
        seed: all randomness derives from it (sample order, views, prompts, loss points, fresh HQ weights).
    """

    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    epochs: int = 12
    lr_schedule: str = "step"
    lr_drop_epoch: int = 10
    lr_drop_factor: float = 0.1
    warmup_steps: int = 0
    batch_size: int = 4
    prompts_per_image: int = 1
    prompt_kinds: tuple[str, ...] = PROMPT_KINDS
    n_points: int = 10
    loss_points: int = LOSS_POINTS
    oversample_ratio: float = 3.0
    importance_ratio: float = 0.75
    loss_weights: tuple[float, float] = (1.0, 1.0)
    balanced_bce: bool = False
    hflip: bool = True
    jitter: tuple[float, float] | None = JITTER_RANGE
    standardise_early: bool = False
    cache_views: int | None = None
    seed: int = 42

    def __post_init__(self) -> None:
        object.__setattr__(self, "prompt_kinds", check_kinds(self.prompt_kinds))
        object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))
        object.__setattr__(self, "loss_weights", tuple(float(w) for w in self.loss_weights))
        if len(self.loss_weights) != 2 or min(self.loss_weights) < 0 or max(self.loss_weights) <= 0:
            raise ValueError(f"loss_weights must be (bce, dice) >= 0, not both 0, got {self.loss_weights}")
        if self.jitter is not None:
            object.__setattr__(self, "jitter", tuple(float(j) for j in self.jitter))
            lo, hi = self.jitter
            if not 0 < lo <= hi:
                raise ValueError(f"jitter must be (min, max) with 0 < min <= max, got {self.jitter}")
        positive = {"epochs": self.epochs, "batch_size": self.batch_size, "prompts_per_image": self.prompts_per_image,
                    "n_points": self.n_points, "loss_points": self.loss_points, "lr_drop_epoch": self.lr_drop_epoch}
        if self.cache_views is not None:
            positive["cache_views"] = self.cache_views
        for name, value in positive.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not (isinstance(self.lr, int | float) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule={self.lr_schedule!r} is not accepted; use one of {LR_SCHEDULES}")
        if isinstance(self.warmup_steps, bool) or not isinstance(self.warmup_steps, int) or self.warmup_steps < 0:
            raise ValueError(f"warmup_steps must be an int >= 0, got {self.warmup_steps!r}")
        for name in ("balanced_bce", "hflip", "standardise_early"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be an int >= 0, got {self.seed!r}")

    @classmethod
    def official(cls) -> Recipe:
        """sam-hq's recipe, unchanged (the defaults)."""
        return cls()

    @classmethod
    def cpu_demo(cls, **changes: Any) -> Recipe:
        """Real learning in minutes on a CPU (notebook 09, ``benchmarks/bench_learning.py``).

        What it changes and why:

        * ``cache_views=1``, ``hflip=False``, ``jitter=None`` - each example is encoded once; every later step
          costs the decoder only (the encoder is ~3/4 of a step on a CPU). Without jitter the scenes stay at
          the scale they are evaluated at.
        * ``lr=3e-3``, ``lr_schedule="cosine"``, ``warmup_steps=10`` - hundreds of steps instead of tens of
          thousands: a larger rate that then decays to 0 within the run (the official drop at epoch 10 of 12
          assumes 44 K images per epoch).
        * ``batch_size=8`` - more objects per step, a less noisy gradient for the same encoder work.
        * ``prompt_kinds=("box",)`` - the benchmark measures box prompts.
        * ``balanced_bce=True`` - foreground and background points weigh the same in the BCE: on random frozen
          features the official BCE first drives the HQ token to "background everywhere" (measured: held-out
          mIoU 0.083 -> 0.000 within 25 steps), and a short run ends there.
        * ``standardise_early=True`` - the early feature of random SAM weights is ~300 times smaller than the
          layer reading it expects; trained as if standardised, the HQ additions use it from the first steps.

        Keyword arguments override any field, e.g. ``Recipe.cpu_demo(epochs=20)``.
        """
        settings: dict[str, Any] = {"cache_views": 1, "hflip": False, "jitter": None, "lr": 3e-3,
                                    "lr_schedule": "cosine", "warmup_steps": 10, "batch_size": 8,
                                    "prompt_kinds": ("box",), "epochs": 20, "balanced_bce": True,
                                    "standardise_early": True}
        settings.update(changes)
        return cls(**settings)

    def replace(self, **changes: Any) -> Recipe:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings (tuples as lists)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recipe:
        """The inverse of :meth:`to_dict` (unknown keys refused)."""
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - fields)
        if unknown:
            raise ValueError(f"unknown recipe settings {unknown}; known: {sorted(fields)}")
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items()})


def learning_rate(recipe: Recipe, step: int, steps_per_epoch: int) -> float:
    """The learning rate of global step ``step`` (0-based): a pure function, so a resumed run needs no scheduler
    state.

    ``"step"``: ``lr * lr_drop_factor ** (epoch // lr_drop_epoch)`` (the official ``StepLR`` stepped once per
    epoch). ``"cosine"``: linear warm-up over ``warmup_steps``, then ``lr * (1 + cos(pi * t)) / 2`` with ``t``
    going from 0 to 1 over the remaining steps.
    """
    if recipe.lr_schedule == "step":
        epoch = step // steps_per_epoch
        return recipe.lr * recipe.lr_drop_factor ** (epoch // recipe.lr_drop_epoch)
    total = recipe.epochs * steps_per_epoch
    if step < recipe.warmup_steps:
        return recipe.lr * (step + 1) / recipe.warmup_steps
    span = max(total - recipe.warmup_steps, 1)
    return recipe.lr * 0.5 * (1 + math.cos(math.pi * (step - recipe.warmup_steps) / span))
