"""Check an export against the official PyTorch modules it was exported from: how far each output is.

:func:`agreement_with_official` runs each exported part with ONNX Runtime and the official modules on the same
inputs (an image; prompts with points and negatives, boxes, a box with points and a mask input; single and
multimask; the HQ token alone and fused) and returns, per output, the largest absolute difference and, for masks,
the mask IoU with the official mask at image resolution and the share of differing pixels (:class:`Agreement`);
:func:`compare_with_official` is its largest differences alone (the float32 parity check). The official side:
``image_encoder`` (+ ``embedding_encoder`` / ``compress_vit_feat`` for the HQ features), ``PromptEncoder`` and
``MaskDecoder.forward`` (SAM) / ``MaskDecoderHQ.forward`` (HQ-SAM, which computes the HQ features itself from the
early ViT feature), ``Sam.postprocess_masks`` for the masks. ``benchmarks/onnx_parity.py`` runs it for all four model
sizes and every precision.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..metrics.masks import mask_iou
from ..models.decoders import sam_decoder_of
from ..pair.preprocess import encoder_input
from .export import OnnxExport
from .runtime import OnnxSessions, decoder_prompt

if TYPE_CHECKING:
    from segment_anything_hq.modeling import Sam

__all__ = ["PROMPT_CASES", "Agreement", "agreement_with_official", "compare_with_official"]

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


@dataclass
class Agreement:
    """How far one exported output is from the official module's, over every prompt case of :data:`PROMPT_CASES`.

    Attributes:
        max_abs: the largest ``|ours - official|`` (logits, IoU predictions or features).
        ious: mask outputs only: per mask (prompt case x object x mask channel x single/multimask), the IoU of the
            mask at image resolution (``postprocess_masks`` of the logits ``> mask_threshold``, the official
            upsampling) with the official one; 1.0 when both are empty.
        differing_pixels, pixels: mask outputs only: pixels whose mask value differs, of all compared.
        official_pixels: mask outputs only: pixels inside the official masks (how much of the image they cover: an
            IoU near 1 means little for masks that are all empty or all full).
    """

    max_abs: float = 0.0
    ious: list[float] = field(default_factory=list)
    differing_pixels: int = 0
    pixels: int = 0
    official_pixels: int = 0

    @property
    def is_mask(self) -> bool:
        return bool(self.pixels)

    @property
    def iou_mean(self) -> float:
        return float(np.mean(self.ious)) if self.ious else float("nan")

    @property
    def iou_worst(self) -> float:
        return float(min(self.ious)) if self.ious else float("nan")

    @property
    def differing_share(self) -> float:
        """The share of compared pixels whose mask value differs from the official mask's."""
        return self.differing_pixels / self.pixels if self.pixels else float("nan")

    @property
    def official_share(self) -> float:
        """The share of compared pixels inside the official masks."""
        return self.official_pixels / self.pixels if self.pixels else float("nan")

    def describe(self) -> str:
        """One line: ``max |diff| 2.3e-06`` and, for masks, ``mask IoU mean 1.0000 worst 1.0000, 0.000 % pixels
        differ (official masks cover 41.2 %)``."""
        text = f"max |diff| {self.max_abs:.1e}"
        if self.is_mask:
            text += (f", mask IoU mean {self.iou_mean:.4f} worst {self.iou_worst:.4f}, "
                     f"{100 * self.differing_share:.3f} % pixels differ (official masks cover "
                     f"{100 * self.official_share:.1f} %)")
        return text


def agreement_with_official(export: OnnxExport, model: Sam, image: np.ndarray, *, end_to_end: bool = False,
                            cases: Iterable[str] | None = None, with_masks: bool = True) -> dict[str, Agreement]:
    """How far each exported output is from the official modules: largest difference and, for masks, mask IoU and
    the share of differing pixels (:class:`Agreement`).

    Args:
        export: the files (:func:`~hqsam_nb.onnx.export.export_onnx`, any precision); the parts present are checked.
            Each decoder is fed the official encoder's outputs, so its figures are its own.
        model: the official HQ-SAM model the files were exported from (CPU).
        image: RGB ``uint8`` ``H x W x 3``.
        end_to_end: also feed the decoders the exported encoder's outputs (needs the encoder in the export): keys
            ``"end_to_end.<decoder>.<output>"``, what a user of the files gets (e.g. int8 encoder + int8 decoder).
        cases: which of :data:`PROMPT_CASES` (default all; fewer is quicker).
        with_masks: also compare the masks at image resolution (IoU, differing pixels); False: the largest differences
            only, without upsampling any mask.

    Returns:
        ``{"encoder.image_embeddings": Agreement, "hq_decoder.fused_masks": Agreement, ...}``.
    """
    cases = list(PROMPT_CASES) if cases is None else [cases] if isinstance(cases, str) else list(cases)
    if not cases or any(c not in PROMPT_CASES for c in cases):
        raise ValueError(f"cases={cases!r} is not accepted; use some of {', '.join(PROMPT_CASES)}")
    sessions = OnnxSessions(export)
    out: dict[str, Agreement] = {}
    x, input_size = encoder_input(model, image)
    original_size = tuple(image.shape[:2])

    def record(key: str, ours: np.ndarray, want: torch.Tensor, *, is_mask: bool = False) -> None:
        agreement = out.setdefault(key, Agreement())
        agreement.max_abs = max(agreement.max_abs, _diff(ours, want))
        if not (is_mask and with_masks):
            return
        with torch.inference_mode():
            got = model.postprocess_masks(torch.from_numpy(ours), input_size, original_size) > model.mask_threshold
            ref = model.postprocess_masks(want, input_size, original_size) > model.mask_threshold
        got, ref = got.flatten(0, 1).numpy(), ref.flatten(0, 1).numpy()
        agreement.ious += [mask_iou(r, g) for r, g in zip(ref, got, strict=True)]
        agreement.differing_pixels += int((got != ref).sum())
        agreement.pixels += got.size
        agreement.official_pixels += int(ref.sum())

    with torch.inference_mode():
        embeddings, interm = model.image_encoder(x)
        early = interm[0]
        decoder = model.mask_decoder
        hq_features = decoder.embedding_encoder(embeddings) + decoder.compress_vit_feat(early.permute(0, 3, 1, 2))
    sources = {"": (embeddings.numpy(), hq_features.numpy())}
    if "encoder" in sessions.sessions:
        ours = sessions.run("encoder", {"image": x.numpy()})
        for name, got, want in zip(("image_embeddings", "interm_embeddings", "hq_features"), ours,
                                   (embeddings, early, hq_features), strict=True):
            record(f"encoder.{name}", got, want)
        if end_to_end:
            sources["end_to_end."] = (ours[0], ours[2])
    elif end_to_end:
        raise ValueError(f"end_to_end needs the encoder, which {export.directory} lacks")
    sam_decoder = sam_decoder_of(model.mask_decoder)
    pe = model.prompt_encoder.get_dense_pe()
    for case in (PROMPT_CASES[c] for c in cases):
        points, boxes, mask = _prompt(case)
        coords, labels = decoder_prompt(points, boxes)
        k = len(coords)
        prompt_feeds = {"point_coords": coords, "point_labels": labels,
                        "mask_input": np.zeros((k, 1, 256, 256), np.float32) if mask is None else mask.numpy(),
                        "has_mask_input": np.array([0.0 if mask is None else 1.0], np.float32)}
        with torch.inference_mode():
            sparse, dense = model.prompt_encoder(points=points, boxes=boxes, masks=mask)
        for multimask in (False, True):
            pick = slice(1, None) if multimask else slice(0, 1)
            with torch.inference_mode():  # the official outputs of the decoders in the export
                if "sam_decoder" in sessions.sessions:
                    ref_sam = sam_decoder(embeddings, pe, sparse, dense, multimask_output=multimask,
                                          hq_token_only=False, interm_embeddings=None)
                ref_hq = {hq_only: model.mask_decoder(embeddings, pe, sparse, dense, multimask_output=multimask,
                                                      hq_token_only=hq_only, interm_embeddings=[early])
                          for hq_only in (True, False) if "hq_decoder" in sessions.sessions}
            for source, (source_embeddings, source_hq_features) in sources.items():
                feeds = {"image_embeddings": source_embeddings, **prompt_feeds}
                if "sam_decoder" in sessions.sessions:
                    masks, iou = sessions.run("sam_decoder", feeds)
                    record(f"{source}sam_decoder.low_res_masks", masks[:, pick], ref_sam[0], is_mask=True)
                    record(f"{source}sam_decoder.iou_predictions", iou[:, pick], ref_sam[1])
                if "hq_decoder" not in sessions.sessions:
                    continue
                masks, iou, hq_masks, fused_masks = sessions.run("hq_decoder", {**feeds,
                                                                               "hq_features": source_hq_features})
                rows = np.arange(k)
                best = np.argmax(iou[:, 1:4], axis=1) + 1 if multimask else np.zeros(k, int)
                for hq_only, (ref_masks, ref_iou) in ref_hq.items():
                    ours = masks[:, 4:5] if hq_only else masks[rows, best][:, None] + masks[:, 4:5]
                    branch = "hq" if hq_only else "fused"
                    record(f"{source}hq_decoder.{branch} (selected)", ours, ref_masks, is_mask=True)
                    record(f"{source}hq_decoder.iou_predictions", iou[rows, best][:, None], ref_iou)
                    if not multimask:
                        record(f"{source}hq_decoder.{branch}_masks", hq_masks if hq_only else fused_masks, ref_masks,
                               is_mask=True)
    return out


def compare_with_official(export: OnnxExport, model: Sam, image: np.ndarray, *,
                          end_to_end: bool = False) -> dict[str, float]:
    """Largest absolute difference between ONNX Runtime and the official modules, per part and output (the
    ``max_abs`` of :func:`agreement_with_official`, which see).

    Returns:
        ``{"encoder.image_embeddings": ..., "hq_decoder.fused_masks": ..., ...}`` (max |ours - official|).
    """
    found = agreement_with_official(export, model, image, end_to_end=end_to_end, with_masks=False)
    return {key: agreement.max_abs for key, agreement in found.items()}
