"""The original SAM mask decoder inside an HQ-SAM checkpoint, and how each decoder's raw outputs become masks.

HQ-SAM freezes SAM: its ``MaskDecoderHQ`` holds SAM's decoder weights (transformer, IoU and mask tokens, upscaling,
hypernetwork MLPs, IoU head) plus HQ-SAM's additions. :func:`sam_decoder_of` builds the official
``segment_anything_hq.modeling.MaskDecoder`` (the class ``sam_model_registry_baseline`` builds) over those SAM
modules, so that SAM's masks come from the same checkpoint. Used by the pair predictor and the ONNX export.

:func:`select_sam` and :func:`select_hq` are the official decoders' ``forward`` token selection applied to the raw
``predict_masks`` outputs (all tokens), so that a backend that returns every token (the ONNX decoders) selects the
masks exactly as ``MaskDecoder.forward`` / ``MaskDecoderHQ.forward`` do.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import torch

from .._compat import import_official

if TYPE_CHECKING:
    from segment_anything_hq.modeling import MaskDecoder

#: Index of the HQ output token among ``MaskDecoderHQ.predict_masks``' masks (after SAM's four mask tokens).
HQ_TOKEN = 4

__all__ = ["HQ_TOKEN", "SAM_DECODER_MODULES", "sam_decoder_of", "select_hq", "select_sam"]

#: The modules of ``MaskDecoderHQ`` that are SAM's own (frozen) decoder, besides the transformer.
SAM_DECODER_MODULES: tuple[str, ...] = ("iou_token", "mask_tokens", "output_upscaling", "output_hypernetworks_mlps",
                                        "iou_prediction_head")


def sam_decoder_of(hq_decoder: Any, *, share: bool = True) -> MaskDecoder:
    """An original SAM ``MaskDecoder`` of the HQ decoder's size, in eval mode on its device.

    With ``share=True`` its modules *are* the HQ decoder's frozen SAM modules (no copy, no extra memory);
    with ``share=False`` it has modules of its own, to be loaded from an original SAM checkpoint.
    """
    decoder = import_official().modeling.MaskDecoder(
        transformer_dim=hq_decoder.transformer_dim,
        transformer=hq_decoder.transformer if share else copy.deepcopy(hq_decoder.transformer),
        num_multimask_outputs=hq_decoder.num_multimask_outputs,
        iou_head_depth=hq_decoder.iou_prediction_head.num_layers,
        iou_head_hidden_dim=hq_decoder.iou_prediction_head.layers[0].out_features,
    )
    if share:
        for name in SAM_DECODER_MODULES:
            setattr(decoder, name, getattr(hq_decoder, name))
    return decoder.to(hq_decoder.iou_token.weight.device).eval()


def select_sam(masks: torch.Tensor, iou: torch.Tensor, multimask: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """``MaskDecoder.forward``'s selection: SAM's ``(K, 4, 256, 256)`` logits and ``(K, 4)`` IoUs -> the three
    multimask candidates (tokens 1-3) or the single-mask token 0."""
    pick = slice(1, None) if multimask else slice(0, 1)
    return masks[:, pick], iou[:, pick]


def select_hq(masks: torch.Tensor, iou: torch.Tensor,
              multimask: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``MaskDecoderHQ.forward``'s selection on its ``(K, 5, 256, 256)`` logits and ``(K, 4)`` IoUs, for both of
    its outputs at once: the HQ token's logits (``hq_token_only=True``), the fused logits (the chosen SAM token +
    the HQ token, ``hq_token_only=False``) and the chosen token's IoU, each ``(K, 1, ...)``. With ``multimask`` the
    chosen SAM token is the best of tokens 1-3 by IoU, else token 0."""
    hq = masks[:, HQ_TOKEN:HQ_TOKEN + 1]
    if multimask:
        best_iou, best = torch.max(iou[:, 1:HQ_TOKEN], dim=1)
        base = masks[:, 1:HQ_TOKEN][torch.arange(masks.shape[0], device=masks.device), best].unsqueeze(1)
        return hq, base + hq, best_iou.unsqueeze(1)
    return hq, masks[:, 0:1] + hq, iou[:, 0:1]
