"""The three graphs exported to ONNX, as thin ``torch.nn.Module`` s over the official modules (nothing re-implemented).

* :class:`EncoderGraph` - SAM's image encoder (frozen, shared by SAM and HQ-SAM) plus HQ-SAM's per-image feature
  fusion (``embedding_encoder(embedding) + compress_vit_feat(early ViT feature)``), computed once per image as the
  pair predictor does;
* :class:`SamDecoderGraph` - the original SAM mask decoder (``MaskDecoder.predict_masks``, SAM's weights taken from
  the HQ-SAM checkpoint) with the official ONNX prompt embedding;
* :class:`HqDecoderGraph` - HQ-SAM's decoder (``MaskDecoderHQ.predict_masks``) with the same prompt embedding, plus
  the HQ-token and fused masks of the official default (``multimask_output=False``).

Inputs and outputs (names, shapes, dtypes) are listed in :data:`SPECS`, which the exporter writes into each file's
metadata and the README documents. Prompt convention (the official ONNX decoder's): points and box corners together
in ``point_coords`` (K objects x N points), in the model's input frame (the image resized so that its long side is
1024: multiply original pixels by ``1024 / max(H, W)``); ``point_labels`` 1 positive, 0 negative, 2 and 3 a box's
two corners, -1 padding. Without a box, append one padding point ``(0, 0)`` with label -1, as the official prompt
encoder does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from .._compat import traceable_prompt_embedder

if TYPE_CHECKING:
    from segment_anything_hq.modeling import MaskDecoder, Sam

__all__ = ["GRAPHS", "PART_NAMES", "SPECS", "EncoderGraph", "HqDecoderGraph", "IoSpec", "SamDecoderGraph"]


@dataclass(frozen=True)
class IoSpec:
    """One input or output of an exported graph: name, shape (symbolic names for dynamic axes), dtype, meaning."""

    name: str
    shape: tuple[int | str, ...]
    dtype: str
    doc: str

    def line(self) -> str:
        dims = ", ".join(str(d) for d in self.shape)
        return f"{self.name} {self.dtype}[{dims}]: {self.doc}"


class EncoderGraph(torch.nn.Module):
    """``image`` -> ``image_embeddings``, ``interm_embeddings`` (the early ViT feature), ``hq_features``."""

    def __init__(self, model: Sam) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        features, interm = self.model.image_encoder(image)
        early = interm[0]  # ViT: after the first global-attention block; TinyViT: after its second stage
        decoder = self.model.mask_decoder
        hq_features = decoder.embedding_encoder(features) + decoder.compress_vit_feat(early.permute(0, 3, 1, 2))
        return features, early, hq_features


class SamDecoderGraph(torch.nn.Module):
    """Prompts + ``image_embeddings`` -> SAM's four mask tokens' low-res logits and predicted IoUs."""

    def __init__(self, model: Sam, sam_decoder: MaskDecoder) -> None:
        super().__init__()
        self.model = model
        self.sam_decoder = sam_decoder
        self._embed = traceable_prompt_embedder(model)

    def forward(self, image_embeddings: torch.Tensor, point_coords: torch.Tensor, point_labels: torch.Tensor,
                mask_input: torch.Tensor, has_mask_input: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.sam_decoder.predict_masks(
            image_embeddings=image_embeddings, image_pe=self.model.prompt_encoder.get_dense_pe(),
            sparse_prompt_embeddings=self._embed.points(point_coords, point_labels),
            dense_prompt_embeddings=self._embed.masks(mask_input, has_mask_input),
        )


class HqDecoderGraph(torch.nn.Module):
    """Prompts + ``image_embeddings`` + ``hq_features`` -> HQ-SAM's five masks (SAM's four tokens inside HQ-SAM,
    then the HQ token), the four IoUs, and the HQ-token and fused masks of the official default."""

    def __init__(self, model: Sam) -> None:
        super().__init__()
        self.model = model
        self._embed = traceable_prompt_embedder(model)

    def forward(self, image_embeddings: torch.Tensor, hq_features: torch.Tensor, point_coords: torch.Tensor,
                point_labels: torch.Tensor, mask_input: torch.Tensor,
                has_mask_input: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        masks, iou = self.model.mask_decoder.predict_masks(
            image_embeddings=image_embeddings, image_pe=self.model.prompt_encoder.get_dense_pe(),
            sparse_prompt_embeddings=self._embed.points(point_coords, point_labels),
            dense_prompt_embeddings=self._embed.masks(mask_input, has_mask_input), hq_features=hq_features,
        )
        hq = masks[:, 4:5]
        # MaskDecoderHQ.forward(multimask_output=False): SAM's single-mask token + the HQ token.
        return masks, iou, hq, masks[:, 0:1] + hq


_K, _N = "num_objects", "num_points"
_PROMPTS = (
    IoSpec("point_coords", (_K, _N, 2), "float32",
           "(x, y) of points and box corners in the model's input frame (long side resized to 1024)"),
    IoSpec("point_labels", (_K, _N), "float32", "1 positive, 0 negative, 2 box top-left, 3 box bottom-right, "
           "-1 padding (append one (0, 0) point with -1 when there is no box)"),
    IoSpec("mask_input", (_K, 1, 256, 256), "float32", "low-res logits to refine from (zeros when unused)"),
    IoSpec("has_mask_input", (1,), "float32", "1: use mask_input, 0: ignore it"),
)
_EMBEDDINGS = IoSpec("image_embeddings", (1, 256, 64, 64), "float32", "the encoder's image_embeddings")
_HQ_FEATURES = IoSpec("hq_features", (1, 32, 256, 256), "float32", "the encoder's hq_features")

#: Inputs and outputs of each part, in order.
SPECS: dict[str, tuple[tuple[IoSpec, ...], tuple[IoSpec, ...]]] = {
    "encoder": (
        (IoSpec("image", (1, 3, 1024, 1024), "float32",
                "RGB resized so that its long side is 1024 (PIL bilinear, as the official ResizeLongestSide), "
                "normalised with pixel_mean / pixel_std (metadata), zero-padded right and bottom to 1024 x 1024"),),
        (_EMBEDDINGS,
         IoSpec("interm_embeddings", (1, 64, 64, "C"), "float32",
                "the early ViT feature, channels last (the official interm_embeddings[0]: after the first "
                "global-attention block; TinyViT: after its second stage; C = 160 / 768 / 1024 / 1280)"),
         IoSpec("hq_features", (1, 32, 256, 256), "float32", "HQ-SAM's per-image features: "
                "embedding_encoder(image_embeddings) + compress_vit_feat(interm_embeddings)")),
    ),
    "sam_decoder": (
        (_EMBEDDINGS, *_PROMPTS),
        (IoSpec("low_res_masks", (_K, 4, 256, 256), "float32",
                "SAM's logits at 1/4 of the padded input: token 0 single-mask, tokens 1-3 the multimask "
                "candidates (mask = logits > 0 after upsampling)"),
         IoSpec("iou_predictions", (_K, 4), "float32", "predicted IoU of each token")),
    ),
    "hq_decoder": (
        (_EMBEDDINGS, _HQ_FEATURES, *_PROMPTS),
        (IoSpec("low_res_masks", (_K, 5, 256, 256), "float32",
                "HQ-SAM's logits: tokens 0-3 as SAM's (inside HQ-SAM), token 4 the HQ output token"),
         IoSpec("iou_predictions", (_K, 4), "float32", "predicted IoU of tokens 0-3 (the HQ token has none)"),
         IoSpec("hq_masks", (_K, 1, 256, 256), "float32", "HQ-SAM (HQ token): low_res_masks[:, 4:5]"),
         IoSpec("fused_masks", (_K, 1, 256, 256), "float32",
                "HQ-SAM (fused), the official default: low_res_masks[:, 0:1] + low_res_masks[:, 4:5]; with "
                "multimask, add token 4 to the best of tokens 1-3 by iou_predictions instead")),
    ),
}
#: The parts, in the order they run.
PART_NAMES: tuple[str, ...] = tuple(SPECS)
#: Each part's graph class.
GRAPHS: dict[str, type[torch.nn.Module]] = {"encoder": EncoderGraph, "sam_decoder": SamDecoderGraph,
                                            "hq_decoder": HqDecoderGraph}
