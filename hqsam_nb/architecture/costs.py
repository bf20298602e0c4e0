"""FLOPs (``torch.utils.flop_counter``) and wall time per stage of SAM and HQ-SAM."""


from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from .._compat import meta_nonzero_assumed
from ..io.images import ImageLike, as_rgb_uint8
from ..models.loading import HQ_PARAM_PREFIXES
from ..pair.prompts import make_prompt
from ..util import markdown_table, time_call

if TYPE_CHECKING:
    from segment_anything_hq.modeling import Sam

from .trace import _check_model, _model_input

logger = logging.getLogger(__name__)

__all__ = [
    "StageCost",
    "format_costs",
    "stage_costs",
]


@dataclass(frozen=True)
class StageCost:
    """FLOPs and time of one stage.

    Attributes:
        stage: ``"image encoder"``, ``"prompt encoder"``, ``"SAM mask decoder"``, ``"HQ-SAM mask decoder"``,
            ``"HQ additions"`` (HQ decoder minus SAM decoder), or ``"HQ additions: <module>"``.
        flops: counted by ``torch.utils.flop_counter.FlopCounterMode`` (2 FLOPs per multiply-add).
        ms: median wall time in milliseconds, or None (on ``meta``, or for per-module rows).
    """

    stage: str
    flops: int
    ms: float | None


def stage_costs(model: Sam, image: ImageLike, points: Any = None, labels: Any = None, box: Any = None, *,
                repeats: int = 3, warmup: int = 1) -> tuple[StageCost, ...]:
    """FLOPs and wall time of each stage, on the official modules called as ``Sam.forward`` calls them.

    The original SAM decoder is the official ``MaskDecoder`` sharing the HQ model's frozen modules (as in
    :class:`~hqsam_nb.PairPredictor`), run on the same inputs, so ``HQ additions`` = HQ decoder - SAM decoder
    is exactly what HQ-SAM adds: the three fusion convolutions, the HQ token in the transformer, its MLP and
    its mask product. On a ``meta`` model FLOPs are counted without computing anything and times are None.

    Args:
        model: an HQ-SAM ``Sam``; image and prompt as in :func:`record_forward`.
        repeats: timed runs per stage (the median is reported); warmup: untimed runs first. Timed by
            :func:`hqsam_nb.util.time_call`, the same method as notebook 04's speed table.
    """
    from torch.utils.flop_counter import FlopCounterMode

    from ..models.decoders import sam_decoder_of

    _check_model(model)
    if not isinstance(repeats, int) or repeats < 1 or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"repeats must be an int >= 1 and warmup an int >= 0, got {repeats!r}, {warmup!r}")
    arr = image if isinstance(image, np.ndarray) and image.ndim == 3 else as_rgb_uint8(image)
    prompt = make_prompt(points, labels, box, image_size=arr.shape[:2])
    record, _ = _model_input(model, arr, prompt)
    dev = model.device
    is_meta = dev.type == "meta"
    sam_decoder = sam_decoder_of(model.mask_decoder)
    pts = (record["point_coords"], record["point_labels"]) if "point_coords" in record else None
    state: dict[str, Any] = {}

    def encoder() -> None:
        state["emb"], state["interm"] = model.image_encoder(model.preprocess(record["image"])[None])

    def prompt_encoder() -> None:
        sparse_dense = model.prompt_encoder(points=pts, boxes=record.get("boxes"), masks=None)
        state["sparse"], state["dense"] = sparse_dense
        state["pe"] = model.prompt_encoder.get_dense_pe()

    def decoder_kwargs() -> dict[str, Any]:
        return dict(image_embeddings=state["emb"], image_pe=state["pe"],
                    sparse_prompt_embeddings=state["sparse"], dense_prompt_embeddings=state["dense"],
                    multimask_output=False, hq_token_only=False)

    def sam_dec() -> None:
        sam_decoder(**decoder_kwargs(), interm_embeddings=None)

    def hq_dec() -> None:
        model.mask_decoder(**decoder_kwargs(), interm_embeddings=state["interm"])

    stages = (("image encoder", encoder), ("prompt encoder", prompt_encoder), ("SAM mask decoder", sam_dec),
              ("HQ-SAM mask decoder", hq_dec))
    flops: dict[str, int] = {}
    per_module: dict[str, int] = {}
    ctx = meta_nonzero_assumed() if is_meta else contextlib.nullcontext()
    with torch.inference_mode(), ctx:
        for name, fn in stages:
            with FlopCounterMode(display=False) as counter:
                fn()
            flops[name] = int(counter.get_total_flops())
            if name == "HQ-SAM mask decoder":
                for mod, counts in counter.get_flop_counts().items():
                    leaf = mod.rsplit(".", 1)[-1]
                    if mod.count(".") == 1 and leaf in HQ_PARAM_PREFIXES:
                        per_module[leaf] = int(sum(counts.values()))
        times: dict[str, float | None] = {name: None for name, _ in stages}
        if not is_meta:
            # the package's one timing method (as notebook 04's speed table): warm-up, then the median
            times = {name: time_call(fn, dev, repeats=repeats, warmup=warmup).median_ms for name, fn in stages}
    rows = [StageCost(name, flops[name], times[name]) for name, _ in stages]
    hq_ms = times["HQ-SAM mask decoder"]
    sam_ms = times["SAM mask decoder"]
    rows.append(StageCost("HQ additions", flops["HQ-SAM mask decoder"] - flops["SAM mask decoder"],
                          None if hq_ms is None or sam_ms is None else hq_ms - sam_ms))
    rows.extend(StageCost(f"HQ additions: {m}", per_module.get(m, 0), None)
                for m in HQ_PARAM_PREFIXES if m in per_module)
    return tuple(rows)


def format_costs(costs: Sequence[StageCost]) -> str:
    """Stage costs as a markdown table (GFLOPs, ms, share of the whole model's FLOPs)."""
    parts = ("image encoder", "prompt encoder", "HQ-SAM mask decoder")
    whole = sum(c.flops for c in costs if c.stage in parts)
    rows = [[c.stage, f"{c.flops / 1e9:.3f}", "-" if c.ms is None else f"{c.ms:.1f}",
             f"{100 * c.flops / whole:.2f}"] for c in costs]
    return markdown_table(["stage", "GFLOPs", "ms", "% of HQ-SAM FLOPs"], rows, align="lrrr")


