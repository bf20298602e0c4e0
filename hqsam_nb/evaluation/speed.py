"""Speed, memory and size of SAM and HQ-SAM, measured the same way for both.

Per branch (SAM: original decoder; HQ-SAM: the official HQ decoder, ``hq_token_only=False``) it times, with
warm-up runs and medians over repeats:

* the image encoder (shared: HQ-SAM freezes SAM's encoder, so its cost is the same for both);
* the prompt encoder + mask decoder for one box, including the official HQ decoder's per-call HQ-feature
  computation and the upsampling of the masks to the image's size;

and derives images/s for one image with one box (encoder + decoder). Peak memory is the CUDA allocator's
``max_memory_allocated`` on a GPU, the process's resident set size (RSS) on a CPU (it includes Python and
everything else loaded: compare branches, not machines). Sizes are parameter counts and fp32 megabytes
(MiB, as the paper's "params" columns), total and learnable (HQ-SAM trains only its HQ modules).

``encoder_dtype="bfloat16"`` runs the image encoder under autocast, as :func:`~hqsam_nb.pair.load_pair`
does; the decoders stay in float32.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from ..pair.predictor import PairPredictor

__all__ = ["ModelSize", "SpeedResult", "measure_speed", "model_size", "speed_rows"]

_MIB = 2**20


@dataclass(frozen=True)
class ModelSize:
    """Parameter counts of a pair: SAM's (all frozen in HQ-SAM) and HQ-SAM's additions (learnable)."""

    model: str
    sam_params: int
    hq_extra_params: int

    @property
    def hq_params(self) -> int:
        return self.sam_params + self.hq_extra_params

    def mb(self, params: int) -> float:
        """fp32 megabytes (MiB) of ``params`` parameters."""
        return params * 4 / _MIB


def model_size(pair: PairPredictor) -> ModelSize:
    """Count SAM's and HQ-SAM's parameters in a :class:`~hqsam_nb.pair.PairPredictor`
    (:func:`hqsam_nb.architecture.parameter_table` of its model)."""
    from ..architecture import parameter_table

    table = parameter_table(pair.model)
    return ModelSize(pair.info.model, table.sam_part.params, table.hq_additions.params)


@dataclass(frozen=True)
class SpeedResult:
    """One measured row: a branch of a variant at one encoder dtype on one device."""

    model: str
    branch: str  # "SAM" or "HQ-SAM"
    device: str
    dtype: str  # the image encoder's
    encoder_ms: float
    decoder_ms: float
    images_per_s: float
    peak_memory_mb: float
    memory_kind: str  # "cuda max allocated" or "process RSS"
    params_m: float
    total_mb: float
    learnable_mb: float
    repeats: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _median_ms(fn: Callable[[], Any], device: torch.device, repeats: int, warmup: int) -> float:
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def _memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / _MIB
    import psutil

    return psutil.Process().memory_info().rss / _MIB


@torch.inference_mode()
def measure_speed(pair: PairPredictor, image: np.ndarray | None = None, *, box: Any = None,
                  encoder_dtypes: tuple[str | None, ...] | None = None, repeats: int = 5,
                  warmup: int = 2) -> list[SpeedResult]:
    """Time SAM and HQ-SAM on one image and one box prompt.

    Args:
        pair: a :class:`~hqsam_nb.pair.PairPredictor` (only its modules are used; its cache is untouched).
        image: RGB ``uint8`` ``H x W x 3``; default a 768 x 1024 synthetic scene.
        box: ``(x0, y0, x1, y1)`` pixels; default the middle half of the image.
        encoder_dtypes: e.g. ``(None, "bfloat16")``; default float32 only on CPU, float32 and bfloat16 on
            a GPU.
        repeats: timed runs per measurement (the median is reported). warmup: untimed runs first.

    Returns:
        Two :class:`SpeedResult` s (SAM, HQ-SAM) per encoder dtype.
    """
    from ..io.images import as_rgb_uint8
    from ..pair.preprocess import encoder_input, prompt_tensors
    from ..pair.prompts import make_prompt_batch

    if image is None:
        from ..io.synthetic import thin_structure_scene

        image = thin_structure_scene("fence", (768, 1024), seed=0)[0]
    rgb = as_rgb_uint8(image)
    h, w = rgb.shape[:2]
    if box is None:
        box = (w / 4, h / 4, 3 * w / 4, 3 * h / 4)
    model, device = pair.model, pair.device
    if encoder_dtypes is None:
        encoder_dtypes = (None, "bfloat16") if device.type == "cuda" else (None,)
    size = model_size(pair)
    x, input_size = encoder_input(model, rgb)
    _, boxes = prompt_tensors(make_prompt_batch(boxes=[box], image_size=(h, w)), (h, w), model.image_encoder.img_size,
                              device)
    pe = model.prompt_encoder.get_dense_pe()
    results = []
    for dtype_name in encoder_dtypes:
        dtype = {None: None, "float32": None, "bfloat16": torch.bfloat16,
                 "float16": torch.float16}[dtype_name]

        def autocast(dtype: torch.dtype | None = dtype) -> contextlib.AbstractContextManager:
            return (contextlib.nullcontext() if dtype is None
                    else torch.autocast(device_type=device.type, dtype=dtype))

        def encode() -> tuple[torch.Tensor, list[torch.Tensor]]:
            with autocast():
                features, interm = model.image_encoder(x)
            return features.float(), [t.float() for t in interm]

        features, interm = encode()

        def decode_sam(features: torch.Tensor = features) -> torch.Tensor:
            sparse, dense = model.prompt_encoder(points=None, boxes=boxes, masks=None)
            low, _ = pair.sam_decoder(image_embeddings=features, image_pe=pe, sparse_prompt_embeddings=sparse,
                                      dense_prompt_embeddings=dense, multimask_output=False,
                                      hq_token_only=False, interm_embeddings=None)
            return model.postprocess_masks(low, input_size, (h, w)) > model.mask_threshold

        def decode_hq(features: torch.Tensor = features, interm: list = interm) -> torch.Tensor:
            sparse, dense = model.prompt_encoder(points=None, boxes=boxes, masks=None)
            low, _ = model.mask_decoder(image_embeddings=features, image_pe=pe,
                                        sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                        multimask_output=False, hq_token_only=False,
                                        interm_embeddings=interm)
            return model.postprocess_masks(low, input_size, (h, w)) > model.mask_threshold

        encoder_ms = _median_ms(encode, device, repeats, max(0, warmup - 1))  # the call above warmed up
        for branch, decode, params, learnable in (
                ("SAM", decode_sam, size.sam_params, size.sam_params),
                ("HQ-SAM", decode_hq, size.hq_params, size.hq_extra_params)):
            decoder_ms = _median_ms(decode, device, repeats, warmup)
            if device.type == "cuda":  # peak of one whole image through this branch
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats(device)
                f, i = encode()
                if branch == "SAM":
                    decode_sam(f)
                else:
                    decode_hq(f, i)
                _sync(device)
            results.append(SpeedResult(
                model=size.model, branch=branch, device=_device_name(device), dtype=dtype_name or "float32",
                encoder_ms=encoder_ms, decoder_ms=decoder_ms, images_per_s=1e3 / (encoder_ms + decoder_ms),
                peak_memory_mb=_memory_mb(device),
                memory_kind="cuda max allocated" if device.type == "cuda" else "process RSS",
                params_m=params / 1e6, total_mb=size.mb(params), learnable_mb=size.mb(learnable),
                repeats=repeats))
    return results


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import platform

    return f"cpu ({platform.machine()}, {torch.get_num_threads()} threads)"


def speed_rows(results: list[SpeedResult]) -> tuple[list[str], list[list[Any]]]:
    """Header and rows for :func:`~hqsam_nb.evaluation.runner.markdown_table`, in the paper's column order."""
    header = ["model", "encoder dtype", "total (MB)", "learnable (MB)", "encoder ms", "decoder ms", "FPS",
              "peak memory (MB)"]
    rows = [[f"{r.branch} {r.model}", r.dtype, r.total_mb, r.learnable_mb, r.encoder_ms, r.decoder_ms,
             r.images_per_s, r.peak_memory_mb] for r in results]
    return header, rows
