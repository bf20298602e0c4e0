"""The training loss against an independent implementation of its definition; prompts, views and the recipe."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hqsam_nb.training import (
    IDENTITY,
    PROMPT_KINDS,
    Recipe,
    View,
    apply_view,
    draw_prompt,
    draw_view,
    hq_loss,
    learning_rate,
    noisy_mask,
)


def _bilinear(img: np.ndarray, x: float, y: float) -> float:
    """Bilinear value of ``img`` (H x W) at normalised (x, y), pixel centres at (i + 0.5) / size, 0 outside."""
    h, w = img.shape
    px, py = x * w - 0.5, y * h - 0.5
    x0, y0 = math.floor(px), math.floor(py)
    total = 0.0
    for dy in (0, 1):
        for dx in (0, 1):
            xi, yi = x0 + dx, y0 + dy
            weight = (1 - abs(px - xi)) * (1 - abs(py - yi))
            if 0 <= xi < w and 0 <= yi < h:
                total += weight * float(img[yi, xi])
    return total


def _reference_loss(logits: np.ndarray, target: np.ndarray, seeds: list[int], n: int, over: float,
                    imp: float, balanced: bool = False) -> tuple[float, float]:
    """The loss's definition, written out: per object the same uniform draws, the most uncertain kept by a full
    sort, plain-float BCE (optionally foreground and background points weighted to count equally) and dice,
    averaged over objects."""
    bces, dices = [], []
    for k, seed in enumerate(seeds):
        gen = torch.Generator().manual_seed(seed)
        cand = torch.rand(int(n * over), 2, generator=gen).double().numpy()
        extra = torch.rand(n - int(imp * n), 2, generator=gen).double().numpy()
        values = np.array([_bilinear(logits[k], x, y) for x, y in cand])
        order = sorted(range(len(cand)), key=lambda i: abs(values[i]))  # most uncertain = smallest |logit|
        points = [tuple(cand[i]) for i in order[:int(imp * n)]] + [tuple(p) for p in extra]
        lg = np.array([_bilinear(logits[k], x, y) for x, y in points])
        t = np.array([_bilinear(target[k], x, y) for x, y in points])
        per_point = [max(v, 0) - v * tv + math.log1p(math.exp(-abs(v))) for v, tv in zip(lg, t, strict=True)]
        if balanced:
            fg, bg = max(t.sum(), 1.0), max((1 - t).sum(), 1.0)
            per_point = [x * (tv * len(t) / (2 * fg) + (1 - tv) * len(t) / (2 * bg))
                         for x, tv in zip(per_point, t, strict=True)]
        bce = np.mean(per_point)
        p = 1 / (1 + np.exp(-lg))
        dice = 1 - (2 * (p * t).sum() + 1) / (p.sum() + t.sum() + 1)
        bces.append(bce)
        dices.append(dice)
    return float(np.mean(bces)), float(np.mean(dices))


@pytest.mark.parametrize("balanced", [False, True])
def test_loss_equals_its_definition_on_fixed_inputs(balanced: bool) -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (3, 12, 12)).astype(np.float32)
    target = np.zeros((3, 48, 48), np.float32)
    target[0, 10:30, 5:40] = 1
    target[1, :, 20:22] = 1
    target[2, 30:, :] = 1
    seeds = [7, 1234567, 2**40 + 3]
    parts = hq_loss(torch.from_numpy(logits)[:, None], torch.from_numpy(target)[:, None], seeds, n_points=60,
                    oversample_ratio=3.0, importance_ratio=0.75, balanced=balanced)
    bce, dice = _reference_loss(logits.astype(np.float64), target, seeds, 60, 3.0, 0.75, balanced)
    assert float(parts.bce) == pytest.approx(bce, rel=1e-5)
    assert float(parts.dice) == pytest.approx(dice, rel=1e-5)
    assert float(parts.total) == pytest.approx(bce + dice, rel=1e-5)


def test_loss_points_follow_each_objects_seed_not_its_position() -> None:
    """A sample's loss does not depend on its batch neighbours (what DDP and resume equality rely on)."""
    rng = np.random.default_rng(1)
    logits = torch.from_numpy(rng.normal(0, 2, (2, 1, 16, 16)).astype(np.float32))
    target = torch.from_numpy((rng.random((2, 1, 32, 32)) > 0.7).astype(np.float32))
    both = hq_loss(logits, target, [11, 22], n_points=40)
    first = hq_loss(logits[:1], target[:1], [11], n_points=40)
    second = hq_loss(logits[1:], target[1:], [22], n_points=40)
    assert float(both.total) == pytest.approx((float(first.total) + float(second.total)) / 2, rel=1e-6)
    with pytest.raises(ValueError, match="one seed per object"):
        hq_loss(logits, target, [1], n_points=40)


def test_prompts_are_the_recipes_kinds() -> None:
    target = np.zeros((1024, 1024), np.float32)
    target[100:110, 200:700] = 1.0
    rng = np.random.default_rng(0)
    kinds = {draw_prompt(target, PROMPT_KINDS, rng).kind for _ in range(30)}
    assert kinds == set(PROMPT_KINDS)
    box = draw_prompt(target, ("box",), rng).box
    assert box.tolist() == [200, 100, 699, 109]
    pts = draw_prompt(target, ("points",), rng).points
    assert pts.shape == (10, 2) and (target[pts[:, 1].astype(int), pts[:, 0].astype(int)] == 1).all()
    assert len({tuple(p) for p in pts}) == 10
    block = np.zeros((1024, 1024), np.float32)
    block[100:600, 200:700] = 1.0
    noisy = noisy_mask(block, np.random.default_rng(0))  # noise only along the detailed parts (the edges)
    assert noisy.shape == (256, 256) and set(np.unique(noisy)) <= {0.0, 255.0}
    assert (noisy[60:120, 80:150] == 255).all() and (noisy[180:] == 0).all() and (noisy[:, :40] == 0).all()
    edge = noisy[25:150, 48:53]
    assert 0 < (edge == 255).mean() < 1
    tiny = np.zeros((1024, 1024), np.float32)
    tiny[5, 5:9] = 1  # four pixels: too few for ten points
    assert {draw_prompt(tiny, ("box", "points"), rng).kind for _ in range(10)} == {"box"}
    with pytest.raises(ValueError, match="no object pixel"):
        draw_prompt(np.zeros((64, 64), np.float32), ("box",), rng)


def test_identity_view_is_the_predictors_resize_and_jitter_keeps_the_object() -> None:
    from hqsam_nb.pair.preprocess import resize_transform

    rng = np.random.default_rng(3)
    image = rng.integers(0, 255, (100, 150, 3), dtype=np.uint8)
    mask = np.zeros((100, 150), bool)
    mask[40:45, 10:140] = True
    resized, target = apply_view(image, mask, IDENTITY)
    assert np.array_equal(resized, resize_transform(1024).apply_image(image))
    assert target.shape == (1024, 1024) and target[resized.shape[0]:].max() == 0
    flipped, _ = apply_view(image, mask, View(flip=True))
    assert np.array_equal(flipped, resized[:, ::-1])
    for _ in range(20):
        view = draw_view(rng, mask, hflip=True, jitter=(0.1, 2.0))
        img, tgt = apply_view(image, mask, view)
        assert img.shape[0] <= 1024 and img.shape[1] <= 1024 and tgt.max() > 0.5


def test_recipe_defaults_are_the_official_ones_and_bad_settings_are_named() -> None:
    r = Recipe()
    assert (r.lr, r.betas, r.epochs, r.lr_drop_epoch, r.batch_size, r.seed) == (1e-3, (0.9, 0.999), 12, 10, 4, 42)
    assert r.prompt_kinds == PROMPT_KINDS and r.jitter == (0.1, 2.0) and r.hflip and r.cache_views is None
    assert r.loss_points == 112 * 112 and Recipe.from_dict(r.to_dict()) == r
    assert [learning_rate(r, s, 5) for s in (0, 49, 50, 59)] == pytest.approx([1e-3, 1e-3, 1e-4, 1e-4])
    cos = Recipe(lr_schedule="cosine", warmup_steps=2, epochs=1)
    assert [learning_rate(cos, s, 10) for s in (0, 1, 2, 9)] == pytest.approx(
        [5e-4, 1e-3, 1e-3, 1e-3 * 0.5 * (1 + math.cos(math.pi * 7 / 8))])
    for bad, match in (({"prompt_kinds": ("scribble",)}, "prompt kinds"), ({"batch_size": 0}, "batch_size"),
                       ({"lr_schedule": "linear"}, "lr_schedule"), ({"jitter": (2.0, 1.0)}, "jitter")):
        with pytest.raises(ValueError, match=match):
            Recipe(**bad)
