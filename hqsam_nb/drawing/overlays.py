"""Drawing masks, points and boxes as numpy arrays: the pure core under every figure, widget and saved PNG.

Everything here is numpy-in, numpy-out (OpenCV for the few raster operations), so the same code paints
a matplotlib figure, an ``ipycanvas`` layer and a file. Nothing loops over pixels in Python: overlaying a
mask on a 1024 x 1024 image takes a few milliseconds on one CPU core (``benchmarks/bench_drawing.py``).

Conventions:

* images are RGB ``uint8`` ``H x W x 3``; layers are RGBA ``uint8`` ``H x W x 4`` (straight,
  not premultiplied, alpha);
* masks are ``bool`` ``H x W`` of the same height and width;
* points and boxes are ``(x, y)`` pixels of the original image, ``x`` to the right and ``y`` down
  (see :mod:`hqsam_nb.pair.prompts`);
* colours are ``(R, G, B)`` triples of ints in ``[0, 255]``.

The matplotlib figures built on top of these functions live in :mod:`hqsam_nb.drawing.figures`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..models.provenance import ProvenanceLike

__all__ = [
    "comparison_panel",
    "stamp_array",
    "composite",
    "crop_zoom",
    "difference_rgba",
    "disagreement_boxes",
    "draw_box",
    "draw_points",
    "draw_prompt",
    "label_panels",
    "mask_contour",
    "mask_rgba",
    "masks_rgba",
    "overlay_mask",
    "overlay_masks",
    "random_colors",
    "segments_rgba",
    "wipe_image",
]

from ..pair.branches import BRANCHES
from ..validation import check_image, check_mask
from .palette import (
    BOX_COLOR,
    MASK_COLORS,
    NEGATIVE_COLOR,
    OBJECT_COLORS,
    POSITIVE_COLOR,
    diff_colors,
)

# --- validation (public boundary) -----------------------------------------------------------------

def _check_color(color: Any, name: str = "color") -> np.ndarray:
    arr = np.asarray(color)
    if arr.shape != (3,) or arr.dtype.kind not in "ui" or (arr < 0).any() or (arr > 255).any():
        raise ValueError(f"{name} must be an (R, G, B) triple of ints in [0, 255], got {color!r}")
    return arr.astype(np.uint8)


def _check_alpha(alpha: Any) -> float:
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise TypeError(f"alpha must be a number in [0, 1], got {alpha!r}") from None
    if not 0.0 <= a <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
    return a


def _check_width(width: Any) -> int:
    if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 0:
        raise ValueError(f"contour_width must be an int >= 0 (0 = no contour), got {width!r}")
    return int(width)


# --- masks ----------------------------------------------------------------------------------------

def mask_contour(mask: np.ndarray, width: int = 2) -> np.ndarray:
    """The band of mask pixels within ``width`` pixels of the mask's boundary.

    A pixel is on the contour when it is in the mask and some pixel within a ``(2 * width + 1)``-square around
    it is not (pixels outside the image count as "not in the mask", so masks touching the border get a contour
    there too). The band lies *inside* the mask: drawing it changes no pixel outside the mask, and a structure
    thinner than ``2 * width`` pixels is all contour.

    Args:
        mask: ``bool`` ``H x W``.
        width: band width in pixels; 0 gives an empty contour.

    Returns:
        ``bool`` ``H x W``.
    """
    import cv2

    mask = check_mask(mask)
    width = _check_width(width)
    if width == 0 or not mask.any():
        return np.zeros(mask.shape, dtype=bool)
    m8 = np.ascontiguousarray(mask).view(np.uint8)
    kernel = np.ones((2 * width + 1, 2 * width + 1), np.uint8)
    eroded = cv2.erode(m8, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return m8 > eroded


def mask_rgba(mask: np.ndarray, color: Sequence[int] = MASK_COLORS[0], alpha: float = 0.5,
              contour_width: int = 2) -> np.ndarray:
    """A mask as an RGBA layer: transparent outside, ``color`` at ``alpha`` inside, an opaque contour line.

    Args:
        mask: ``bool`` ``H x W`` (0/1 integer arrays and ``1 x H x W`` are accepted too).
        color: ``(R, G, B)`` in ``[0, 255]``.
        alpha: fill opacity in ``[0, 1]``.
        contour_width: width in pixels of the opaque line along the mask boundary, drawn inside the mask
            (see :func:`mask_contour`); 0 for none.

    Returns:
        ``uint8`` ``H x W x 4``: ``(0, 0, 0, 0)`` outside the mask; ``(*color, round(255 * alpha))`` inside;
        ``(*color, 255)`` on the contour.

    Example:
        >>> m = np.zeros((8, 8), bool); m[2:6, 2:6] = True
        >>> mask_rgba(m, (255, 0, 0), alpha=0.5, contour_width=1)[3, 3].tolist()
        [255, 0, 0, 128]
    """
    import cv2

    mask = check_mask(mask)
    col = _check_color(color)
    fill = np.uint8(round(255 * _check_alpha(alpha)))
    width = _check_width(contour_width)
    m8 = np.ascontiguousarray(mask).view(np.uint8)
    alpha_ch = m8 * fill
    if width:
        contour = mask_contour(mask, width).view(np.uint8)
        alpha_ch += contour * np.uint8(255 - int(fill))
    return cv2.merge([m8 * col[0], m8 * col[1], m8 * col[2], alpha_ch])


def masks_rgba(masks: Sequence[np.ndarray], colors: Sequence[Sequence[int]] | None = None, alpha: float = 0.5,
               contour_width: int = 2) -> np.ndarray:
    """Several masks in distinct colours as one RGBA layer (later masks drawn over earlier ones).

    Args:
        masks: ``bool`` ``H x W`` arrays, all the same shape.
        colors: one ``(R, G, B)`` per mask; default :data:`OBJECT_COLORS` in turn (each mask an object).
        alpha, contour_width: as in :func:`mask_rgba`.

    Returns:
        ``uint8`` ``H x W x 4``, transparent where no mask is.
    """
    import cv2

    masks = list(masks)
    if not masks:
        raise ValueError("masks is empty: give at least one bool H x W mask")
    first = check_mask(masks[0], name="masks[0]")
    if colors is None:
        colors = [OBJECT_COLORS[i % len(OBJECT_COLORS)] for i in range(len(masks))]
    colors = list(colors)
    if len(colors) != len(masks):
        raise ValueError(f"got {len(colors)} colors for {len(masks)} masks")
    out = np.zeros((*first.shape, 4), dtype=np.uint8)
    for i, (mask, color) in enumerate(zip(masks, colors, strict=True)):
        m = check_mask(mask, first.shape, name=f"masks[{i}]")
        layer = mask_rgba(m, color, alpha, contour_width)
        cv2.copyTo(layer, layer[..., 3].copy(), out)
    return out


def random_colors(n: int, seed: int = 0) -> np.ndarray:
    """``n`` random but reproducible colours, ``uint8`` ``(n, 3)``: colour ``i`` depends only on ``seed`` and ``i``
    (so adding masks never recolours the first ones). Channels are drawn in ``[40, 255]``, avoiding near-black."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be an int >= 0, got {n!r}")
    rng = np.random.default_rng(seed)
    return rng.integers(40, 256, size=(int(n), 3), dtype=np.int64).astype(np.uint8)


def segments_rgba(masks: Sequence[np.ndarray] | np.ndarray, colors: Sequence[Sequence[int]] | np.ndarray | None = None,
                  alpha: float = 0.35, contour_width: int = 1, seed: int = 0) -> np.ndarray:
    """Many masks of one image (e.g. "segment everything") as one RGBA layer, as Meta's ``show_anns`` draws them:
    largest first, so smaller masks stay visible on top, each in its own colour.

    Args:
        masks: ``bool`` ``H x W`` masks (or a ``(N, H, W)`` array); may be empty only as a ``(0, H, W)`` array.
        colors: one ``(R, G, B)`` per mask, in the order given (not the drawing order); default
            :func:`random_colors` ``(N, seed)``.
        alpha, contour_width: as in :func:`mask_rgba` (the contour separates touching masks).
        seed: for the default colours.

    Returns:
        ``uint8`` ``H x W x 4``, transparent where no mask is.
    """
    if isinstance(masks, np.ndarray) and masks.ndim == 3 and len(masks) == 0:
        return np.zeros((*masks.shape[1:], 4), np.uint8)
    masks = [check_mask(m, name=f"masks[{i}]") for i, m in enumerate(masks)]
    if not masks:
        raise ValueError("masks is empty: give bool H x W masks, or a (0, H, W) array for an empty layer")
    cols = random_colors(len(masks), seed) if colors is None else np.asarray(colors)
    if cols.shape != (len(masks), 3):
        raise ValueError(f"colors must be one (R, G, B) per mask, shape ({len(masks)}, 3), got shape {cols.shape}")
    areas = np.array([np.count_nonzero(m) for m in masks])
    order = np.argsort(-areas, kind="stable")
    return masks_rgba([masks[i] for i in order], [tuple(int(c) for c in cols[i]) for i in order], alpha,
                      contour_width)


def _alpha_bbox(alpha: np.ndarray) -> tuple[int, int, int, int] | None:
    """``(y0, y1, x0, x1)`` of the non-zero pixels of a ``uint8`` ``H x W`` array, or None if all zero."""
    rows = np.flatnonzero(alpha.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(alpha[rows[0]:rows[-1] + 1].any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _blend(dst: np.ndarray, src: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``dst * (1 - a) + src * a`` with ``a = alpha / 255``, rounded; ``uint8`` arrays of one shape (x 3)."""
    import cv2

    w_src = alpha.astype(np.float32)
    w_src *= np.float32(1 / 255)
    w_dst = 1 - w_src
    return cv2.blendLinear(np.ascontiguousarray(dst), np.ascontiguousarray(src), w_dst, w_src)


def composite(image: np.ndarray, rgba: np.ndarray) -> np.ndarray:
    """Alpha-blend an RGBA layer over an RGB image: ``out = image * (1 - a) + rgb * a`` with ``a = A / 255``.

    Only the bounding box of the layer's non-transparent pixels is computed, so small masks on large images
    are cheap. Where the layer's alpha is 0 the image is unchanged; where it is 255 the layer's colour
    replaces it.

    Args:
        image: ``uint8`` ``H x W x 3``.
        rgba: ``uint8`` ``H x W x 4`` (straight alpha).

    Returns:
        A new ``uint8`` ``H x W x 3`` array (``image`` is not modified).
    """
    image = check_image(image)
    if not isinstance(rgba, np.ndarray) or rgba.dtype != np.uint8 or rgba.shape != (*image.shape[:2], 4):
        got = f"{rgba.dtype} {rgba.shape}" if isinstance(rgba, np.ndarray) else type(rgba).__name__
        raise ValueError(f"rgba must be uint8 of shape {(*image.shape[:2], 4)} to match the image, got {got}")
    out = image.copy()
    bbox = _alpha_bbox(rgba[..., 3])
    if bbox is None:
        return out
    y0, y1, x0, x1 = bbox
    out[y0:y1, x0:x1] = _blend(image[y0:y1, x0:x1], rgba[y0:y1, x0:x1, :3], rgba[y0:y1, x0:x1, 3])
    return out


def overlay_mask(image: np.ndarray, mask: np.ndarray, color: Sequence[int] = MASK_COLORS[0],
                 alpha: float = 0.5, contour_width: int = 2) -> np.ndarray:
    """Paint a mask over an image; the same pixels as ``composite(image, mask_rgba(mask, color, ...))``.

    A fast path for one mask in one colour: the blend of every image value with the colour is tabulated once
    (256 entries per channel) and applied with ``cv2.LUT`` inside the mask; the contour is then set to the
    colour.

    Args:
        image: ``uint8`` ``H x W x 3``.
        mask: ``bool`` ``H x W``.
        color, alpha, contour_width: as in :func:`mask_rgba`.

    Returns:
        A new ``uint8`` ``H x W x 3``; pixels outside the mask (and so outside its contour, which lies inside
        the mask) are unchanged.

    Example:
        >>> img = np.zeros((8, 8, 3), np.uint8); m = np.zeros((8, 8), bool); m[2:6, 2:6] = True
        >>> overlay_mask(img, m, (200, 0, 0), alpha=0.5, contour_width=1)[3, 3].tolist()
        [100, 0, 0]
    """
    import cv2

    image = check_image(image)
    mask = check_mask(mask, image.shape[:2])
    col = _check_color(color)
    fill = round(255 * _check_alpha(alpha))
    width = _check_width(contour_width)
    out = image.copy()
    bbox = _alpha_bbox(np.ascontiguousarray(mask).view(np.uint8))
    if bbox is None:
        return out
    y0, y1, x0, x1 = bbox
    m8 = np.ascontiguousarray(mask[y0:y1, x0:x1]).view(np.uint8)
    # the table is built by the very blend composite() uses, so both give identical pixels
    values = np.repeat(np.arange(256, dtype=np.uint8)[:, None, None], 3, axis=2)
    lut = _blend(values, np.broadcast_to(col, values.shape), np.full((256, 1), fill, np.uint8))
    crop = out[y0:y1, x0:x1]
    cv2.copyTo(cv2.LUT(crop, lut), m8, crop)
    if width:
        contour = mask_contour(mask[y0:y1, x0:x1], width)  # the crop holds all of the mask
        solid = cv2.merge([np.full(contour.shape, int(c), np.uint8) for c in col])
        cv2.copyTo(solid, contour.view(np.uint8), crop)
    return out


def overlay_masks(image: np.ndarray, masks: Sequence[np.ndarray],
                  colors: Sequence[Sequence[int]] | None = None, alpha: float = 0.5,
                  contour_width: int = 2) -> np.ndarray:
    """Paint several masks over an image in distinct colours (:func:`masks_rgba` then :func:`composite`)."""
    image = check_image(image)
    layer = masks_rgba(masks, colors, alpha, contour_width)
    return composite(image, layer)


def difference_rgba(sam_mask: np.ndarray, hq_mask: np.ndarray, alpha: float = 0.6, *, other: str = "hq"
                    ) -> np.ndarray:
    """Where SAM and HQ-SAM agree and differ, as an RGBA layer in :func:`diff_colors` (``other``).

    Args:
        sam_mask: ``bool`` ``H x W``, SAM's mask.
        hq_mask: ``bool`` ``H x W``, HQ-SAM's mask (of branch ``other``).
        alpha: opacity of the three classes in ``[0, 1]``.
        other: which HQ-SAM branch ``hq_mask`` is, ``"hq"`` (default, :data:`DIFF_COLORS`) or ``"fused"``:
            its colour marks the pixels only it claims.

    Returns:
        ``uint8`` ``H x W x 4``: ``DIFF_COLORS["hq_only"]`` where only HQ-SAM marks the pixel,
        ``DIFF_COLORS["sam_only"]`` where only SAM does, ``DIFF_COLORS["both"]`` where both do, each with
        alpha ``round(255 * alpha)``; ``(0, 0, 0, 0)`` where neither does.
    """
    sam_mask = check_mask(sam_mask, name="sam_mask")
    hq_mask = check_mask(hq_mask, sam_mask.shape, name="hq_mask")
    import cv2

    a = round(255 * _check_alpha(alpha))
    colors = diff_colors(other)
    lut = np.zeros((256, 4), dtype=np.uint8)  # index: sam + 2 * hq
    lut[1] = (*colors["sam_only"], a)
    lut[2] = (*colors["hq_only"], a)
    lut[3] = (*colors["both"], a)
    code = np.ascontiguousarray(sam_mask).view(np.uint8) + (np.ascontiguousarray(hq_mask).view(np.uint8) << 1)
    return cv2.merge([cv2.LUT(code, np.ascontiguousarray(lut[:, c])) for c in range(4)])


# --- prompts --------------------------------------------------------------------------------------

def draw_points(image: np.ndarray, points: Any, labels: Any = None, radius: int | None = None) -> np.ndarray:
    """Draw prompt points: filled green (positive) / red (negative) discs with a white edge.

    Args:
        image: ``uint8`` ``H x W x 3``.
        points: ``(N, 2)`` array-like of ``(x, y)`` pixels.
        labels: ``(N,)`` 1 = positive, 0 = negative; None means all positive.
        radius: disc radius in pixels; default scales with the image (``max(4, min(H, W) // 80)``).

    Returns:
        A new ``uint8`` ``H x W x 3``.
    """
    import cv2

    image = check_image(image)
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    labs = np.ones(len(pts), np.int32) if labels is None else np.asarray(labels).reshape(-1)
    if len(labs) != len(pts):
        raise ValueError(f"got {len(labs)} labels for {len(pts)} points")
    r = radius if radius is not None else max(4, min(image.shape[:2]) // 80)
    edge = max(1, r // 3)
    out = image.copy()
    for (x, y), lab in zip(pts, labs, strict=True):
        c = (int(round(x)), int(round(y)))
        cv2.circle(out, c, r + edge, (255, 255, 255), -1, lineType=cv2.LINE_AA)
        cv2.circle(out, c, r, POSITIVE_COLOR if lab else NEGATIVE_COLOR, -1, lineType=cv2.LINE_AA)
    return out


def draw_box(image: np.ndarray, box: Any, color: Sequence[int] = BOX_COLOR, thickness: int | None = None
             ) -> np.ndarray:
    """Draw a box prompt ``(x0, y0, x1, y1)`` (pixels) as a rectangle outline; returns a new image."""
    import cv2

    image = check_image(image)
    b = np.asarray(box, dtype=np.float64).reshape(-1)
    if b.shape != (4,):
        raise ValueError(f"box must be (x0, y0, x1, y1), got shape {b.shape}")
    t = thickness if thickness is not None else max(2, min(image.shape[:2]) // 300)
    col = tuple(int(v) for v in _check_color(color))
    out = image.copy()
    x0, y0, x1, y1 = (int(round(v)) for v in b)
    cv2.rectangle(out, (x0, y0), (x1 - 1, y1 - 1), col, t, lineType=cv2.LINE_AA)
    return out


# --- where SAM and HQ-SAM differ ----------------------------------------------------------------------

def disagreement_boxes(sam_mask: np.ndarray, hq_mask: np.ndarray, n: int = 2, size: int | None = None,
                       min_pixels: int = 1, within: Sequence[float] | None = None
                       ) -> list[tuple[int, int, int, int]]:
    """Square windows where SAM and HQ-SAM disagree most, for a boundary zoom.

    The disagreement map is ``sam_mask XOR hq_mask``. The window of side ``size`` holding the most
    disagreeing pixels is taken first (a box filter finds it in one pass; among equally good windows the one
    centred on its disagreement), its pixels are then discounted, and the search repeats, so the windows do
    not overlap on the disagreement they show.

    Args:
        sam_mask, hq_mask: ``bool`` ``H x W``.
        n: at most this many windows.
        size: side of the square window in pixels; default ``max(32, min(H, W) // 5)`` (capped at the image).
        min_pixels: stop when the best remaining window holds fewer disagreeing pixels than this.
        within: ``(x0, y0, x1, y1)`` pixels, e.g. the prompt's box: only disagreement inside it counts, and
            the windows stay inside it where they fit (a window wider than ``within`` is centred on it): a zoom
            onto the object asked for, not onto noise elsewhere in the image.

    Returns:
        Up to ``n`` boxes ``(x0, y0, x1, y1)`` (ints, ``x1``/``y1`` exclusive, inside the image), the most
        disagreeing first; empty when the masks agree everywhere.
    """
    import cv2

    sam_mask = check_mask(sam_mask, name="sam_mask")
    hq_mask = check_mask(hq_mask, sam_mask.shape, name="hq_mask")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be an int >= 0, got {n!r}")
    h, w = sam_mask.shape
    if size is None:
        size = max(32, min(h, w) // 5)
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be an int >= 1 (window side in pixels), got {size!r}")
    sh, sw = min(int(size), h), min(int(size), w)
    diff = (sam_mask ^ hq_mask).astype(np.float32)
    # the top-left corners a window may take: anywhere, or inside ``within`` where the window fits
    ys_ok, xs_ok = (0, h - sh), (0, w - sw)
    if within is not None:
        wx0, wy0, wx1, wy1 = (int(round(float(v))) for v in np.asarray(within, dtype=np.float64).reshape(4))
        wx0, wy0, wx1, wy1 = max(0, wx0), max(0, wy0), min(w, max(0, wx1)), min(h, max(0, wy1))
        keep = np.zeros_like(diff)
        keep[wy0:wy1, wx0:wx1] = 1
        diff *= keep

        def corners(lo: int, hi: int, side: int, limit: int) -> tuple[int, int]:
            if hi - lo >= side:
                return lo, hi - side
            c = int(np.clip((lo + hi) // 2 - side // 2, 0, limit - side))
            return c, c

        ys_ok, xs_ok = corners(wy0, wy1, sh, h), corners(wx0, wx1, sw, w)
    allowed = np.zeros((h - sh + 1, w - sw + 1), bool)
    allowed[ys_ok[0]:ys_ok[1] + 1, xs_ok[0]:xs_ok[1] + 1] = True
    boxes: list[tuple[int, int, int, int]] = []
    for _ in range(int(n)):
        # counts[y, x] = diff[y:y + sh, x:x + sw].sum(): the window anchored at its top-left corner
        counts = cv2.boxFilter(diff, -1, (sw, sh), anchor=(0, 0), normalize=False,
                               borderType=cv2.BORDER_CONSTANT)[: h - sh + 1, : w - sw + 1]
        counts = np.where(allowed, counts, -1.0)
        y0, x0 = np.unravel_index(int(np.argmax(counts)), counts.shape)
        if counts[y0, x0] < max(min_pixels, 0.5):
            break
        best = float(counts[y0, x0])
        # among equally good windows, prefer the one centred on the disagreement it holds
        ys, xs = np.nonzero(diff[y0:y0 + sh, x0:x0 + sw])
        cy = int(np.clip(round(y0 + ys.mean()) - sh // 2, ys_ok[0], ys_ok[1]))
        cx = int(np.clip(round(x0 + xs.mean()) - sw // 2, xs_ok[0], xs_ok[1]))
        if counts[cy, cx] >= best:
            y0, x0 = cy, cx
        boxes.append((int(x0), int(y0), int(x0) + sw, int(y0) + sh))
        diff[y0:y0 + sh, x0:x0 + sw] = 0
    return boxes


def crop_zoom(image: np.ndarray, box: Sequence[int], out_size: int | None = None) -> np.ndarray:
    """Crop ``box = (x0, y0, x1, y1)`` (ints, exclusive ends) and enlarge it with nearest-neighbour sampling.

    Nearest-neighbour keeps single pixels visible as squares: the point of a boundary zoom.

    Args:
        image: ``H x W`` or ``H x W x C`` array (any dtype OpenCV resizes: uint8, bool as uint8, float32).
        box: the crop, clipped to the image.
        out_size: the longer side of the result; default: the crop's own size (no enlargement).
    """
    import cv2

    x0, y0, x1, y1 = (int(v) for v in box)
    h, w = image.shape[:2]
    x0, x1 = max(0, x0), min(w, x1)
    y0, y1 = max(0, y0), min(h, y1)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"box {tuple(box)} does not overlap the {w} x {h} image")
    crop = np.ascontiguousarray(image[y0:y1, x0:x1])
    if out_size is None:
        return crop
    scale = out_size / max(crop.shape[:2])
    dsize = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    if crop.dtype == np.bool_:
        return cv2.resize(crop.view(np.uint8), dsize, interpolation=cv2.INTER_NEAREST).astype(bool)
    return cv2.resize(crop, dsize, interpolation=cv2.INTER_NEAREST)


def wipe_image(left: np.ndarray, right: np.ndarray, position: float,
               line_color: Sequence[int] = (255, 255, 255), line_width: int = 2) -> np.ndarray:
    """A "wipe" between two renderings of one image: ``left`` left of the cut, ``right`` from the cut on.

    Args:
        left, right: ``uint8`` ``H x W x 3`` of one shape (e.g. SAM's and HQ-SAM's overlays).
        position: the cut as a fraction of the width in ``[0, 1]``: 0 shows only ``right``, 1 only ``left``.
        line_color: colour of the vertical line drawn at the cut (``line_width`` 0 for none).

    Returns:
        A new ``uint8`` ``H x W x 3``.
    """
    left = check_image(left, "left")
    right = check_image(right, "right")
    if left.shape != right.shape:
        raise ValueError(f"left {left.shape} and right {right.shape} must have the same shape")
    pos = _check_alpha(position) if not isinstance(position, bool) else float(position)
    w = left.shape[1]
    cut = int(round(pos * w))
    out = right.copy()
    out[:, :cut] = left[:, :cut]
    if line_width > 0 and 0 < cut < w:
        half = line_width // 2
        out[:, max(0, cut - half): min(w, cut - half + line_width)] = _check_color(line_color, "line_color")
    return out


def label_panels(panels: Sequence[np.ndarray], titles: Sequence[str] | None = None, gap: int = 4,
                 height: int | None = None, background: Sequence[int] = (255, 255, 255)) -> np.ndarray:
    """Put images side by side with a title bar over each: one ``uint8`` picture (a GIF frame, a thumbnail).

    Args:
        panels: ``uint8`` ``H x W x 3`` images; resized (keeping aspect ratio) to a common height.
        titles: one short string per panel (ASCII: OpenCV's Hershey fonts), or None for no title bars; a
            title wider than its panel is set in a smaller size so that it fits.
        gap: pixels between panels.
        height: the panels' common height; default the first panel's height.
        background: colour of the gaps and the title bars.

    Returns:
        ``uint8`` ``(bar + height) x total_width x 3``.
    """
    import cv2

    panels = [check_image(p, f"panels[{i}]") for i, p in enumerate(panels)]
    if not panels:
        raise ValueError("panels is empty")
    if titles is not None and len(titles) != len(panels):
        raise ValueError(f"got {len(titles)} titles for {len(panels)} panels")
    height = int(height or panels[0].shape[0])
    resized = [p if p.shape[0] == height else
               cv2.resize(p, (max(1, round(p.shape[1] * height / p.shape[0])), height),
                          interpolation=cv2.INTER_AREA) for p in panels]
    scale = max(0.55, height / 500)
    thickness = max(1, round(scale * 1.5))
    bar = 0 if titles is None else int(32 * scale) + 8
    width = sum(p.shape[1] for p in resized) + gap * (len(resized) - 1)
    bg = _check_color(background, "background")
    out = np.empty((bar + height, width, 3), np.uint8)
    out[:] = bg
    x = 0
    for i, p in enumerate(resized):
        out[bar:, x:x + p.shape[1]] = p
        if titles is not None:  # a title wider than its panel is set smaller, never cut at the panel's edge
            (tw, _), _ = cv2.getTextSize(str(titles[i]), cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
            fit = scale * min(1.0, (p.shape[1] - 12) / max(tw, 1))
            cv2.putText(out, str(titles[i]), (x + 6, bar - 10), cv2.FONT_HERSHEY_SIMPLEX, fit, (0, 0, 0),
                        max(1, round(fit * 1.5)), cv2.LINE_AA)
        x += p.shape[1] + gap
    return out


def comparison_panel(image: np.ndarray, prediction: Any, fused: bool = False, prompt: bool = True,
                     height: int | None = None, weights: ProvenanceLike = None) -> np.ndarray:
    """image | SAM | HQ-SAM (| fused) as one labelled ``uint8`` picture, e.g. a frame of a comparison GIF.

    Args:
        image: ``uint8`` ``H x W x 3``.
        prediction: a :class:`~hqsam_nb.PairPrediction` (anything with ``.sam``, ``.hq``, ``.fused`` results
            holding ``.mask`` and ``.score``, and a ``.prompt``).
        fused: add the fused (SAM + HQ token) mask as a fourth panel.
        prompt: draw the prompt's points and box on every panel.
        height: output panel height; default the image's.
        weights: the pair (or its ``WeightsProvenance``); frames made with weights that are not the
            official ones get a red bar saying so (:func:`stamp_array`). Titles give each branch's label and
            its predicted IoU ("pIoU": the model's own estimate, not a measurement).
    """
    image = check_image(image)
    keys = ("sam", "hq", "fused") if fused else ("sam", "hq")
    results = [(BRANCHES[k].label, getattr(prediction, k), BRANCHES[k].color) for k in keys]
    # markers sized for the output: about 6 px discs and 2 px lines after resizing to `height`
    shrink = image.shape[0] / (height or image.shape[0])
    radius, thickness = max(3, round(6 * shrink)), max(2, round(2 * shrink))
    base = draw_prompt(image, prediction.prompt, radius, thickness) if prompt else image
    panels = [base]
    titles = ["image + prompt" if prompt else "image"]
    for name, res, color in results:
        panel = overlay_mask(image, res.mask, color, contour_width=max(1, round(shrink)))
        panels.append(draw_prompt(panel, prediction.prompt, radius, thickness) if prompt else panel)
        titles.append(f"{name} pIoU {res.score:.2f}")
    out = label_panels(panels, titles, height=height)
    return stamp_array(out, weights)


def draw_prompt(image: np.ndarray, prompt: Any, radius: int | None = None, thickness: int | None = None
                ) -> np.ndarray:
    """Draw a :class:`~hqsam_nb.Prompt`'s box and points (either may be None) on a copy of ``image``.

    ``radius`` (points) and ``thickness`` (box) default to sizes that scale with the image.
    """
    out = image
    if getattr(prompt, "box", None) is not None:
        out = draw_box(out, prompt.box, thickness=thickness)
    if getattr(prompt, "points", None) is not None:
        out = draw_points(out, prompt.points, prompt.labels, radius=radius)
    return out if out is not image else image.copy()


def stamp_array(picture: np.ndarray, weights: ProvenanceLike) -> np.ndarray:
    """``picture`` with a red bar across its top saying the weights are random / not official, when they are.

    Args:
        picture: ``uint8`` ``H x W x 3``.
        weights: a :class:`~hqsam_nb.models.provenance.WeightsProvenance`, a pair (its ``.info``), or None.

    Returns:
        ``picture`` itself when the weights are official (or ``weights`` is None), else a taller copy with the
        bar on top.
    """
    import cv2

    from ..models.provenance import provenance_of

    info = provenance_of(weights)
    text = None if info is None else info.warning()
    if text is None:
        return picture
    picture = check_image(picture, "picture")
    w = picture.shape[1]
    scale = max(0.4, min(0.8, w / 1400))
    bar = int(30 * scale) + 10
    out = np.empty((picture.shape[0] + bar, w, 3), np.uint8)
    out[:bar] = (200, 0, 0)
    out[bar:] = picture
    cv2.putText(out, text.encode("ascii", "replace").decode(), (6, bar - 8), cv2.FONT_HERSHEY_SIMPLEX, scale,
                (255, 255, 255), max(1, round(scale * 2)), cv2.LINE_AA)
    return out
