"""A procedural thin-structure benchmark: wiry, holed objects over natural textures, with exact masks.

The paper's datasets (DIS5K, COIFT, HRSOD, ThinObject-5K) are downloads of several gigabytes. This module
draws, in milliseconds and without any download, the kind of object where SAM's masks go wrong and HQ-SAM's
are meant to help: one-to-three-pixel wires, fences full of holes, branching twigs, window frames and
outlined letters. The object is drawn with OpenCV (no anti-aliasing, so the drawn pixels *are* the ground
truth) and composited over a crop of a natural photograph or texture from :mod:`skimage.data`.

Everything is deterministic: the same ``(kind, size, seed)`` always gives the same image and mask.

Example:
    >>> image, mask = thin_structure_scene("fence", size=(256, 384), seed=1)
    >>> image.shape, image.dtype, mask.shape, mask.dtype
    ((256, 384, 3), dtype('uint8'), (256, 384), dtype('bool'))
    >>> [item.name for item in synthetic_benchmark(n=3)]
    ['000_wires', '001_fence', '002_branches']
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = [
    "BENCHMARK_SIZES",
    "SCENE_KINDS",
    "TEXTURE_NAMES",
    "SceneItem",
    "SceneSpec",
    "benchmark_specs",
    "synthetic_benchmark",
    "thin_structure_scene",
]

#: The object kinds :func:`thin_structure_scene` draws.
SCENE_KINDS: tuple[str, ...] = ("wires", "fence", "branches", "frame", "text")

#: Backgrounds: images bundled with scikit-image (no download needed).
TEXTURE_NAMES: tuple[str, ...] = ("astronaut", "brick", "camera", "chelsea", "coffee", "grass", "gravel",
                                  "rocket", "immunohistochemistry", "moon", "hubble_deep_field", "coins")

#: ``(H, W)`` sizes the benchmark cycles through: 512 to 1024 pixels, square and not.
BENCHMARK_SIZES: tuple[tuple[int, int], ...] = ((512, 512), (512, 768), (768, 512), (640, 640),
                                                (768, 1024), (1024, 768), (1024, 1024))

_WORDS = ("HQ-SAM", "wire", "mesh", "thin", "edge", "Segment", "fence", "twig", "frame", "mask", "SAM")
_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_TRIPLEX,
          cv2.FONT_HERSHEY_COMPLEX)


@functools.cache
def _texture(name: str) -> np.ndarray:
    """An ``skimage.data`` image as RGB ``uint8`` (read once, then cached; treat as read-only)."""
    import skimage.data

    img = np.asarray(getattr(skimage.data, name)())
    if img.dtype != np.uint8:
        img = (img.astype(np.float64) / max(float(img.max()), 1.0) * 255).astype(np.uint8)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    img = np.ascontiguousarray(img[:, :, :3])
    img.setflags(write=False)
    return img


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A random crop of a random texture, resized to ``h x w``, flipped and tinted at random."""
    tex = _texture(TEXTURE_NAMES[int(rng.integers(len(TEXTURE_NAMES)))])
    th, tw = tex.shape[:2]
    frac = rng.uniform(0.5, 1.0)
    ch = max(16, int(th * frac))
    cw = max(16, min(tw, int(ch * w / h)))
    y0 = int(rng.integers(0, th - ch + 1))
    x0 = int(rng.integers(0, tw - cw + 1))
    crop = tex[y0:y0 + ch, x0:x0 + cw]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    bg = cv2.resize(np.ascontiguousarray(crop), (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    tint = rng.uniform(0.8, 1.2, size=3).astype(np.float32)
    return np.clip(bg * tint, 0, 255)


def _pt(x: float, y: float) -> tuple[int, int]:
    return int(round(x)), int(round(y))


def _draw_wires(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Two poles and two to four sagging wires strung between them."""
    m = np.zeros((h, w), np.uint8)
    xl, xr = rng.uniform(0.08, 0.25) * w, rng.uniform(0.75, 0.92) * w
    top = rng.uniform(0.1, 0.3) * h
    bottom = rng.uniform(0.75, 0.95) * h
    pole = int(rng.integers(3, 6))
    cv2.line(m, _pt(xl, top), _pt(xl, bottom), 255, pole, cv2.LINE_8)
    cv2.line(m, _pt(xr, top + rng.uniform(-0.05, 0.05) * h), _pt(xr, bottom), 255, pole, cv2.LINE_8)
    n_wires = int(rng.integers(2, 5))
    xs = np.linspace(xl, xr, 96)
    for k in range(n_wires):
        y_left = top + (k + 0.5) * (bottom - top) * 0.5 / n_wires
        y_right = y_left + rng.uniform(-0.05, 0.05) * h
        sag = rng.uniform(0.03, 0.2) * h
        t = (xs - xl) / (xr - xl)
        ys = y_left + (y_right - y_left) * t + sag * 4 * t * (1 - t)
        pts = np.round(np.stack([xs, ys], 1)).astype(np.int32)
        cv2.polylines(m, [pts], False, 255, int(rng.integers(1, 4)), cv2.LINE_8)
    return m


def _draw_fence(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A chain-link panel: a diagonal lattice of 1-2 px wires inside a 3 px frame, with posts."""
    m = np.zeros((h, w), np.uint8)
    x0, x1 = rng.uniform(0.05, 0.25) * w, rng.uniform(0.75, 0.95) * w
    y0, y1 = rng.uniform(0.1, 0.3) * h, rng.uniform(0.7, 0.9) * h
    spacing = rng.uniform(14, 32) * min(h, w) / 512
    thick = int(rng.integers(1, 3))
    lattice = np.zeros_like(m)
    span = (x1 - x0) + (y1 - y0)
    for c in np.arange(-span, span, spacing):
        cv2.line(lattice, _pt(x0 + c, y0), _pt(x0 + c + (y1 - y0), y1), 255, thick, cv2.LINE_8)
        cv2.line(lattice, _pt(x0 + c, y1), _pt(x0 + c + (y1 - y0), y0), 255, thick, cv2.LINE_8)
    box = np.zeros_like(m)
    cv2.rectangle(box, _pt(x0, y0), _pt(x1, y1), 255, -1)
    m |= lattice & box
    cv2.rectangle(m, _pt(x0, y0), _pt(x1, y1), 255, 3, cv2.LINE_8)
    for xp in np.linspace(x0, x1, int(rng.integers(2, 4))):
        cv2.line(m, _pt(xp, y0 - 0.05 * h), _pt(xp, y1 + 0.05 * h), 255, 4, cv2.LINE_8)
    return m


def _draw_branches(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A twig: a 3-4 px trunk forking recursively into 1 px tips."""
    m = np.zeros((h, w), np.uint8)
    scale = min(h, w)
    stack = [(rng.uniform(0.35, 0.65) * w, 0.92 * h, -np.pi / 2 + rng.uniform(-0.2, 0.2),
              rng.uniform(0.22, 0.3) * scale, 4, 0)]
    depth_max = int(rng.integers(5, 7))
    while stack:
        x, y, angle, length, thick, depth = stack.pop()
        bend = rng.uniform(-0.25, 0.25)
        xm, ym = x + 0.5 * length * np.cos(angle), y + 0.5 * length * np.sin(angle)
        x2, y2 = xm + 0.5 * length * np.cos(angle + bend), ym + 0.5 * length * np.sin(angle + bend)
        pts = np.array([_pt(x, y), _pt(xm, ym), _pt(x2, y2)], np.int32)
        cv2.polylines(m, [pts], False, 255, thick, cv2.LINE_8)
        if depth + 1 < depth_max:
            for _ in range(int(rng.integers(2, 4))):
                stack.append((x2, y2, angle + bend + rng.uniform(-0.7, 0.7), length * rng.uniform(0.55, 0.8),
                              max(1, thick - 1), depth + 1))
    return m


def _draw_frame(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A window frame in perspective: a 3 px outer frame and 1-2 px glazing bars, panes empty."""
    m = np.zeros((h, w), np.uint8)
    cx, cy = rng.uniform(0.4, 0.6) * w, rng.uniform(0.4, 0.6) * h
    hw, hh = rng.uniform(0.25, 0.4) * w, rng.uniform(0.25, 0.4) * h
    jitter = rng.uniform(-0.06, 0.06, size=(4, 2)) * np.array([w, h])
    quad = np.array([[cx - hw, cy - hh], [cx + hw, cy - hh], [cx + hw, cy + hh], [cx - hw, cy + hh]]) + jitter

    def at(u: float, v: float) -> tuple[int, int]:
        top = quad[0] + (quad[1] - quad[0]) * u
        bot = quad[3] + (quad[2] - quad[3]) * u
        p = top + (bot - top) * v
        return _pt(p[0], p[1])

    cv2.polylines(m, [quad.round().astype(np.int32)], True, 255, 3, cv2.LINE_8)
    inner = int(rng.integers(1, 3))
    for u in np.linspace(0, 1, int(rng.integers(3, 5)))[1:-1]:
        cv2.line(m, at(u, 0), at(u, 1), 255, inner, cv2.LINE_8)
    for v in np.linspace(0, 1, int(rng.integers(3, 6)))[1:-1]:
        cv2.line(m, at(0, v), at(1, v), 255, inner, cv2.LINE_8)
    return m


def _draw_text(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Outlined letters: bold glyphs minus their erosion leave a 1-3 px outline around each glyph."""
    word = _WORDS[int(rng.integers(len(_WORDS)))]
    font = _FONTS[int(rng.integers(len(_FONTS)))]
    outline = int(rng.integers(1, 4))
    (tw, th), _ = cv2.getTextSize(word, font, 1.0, 1)
    scale = min(rng.uniform(0.6, 0.85) * w / tw, 0.5 * h / th)
    stroke = max(2 * outline + 3, int(round(scale * 2.2)))
    (tw, th), base = cv2.getTextSize(word, font, scale, stroke)
    org = _pt((w - tw) / 2, (h + th) / 2 - base / 2)
    glyphs = np.zeros((h, w), np.uint8)
    cv2.putText(glyphs, word, org, font, scale, 255, stroke, cv2.LINE_8)
    inner = cv2.erode(glyphs, np.ones((3, 3), np.uint8), iterations=outline)
    return glyphs & ~inner


_DRAWERS: dict[str, Callable[[np.random.Generator, int, int], np.ndarray]] = {
    "wires": _draw_wires, "fence": _draw_fence, "branches": _draw_branches, "frame": _draw_frame,
    "text": _draw_text,
}


def _object_colour(rng: np.random.Generator, bg: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A colour that contrasts with the background under the object: dark on light, light on dark."""
    lum = float(bg[mask].mean()) if mask.any() else 128.0
    base = rng.uniform(10, 60) if lum > 110 else rng.uniform(190, 250)
    hue = rng.uniform(-35, 35, size=3)
    return np.clip(base + hue, 0, 255).astype(np.float32)


def thin_structure_scene(kind: str, size: tuple[int, int] = (512, 512),
                         seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Draw one thin-structure object over a natural texture.

    Args:
        kind: one of :data:`SCENE_KINDS` - ``"wires"`` (poles and sagging 1-3 px cables), ``"fence"``
            (a chain-link lattice, mostly holes), ``"branches"`` (a twig forking down to 1 px), ``"frame"``
            (a window frame in perspective) or ``"text"`` (outlined letters).
        size: ``(H, W)`` of the image, each between 32 and 4096 pixels.
        seed: any non-negative int; the same ``(kind, size, seed)`` always gives the same scene.

    Returns:
        ``(image, mask)``: the RGB ``uint8`` ``H x W x 3`` image and the exact ground truth, ``bool``
        ``H x W`` (True on the object's pixels; the image shows the object colour exactly there).
    """
    if kind not in _DRAWERS:
        raise ValueError(f"kind={kind!r} is not a scene kind; choose one of {SCENE_KINDS}")
    if (not isinstance(size, tuple | list) or len(size) != 2
            or not all(isinstance(s, int | np.integer) and 32 <= s <= 4096 for s in size)):
        raise ValueError(f"size must be (H, W) with ints in [32, 4096], got {size!r}")
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    h, w = int(size[0]), int(size[1])
    rng = np.random.default_rng([int(seed), SCENE_KINDS.index(kind), h, w])
    bg = _background(rng, h, w)
    mask = _DRAWERS[kind](rng, h, w) > 0
    colour = _object_colour(rng, bg, mask)
    # The object: its colour with a little shading, so it is not a flat sticker.
    shade = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 3)[:, :, None] * 40
    fg = np.clip(colour + shade, 0, 255)
    image = np.where(mask[:, :, None], fg, bg)
    noise = rng.normal(0, 3, image.shape).astype(np.float32)
    image = np.clip(image + noise, 0, 255).astype(np.uint8)
    return image, mask


@dataclass(frozen=True)
class SceneSpec:
    """How to draw one benchmark scene (cheap to hold; the pixels are drawn on demand)."""

    name: str
    kind: str
    size: tuple[int, int]
    seed: int

    def draw(self) -> tuple[np.ndarray, np.ndarray]:
        """``(image, mask)`` as :func:`thin_structure_scene` returns them."""
        return thin_structure_scene(self.kind, self.size, self.seed)


@dataclass(frozen=True)
class SceneItem:
    """One benchmark scene: ``name`` (e.g. ``"007_frame"``), ``kind``, ``image`` (``uint8 H x W x 3``) and
    ``mask`` (``bool H x W``)."""

    name: str
    kind: str
    image: np.ndarray
    mask: np.ndarray


def benchmark_specs(n: int = 50, seed: int = 0,
                    sizes: tuple[tuple[int, int], ...] = BENCHMARK_SIZES) -> list[SceneSpec]:
    """The recipes of :func:`synthetic_benchmark`: kinds round-robin, sizes cycling through ``sizes``."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    specs = []
    for i in range(n):
        kind = SCENE_KINDS[i % len(SCENE_KINDS)]
        size = tuple(int(s) for s in sizes[(i // len(SCENE_KINDS) + i) % len(sizes)])
        specs.append(SceneSpec(f"{i:03d}_{kind}", kind, size, int(seed) * 100_003 + i))
    return specs


def synthetic_benchmark(n: int = 50, seed: int = 0,
                        sizes: tuple[tuple[int, int], ...] = BENCHMARK_SIZES) -> Iterator[SceneItem]:
    """Yield the built-in thin-structure benchmark: ``n`` scenes, kinds in turn, 512 to 1024 pixels.

    Deterministic: the same ``(n, seed, sizes)`` gives the same scenes, and the first ``k`` scenes of a
    larger ``n`` are the scenes of ``n = k``. Scenes are drawn one at a time as the iterator advances.
    """
    for spec in benchmark_specs(n, seed, sizes):
        image, mask = spec.draw()
        yield SceneItem(spec.name, spec.kind, image, mask)
