"""One image and one prompt through the official ``Sam.forward`` with hooks: every stage's shapes, the
intermediate features, each output token's mask and the decoder's token-to-image attention."""


from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from .._compat import meta_nonzero_assumed, separate_heads
from ..io.images import ImageLike, as_rgb_uint8
from ..models.loading import describe_state_dict
from ..pair.preprocess import input_size, prompt_tensors, resized_image
from ..pair.prompts import Prompt, PromptBatch, make_prompt
from ..util import markdown_table

if TYPE_CHECKING:
    from segment_anything_hq.modeling import Sam


logger = logging.getLogger(__name__)

__all__ = [
    "FEATURE_NAMES",
    "ForwardRecord",
    "TraceStep",
    "format_trace",
    "record_forward",
]

#: The features :attr:`ForwardRecord.features` holds, in the order of the paper's figure.
FEATURE_NAMES: tuple[str, ...] = ("early_vit", "embedding", "hq_features", "sam_mask_features",
                                  "hq_mask_features")




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


def _model_input(model: Sam, image: ImageLike, prompt: Prompt) -> tuple[dict[str, Any], tuple[int, int]]:
    """The official ``Sam.forward`` input record: image resized (long side 1024), prompt transformed, through the
    package's one preprocessing path (:mod:`hqsam_nb.pair.preprocess`)."""
    dev, size = model.device, model.image_encoder.img_size
    if dev.type == "meta":
        arr = image if isinstance(image, np.ndarray) else as_rgb_uint8(image)
        original = (int(arr.shape[0]), int(arr.shape[1]))
        x = torch.empty(3, *input_size(original, size), device=dev)
    else:
        rgb = as_rgb_uint8(image)
        original = (int(rgb.shape[0]), int(rgb.shape[1]))
        x = resized_image(rgb, size, dev).float()
    record: dict[str, Any] = {"image": x, "original_size": original}
    points, boxes = prompt_tensors(PromptBatch.of_prompt(prompt), original, size, dev)
    if points is not None:
        record["point_coords"], record["point_labels"] = points
    if boxes is not None:
        record["boxes"] = boxes
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
        image: RGB ``H x W x 3`` (see :func:`~hqsam_nb.io.images.as_rgb_uint8`); on meta only its shape counts.
        points, labels, box: the prompt, ``(x, y)`` pixels of the original image (see
            :func:`~hqsam_nb.pair.prompts.make_prompt`).
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
        ctx = meta_nonzero_assumed() if is_meta else contextlib.nullcontext()  # meta: points[labels == k]
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
        q = separate_heads(attn, kept[f"q:{label}"])
        k = separate_heads(attn, kept[f"k:{label}"])
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
    rows = [[i, s.stage, f"`{s.module or 'Sam'}`", ", ".join(" x ".join(map(str, sh)) for sh in s.outputs)]
            for i, s in enumerate(steps)]
    return markdown_table(["#", "stage", "module", "output shape(s)"], rows, align="rlll")


