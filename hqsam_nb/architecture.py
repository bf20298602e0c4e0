"""Architecture introspection: what HQ-SAM adds to SAM, measured from the official model itself.

Everything here reads the live ``segment_anything_hq`` model; nothing is re-implemented and no number is
hard-coded:

* :func:`parameter_table` - parameters per component (image encoder, prompt encoder, SAM's mask decoder and
  each HQ addition), from the model's own ``named_parameters``; :func:`meta_model` builds any variant on
  PyTorch's ``meta`` device (shapes only, no memory), so counting ViT-H costs nothing;
* :func:`record_forward` - one image and one prompt through the official ``Sam.forward`` with forward hooks:
  each stage's tensor shapes (the trace), the intermediate features (early ViT feature, image embedding,
  global-local HQ features, mask features), every output token's mask logits and the decoder's
  token-to-image attention; on a ``meta`` model it gives the shapes alone;
* :func:`stage_costs` - FLOPs (``torch.utils.flop_counter.FlopCounterMode``) and wall time per stage;
* :func:`pca_rgb` - a ``C x H x W`` feature map to an RGB image by PCA (pure numpy);
* :func:`plot_framework`, :func:`plot_features`, :func:`plot_token_story` - thin matplotlib layers.

Megabytes: the paper's "params" columns are megabytes of fp32 weights with ``1 MB = 2**20`` bytes (SAM-B:
93.7 M parameters x 4 bytes = 357.6 MB, printed as 358). :attr:`ParamRow.mb` uses the same unit.
"""

from __future__ import annotations

import contextlib
import logging
import math
import statistics
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from .checkpoints import MODEL_NAMES, check_model_name
from .images import ImageLike, as_rgb_uint8
from .loading import HQ_PARAM_PREFIXES, build_model, describe_state_dict, hq_module_of
from .prompts import Prompt, make_prompt

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from segment_anything_hq.modeling import Sam

logger = logging.getLogger(__name__)

__all__ = [
    "COMPONENTS",
    "FEATURE_NAMES",
    "ForwardRecord",
    "ParamRow",
    "ParameterTable",
    "StageCost",
    "TraceStep",
    "component_of",
    "format_costs",
    "format_parameter_summary",
    "format_trace",
    "hq_parameter_names",
    "meta_model",
    "parameter_table",
    "pca_rgb",
    "plot_features",
    "plot_framework",
    "plot_token_story",
    "record_forward",
    "stage_costs",
]

#: The rows of :func:`parameter_table`: SAM's three components, then HQ-SAM's five additions.
COMPONENTS: tuple[str, ...] = ("image_encoder", "prompt_encoder", "mask_decoder (SAM)", *HQ_PARAM_PREFIXES)
#: Bytes per fp32 weight and the paper's megabyte (2**20 bytes).
_FP32_BYTES = 4
_MB = 2**20
#: The features :attr:`ForwardRecord.features` holds, in the order of the paper's figure.
FEATURE_NAMES: tuple[str, ...] = ("early_vit", "embedding", "hq_features", "sam_mask_features",
                                  "hq_mask_features")


# --------------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------------

def component_of(name: str) -> str:
    """The :data:`COMPONENTS` entry a parameter name of a SAM/HQ-SAM model belongs to.

    Example:
        >>> component_of("mask_decoder.hf_token.weight")
        'hf_token'
        >>> component_of("mask_decoder.transformer.layers.0.mlp.lin1.weight")
        'mask_decoder (SAM)'
    """
    top = name.partition(".")[0]
    if top == "mask_decoder":
        return hq_module_of(name) or "mask_decoder (SAM)"
    if top in ("image_encoder", "prompt_encoder"):
        return top
    raise ValueError(f"{name!r} is not a parameter of a SAM/HQ-SAM model (expected image_encoder., "
                     "prompt_encoder. or mask_decoder.)")


def hq_parameter_names(model: torch.nn.Module) -> tuple[str, ...]:
    """Names of the parameters HQ-SAM adds (its five modules inside ``mask_decoder``), in model order."""
    return tuple(n for n, _ in model.named_parameters() if component_of(n) in HQ_PARAM_PREFIXES)


def meta_model(model: str = "vit_tiny", *, hq: bool = True) -> Sam:
    """Build an official model on PyTorch's ``meta`` device: real structure and shapes, no weights, no memory.

    ViT variants are built directly under ``with torch.device("meta")`` (ViT-H in well under a second). The
    TinyViT builder calls ``.item()`` on a tensor while it builds (its drop-path schedule), which the meta
    device cannot answer, so ``vit_tiny`` (10 M parameters) is built on the CPU and moved to ``meta``.
    Requires-grad flags are the official builder's (SAM frozen, HQ additions trainable).
    """
    check_model_name(model)
    if model == "vit_tiny":
        net = build_model(model, hq=hq)
    else:
        with torch.device("meta"):
            net = build_model(model, hq=hq)
    # A few tensors are made with legacy constructors (torch.Tensor(list)) that ignore the device context.
    return net.to("meta").eval()


@dataclass(frozen=True)
class ParamRow:
    """Parameter count of one component.

    Attributes:
        component: a :data:`COMPONENTS` entry, or ``"total"``.
        params: number of scalar parameters.
        trainable: how many of them have ``requires_grad`` (the official HQ builder freezes all of SAM).
    """

    component: str
    params: int
    trainable: int

    @property
    def frozen(self) -> int:
        return self.params - self.trainable

    @property
    def millions(self) -> float:
        """Parameters in millions (1e6)."""
        return self.params / 1e6

    @property
    def mb(self) -> float:
        """Megabytes of fp32 weights, 1 MB = 2**20 bytes (the paper's unit)."""
        return self.params * _FP32_BYTES / _MB

    @property
    def trainable_mb(self) -> float:
        return self.trainable * _FP32_BYTES / _MB


@dataclass(frozen=True)
class ParameterTable:
    """Per-component parameter counts of one model (see :func:`parameter_table`)."""

    model: str
    hq: bool
    rows: tuple[ParamRow, ...]

    def __getitem__(self, component: str) -> ParamRow:
        for row in self.rows:
            if row.component == component:
                return row
        raise KeyError(f"{component!r} is not a row; rows: {', '.join(r.component for r in self.rows)}")

    @property
    def total(self) -> ParamRow:
        return ParamRow("total", sum(r.params for r in self.rows), sum(r.trainable for r in self.rows))

    @property
    def hq_additions(self) -> ParamRow:
        """The five HQ modules together (zero for an original SAM model)."""
        rows = [r for r in self.rows if r.component in HQ_PARAM_PREFIXES]
        return ParamRow("HQ additions", sum(r.params for r in rows), sum(r.trainable for r in rows))

    @property
    def sam_part(self) -> ParamRow:
        """Everything but the HQ additions: SAM's own (frozen) parameters."""
        t, h = self.total, self.hq_additions
        return ParamRow("SAM part", t.params - h.params, t.trainable - h.trainable)

    def to_markdown(self) -> str:
        """A markdown table: component, M params, MB fp32, trainable, frozen, share of the total."""
        total = self.total
        lines = [f"**{'HQ-SAM' if self.hq else 'SAM'} {self.model}**", "",
                 "| component | M params | MB (fp32) | trainable | frozen | % of total |",
                 "|---|---:|---:|---:|---:|---:|"]
        for row in (*self.rows, self.hq_additions, total):
            bold = row.component in ("total", "HQ additions")
            name = f"**{row.component}**" if bold else f"`{row.component}`"
            lines.append(f"| {name} | {row.millions:.4f} | {row.mb:.2f} | {row.trainable:,} | "
                         f"{row.frozen:,} | {100 * row.params / total.params:.2f} |")
        return "\n".join(lines)


def parameter_table(model: str | torch.nn.Module = "vit_tiny", *, hq: bool = True) -> ParameterTable:
    """Count parameters per component from the model's own ``named_parameters``.

    Args:
        model: a variant name (then built with :func:`meta_model`, no weights allocated) or a built
            ``Sam`` model (any device; its current ``requires_grad`` flags are counted).
        hq: with a variant name, HQ-SAM (True) or the original SAM (False). Ignored for a model.

    Returns:
        A :class:`ParameterTable` with one row per :data:`COMPONENTS` entry (the HQ rows are zero for SAM).
    """
    if isinstance(model, str):
        name = check_model_name(model)
        model = meta_model(name, hq=hq)
    elif isinstance(model, torch.nn.Module):
        info = describe_state_dict(model.state_dict())
        name, hq = info.model or type(model.image_encoder).__name__, info.hq
    else:
        raise TypeError(f"model must be a variant name ({', '.join(MODEL_NAMES)}) or a Sam model, "
                        f"got {type(model).__name__}")
    counts = {c: [0, 0] for c in COMPONENTS}
    for pname, param in model.named_parameters():
        entry = counts[component_of(pname)]
        entry[0] += param.numel()
        entry[1] += param.numel() if param.requires_grad else 0
    return ParameterTable(name, hq, tuple(ParamRow(c, p, t) for c, (p, t) in counts.items()))


def format_parameter_summary(models: Sequence[str] = MODEL_NAMES,
                             paper: Mapping[str, Mapping[str, float]] | None = None) -> str:
    """A markdown table, one row per variant: SAM total, HQ-SAM total and learnable, measured vs ``paper``.

    Args:
        models: variant names (counted on the meta device).
        paper: optional published numbers per variant, keys ``"sam_mb"``, ``"hq_mb"``, ``"learnable_mb"``
            (the notebook passes the paper's table; this library holds no published numbers).
    """
    paper = paper or {}
    head = ("| variant | SAM M params | SAM MB | HQ-SAM M params | HQ-SAM MB | learnable M | learnable MB | "
            "learnable % of SAM |")
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|"]

    def cell(value: float, key: str, published: Mapping[str, float], fmt: str) -> str:
        ref = published.get(key)
        return f"{value:{fmt}}" + (f" (paper {ref:g})" if ref is not None else "")

    for name in models:
        table = parameter_table(name, hq=True)
        sam, hqa, total = table.sam_part, table.hq_additions, table.total
        pub = paper.get(name, {})
        lines.append(
            f"| {name} | {sam.millions:.2f} | {cell(sam.mb, 'sam_mb', pub, '.2f')} | {total.millions:.2f} | "
            f"{cell(total.mb, 'hq_mb', pub, '.2f')} | {hqa.millions:.3f} | "
            f"{cell(hqa.mb, 'learnable_mb', pub, '.3f')} | {100 * hqa.params / sam.params:.2f} |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# One forward pass, recorded with hooks
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TraceStep:
    """One stage of the forward pass, in execution order.

    Attributes:
        stage: what happens here, in the paper's words.
        module: the official module's path inside ``Sam`` (``""`` for the model's input and output).
        inputs: shapes of the tensors it received (nested lists flattened).
        outputs: shapes of the tensors it returned.
    """

    stage: str
    module: str
    inputs: tuple[tuple[int, ...], ...]
    outputs: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class ForwardRecord:
    """What :func:`record_forward` saw. Arrays are float32 numpy on the CPU; empty/None on a ``meta`` model.

    Attributes:
        model: the variant.
        steps: the trace, in execution order.
        original_size: ``(H, W)`` of the input image; ``input_size``: ``(h, w)`` after resizing the long
            side to 1024 (the rest of the 1024 x 1024 model input is padding).
        outputs: shapes of ``Sam.forward``'s outputs (``masks``, ``iou_predictions``, ``low_res_logits``).
        features: :data:`FEATURE_NAMES` -> ``C x H x W`` arrays: ``early_vit`` (``C_vit x 64 x 64``, after the
            first global-attention block; TinyViT: after its second stage), ``embedding`` (``256 x 64 x 64``),
            ``hq_features`` (``32 x 256 x 256``, ``embedding_encoder(embedding) + compress_vit_feat(early)``,
            prompt-independent), ``sam_mask_features`` (``32 x 256 x 256``, SAM's upscaled mask features),
            ``hq_mask_features`` (``embedding_maskfeature(sam_mask_features) + hq_features``, what the HQ
            token is multiplied with).
        token_logits: ``5 x 256 x 256`` low-res logits of every output token, exactly as ``predict_masks``
            returned them: SAM's single-mask token (0), its three multimask tokens (1-3), the HQ token (4).
        token_scores: ``(4,)`` the IoU head's scores of SAM's four mask tokens (the HQ token has none).
        low_res_logits: ``C x 256 x 256`` what ``Sam.forward`` returned (fused SAM + HQ by default).
        attention: layer label -> ``heads x tokens x 64 x 64`` token-to-image attention weights.
        token_names: names of the attention rows: ``iou``, ``sam_0``..``sam_3``, ``hq``, ``prompt_0``...
    """

    model: str
    steps: tuple[TraceStep, ...]
    original_size: tuple[int, int]
    input_size: tuple[int, int]
    prompt: Prompt
    outputs: dict[str, tuple[int, ...]]
    features: dict[str, np.ndarray] = field(default_factory=dict)
    token_logits: np.ndarray | None = None
    token_scores: np.ndarray | None = None
    low_res_logits: np.ndarray | None = None
    attention: dict[str, np.ndarray] = field(default_factory=dict)
    token_names: tuple[str, ...] = ()

    @property
    def hq_token_index(self) -> int:
        return self.token_names.index("hq")

    def attention_map(self, token: str, layer: str | None = None) -> np.ndarray:
        """``64 x 64`` attention of one output token over the image embedding, averaged over heads.

        Args:
            token: a :attr:`token_names` entry, e.g. ``"hq"`` or ``"sam_0"``.
            layer: an :attr:`attention` key; default: the last (the final token-to-image attention).
        """
        if not self.attention:
            raise RuntimeError("no attention was recorded (a meta-device model records shapes only)")
        if token not in self.token_names:
            raise ValueError(f"token={token!r} is not one of {', '.join(self.token_names)}")
        layer = layer if layer is not None else list(self.attention)[-1]
        if layer not in self.attention:
            raise ValueError(f"layer={layer!r} is not one of {', '.join(self.attention)}")
        return self.attention[layer][:, self.token_names.index(token)].mean(axis=0)


def _shapes(obj: Any) -> tuple[tuple[int, ...], ...]:
    if isinstance(obj, torch.Tensor):
        return (tuple(obj.shape),)
    if isinstance(obj, (list, tuple)):
        return tuple(s for item in obj for s in _shapes(item))
    if isinstance(obj, Mapping):
        return tuple(s for item in obj.values() for s in _shapes(item))
    return ()


def _early_module(model: Sam) -> tuple[str, str]:
    """The module whose output is HQ-SAM's early-layer ViT feature, and a description."""
    enc = model.image_encoder
    if hasattr(enc, "blocks"):  # ImageEncoderViT: interm_embeddings are the global-attention blocks' outputs
        first = next(i for i, blk in enumerate(enc.blocks) if blk.window_size == 0)
        return f"image_encoder.blocks.{first}", f"early ViT feature (block {first}, first global attention)"
    return "image_encoder.layers.1", "early feature (TinyViT stage 2, viewed as 64 x 64 x C)"


def _traced_modules(model: Sam) -> list[tuple[str, str]]:
    """(module path, stage) pairs to hook, in the order of the paper's figure."""
    early, early_stage = _early_module(model)
    dec = model.mask_decoder
    mods = [
        ("image_encoder", "image encoder (frozen): embedding + intermediate features"),
        ("image_encoder.patch_embed", "patch embedding"),
        (early, early_stage),
        ("image_encoder.neck", "neck -> image embedding"),
        ("prompt_encoder", "prompt encoder (frozen): sparse tokens, dense embedding"),
        ("prompt_encoder.pe_layer", "dense positional encoding"),
        ("mask_decoder", "HQ mask decoder: low-res masks, IoU"),
        ("mask_decoder.embedding_encoder", "HQ: global feature (embedding, upsampled 4x)"),
        ("mask_decoder.compress_vit_feat", "HQ: local feature (early ViT feature, upsampled 4x)"),
        ("mask_decoder.transformer", "two-way transformer (frozen): tokens, image keys"),
        ("mask_decoder.output_upscaling", "SAM mask features (upsampled 4x)"),
        ("mask_decoder.embedding_maskfeature", "HQ: mask features through conv"),
        *((f"mask_decoder.output_hypernetworks_mlps.{i}", f"SAM token {i} MLP (frozen)")
          for i in range(len(dec.output_hypernetworks_mlps))),
        ("mask_decoder.hf_mlp", "HQ token MLP (learnable)"),
        ("mask_decoder.iou_prediction_head", "IoU head (frozen)"),
    ]
    return mods


def _attention_modules(model: Sam) -> list[tuple[str, torch.nn.Module]]:
    tr = model.mask_decoder.transformer
    mods = [(f"layer {i}", layer.cross_attn_token_to_image) for i, layer in enumerate(tr.layers)]
    return [*mods, ("final", tr.final_attn_token_to_image)]


@contextlib.contextmanager
def _recording_predict_masks(decoder: torch.nn.Module, store: dict[str, Any]) -> Iterator[None]:
    """Record what the official ``predict_masks`` returns (all tokens' masks) while ``forward`` runs."""
    original = decoder.predict_masks

    def recording(*args: Any, **kwargs: Any) -> Any:
        out = original(*args, **kwargs)
        store["predict_masks"] = out
        return out

    shadowed = vars(decoder).get("predict_masks")  # an instance attribute someone else set, if any
    decoder.predict_masks = recording
    try:
        yield
    finally:
        if shadowed is None:
            del decoder.predict_masks  # the class method shows through again
        else:
            decoder.predict_masks = shadowed


@contextlib.contextmanager
def _meta_prompt_indexing() -> Iterator[None]:
    """Let the prompt encoder's ``points[labels == k]`` indexing run on meta tensors (shapes unaffected)."""
    try:
        import torch.fx.experimental._config as fx_config
    except ImportError:  # pragma: no cover - older torch
        yield
        return
    if not hasattr(fx_config, "meta_nonzero_assume_all_nonzero"):  # pragma: no cover
        yield
        return
    with fx_config.patch(meta_nonzero_assume_all_nonzero=True):
        yield


def _model_input(model: Sam, image: ImageLike, prompt: Prompt) -> tuple[dict[str, Any], tuple[int, int]]:
    """The official ``Sam.forward`` input record: image resized (long side 1024), prompt transformed."""
    from segment_anything_hq.utils.transforms import ResizeLongestSide

    transform = ResizeLongestSide(model.image_encoder.img_size)
    dev = model.device
    if dev.type == "meta":
        arr = image if isinstance(image, np.ndarray) else as_rgb_uint8(image)
        h, w = transform.get_preprocess_shape(arr.shape[0], arr.shape[1], transform.target_length)
        original = (int(arr.shape[0]), int(arr.shape[1]))
        x = torch.empty(3, h, w, device=dev)
    else:
        rgb = as_rgb_uint8(image)
        original = (int(rgb.shape[0]), int(rgb.shape[1]))
        resized = transform.apply_image(rgb)
        x = torch.as_tensor(resized, device=dev).permute(2, 0, 1).contiguous().float()
    record: dict[str, Any] = {"image": x, "original_size": original}
    if prompt.points is not None:
        coords = transform.apply_coords(prompt.points, original)
        record["point_coords"] = torch.as_tensor(coords, dtype=torch.float, device=dev)[None]
        record["point_labels"] = torch.as_tensor(prompt.labels, dtype=torch.int, device=dev)[None]
    if prompt.box is not None:
        record["boxes"] = torch.as_tensor(transform.apply_boxes(prompt.box, original), dtype=torch.float,
                                          device=dev)
    return record, original


def _check_model(model: Any) -> None:
    if not (isinstance(model, torch.nn.Module) and hasattr(model, "mask_decoder")
            and hasattr(model.mask_decoder, "hf_token")):
        raise TypeError(f"expected an HQ-SAM model (segment_anything_hq Sam with an HQ mask decoder, e.g. "
                        f"pair.model or load_model(...)[0] or meta_model(...)), got {type(model).__name__}")


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().cpu().numpy()


def record_forward(model: Sam, image: ImageLike, points: Any = None, labels: Any = None, box: Any = None, *,
                   multimask: bool = False, hq_token_only: bool = False) -> ForwardRecord:
    """Run one image and one prompt through the official ``Sam.forward`` and record it with hooks.

    Forward hooks on the official modules record every stage's input and output shapes and keep the tensors
    the lecture shows; the official ``predict_masks`` is wrapped (for this call only) to keep all output
    tokens' masks; the token-to-image attention weights are ``softmax(q k^T / sqrt(d))`` of the projections
    each official attention module computed (hooks on its ``q_proj`` and ``k_proj``).

    Args:
        model: an HQ-SAM ``Sam`` (e.g. ``pair.model``), on any device; on ``meta`` only shapes are recorded.
        image: RGB ``H x W x 3`` (see :func:`~hqsam_nb.images.as_rgb_uint8`); on meta only its shape counts.
        points, labels, box: the prompt, ``(x, y)`` pixels of the original image (see
            :func:`~hqsam_nb.prompts.make_prompt`).
        multimask, hq_token_only: passed to ``Sam.forward`` (they select what it returns).
    """
    _check_model(model)
    arr = image if isinstance(image, np.ndarray) and image.ndim == 3 else as_rgb_uint8(image)
    prompt = make_prompt(points, labels, box, image_size=arr.shape[:2])
    record, original = _model_input(model, arr, prompt)
    is_meta = model.device.type == "meta"
    modules = dict(model.named_modules())
    steps: list[tuple[int, TraceStep]] = []
    kept: dict[str, Any] = {}
    handles = []

    def shape_hook(path: str, stage: str) -> Callable[..., None]:
        def hook(_mod: torch.nn.Module, args: tuple, kwargs: dict, out: Any) -> None:
            steps.append((len(steps), TraceStep(stage, path, _shapes((args, kwargs)), _shapes(out))))
            kept[path] = out
        return hook

    def pre_hook(path: str) -> Callable[..., None]:
        def hook(_mod: torch.nn.Module, args: tuple, kwargs: dict) -> None:
            kept.setdefault("_start_order", []).append(path)
        return hook

    def proj_hook(key: str) -> Callable[..., None]:
        def hook(_mod: torch.nn.Module, _args: tuple, out: torch.Tensor) -> None:
            kept[key] = out
        return hook

    try:
        for path, stage in _traced_modules(model):
            handles.append(modules[path].register_forward_hook(shape_hook(path, stage), with_kwargs=True))
            handles.append(modules[path].register_forward_pre_hook(pre_hook(path), with_kwargs=True))
        for label, attn in _attention_modules(model):
            handles.append(attn.q_proj.register_forward_hook(proj_hook(f"q:{label}")))
            handles.append(attn.k_proj.register_forward_hook(proj_hook(f"k:{label}")))
        ctx = _meta_prompt_indexing() if is_meta else contextlib.nullcontext()
        with torch.inference_mode(), ctx, _recording_predict_masks(model.mask_decoder, kept):
            out = model([record], multimask_output=multimask, hq_token_only=hq_token_only)[0]
    finally:
        for h in handles:
            h.remove()

    # Steps in the order their modules *started* (a container starts before its children end).
    start = {p: i for i, p in reversed(list(enumerate(kept.pop("_start_order", []))))}
    ordered = [s for _, s in sorted(steps, key=lambda item: (start.get(item[1].module, 1 << 30), item[0]))]
    x = record["image"]
    input_size = (int(x.shape[1]), int(x.shape[2]))
    head = [
        TraceStep("input image (H x W x RGB)", "", (), ((*original, 3),)),
        TraceStep("resized: long side 1024 (C x h x w)", "", (), (tuple(x.shape),)),
    ]
    tail = [TraceStep("Sam.forward outputs: masks at the original size, IoU, low-res logits", "",
                      (), tuple(tuple(out[k].shape) for k in ("masks", "iou_predictions", "low_res_logits")))]
    outputs = {k: tuple(v.shape) for k, v in out.items()}
    variant = describe_state_dict(model.state_dict()).model or type(model.image_encoder).__name__
    n_sparse = int(kept["prompt_encoder"][0].shape[1])
    dec = model.mask_decoder
    token_names = ("iou", *(f"sam_{i}" for i in range(dec.num_mask_tokens - 1)), "hq",
                   *(f"prompt_{i}" for i in range(n_sparse)))
    base = ForwardRecord(variant, tuple(head + ordered + tail), original, input_size, prompt, outputs,
                         token_names=token_names)
    if is_meta:
        return base

    embedding, interm = kept["image_encoder"]
    hq_features = kept["mask_decoder.embedding_encoder"] + kept["mask_decoder.compress_vit_feat"]
    sam_mask_features = kept["mask_decoder.output_upscaling"]
    features = {
        "early_vit": _numpy(interm[0][0].permute(2, 0, 1)),
        "embedding": _numpy(embedding[0]),
        "hq_features": _numpy(hq_features[0]),
        "sam_mask_features": _numpy(sam_mask_features[0]),
        "hq_mask_features": _numpy((kept["mask_decoder.embedding_maskfeature"] + hq_features)[0]),
    }
    masks, iou = kept["predict_masks"]
    attention = {}
    for label, attn in _attention_modules(model):
        q = attn._separate_heads(kept[f"q:{label}"], attn.num_heads)
        k = attn._separate_heads(kept[f"k:{label}"], attn.num_heads)
        weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)
        side = int(round(math.sqrt(weights.shape[-1])))
        attention[label] = _numpy(weights[0].reshape(*weights.shape[1:3], side, side))
    return ForwardRecord(
        variant, base.steps, original, input_size, prompt, outputs, features=features,
        token_logits=_numpy(masks[0]), token_scores=_numpy(iou[0]),
        low_res_logits=_numpy(out["low_res_logits"][0]), attention=attention, token_names=token_names,
    )


def format_trace(record_or_steps: ForwardRecord | Sequence[TraceStep]) -> str:
    """The trace as a markdown table: stage, official module, output shapes."""
    steps = record_or_steps.steps if isinstance(record_or_steps, ForwardRecord) else record_or_steps
    lines = ["| # | stage | module | output shape(s) |", "|---:|---|---|---|"]
    for i, s in enumerate(steps):
        shapes = ", ".join(" x ".join(map(str, sh)) for sh in s.outputs)
        lines.append(f"| {i} | {s.stage} | `{s.module or 'Sam'}` | {shapes} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# Cost per stage
# --------------------------------------------------------------------------------------------------

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


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def stage_costs(model: Sam, image: ImageLike, points: Any = None, labels: Any = None, box: Any = None, *,
                repeats: int = 3, warmup: int = 1) -> tuple[StageCost, ...]:
    """FLOPs and wall time of each stage, on the official modules called as ``Sam.forward`` calls them.

    The original SAM decoder is the official ``MaskDecoder`` sharing the HQ model's frozen modules (as in
    :class:`~hqsam_nb.PairPredictor`), run on the same inputs, so ``HQ additions`` = HQ decoder - SAM decoder
    is exactly what HQ-SAM adds: the three fusion convolutions, the HQ token in the transformer, its MLP and
    its mask product. On a ``meta`` model FLOPs are counted without computing anything and times are None.

    Args:
        model: an HQ-SAM ``Sam``; image and prompt as in :func:`record_forward`.
        repeats: timed runs per stage (the median is reported); warmup: untimed runs first.
    """
    from torch.utils.flop_counter import FlopCounterMode

    from .pair import _sam_decoder_like

    _check_model(model)
    if not isinstance(repeats, int) or repeats < 1 or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"repeats must be an int >= 1 and warmup an int >= 0, got {repeats!r}, {warmup!r}")
    arr = image if isinstance(image, np.ndarray) and image.ndim == 3 else as_rgb_uint8(image)
    prompt = make_prompt(points, labels, box, image_size=arr.shape[:2])
    record, _ = _model_input(model, arr, prompt)
    dev = model.device
    is_meta = dev.type == "meta"
    sam_decoder = _sam_decoder_like(model.mask_decoder)
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
    ctx = _meta_prompt_indexing() if is_meta else contextlib.nullcontext()
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
            for _ in range(warmup):
                for _, fn in stages:
                    fn()
            samples: dict[str, list[float]] = {name: [] for name, _ in stages}
            for _ in range(repeats):
                for name, fn in stages:
                    _sync(dev)
                    t0 = time.perf_counter()
                    fn()
                    _sync(dev)
                    samples[name].append((time.perf_counter() - t0) * 1e3)
            times = {name: statistics.median(v) for name, v in samples.items()}
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
    lines = ["| stage | GFLOPs | ms | % of HQ-SAM FLOPs |", "|---|---:|---:|---:|"]
    for c in costs:
        ms = "-" if c.ms is None else f"{c.ms:.1f}"
        lines.append(f"| {c.stage} | {c.flops / 1e9:.3f} | {ms} | {100 * c.flops / whole:.2f} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# Pictures
# --------------------------------------------------------------------------------------------------

def pca_rgb(features: np.ndarray, *, valid: tuple[int, int] | None = None) -> np.ndarray:
    """Project a ``C x H x W`` feature map on its first three principal components and show them as RGB.

    Each pixel's ``C``-vector is centred, projected on the top-3 right singular vectors (signs fixed so each
    component's largest loading is positive, for reproducible colours), and each component is scaled to
    ``0..255`` between its 1st and 99th percentile.

    Args:
        features: float array ``C x H x W`` with ``C >= 3``.
        valid: optional ``(h, w)``: fit the PCA on the top-left ``h x w`` region only (the image, not the
            padding); the whole map is still projected.

    Returns:
        ``uint8`` array ``H x W x 3``.
    """
    feats = np.asarray(features)
    if feats.ndim != 3 or feats.shape[0] < 3 or not np.issubdtype(feats.dtype, np.floating):
        raise ValueError(f"features must be a float C x H x W array with C >= 3, got dtype {feats.dtype} "
                         f"shape {feats.shape}")
    c, h, w = feats.shape
    flat = feats.reshape(c, -1).T.astype(np.float64)
    fit = flat
    if valid is not None:
        vh, vw = (max(1, min(int(valid[0]), h)), max(1, min(int(valid[1]), w)))
        fit = feats[:, :vh, :vw].reshape(c, -1).T.astype(np.float64)
    mean = fit.mean(axis=0)
    _, _, vt = np.linalg.svd(fit - mean, full_matrices=False)
    comps = vt[:3]
    signs = np.sign(comps[np.arange(3), np.abs(comps).argmax(axis=1)])
    comps = comps * np.where(signs == 0, 1, signs)[:, None]
    proj = (flat - mean) @ comps.T
    lo, hi = np.percentile((fit - mean) @ comps.T, [1, 99], axis=0)
    scaled = np.clip((proj - lo) / np.maximum(hi - lo, 1e-12), 0, 1)
    return (scaled.reshape(h, w, 3) * 255).round().astype(np.uint8)


def _valid_grid(record: ForwardRecord, side: int) -> tuple[int, int]:
    """The part of a ``side x side`` map (of the padded 1024 input) that covers the image."""
    # Rounded down: a last row/column that is partly padding is left out.
    return (max(1, record.input_size[0] * side // 1024), max(1, record.input_size[1] * side // 1024))


def plot_features(record: ForwardRecord, names: Sequence[str] = FEATURE_NAMES) -> Figure:
    """PCA-to-RGB pictures of the recorded features (cropped to the image, padding removed)."""
    from .figures import new_figure

    if not record.features:
        raise RuntimeError("no features were recorded (a meta-device model records shapes only)")
    fig = new_figure((3.2 * len(names), 3.4))
    axes = fig.subplots(1, len(names), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        feat = record.features[name]
        vh, vw = _valid_grid(record, feat.shape[-1])
        ax.imshow(pca_rgb(feat, valid=(vh, vw))[:vh, :vw])
        ax.set_title(f"{name}\n{' x '.join(map(str, feat.shape))}", fontsize=9)
        ax.axis("off")
    return fig


def plot_token_story(record: ForwardRecord, image: ImageLike) -> Figure:
    """The token story in eight panels, cropped to the image (padding removed), on the model's own grids.

    Top row: the image and prompt; SAM's token-0 mask, the HQ token's mask and their sum (the paper's default
    output), each as logits > 0 on the 256 x 256 grid. Bottom row: the HQ token's logits (what it adds to
    SAM's), and the final token-to-image attention (mean over heads, 64 x 64 grid) of SAM's token 0, of the HQ
    token, and their difference.
    """
    from matplotlib.patches import Rectangle

    from .figures import new_figure

    if record.token_logits is None:
        raise RuntimeError("no token masks were recorded (a meta-device model records shapes only)")
    rgb = as_rgb_uint8(image)
    hq = record.hq_token_index - 1  # token_logits has no IoU token
    vh, vw = _valid_grid(record, record.token_logits.shape[-1])
    panels = [("SAM token 0", record.token_logits[0]), ("HQ token", record.token_logits[hq]),
              ("SAM + HQ (fused)", record.token_logits[0] + record.token_logits[hq])]
    fig = new_figure((13, 6.4))
    axes = fig.subplots(2, 4)
    resized = torch.nn.functional.interpolate(torch.as_tensor(rgb).permute(2, 0, 1)[None].float(),
                                              size=(vh, vw), mode="bilinear", align_corners=False)
    small = np.asarray(resized[0].permute(1, 2, 0).clamp(0, 255)).astype(np.uint8)
    axes[0, 0].imshow(small)
    p = record.prompt
    scale = (vw / record.original_size[1], vh / record.original_size[0])
    if p.points is not None:
        colours = np.where(p.labels == 1, "lime", "red")
        axes[0, 0].scatter(p.points[:, 0] * scale[0], p.points[:, 1] * scale[1], c=colours, s=40,
                           edgecolors="k")
    if p.box is not None:
        x0, y0, x1, y1 = p.box * np.array([*scale, *scale])
        axes[0, 0].add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="yellow", lw=2))
    axes[0, 0].set_title("image + prompt", fontsize=9)
    overlay_colour = np.array([0.0, 0.8, 1.0])
    for ax, (title, logits) in zip(axes[0, 1:], panels, strict=True):
        inside = logits[:vh, :vw] > 0
        overlay = np.zeros((vh, vw, 4))
        overlay[..., :3] = overlay_colour
        overlay[..., 3] = inside * 0.6
        ax.imshow(small)
        ax.imshow(overlay)
        ax.set_title(f"{title}: {inside.mean() * 100:.1f}% of pixels", fontsize=9)
    correction = record.token_logits[hq][:vh, :vw]
    lim_logits = float(np.abs(correction).max()) or 1.0
    axes[1, 0].imshow(correction, cmap="coolwarm", vmin=-lim_logits, vmax=lim_logits)
    axes[1, 0].set_title("HQ token logits = the correction\nadded to SAM's (red +, blue -)", fontsize=9)
    ah, aw = _valid_grid(record, 64)
    sam_att, hq_att = record.attention_map("sam_0")[:ah, :aw], record.attention_map("hq")[:ah, :aw]
    top = max(sam_att.max(), hq_att.max())
    att_panels = (("attention: SAM token 0", sam_att), ("attention: HQ token", hq_att))
    for ax, (title, att) in zip(axes[1, 1:3], att_panels, strict=True):
        ax.imshow(att, cmap="magma", vmin=0, vmax=top)
        ax.set_title(f"{title} (final layer)", fontsize=9)
    diff = hq_att - sam_att
    lim = float(np.abs(diff).max()) or 1.0
    axes[1, 3].imshow(diff, cmap="coolwarm", vmin=-lim, vmax=lim)
    axes[1, 3].set_title("HQ - SAM attention (red: HQ looks more)", fontsize=9)
    for ax in axes.ravel():
        ax.axis("off")
    return fig


def plot_framework() -> Figure:
    """HQ-SAM's framework figure redrawn with matplotlib: frozen SAM in blue, HQ-SAM's additions in orange.

    Left to right: image -> ViT encoder (early feature tapped after the first global-attention block) ->
    image embedding; prompt -> prompt encoder -> tokens; SAM's output tokens plus the HQ output token go
    through SAM's (frozen) two-way decoder; global-local fusion builds the HQ features; the HQ token's MLP
    times the HQ features gives the HQ mask, added to SAM's mask (error correction).
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    from .figures import new_figure

    frozen, learn, data = "#cfe2f3", "#f9cb9c", "#eeeeee"
    fig = new_figure((13, 6.2), layout=None)
    ax = fig.subplots()
    ax.set_xlim(0, 13)
    ax.set_ylim(0, 6.6)
    ax.axis("off")
    boxes = {
        "image": (0.1, 4.6, 1.3, 0.9, "input image\n1024 x 1024", data),
        "vit": (1.8, 4.4, 2.2, 1.3, "ViT image encoder\n(frozen)", frozen),
        "early": (1.8, 2.9, 2.2, 0.8, "early-layer feature\n(1st global attn block)", data),
        "emb": (4.5, 4.6, 1.7, 0.9, "image embedding\n256 x 64 x 64", data),
        "prompt": (0.1, 0.5, 1.3, 0.9, "prompt\npoints / box", data),
        "penc": (1.8, 0.4, 2.2, 1.1, "prompt encoder\n(frozen)", frozen),
        "tokens": (4.5, 0.2, 1.9, 1.5, "output tokens (frozen)\n+ HQ output token\n(learnable)", learn),
        "dec": (6.8, 0.2, 2.0, 1.5, "SAM mask decoder\ntwo-way transformer\n(frozen)", frozen),
        "fuse": (6.8, 3.0, 2.0, 2.2, "global-local fusion\n(learnable)\ncompress_vit_feat\n"
                                    "embedding_encoder\nembedding_maskfeature", learn),
        "hqfeat": (9.3, 3.5, 1.6, 1.0, "HQ features\n32 x 256 x 256", data),
        "mlp": (9.3, 1.9, 1.6, 1.0, "HQ token MLP\nhf_mlp (learnable)", learn),
        "prod": (11.3, 3.5, 1.5, 1.0, "point-wise\nproduct\n-> HQ mask", data),
        "sum": (11.3, 0.3, 1.5, 1.2, "SAM mask\n+ HQ mask\n(error correction)", data),
    }
    placed = {}
    for key, (x, y, w, h, text, colour) in boxes.items():
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.04", fc=colour, ec="#333333", lw=1.2))
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=8.5)
        placed[key] = (x, y, w, h)

    def anchor(key: str, where: str) -> tuple[float, float]:
        """A point on a box's side: l/r/t/b, optionally at a fraction along it (``"t.25"``)."""
        x, y, w, h = placed[key]
        f = float("0." + where[2:]) if len(where) > 1 else 0.5
        points = {"l": (x, y + h * f), "r": (x + w, y + h * f), "t": (x + w * f, y + h), "b": (x + w * f, y)}
        return points[where[0]]

    arrows = [("image", "r", "vit", "l", ""), ("vit", "r", "emb", "l", ""),
              ("vit", "b", "early", "t", "early"), ("early", "r", "fuse", "l.2", "local"),
              ("emb", "r", "fuse", "l.8", "global"), ("prompt", "r", "penc", "l", ""),
              ("penc", "r", "tokens", "l", ""), ("tokens", "r", "dec", "l", ""),
              ("emb", "b", "dec", "t.25", ""), ("dec", "t.75", "fuse", "b.75", "mask feature"),
              ("fuse", "r.5", "hqfeat", "l", ""), ("dec", "r.7", "mlp", "l", "HQ token"),
              ("hqfeat", "r", "prod", "l.7", ""), ("mlp", "r", "prod", "l.2", ""),
              ("prod", "b", "sum", "t", "HQ mask"), ("dec", "r.3", "sum", "l.4", "SAM mask")]
    for a, sa, b, sb, label in arrows:
        start, end = anchor(a, sa), anchor(b, sb)
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, lw=1.2, color="#444444",
                                     connectionstyle="arc3,rad=0"))
        if label:
            ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, label, fontsize=7.5, ha="center",
                    va="center", color="#7f3b08",
                    bbox={"fc": "white", "ec": "none", "pad": 0.5, "alpha": 0.9})
    ax.add_patch(FancyBboxPatch((0.1, 6.05), 0.35, 0.3, boxstyle="round,pad=0.02", fc=frozen, ec="#333333"))
    ax.text(0.55, 6.2, "frozen SAM", va="center", fontsize=9)
    ax.add_patch(FancyBboxPatch((2.1, 6.05), 0.35, 0.3, boxstyle="round,pad=0.02", fc=learn, ec="#333333"))
    ax.text(2.55, 6.2, "learnable HQ-SAM additions", va="center", fontsize=9)
    ax.set_title("HQ-SAM: SAM kept frozen, plus an HQ output token and global-local feature fusion",
                 fontsize=11)
    fig.tight_layout()
    return fig
