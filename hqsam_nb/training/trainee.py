"""The model being trained: an official HQ-SAM whose SAM part is frozen, and the decoder pass that learns.

* :func:`start_model` - the starting point: an original SAM checkpoint (the HQ additions freshly initialised, as
  the paper did; for ``vit_tiny`` that is MobileSAM's weights), an HQ-SAM checkpoint (fine-tuning its HQ
  additions), or random SAM weights (offline exploration, CI);
* :func:`freeze_sam` - ``requires_grad`` on the HQ additions only (:data:`~hqsam_nb.models.loading.HQ_PARAM_PREFIXES`);
* :class:`HQDecoderPass` - an ``nn.Module`` (so that ``DistributedDataParallel`` can wrap it) whose forward runs
  the frozen prompt encoder and the HQ mask decoder on cached encoder features and returns the HQ token's
  low-res logits, the official ``hq_token_only=True`` output.

The whole model stays in ``eval()`` mode: the mask decoder has no dropout or batch norm, so train and eval
compute the same thing, and TinyViT's cached attention biases stay valid.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from ..models.checkpoints import check_model_name
from ..models.loading import (
    build_model,
    check_state_dict,
    describe_state_dict,
    hq_module_of,
    load_state_dict,
)
from ..models.provenance import WeightsProvenance, read_provenance
from .features import EncoderFeatures
from .prompts import TrainPrompt, prompt_tensors

if TYPE_CHECKING:
    from segment_anything_hq.modeling import Sam

logger = logging.getLogger(__name__)

__all__ = ["HQDecoderPass", "StartPoint", "freeze_sam", "start_model",
           "trainable_state"]


@dataclass(frozen=True)
class StartPoint:
    """Where a training run starts from.

    Attributes:
        model: the variant.
        kind: ``"sam"`` (original SAM weights, HQ additions freshly initialised), ``"hq-sam"`` (fine-tuning an
            HQ-SAM checkpoint) or ``"random"`` (seeded random SAM weights, HQ additions freshly initialised).
        provenance: the starting file's :class:`~hqsam_nb.models.provenance.WeightsProvenance` (official,
            fine-tuned, random or unknown; SHA-256 and path), or a file-less ``random`` one.
        seed: the seed of the fresh HQ additions (and of the random SAM weights).
    """

    model: str
    kind: str
    provenance: WeightsProvenance
    seed: int

    @property
    def sha256(self) -> str | None:
        return self.provenance.sha256

    @property
    def path(self) -> Path | None:
        return self.provenance.path

    def describe(self) -> str:
        if self.kind == "random":
            return f"RANDOM SAM {self.model} weights (seed {self.seed}), HQ additions freshly initialised"
        what = ("SAM" if self.kind == "sam" else "HQ-SAM") + f" {self.model}, {self.provenance.kind} weights"
        hq = "HQ additions freshly initialised" if self.kind == "sam" else "HQ additions fine-tuned"
        return f"{what} from {self.path} (sha256 {str(self.sha256)[:12]}), {hq}"


def start_model(model: str = "vit_tiny", *, checkpoint: str | os.PathLike | None = None, seed: int = 0,
                device: torch.device | str = "cpu") -> tuple[Sam, StartPoint]:
    """Build the official HQ-SAM model a run starts from (SAM frozen, see :func:`freeze_sam`).

    Args:
        model: ``"vit_tiny"``, ``"vit_b"``, ``"vit_l"`` or ``"vit_h"``.
        checkpoint: an original SAM checkpoint (``sam_vit_b_01ec64.pth``, MobileSAM's ``mobile_sam.pt`` for
            ``vit_tiny``): HQ additions initialised afresh; or an HQ-SAM checkpoint: its HQ additions are
            fine-tuned. None: random SAM weights, as the official builder initialises them
            (``sam_model_registry[model](checkpoint=None)``), seeded. Not
            :func:`~hqsam_nb.models.loading.random_state_dict`, which adds N(0, 0.02) noise to every parameter so
            that tests see stale caches: that noise makes the random image encoder's early feature nearly constant
            (it varies by ~0.1 % of its mean between image regions, against ~70 % without it), and HQ-SAM's
            fusion layers then need thousands of steps to read anything from it.
        seed: seeds the fresh HQ additions and the random weights.
        device: where the model goes.

    Raises:
        CheckpointError: the file is unreadable, unsafe, or not a SAM / HQ-SAM checkpoint of ``model``.
    """
    check_model_name(model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build_model(model, hq=True)  # the HQ additions as the official code initialises them, seeded
    expected = net.state_dict()
    sam_keys = {k: v for k, v in expected.items() if hq_module_of(k) is None}
    fresh = {k: v for k, v in expected.items() if hq_module_of(k) is not None}
    if checkpoint is None:
        state = expected  # the official initialisation, seeded, SAM's part and the HQ additions alike
        start = StartPoint(model, "random", WeightsProvenance("random", model, True, details={"seed": seed}), seed)
    else:
        path = Path(checkpoint).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist; pass an original SAM or HQ-SAM "
                                    f"checkpoint of {model}")
        state = load_state_dict(path)
        if describe_state_dict(state).hq:
            check_state_dict(expected, state, model=model, hq=True, source=str(path))
            kind = "hq-sam"
        else:
            check_state_dict(sam_keys, state, model=model, hq=False, source=str(path))
            state = {**state, **fresh}
            kind = "sam"
        start = StartPoint(model, kind, read_provenance(path, model=model, hq=kind == "hq-sam"), seed)
    net.load_state_dict(state, strict=True)
    net.to(device)
    net.eval()
    freeze_sam(net)
    logger.info("training starts from %s", start.describe())
    return net, start


def freeze_sam(model: nn.Module) -> tuple[str, ...]:
    """Freeze everything but the HQ additions; returns the names of the trainable parameters."""
    names = []
    for name, param in model.named_parameters():
        trainable = hq_module_of(name) is not None
        param.requires_grad_(trainable)
        if trainable:
            names.append(name)
    return tuple(names)


def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The HQ additions' tensors (detached CPU copies), keyed as in the model's state dict."""
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items() if hq_module_of(k) is not None}


class HQDecoderPass(nn.Module):
    """Prompt encoder (frozen) + HQ mask decoder on cached encoder features: the HQ token's low-res logits.

    The decoder call is the official ``MaskDecoderHQ.predict_masks`` with the HQ features
    ``embedding_encoder(embedding) + compress_vit_feat(early)`` computed once per image, as
    ``MaskDecoderHQ.forward`` computes them; the HQ token's mask is its last output (``hq_token_only=True``).
    """

    def __init__(self, model: Sam) -> None:
        super().__init__()
        self.model = model

    def forward(self, features: Sequence[EncoderFeatures], prompts: Sequence[Sequence[TrainPrompt]],
                branches: bool = False) -> torch.Tensor | dict[str, torch.Tensor]:
        """Decode every object of every image.

        Args:
            features: one entry per image (on the model's device).
            prompts: per image, its objects' prompts.
            branches: also return SAM's mask (the single-mask output) and the fused one (SAM + HQ token), as
                ``{"hq": ..., "sam": ..., "fused": ...}``.

        Returns:
            float ``(N, 1, 256, 256)`` logits, objects in order (image by image); or the dict of three.
        """
        sam = self.model
        decoder = sam.mask_decoder
        dense_pe = sam.prompt_encoder.get_dense_pe()
        n_tokens = decoder.num_mask_tokens  # SAM's 4 mask tokens + the HQ token
        out: dict[str, list[torch.Tensor]] = {"hq": [], "sam": []}
        for feats, objects in zip(features, prompts, strict=True):
            hq_features = decoder.embedding_encoder(feats.embedding) + decoder.compress_vit_feat(feats.early)
            for prompt in objects:  # one object at a time: prompts of different kinds have different token counts
                with torch.no_grad():
                    sparse, dense = sam.prompt_encoder(**prompt_tensors(prompt, feats.embedding.device))
                masks, _ = decoder.predict_masks(image_embeddings=feats.embedding, image_pe=dense_pe,
                                                 sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                                 hq_features=hq_features)
                out["hq"].append(masks[:, n_tokens - 1:n_tokens])
                out["sam"].append(masks[:, 0:1])
        hq = torch.cat(out["hq"])
        if not branches:
            return hq
        sam_low = torch.cat(out["sam"])
        return {"hq": hq, "sam": sam_low, "fused": sam_low + hq}
