"""The automatic mask generator's parameters: the official ``SamAutomaticMaskGenerator``'s names and defaults,
checked once, at our boundary, with errors that name the parameter and the accepted range.

The official class checks almost nothing (two ``assert`` s); a negative ``points_per_side`` or a threshold of 5
would otherwise fail deep inside torchvision or silently keep no mask.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["DEFAULT_PARAMS", "MAX_CROP_N_LAYERS", "MAX_GRID_POINTS", "MAX_POINTS_PER_BATCH", "MAX_POINTS_PER_SIDE",
           "OUTPUT_MODES", "check_params"]

#: ``segment_anything_hq.SamAutomaticMaskGenerator``'s defaults (chosen by Meta for SAM ViT-H).
DEFAULT_PARAMS: dict[str, Any] = {
    "points_per_side": 32,
    "points_per_batch": 64,
    "pred_iou_thresh": 0.88,
    "stability_score_thresh": 0.95,
    "stability_score_offset": 1.0,
    "box_nms_thresh": 0.7,
    "crop_n_layers": 0,
    "crop_nms_thresh": 0.7,
    "crop_overlap_ratio": 512 / 1500,
    "crop_n_points_downscale_factor": 1,
    "point_grids": None,
    "min_mask_region_area": 0,
    "output_mode": "binary_mask",
}

#: Upper limits: past them the official generator's grids, crops and batches exhaust memory before any result
#: (points_per_side 100000 asks for 10^10 points; crop_n_layers 14 for 4^14 crops of the last layer).
MAX_POINTS_PER_SIDE = 256
MAX_CROP_N_LAYERS = 4
MAX_POINTS_PER_BATCH = 1024
#: At most this many points in one grid of ``point_grids`` (a 256 x 256 grid).
MAX_GRID_POINTS = MAX_POINTS_PER_SIDE**2

#: How records hold their mask: a ``bool`` array, the official uncompressed RLE, or COCO's compressed RLE.
OUTPUT_MODES: tuple[str, ...] = ("binary_mask", "uncompressed_rle", "coco_rle")


def _int(params: dict[str, Any], name: str, low: int, high: int | None = None) -> None:
    value = params[name]
    if (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low
            or (high is not None and value > high)):
        rng = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an int {rng}, got {value!r:.40}")
    params[name] = int(value)


def _real(params: dict[str, Any], name: str, low: float, high: float, *, high_open: bool = False) -> None:
    value = params[name]
    ok = not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
    if ok:
        value = float(value)
        ok = math.isfinite(value) and low <= value and (value < high if high_open else value <= high)
    if not ok:
        rng = f">= {low:g}" if math.isinf(high) else f"in [{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be a number {rng}, got {params[name]!r}")
    params[name] = value


def check_params(**overrides: Any) -> dict[str, Any]:
    """The full parameter set: :data:`DEFAULT_PARAMS` updated by ``overrides``, each value checked.

    Accepted values (what the official code needs to run and mean something):

    * ``points_per_side``: int in [1, :data:`MAX_POINTS_PER_SIDE`], or None when ``point_grids`` is given (exactly
      one of the two);
    * ``points_per_batch``: int in [1, :data:`MAX_POINTS_PER_BATCH`] (points decoded per call: memory, not results);
    * ``pred_iou_thresh``, ``stability_score_thresh``, ``box_nms_thresh``, ``crop_nms_thresh``: in [0, 1];
    * ``stability_score_offset``: >= 0 (the logit shift of the stability score; 0 makes every score 1);
    * ``crop_n_layers``: int in [0, :data:`MAX_CROP_N_LAYERS`]; ``crop_overlap_ratio``: in [0, 1);
      ``crop_n_points_downscale_factor``: int >= 1;
    * ``point_grids``: None, or ``crop_n_layers + 1`` arrays ``(N_i, 2)`` of ``(x, y)`` in [0, 1] (fractions of
      the crop's width and height), each of at most :data:`MAX_GRID_POINTS` points;
    * ``min_mask_region_area``: int >= 0 (pixels; 0 switches the hole/island clean-up off);
    * ``output_mode``: one of :data:`OUTPUT_MODES`.

    Raises:
        TypeError: an unknown parameter name. ValueError: a value out of range (the message names it and the
            range).
    """
    unknown = sorted(set(overrides) - set(DEFAULT_PARAMS))
    if unknown:
        raise TypeError(f"unknown parameter(s) {', '.join(unknown)}; accepted: {', '.join(DEFAULT_PARAMS)}")
    params = {**DEFAULT_PARAMS, **overrides}
    if "point_grids" in overrides and overrides["point_grids"] is not None and "points_per_side" not in overrides:
        params["points_per_side"] = None  # giving grids replaces the default 32 x 32 grid
    if (params["points_per_side"] is None) == (params["point_grids"] is None):
        raise ValueError("give exactly one of points_per_side (an int >= 1) and point_grids (a list of (N, 2) "
                         f"arrays), got points_per_side={params['points_per_side']!r} and "
                         f"point_grids={'None' if params['point_grids'] is None else 'a list'}")
    if params["points_per_side"] is not None:
        _int(params, "points_per_side", 1, MAX_POINTS_PER_SIDE)
    _int(params, "points_per_batch", 1, MAX_POINTS_PER_BATCH)
    for name in ("pred_iou_thresh", "stability_score_thresh", "box_nms_thresh", "crop_nms_thresh"):
        _real(params, name, 0.0, 1.0)
    _real(params, "stability_score_offset", 0.0, math.inf)
    _int(params, "crop_n_layers", 0, MAX_CROP_N_LAYERS)
    _real(params, "crop_overlap_ratio", 0.0, 1.0, high_open=True)
    _int(params, "crop_n_points_downscale_factor", 1)
    _int(params, "min_mask_region_area", 0)
    if params["output_mode"] not in OUTPUT_MODES:
        raise ValueError(f"output_mode must be one of {', '.join(OUTPUT_MODES)}, got {params['output_mode']!r}")
    if params["point_grids"] is not None:
        params["point_grids"] = _check_grids(params["point_grids"], params["crop_n_layers"])
    return params


def _check_grids(grids: Any, crop_n_layers: int) -> list[np.ndarray]:
    if isinstance(grids, np.ndarray) or not isinstance(grids, (list, tuple)):
        raise ValueError(f"point_grids must be a list of (N, 2) arrays, one per crop layer, got "
                         f"{type(grids).__name__}")
    if len(grids) != crop_n_layers + 1:
        raise ValueError(f"point_grids must hold crop_n_layers + 1 = {crop_n_layers + 1} grids (one per crop layer), "
                         f"got {len(grids)}")
    out = []
    for i, grid in enumerate(grids):
        arr = np.asarray(grid, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != 2 or not 1 <= len(arr) <= MAX_GRID_POINTS:
            raise ValueError(f"point_grids[{i}] must have shape (N, 2) with N in [1, {MAX_GRID_POINTS}], got shape "
                             f"{arr.shape}")
        if not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 1:
            raise ValueError(f"point_grids[{i}] must hold (x, y) fractions in [0, 1], got values from "
                             f"{np.nanmin(arr):g} to {np.nanmax(arr):g}")
        out.append(arr)
    return out
