"""Speed, memory and size of SAM and HQ-SAM, measured the same way for both; the one timing method of the package.

:func:`hqsam_nb.util.time_call` is how everything here is timed (warm-up calls, then the median of repeated calls,
with a CUDA synchronisation around each): :func:`measure_speed` (notebook 04's speed table) and
:func:`hqsam_nb.architecture.stage_costs` (notebook 01's cost per stage) both use it.

Per model (SAM: original decoder; HQ-SAM: the official HQ decoder, which gives the HQ token's mask and the fused
mask in one pass, so both HQ-SAM branches cost the same) it times:

* the image encoder (shared: HQ-SAM freezes SAM's encoder, so its cost is the same for both);
* the prompt encoder + mask decoder for one box, including the official HQ decoder's per-call HQ-feature
  computation and the upsampling of the masks to the image's size;

and derives images/s for one image with one box (encoder + decoder). Memory is per model: on a GPU the CUDA
allocator's peak (``max_memory_allocated``) over one image through that model; on a CPU the model's parameter
bytes plus the peak bytes of the tensors alive at once during one image (:func:`peak_activation_bytes`), so that
SAM and HQ-SAM are compared, not the Python process. Sizes are parameter counts and fp32 megabytes (MiB, as the
paper's "params" columns), total and learnable (HQ-SAM trains only its HQ modules).

``encoder_dtype="bfloat16"`` runs the image encoder under autocast, as :func:`~hqsam_nb.pair.load_pair`
does; the decoders stay in float32.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..util import time_call

if TYPE_CHECKING:
    from ..pair.predictor import PairPredictor

__all__ = ["ModelSize", "SpeedResult", "measure_speed", "model_size", "peak_activation_bytes", "speed_rows"]

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
    branch: str  # "SAM" or "HQ-SAM" (the HQ decoder: HQ token and fused masks from one pass)
    device: str
    dtype: str  # the image encoder's
    encoder_ms: float
    decoder_ms: float
    images_per_s: float
    peak_memory_mb: float  # CUDA: allocator peak; CPU: parameters + peak activations
    memory_kind: str  # "cuda max allocated" or "parameters + peak activations"
    params_m: float
    total_mb: float
    learnable_mb: float
    repeats: int
    warmup: int = 0
    activation_mb: float = float("nan")  # CPU: the peak bytes of live tensors during one image

    @property
    def label(self) -> str:
        """``"HQ-SAM vit_tiny"``, or ``"Light HQ-SAM (vit_tiny)"`` / ``"MobileSAM (vit_tiny)"`` for TinyViT."""
        if self.model == "vit_tiny":
            return "MobileSAM (vit_tiny)" if self.branch == "SAM" else "Light HQ-SAM (vit_tiny)"
        return f"{self.branch} {self.model}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _median_ms(fn: Callable[[], Any], device: torch.device, repeats: int, warmup: int) -> float:
    return time_call(fn, device, repeats=repeats, warmup=warmup).median_ms


def peak_activation_bytes(fn: Callable[[], Any]) -> int:
    """The most bytes of tensor storage alive at once while ``fn()`` runs, counting only storage made by it.

    Every tensor an operator returns is seen through a ``TorchDispatchMode``; its storage is counted from
    then until the tensor is freed. Parameters and inputs that exist before the call are not counted, so
    this is the memory the computation itself needs on top of the weights (approximate: a storage is
    released when the first tensor seen on it is freed, which views may outlive).
    """
    import weakref

    from .._compat import dispatch_mode_tools

    TorchDispatchMode, tree_flatten = dispatch_mode_tools()  # noqa: N806 - a class and a function

    live: dict[int, int] = {}
    state = {"now": 0, "peak": 0}

    def release(key: int) -> None:
        state["now"] -= live.pop(key, 0)

    class _Track(TorchDispatchMode):
        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            out = func(*args, **(kwargs or {}))
            for t in tree_flatten(out)[0]:
                if isinstance(t, torch.Tensor) and t.device.type != "meta":
                    storage = t.untyped_storage()
                    key, nbytes = storage.data_ptr(), storage.nbytes()
                    if nbytes and key not in live:
                        live[key] = nbytes
                        state["now"] += nbytes
                        state["peak"] = max(state["peak"], state["now"])
                        weakref.finalize(t, release, key)
            return out

    with _Track():
        result = fn()
    del result
    return int(state["peak"])


def _param_bytes(modules: Any) -> int:
    return sum(p.numel() * p.element_size() for m in modules for p in m.parameters())


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
        for branch, decode, params, learnable, modules in (
                ("SAM", decode_sam, size.sam_params, size.sam_params,
                 (model.image_encoder, model.prompt_encoder, pair.sam_decoder)),
                ("HQ-SAM", decode_hq, size.hq_params, size.hq_extra_params,
                 (model.image_encoder, model.prompt_encoder, model.mask_decoder))):
            decoder_ms = _median_ms(decode, device, repeats, warmup)

            def one_image(decode: Callable = decode, branch: str = branch) -> Any:
                f, i = encode()
                return decode(f) if branch == "SAM" else decode(f, i)

            activation_mb = float("nan")
            if device.type == "cuda":  # peak of one whole image through this model
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats(device)
                one_image()
                torch.cuda.synchronize(device)
                memory_mb, kind = torch.cuda.max_memory_allocated(device) / _MIB, "cuda max allocated"
            else:
                activation_mb = peak_activation_bytes(one_image) / _MIB
                memory_mb, kind = _param_bytes(modules) / _MIB + activation_mb, "parameters + peak activations"
            results.append(SpeedResult(
                model=size.model, branch=branch, device=_device_name(device), dtype=dtype_name or "float32",
                encoder_ms=encoder_ms, decoder_ms=decoder_ms, images_per_s=1e3 / (encoder_ms + decoder_ms),
                peak_memory_mb=memory_mb, memory_kind=kind, params_m=params / 1e6, total_mb=size.mb(params),
                learnable_mb=size.mb(learnable), repeats=repeats, warmup=warmup, activation_mb=activation_mb))
    return results


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import platform

    return f"cpu ({platform.machine()}, {torch.get_num_threads()} threads)"


def speed_rows(results: list[SpeedResult]) -> tuple[list[str], list[list[Any]]]:
    """Header and rows for :func:`~hqsam_nb.evaluation.runner.markdown_table`, in the paper's column order."""
    header = ["model", "encoder dtype", "total (MB)", "learnable (MB)", "encoder ms", "decoder ms", "FPS",
              "memory (MB)"]
    rows = [[r.label, r.dtype, r.total_mb, r.learnable_mb, r.encoder_ms, r.decoder_ms,
             r.images_per_s, r.peak_memory_mb] for r in results]
    return header, rows
