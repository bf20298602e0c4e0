"""Check an export against the official PyTorch modules it was exported from: the largest differences per output.

:func:`compare_with_official` runs each exported part with ONNX Runtime and the official modules on the same
inputs (an image; prompts with points and negatives, boxes, a box with points and a mask input; single and
multimask; the HQ token alone and fused) and returns the largest absolute difference of every output. The official
side: ``image_encoder`` (+ ``embedding_encoder`` / ``compress_vit_feat`` for the HQ features), ``PromptEncoder`` and
``MaskDecoder.forward`` (SAM) / ``MaskDecoderHQ.forward`` (HQ-SAM, which computes the HQ features itself from the
early ViT feature). ``benchmarks/onnx_parity.py`` runs it for all four model sizes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..models.decoders import sam_decoder_of
from ..pair.preprocess import encoder_input
from .export import OnnxExport
from .runtime import OnnxSessions, decoder_prompt

if TYPE_CHECKING:
    from segment_anything_hq.modeling import Sam

__all__ = ["PROMPT_CASES", "compare_with_official"]

#: Prompts in the model's input frame (long side 1024): points ``(K, N, 2)`` with labels, boxes ``(K, 4)``, and
#: whether a random mask input is given.
PROMPT_CASES: dict[str, dict[str, Any]] = {
    "points": {"points": [[[100.0, 200.0], [400.0, 90.0], [30.0, 700.0]], [[900.0, 500.0], [10.0, 10.0],
                                                                          [512.0, 512.0]]],
               "labels": [[1, 0, 0], [1, 1, 0]]},
    "boxes": {"boxes": [[50.0, 60.0, 600.0, 700.0], [0.0, 0.0, 1023.0, 767.0], [300.0, 300.0, 320.0, 330.0]]},
    "box_points_mask": {"points": [[[200.0, 250.0]]], "labels": [[1]], "boxes": [[100.0, 120.0, 500.0, 480.0]],
                        "mask": True},
}


def _prompt(case: dict[str, Any]) -> tuple[Any, Any, torch.Tensor | None]:
    points = None
    if "points" in case:
        points = (torch.tensor(case["points"]), torch.tensor(case["labels"], dtype=torch.int))
    boxes = torch.tensor(case["boxes"]) if "boxes" in case else None
    k = len(case["points"] if "points" in case else case["boxes"])
    mask = torch.randn(k, 1, 256, 256, generator=torch.Generator().manual_seed(k)) if case.get("mask") else None
    return points, boxes, mask


def _diff(a: np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    b = b.detach().cpu().numpy() if isinstance(b, torch.Tensor) else b
    if a.shape != b.shape:
        raise AssertionError(f"shapes differ: {a.shape} vs {b.shape}")
    return float(np.abs(a - b).max()) if a.size else 0.0


def compare_with_official(export: OnnxExport, model: Sam, image: np.ndarray) -> dict[str, float]:
    """Largest absolute difference between ONNX Runtime and the official modules, per part and output.

    Args:
        export: the files (:func:`~hqsam_nb.onnx.export.export_onnx`); the parts present are checked (the
            decoders are fed the official encoder's outputs when the encoder is not in the export).
        model: the official HQ-SAM model the files were exported from (CPU).
        image: RGB ``uint8`` ``H x W x 3``.

    Returns:
        ``{"encoder.image_embeddings": ..., "hq_decoder.fused_masks": ..., ...}`` (max |ours - official|).
    """
    sessions = OnnxSessions(export)
    out: dict[str, float] = {}

    def record(key: str, value: float) -> None:
        out[key] = max(out.get(key, 0.0), value)

    x, _ = encoder_input(model, image)
    with torch.inference_mode():
        embeddings, interm = model.image_encoder(x)
        early = interm[0]
        decoder = model.mask_decoder
        hq_features = decoder.embedding_encoder(embeddings) + decoder.compress_vit_feat(early.permute(0, 3, 1, 2))
    if "encoder" in sessions.sessions:
        ours = sessions.run("encoder", {"image": x.numpy()})
        for name, got, want in zip(("image_embeddings", "interm_embeddings", "hq_features"), ours,
                                   (embeddings, early, hq_features), strict=True):
            record(f"encoder.{name}", _diff(got, want))
    sam_decoder = sam_decoder_of(model.mask_decoder)
    pe = model.prompt_encoder.get_dense_pe()
    for case in PROMPT_CASES.values():
        points, boxes, mask = _prompt(case)
        coords, labels = decoder_prompt(points, boxes)
        k = len(coords)
        feeds = {"image_embeddings": embeddings.numpy(), "point_coords": coords, "point_labels": labels,
                 "mask_input": np.zeros((k, 1, 256, 256), np.float32) if mask is None else mask.numpy(),
                 "has_mask_input": np.array([0.0 if mask is None else 1.0], np.float32)}
        with torch.inference_mode():
            sparse, dense = model.prompt_encoder(points=points, boxes=boxes, masks=mask)
        for multimask in (False, True):
            pick = slice(1, None) if multimask else slice(0, 1)
            if "sam_decoder" in sessions.sessions:
                masks, iou = sessions.run("sam_decoder", feeds)
                with torch.inference_mode():
                    ref_masks, ref_iou = sam_decoder(embeddings, pe, sparse, dense, multimask_output=multimask,
                                                     hq_token_only=False, interm_embeddings=None)
                record("sam_decoder.low_res_masks", _diff(masks[:, pick], ref_masks))
                record("sam_decoder.iou_predictions", _diff(iou[:, pick], ref_iou))
            if "hq_decoder" not in sessions.sessions:
                continue
            hq_feeds = {**feeds, "hq_features": hq_features.numpy()}
            masks, iou, hq_masks, fused_masks = sessions.run("hq_decoder", hq_feeds)
            rows = np.arange(k)
            best = np.argmax(iou[:, 1:4], axis=1) + 1 if multimask else np.zeros(k, int)
            for hq_only in (True, False):
                with torch.inference_mode():
                    ref_masks, ref_iou = model.mask_decoder(embeddings, pe, sparse, dense, multimask_output=multimask,
                                                            hq_token_only=hq_only, interm_embeddings=[early])
                ours = masks[:, 4:5] if hq_only else masks[rows, best][:, None] + masks[:, 4:5]
                record(f"hq_decoder.{'hq' if hq_only else 'fused'} (selected)", _diff(ours, ref_masks))
                record("hq_decoder.iou_predictions", _diff(iou[rows, best][:, None], ref_iou))
                if not multimask:
                    record(f"hq_decoder.{'hq_masks' if hq_only else 'fused_masks'}",
                           _diff(hq_masks if hq_only else fused_masks, ref_masks))
    return out
