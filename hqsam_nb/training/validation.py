"""Validation during training: mIoU and mBIoU of the HQ token, SAM and fused on held-out examples, box prompts.

As the package's evaluation scores a checkpoint (``hqsam_nb.evaluate``, protocol ``predictor``): each image is
fed as the official ``SamPredictor`` feeds it (long side to 1024, padded), the prompt is the ground truth's
tight box (:func:`~hqsam_nb.evaluation.protocols.tight_box`), the 256 x 256 logits are resized back to the
image and thresholded at 0, and :func:`~hqsam_nb.metrics.mask_iou` / :func:`~hqsam_nb.metrics.boundary_iou`
score them. So the numbers of the last validation are the ones ``load_pair(checkpoint=<exported file>)`` gives
(a test checks it).

The image encoder runs once per validation image (its outputs are kept); every validation then costs the
decoder only. SAM's masks do not change during training (SAM is frozen): they are decoded once, with an original
SAM ``MaskDecoder`` holding the model's frozen decoder weights. With several processes each validates every
``world``-th example and the rows are gathered.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from .._compat import import_official
from ..evaluation.datasets import Example
from ..evaluation.protocols import tight_box
from ..metrics.masks import boundary_iou, mask_iou
from ..models.loading import hq_module_of
from ..pair.branches import BRANCH_KEYS
from ..pair.preprocess import prompt_tensors
from ..pair.prompts import make_prompt_batch
from .augment import IDENTITY, apply_view
from .features import EncoderFeatures, encode
from .prompts import TrainPrompt

if TYPE_CHECKING:
    from segment_anything_hq.modeling import MaskDecoder, Sam

    from .trainee import HQDecoderPass

logger = logging.getLogger(__name__)

__all__ = ["ExampleScores", "Validator", "summarise"]


@dataclass(frozen=True)
class ExampleScores:
    """One validation example's scores: ``iou[branch]`` and ``biou[branch]`` for ``sam``, ``hq``, ``fused``."""

    name: str
    iou: dict[str, float]
    biou: dict[str, float]

    def to_dict(self) -> dict:
        return {"name": self.name, "iou": self.iou, "biou": self.biou}


@dataclass(frozen=True)
class _Item:
    name: str
    mask: np.ndarray
    features: EncoderFeatures
    box: np.ndarray  # (4,) in the input frame
    input_size: tuple[int, int]


def _sam_decoder(model: Sam) -> MaskDecoder:
    """An original SAM ``MaskDecoder`` with ``model``'s frozen decoder weights (its HQ additions left out)."""
    hq = model.mask_decoder
    official = import_official().modeling
    with torch.device("meta"):
        decoder = official.MaskDecoder(
            transformer_dim=hq.transformer_dim,
            transformer=official.TwoWayTransformer(depth=len(hq.transformer.layers), embedding_dim=hq.transformer_dim,
                                                   mlp_dim=hq.transformer.layers[0].mlp.lin1.out_features,
                                                   num_heads=hq.transformer.num_heads),
            num_multimask_outputs=hq.num_multimask_outputs,
            iou_head_depth=hq.iou_prediction_head.num_layers,
            iou_head_hidden_dim=hq.iou_prediction_head.layers[0].out_features,
        )
    state = {k: v for k, v in hq.state_dict().items() if hq_module_of("mask_decoder." + k) is None}
    decoder.load_state_dict(state, strict=True, assign=True)
    return decoder.eval().requires_grad_(False)


class Validator:
    """Scores the model on held-out examples; built once (one encoder pass per example), called per epoch.

    Args:
        model: the official HQ-SAM model being trained.
        examples: the held-out examples (RGB ``uint8`` images, ``bool`` masks).
        rank, world: this process's share (examples ``rank, rank + world, ...``).
    """

    def __init__(self, model: Sam, examples: Sequence[Example], *, rank: int = 0, world: int = 1) -> None:
        self.model = model
        self.count = len(examples)
        size = model.image_encoder.img_size
        items = []
        for i in range(rank, len(examples), world):
            ex = examples[i]
            image, _ = apply_view(ex.image, ex.mask, IDENTITY, size)
            prompts = make_prompt_batch(boxes=tight_box(ex.mask)[None], image_size=ex.mask.shape)
            _, boxes = prompt_tensors(prompts, ex.mask.shape, size, "cpu")
            items.append(_Item(ex.name, ex.mask, encode(model, image), boxes[0].numpy(),
                               (image.shape[0], image.shape[1])))
        self._items = items
        self._sam = self._sam_scores()

    @torch.no_grad()
    def _sam_scores(self) -> list[tuple[float, float]]:
        decoder = _sam_decoder(self.model).to(self.model.device)
        pe = self.model.prompt_encoder.get_dense_pe()
        scores = []
        for item in self._items:
            sparse, dense = self.model.prompt_encoder(points=None, boxes=torch.as_tensor(item.box)[None].to(pe.device),
                                                      masks=None)
            low, _ = decoder(image_embeddings=item.features.embedding.to(pe.device), image_pe=pe,
                             sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense, multimask_output=False,
                             hq_token_only=False, interm_embeddings=None)
            scores.append(self._score(item, low))
        return scores

    def _score(self, item: _Item, low: torch.Tensor) -> tuple[float, float]:
        mask = (self.model.postprocess_masks(low.float(), item.input_size, item.mask.shape) > 0)[0, 0].cpu().numpy()
        return mask_iou(item.mask, mask), boundary_iou(item.mask, mask)

    @torch.no_grad()
    def __call__(self, decoder_pass: HQDecoderPass) -> list[ExampleScores]:
        """This process's examples' scores with the current weights (``decoder_pass`` unwrapped from DDP)."""
        rows = []
        for item, (sam_iou, sam_biou) in zip(self._items, self._sam, strict=True):
            device = self.model.device
            out = decoder_pass([item.features.to(device)], [[TrainPrompt("box", box=item.box)]], branches=True)
            iou, biou = {"sam": sam_iou}, {"sam": sam_biou}
            for key in ("hq", "fused"):
                iou[key], biou[key] = self._score(item, out[key])
            rows.append(ExampleScores(item.name, {k: iou[k] for k in BRANCH_KEYS}, {k: biou[k] for k in BRANCH_KEYS}))
        return rows


def summarise(rows: Sequence[ExampleScores]) -> dict[str, dict[str, float]]:
    """``{"miou": {branch: mean}, "mbiou": {branch: mean}}`` over ``rows`` (fractions in [0, 1])."""
    return {metric: {k: float(np.mean([getattr(r, attr)[k] for r in rows])) for k in BRANCH_KEYS}
            for metric, attr in (("miou", "iou"), ("mbiou", "biou"))}
