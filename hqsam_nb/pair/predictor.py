"""SAM and HQ-SAM masks for the same prompt, from one image-encoder pass.

HQ-SAM keeps all of SAM frozen: its image encoder, prompt encoder and the SAM part of its mask decoder are
SAM's weights. So one HQ-SAM checkpoint holds *both* models, and :class:`PairPredictor` serves

* ``.sam``   - the original SAM mask decoder (``segment_anything_hq.modeling.MaskDecoder``, the class that
  ``sam_model_registry_baseline`` builds), sharing the HQ-SAM checkpoint's frozen SAM weights;
* ``.hq``    - the HQ output token alone (the official ``predict(..., hq_token_only=True)``);
* ``.fused`` - SAM token + HQ token logits (the official ``predict(..., hq_token_only=False)``, the paper's
  default),

from a single image-encoder pass. Per image it also computes, once, the HQ decoder's prompt-independent
features (``embedding_encoder(embedding) + compress_vit_feat(early ViT feature)``), which the official
predictor recomputes on every ``predict`` call; and it keeps an LRU cache of those per-image tensors keyed by
image content, so returning to an image costs no encoder pass. One HQ-decoder pass gives both ``.hq`` and
``.fused``.

Parity with the official predictors on the same weights is what the tests check: masks identical, logits
within 1e-4.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch

from .._compat import import_official
from ..io.images import ImageLike, as_rgb_uint8, image_sha256
from ..models.checkpoints import check_model_name, resolve_checkpoint
from ..models.loading import (
    Weights,
    WeightsInfo,
    check_state_dict,
    hq_module_of,
    load_model,
    load_state_dict,
    load_weights,
)
from .prompts import Prompt, make_prompt

if TYPE_CHECKING:
    from segment_anything_hq.modeling import MaskDecoder, Sam

logger = logging.getLogger(__name__)

__all__ = ["MaskResult", "PairPrediction", "PairPredictor", "load_pair"]

_ENCODER_DTYPES = {None: None, "float32": None, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
                   "float16": torch.float16, "fp16": torch.float16,
                   torch.float32: None, torch.bfloat16: torch.bfloat16, torch.float16: torch.float16}


@dataclass(frozen=True)
class MaskResult:
    """One mask.

    Attributes:
        mask: ``bool`` array ``H x W`` in original-image pixels (logits > 0 after upsampling).
        score: the model's predicted IoU. The HQ token has no IoU head of its own: as in the official
            predictor, ``.hq`` and ``.fused`` carry the score of the SAM token they were decoded with.
        logits: ``float32`` array ``256 x 256``, the decoder's low-resolution logits (the padded 1024 x 1024
            model input at 1/4 scale).
    """

    mask: np.ndarray
    score: float
    logits: np.ndarray


@dataclass(frozen=True)
class PairPrediction:
    """SAM's, HQ-SAM's and the fused mask for one prompt.

    Attributes:
        sam: the original SAM decoder's mask (with ``multimask=True``, its highest-scoring candidate); None when
            ``predict(..., only="hq")`` skipped the SAM decoder.
        hq: the HQ output token's mask (``hq_token_only=True``); None with ``only="sam"``.
        fused: SAM token + HQ token (``hq_token_only=False``, the paper's default); None with ``only="sam"``.
        sam_candidates: with ``multimask=True`` SAM's three candidates in decoder order, else ``(sam,)``;
            ``()`` with ``only="hq"``.
        prompt: the validated prompt that produced these masks.
        decode_ms: wall time of the ``predict`` call in milliseconds.
    """

    sam: MaskResult | None
    hq: MaskResult | None
    fused: MaskResult | None
    sam_candidates: tuple[MaskResult, ...]
    prompt: Prompt
    decode_ms: float

    def merge(self, other: PairPrediction) -> PairPrediction:
        """This prediction with the branches it lacks taken from ``other`` (the same prompt, decoded with the
        other ``only=``): e.g. an ``only="hq"`` result completed by an ``only="sam"`` one."""
        if other.prompt.to_dict() != self.prompt.to_dict():
            raise ValueError("cannot merge predictions of different prompts")
        return PairPrediction(
            sam=self.sam if self.sam is not None else other.sam,
            hq=self.hq if self.hq is not None else other.hq,
            fused=self.fused if self.fused is not None else other.fused,
            sam_candidates=self.sam_candidates or other.sam_candidates,
            prompt=self.prompt,
            decode_ms=self.decode_ms + other.decode_ms,
        )


@dataclass
class _ImageState:
    original_size: tuple[int, int]
    input_size: tuple[int, int]
    features: torch.Tensor  # 1 x 256 x 64 x 64, float32
    hq_features: torch.Tensor  # 1 x 32 x 256 x 256, float32
    sam_features: torch.Tensor | None  # only when SAM's image encoder differs from HQ-SAM's


def _sam_decoder_like(hq_decoder: Any, *, share: bool = True) -> MaskDecoder:
    """An original SAM ``MaskDecoder`` of the HQ decoder's size.

    With ``share=True`` its modules *are* the HQ decoder's frozen SAM modules (no copy, no extra memory);
    with ``share=False`` it has modules of its own, to be loaded from an original SAM checkpoint.
    """
    import copy

    decoder = import_official().modeling.MaskDecoder(
        transformer_dim=hq_decoder.transformer_dim,
        transformer=hq_decoder.transformer if share else copy.deepcopy(hq_decoder.transformer),
        num_multimask_outputs=hq_decoder.num_multimask_outputs,
        iou_head_depth=hq_decoder.iou_prediction_head.num_layers,
        iou_head_hidden_dim=hq_decoder.iou_prediction_head.layers[0].out_features,
    )
    if share:
        for name in ("iou_token", "mask_tokens", "output_upscaling", "output_hypernetworks_mlps",
                     "iou_prediction_head"):
            setattr(decoder, name, getattr(hq_decoder, name))
    return decoder.to(hq_decoder.iou_token.weight.device).eval()


def _compiled_or_eager(fn: Any, name: str) -> Any:
    """``torch.compile(fn)``, falling back to ``fn`` itself (with a warning) if compiling fails on first use,
    e.g. on a machine without the C++ compiler that TorchInductor needs on CPU."""
    compiled = torch.compile(fn, dynamic=True)
    current = [compiled]

    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return current[0](*args, **kwargs)
        except Exception as exc:
            if current[0] is fn:
                raise
            reason = (str(exc).strip().splitlines() or [""])[0][:200]
            logger.warning("torch.compile of the %s failed (%s: %s); using it uncompiled", name,
                           type(exc).__name__, reason)
            current[0] = fn
            return fn(*args, **kwargs)

    return call


class PairPredictor:
    """Serve SAM's and HQ-SAM's masks for a prompt from one image-encoder pass.

    Build it with :func:`load_pair`. Then ``set_image(image)`` once per image and ``predict(...)`` per prompt.

    One pair holds one current image (``set_image``; earlier embeddings stay in an LRU cache keyed by the image's
    SHA-256, so going back to an image costs a hash, not an encoder pass). Whoever shares a pair (several
    :class:`~hqsam_nb.widgets.PromptCanvas`, notebook cells) sets their image before decoding; the widgets do.
    A pair is **not thread-safe**: ``set_image`` then ``predict`` from two threads at once may decode on the
    other thread's image. Use one pair per thread (or a lock around both calls).

    Example:
        >>> pair = load_pair("vit_tiny")                          # doctest: +SKIP
        >>> pair.set_image(image)                                 # doctest: +SKIP
        >>> out = pair.predict(points=[[320, 240]], labels=[1])   # doctest: +SKIP
        >>> out.sam.mask.shape, out.hq.score                      # doctest: +SKIP
    """

    def __init__(self, model: Sam, sam_decoder: MaskDecoder, *, info: WeightsInfo, sam_info: WeightsInfo,
                 sam_model: Sam | None = None, encoder_dtype: Any = None, cache_size: int = 8,
                 compile: bool = False) -> None:
        if encoder_dtype not in _ENCODER_DTYPES:
            raise ValueError(f"encoder_dtype={encoder_dtype!r} is not accepted; use None, 'bfloat16' or 'float16'")
        self.model = model
        self.info = info
        self.sam_info = sam_info
        self.encoder_dtype: torch.dtype | None = _ENCODER_DTYPES[encoder_dtype]
        if self.encoder_dtype is torch.float16 and self.device.type == "cpu":
            raise ValueError("encoder_dtype='float16' needs a GPU; on CPU use None or 'bfloat16'")
        if not isinstance(cache_size, int) or cache_size < 1:
            raise ValueError(f"cache_size must be a positive int, got {cache_size!r}")
        self.cache_size = cache_size
        # SAM's own image/prompt encoders only when they differ from HQ-SAM's (a foreign sam_checkpoint).
        self._sam_model = sam_model
        self.sam_decoder = sam_decoder
        self.transform = import_official().utils.transforms.ResizeLongestSide(model.image_encoder.img_size)
        with torch.inference_mode():
            self._dense_pe = model.prompt_encoder.get_dense_pe()
            self._sam_dense_pe = sam_model.prompt_encoder.get_dense_pe() if sam_model is not None else self._dense_pe
        # Both decoders in one callable: with compile=True, one graph for both (fewer graph boundaries than
        # compiling each; torch.compile specialises on `multimask` and `only`, each compiled on first use).
        self._run_decoders = self._decoders
        if compile:
            logger.info("compiling the decoders with torch.compile (the first predict calls are slow)")
            self._run_decoders = _compiled_or_eager(self._decoders, "decoders")
        self._cache: OrderedDict[str, _ImageState] = OrderedDict()
        self._state: _ImageState | None = None
        self.image: np.ndarray | None = None
        self.encoder_passes = 0

    # ---------------------------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return self.model.device

    @property
    def is_image_set(self) -> bool:
        return self._state is not None

    @property
    def original_size(self) -> tuple[int, int]:
        """``(H, W)`` of the current image."""
        return self._require_state().original_size

    @property
    def image_embedding(self) -> torch.Tensor:
        """The current image's embedding, ``1 x 256 x 64 x 64`` float32 on the model's device."""
        return self._require_state().features

    def _require_state(self) -> _ImageState:
        if self._state is None:
            raise RuntimeError("no image is set: call pair.set_image(image) before predict()")
        return self._state

    def clear_cache(self) -> None:
        """Forget all cached image embeddings (the current image stays set)."""
        self._cache.clear()

    # ---------------------------------------------------------------------------------------------
    def set_image(self, image: ImageLike) -> None:
        """Compute (or fetch from the cache) everything per-image: one encoder pass for SAM and HQ-SAM.

        Args:
            image: RGB ``uint8`` ``H x W x 3``, grayscale ``H x W``, RGBA, float in ``[0, 1]``, a
                ``PIL.Image`` or a path (see :func:`~hqsam_nb.io.images.as_rgb_uint8`).
        """
        rgb = as_rgb_uint8(image)
        key = image_sha256(rgb)
        state = self._cache.get(key)
        if state is None:
            state = self._encode(rgb)
            self._cache[key] = state
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        self._state = state
        self.image = rgb

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.encoder_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.encoder_dtype)

    @torch.inference_mode()
    def _encode(self, rgb: np.ndarray) -> _ImageState:
        # Exactly the official SamPredictor.set_image preprocessing: resize the long side to 1024 (PIL),
        # normalise and pad in Sam.preprocess.
        resized = self.transform.apply_image(rgb)
        x = torch.as_tensor(resized, device=self.device).permute(2, 0, 1).contiguous()[None]
        x = self.model.preprocess(x)
        with self._autocast():
            features, interm = self.model.image_encoder(x)
        features = features.float()
        early = interm[0].float().permute(0, 3, 1, 2)  # after the first global-attention block (ViT)
        decoder = self.model.mask_decoder
        hq_features = decoder.embedding_encoder(features) + decoder.compress_vit_feat(early)
        sam_features = None
        if self._sam_model is not None:
            with self._autocast():
                sam_features = self._sam_model.image_encoder(x)[0].float()
            self.encoder_passes += 1
        self.encoder_passes += 1
        return _ImageState(tuple(rgb.shape[:2]), tuple(resized.shape[:2]), features, hq_features, sam_features)

    # ---------------------------------------------------------------------------------------------
    def predict(self, points: Any = None, labels: Any = None, box: Any = None, *,
                multimask: bool = False, only: Literal["sam", "hq"] | None = None) -> PairPrediction:
        """Decode SAM's, HQ-SAM's and the fused mask for one prompt on the current image.

        Args:
            points: ``(N, 2)`` array-like of ``(x, y)`` pixels of the original image, or None.
            labels: ``(N,)`` of 1 (positive) / 0 (negative); None with points means all positive.
            box: ``(4,)`` ``(x0, y0, x1, y1)`` pixels, or None. Points and a box may be combined.
            multimask: also give SAM's three candidate masks (``.sam_candidates``); ``.sam`` is then the
                highest-scoring one and ``.fused`` fuses the HQ token with the HQ decoder's best candidate,
                as the official ``multimask_output=True`` does.
            only: ``"hq"`` runs the HQ decoder alone (``.hq`` and ``.fused``; ``.sam`` is None), ``"sam"`` the
                SAM decoder alone (``.hq`` and ``.fused`` are None): for a view that shows one of them, at about
                half the cost. None (default) runs both.

        Raises:
            RuntimeError: no image set. ValueError: an invalid prompt (see :func:`~hqsam_nb.pair.prompts.make_prompt`)
                or an unknown ``only``.
        """
        if only not in (None, "sam", "hq"):
            raise ValueError(f"only={only!r} is not accepted; use None (both decoders), 'sam' or 'hq'")
        state = self._require_state()
        prompt = make_prompt(points, labels, box, image_size=state.original_size)
        t0 = time.perf_counter()
        with torch.inference_mode():
            points, boxes = self._prompt_tensors(state, prompt)
            sparse, dense = self.model.prompt_encoder(points=points, boxes=boxes, masks=None)
            sam_sparse, sam_dense = sparse, dense
            if self._sam_model is not None and only != "hq":  # SAM's own prompt encoder (a foreign sam_checkpoint)
                sam_sparse, sam_dense = self._sam_model.prompt_encoder(points=points, boxes=boxes, masks=None)
            sam_low, sam_iou, hq_low, fused_low, fused_iou = self._run_decoders(
                state.features, state.sam_features if state.sam_features is not None else state.features,
                state.hq_features, sparse, dense, sam_sparse, sam_dense, bool(multimask), only)
            lows = [t for t in (sam_low, hq_low, fused_low) if t is not None]
            sam_scores = [] if sam_iou is None else sam_iou[0].float().cpu().tolist()
            fused_score = None if fused_iou is None else float(fused_iou.reshape(-1)[0])
            low = torch.cat(lows, dim=1)
            masks = self.model.postprocess_masks(low, state.input_size, state.original_size) > self.model.mask_threshold
        masks_np = masks[0].cpu().numpy()
        low_np = low[0].float().cpu().numpy()
        results = [MaskResult(m, 0.0, lg) for m, lg in zip(masks_np, low_np, strict=True)]
        n_sam = len(sam_scores)
        candidates = tuple(MaskResult(r.mask, s, r.logits) for r, s in zip(results, sam_scores, strict=False))
        hq = fused = None
        if only != "sam":
            hq, fused = (MaskResult(r.mask, fused_score, r.logits) for r in results[n_sam:])
        return PairPrediction(
            sam=candidates[int(np.argmax(sam_scores))] if candidates else None,
            hq=hq,
            fused=fused,
            sam_candidates=candidates,
            prompt=prompt,
            decode_ms=(time.perf_counter() - t0) * 1e3,
        )

    def _prompt_tensors(self, state: _ImageState, prompt: Prompt) -> tuple[Any, Any]:
        dev = self.device
        points = boxes = None
        if prompt.points is not None:
            coords = self.transform.apply_coords(prompt.points, state.original_size)
            points = (torch.as_tensor(coords, dtype=torch.float, device=dev)[None],
                      torch.as_tensor(prompt.labels, dtype=torch.int, device=dev)[None])
        if prompt.box is not None:
            box = self.transform.apply_boxes(prompt.box, state.original_size)
            boxes = torch.as_tensor(box, dtype=torch.float, device=dev)
        return points, boxes

    def _decoders(self, features: torch.Tensor, sam_features: torch.Tensor, hq_features: torch.Tensor,
                  sparse: torch.Tensor, dense: torch.Tensor, sam_sparse: torch.Tensor, sam_dense: torch.Tensor,
                  multimask: bool, only: str | None) -> tuple[torch.Tensor | None, ...]:
        """Each decoder once; returns SAM logits and scores, HQ-only logits, fused logits and fused score
        (None for a decoder that ``only`` skips).

        HQ decoder: the official ``MaskDecoderHQ.forward()`` minus its per-call recomputation of ``hq_features``
        (``predict_masks`` with the per-image features), followed by ``forward()``'s own token selection.
        SAM decoder: the original ``MaskDecoder.forward()``, unchanged.
        """
        sam_low = sam_iou = hq_low = fused_low = fused_iou = None
        if only != "sam":
            masks, iou = self.model.mask_decoder.predict_masks(
                image_embeddings=features, image_pe=self._dense_pe, sparse_prompt_embeddings=sparse,
                dense_prompt_embeddings=dense, hq_features=hq_features,
            )
            n = self.model.mask_decoder.num_mask_tokens  # SAM's 4 mask tokens + the HQ token
            hq_low = masks[:, n - 1:n]
            if multimask:
                fused_iou, best = torch.max(iou[:, 1:n - 1], dim=1)
                base = masks[:, 1:n - 1][torch.arange(masks.shape[0], device=masks.device), best].unsqueeze(1)
            else:
                fused_iou, base = iou[:, 0:1], masks[:, 0:1]
            fused_low = base + hq_low
        if only != "hq":
            sam_low, sam_iou = self.sam_decoder(
                image_embeddings=sam_features, image_pe=self._sam_dense_pe, sparse_prompt_embeddings=sam_sparse,
                dense_prompt_embeddings=sam_dense, multimask_output=multimask, hq_token_only=False,
                interm_embeddings=None,
            )
        return sam_low, sam_iou, hq_low, fused_low, fused_iou


def _load_sam_side(model: Sam, sam_checkpoint: str | os.PathLike,
                   model_name: str) -> tuple[MaskDecoder, Sam | None, WeightsInfo]:
    """Load an original SAM checkpoint for ``.sam``, strictly.

    Returns SAM's decoder, plus a full SAM model only when the file's image or prompt encoder differs from
    the HQ-SAM checkpoint's (then SAM needs an encoder pass of its own), and the file's :class:`WeightsInfo`.
    """
    from ..models.loading import build_model

    resolved = resolve_checkpoint(model_name, hq=False, checkpoint=sam_checkpoint)
    state_dict = load_state_dict(resolved.path)
    source = str(resolved.path)
    hq_state = model.state_dict()
    expected = {k: v for k, v in hq_state.items() if hq_module_of(k) is None}
    check_state_dict(expected, state_dict, model=model_name, hq=False, source=source)
    info = WeightsInfo(model_name, False, "pretrained", resolved.path, resolved.official)
    if all(torch.equal(state_dict[k], hq_state[k].cpu()) for k in expected if not k.startswith("mask_decoder.")):
        decoder = _sam_decoder_like(model.mask_decoder, share=False)
        decoder_sd = {k[len("mask_decoder."):]: v for k, v in state_dict.items() if k.startswith("mask_decoder.")}
        load_weights(decoder, decoder_sd, model=model_name, hq=False, source=source)
        return decoder.to(model.device), None, info
    logger.warning("%s: SAM's encoder weights differ from the HQ-SAM checkpoint's, so SAM gets an image-encoder "
                   "pass of its own (set_image costs two passes)", resolved.path.name)
    sam_model = build_model(model_name, hq=False)
    load_weights(sam_model, state_dict, model=model_name, hq=False, source=source)
    sam_model.to(model.device)
    return sam_model.mask_decoder, sam_model, info


def load_pair(model: str = "vit_tiny", *, checkpoint: str | os.PathLike | None = None,
              sam_checkpoint: str | os.PathLike | None = None, device: str | torch.device | None = None,
              weights: Weights = "pretrained", encoder_dtype: Any = None, cache_size: int = 8,
              compile: bool = False) -> PairPredictor:
    """Load SAM and HQ-SAM as a :class:`PairPredictor` that shares one image-encoder pass.

    Args:
        model: ``"vit_tiny"`` (Light HQ-SAM), ``"vit_b"``, ``"vit_l"`` or ``"vit_h"``.
        checkpoint: the HQ-SAM file; default: ``$HQSAM_NB_CHECKPOINTS``, then the verified download.
        sam_checkpoint: an original SAM checkpoint for ``.sam``; default None takes SAM's weights from the
            HQ-SAM checkpoint (HQ-SAM freezes SAM, so they are SAM's weights).
        device: None picks cuda, then mps, then cpu.
        weights: ``"pretrained"`` or ``"random"`` (seeded, offline, masks meaningless: a warning says so).
        encoder_dtype: None (float32) or ``"bfloat16"`` / ``"float16"``: runs the image encoder under autocast;
            the decoders always get float32 inputs. ``float16`` needs a GPU.
        cache_size: how many images' embeddings the LRU cache keeps.
        compile: ``torch.compile`` the two decoders (faster clicks; the first calls take tens of seconds).
    """
    check_model_name(model)
    if weights == "random" and sam_checkpoint is not None:
        raise ValueError("weights='random' builds a random model: do not pass sam_checkpoint= with it")
    net, info = load_model(model, checkpoint=checkpoint, device=device, weights=weights, hq=True)
    sam_decoder, sam_model = _sam_decoder_like(net.mask_decoder), None
    sam_info = WeightsInfo(model, False, info.weights, info.path, info.official)
    if sam_checkpoint is not None:
        sam_decoder, sam_model, sam_info = _load_sam_side(net, sam_checkpoint, model)
    return PairPredictor(net, sam_decoder, info=info, sam_info=sam_info, sam_model=sam_model,
                         encoder_dtype=encoder_dtype, cache_size=cache_size, compile=compile)
