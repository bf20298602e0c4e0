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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch

from ..io.images import ImageLike, as_rgb_uint8, image_sha256
from ..models.checkpoints import check_model_name, resolve_checkpoint
from ..models.decoders import sam_decoder_of, select_hq
from ..models.loading import (
    Weights,
    check_state_dict,
    checkpoint_limit,
    hq_module_of,
    load_model,
    load_state_dict,
    load_weights,
)
from ..models.provenance import WeightsProvenance, read_provenance
from .branches import BRANCH_KEYS
from .preprocess import as_mask_input, encoder_input, prompt_tensors, resize_transform
from .prompts import Prompt, PromptBatch, check_flag, make_prompt, make_prompt_batch
from .results import LowResBatch, MaskBatch, MaskResult, PairBatchPrediction, PairPrediction

if TYPE_CHECKING:
    from segment_anything_hq.modeling import MaskDecoder, Sam

    from ..onnx.runtime import OnnxPairBackend

logger = logging.getLogger(__name__)

__all__ = ["BACKENDS", "CPU_BATCH_SIZE", "MaskBatch", "MaskResult", "PairBatchPrediction", "PairPrediction",
           "PairPredictor", "load_pair"]

#: The pair's backends: the official PyTorch modules, or the same weights exported to ONNX (``hqsam_nb.onnx``).
BACKENDS: tuple[str, ...] = ("torch", "onnx")
Backend = Literal["torch", "onnx"]

#: Objects per decoder call on a CPU (larger chunks are slower per object there: benchmarks/bench_batch.py).
CPU_BATCH_SIZE = 1

_ENCODER_DTYPES = {None: None, "float32": None, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
                   "float16": torch.float16, "fp16": torch.float16,
                   torch.float32: None, torch.bfloat16: torch.bfloat16, torch.float16: torch.float16}


@dataclass
class _ImageState:
    original_size: tuple[int, int]
    input_size: tuple[int, int]
    features: torch.Tensor  # 1 x 256 x 64 x 64, float32
    hq_features: torch.Tensor  # 1 x 32 x 256 x 256, float32
    sam_features: torch.Tensor | None  # only when SAM's image encoder differs from HQ-SAM's


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


def _check_only(only: Any) -> str | None:
    if only not in (None, "sam", "hq"):
        raise ValueError(f"only={only!r} is not accepted; use None (both decoders), 'sam' or 'hq'")
    return only


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

    def __init__(self, model: Sam, sam_decoder: MaskDecoder, *, info: WeightsProvenance,
                 sam_info: WeightsProvenance,
                 sam_model: Sam | None = None, encoder_dtype: Any = None, cache_size: int = 8,
                 compile: bool = False, onnx: OnnxPairBackend | None = None) -> None:
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
        #: The ONNX Runtime models (``backend="onnx"``), or None: the official PyTorch modules.
        self.onnx = onnx
        # SAM's own image/prompt encoders only when they differ from HQ-SAM's (a foreign sam_checkpoint).
        self._sam_model = sam_model
        self.sam_decoder = sam_decoder
        self.transform = resize_transform(model.image_encoder.img_size)  # the official ResizeLongestSide
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
    def backend(self) -> str:
        """``"torch"`` (the official PyTorch modules) or ``"onnx"`` (the exported models on ONNX Runtime)."""
        return "torch" if self.onnx is None else "onnx"

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
        # Exactly the official SamPredictor.set_image preprocessing (resize the long side, normalise, pad).
        x, size = encoder_input(self.model, rgb)
        if self.onnx is not None:
            features, hq_features = self.onnx.encode(x)
            self.encoder_passes += 1
            return _ImageState(tuple(rgb.shape[:2]), size, features, hq_features, None)
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
        return _ImageState(tuple(rgb.shape[:2]), size, features, hq_features, sam_features)

    # ---------------------------------------------------------------------------------------------
    def predict(self, points: Any = None, labels: Any = None, box: Any = None, *, prompt: Prompt | None = None,
                multimask: bool = False, only: Literal["sam", "hq"] | None = None,
                mask_input: Any = None) -> PairPrediction:
        """Decode SAM's, HQ-SAM's (HQ token) and the fused mask for one prompt on the current image.

        Args:
            points: ``(N, 2)`` array-like of ``(x, y)`` pixels of the original image, or None; or a
                :class:`~hqsam_nb.pair.prompts.Prompt` (then pass nothing else), used as it is.
            labels: ``(N,)`` of 1 (positive) / 0 (negative); None with points means all positive.
            box: ``(4,)`` ``(x0, y0, x1, y1)`` pixels, or None. Points and a box may be combined.
            prompt: a validated :class:`~hqsam_nb.pair.prompts.Prompt` instead of points / labels / box; only
                checked to lie inside the current image.
            multimask: also give SAM's three candidate masks (``.sam_candidates``); ``.sam`` is then the
                highest-scoring one and ``.fused`` fuses the HQ token with the HQ decoder's best candidate,
                as the official ``multimask_output=True`` does.
            only: ``"hq"`` runs the HQ decoder alone (``.hq`` and ``.fused``; ``.sam`` is None), ``"sam"`` the
                SAM decoder alone (``.hq`` and ``.fused`` are None): for a view that shows one of them, at about
                half the cost. None (default) runs both.
            mask_input: low-res logits ``(256, 256)`` or ``(1, 256, 256)`` to refine from, as the official
                ``predict(mask_input=...)``: e.g. a previous result's ``.logits``. Both decoders get the same
                one; to refine each model with its own previous mask, call once per model with ``only=``.

        Raises:
            RuntimeError: no image set. ValueError: an invalid prompt (see :class:`~hqsam_nb.pair.prompts.Prompt`),
                a prompt outside the image, an unknown ``only``, a ``mask_input`` of the wrong shape.
            TypeError: ``multimask`` not a bool, ``prompt`` not a Prompt.
        """
        state = self._require_state()
        if isinstance(points, Prompt):
            prompt, points = (points, None) if prompt is None else (prompt, points)
        if prompt is None:
            prompt = make_prompt(points, labels, box, image_size=state.original_size)
        elif not isinstance(prompt, Prompt):
            raise TypeError(f"prompt must be a hqsam_nb.Prompt, got {type(prompt).__name__}")
        elif points is not None or labels is not None or box is not None:
            raise ValueError("pass either a Prompt or points / labels / box, not both")
        else:
            prompt.check_inside(state.original_size)
        t0 = time.perf_counter()
        batch = self._decode_rows(state, PromptBatch.of_prompt(prompt), multimask=check_flag(multimask, "multimask"),
                                  only=_check_only(only), mask_input=as_mask_input(mask_input, 1, self.device),
                                  batch_size=1)
        batches = {key: (None if v is None else MaskBatch(*v)) for key, v in batch.items()}
        row = {key: (None if batches[key] is None else batches[key][0]) for key in BRANCH_KEYS}
        cand = batches["sam_candidates"]
        candidates = cand.candidates(0) if cand is not None else (() if row["sam"] is None else (row["sam"],))
        if cand is not None:  # .sam is the best candidate itself, as one object
            row["sam"] = candidates[int(np.argmax(cand.scores[0]))]
        return PairPrediction(sam=row["sam"], hq=row["hq"], fused=row["fused"], sam_candidates=candidates,
                              prompt=prompt, decode_ms=(time.perf_counter() - t0) * 1e3)

    def predict_batch(self, boxes: Any = None, points: Any = None, labels: Any = None, *,
                      prompts: PromptBatch | Sequence[Prompt] | None = None, multimask: bool = False,
                      only: Literal["sam", "hq"] | None = None, mask_input: Any = None,
                      batch_size: int | None = None) -> PairBatchPrediction:
        """Decode SAM's, HQ-SAM's (HQ token) and the fused masks for K objects of the current image.

        One image-encoder pass (``set_image``) serves every object and both models; one HQ-decoder pass gives
        ``hq`` and ``fused``. Objects are decoded ``batch_size`` at a time, so peak memory does not grow with K
        beyond the returned arrays. Objects with the same number of points are decoded together, so padding
        never changes a mask: object i's masks equal ``predict(prompt=result.prompts[i])``. (The official
        ``predict_torch`` on a padded batch differs slightly: its padding tokens take part in the decoder's
        attention.)

        Args:
            boxes: ``(K, 4)`` ``(x0, y0, x1, y1)`` pixels of the original image, or None.
            points: ``(K, N, 2)`` ``(x, y)`` pixels, or a list of K ``(N_k, 2)`` point sets, or None.
            labels: ``(K, N)`` 1 / 0, -1 for padding (or a list of ``(N_k,)``); None means all positive.
            prompts: instead of the three above, a :class:`~hqsam_nb.pair.prompts.PromptBatch` or a list of
                :class:`~hqsam_nb.pair.prompts.Prompt` (all with a box, or none with one).
            multimask: SAM's three candidates per object (``.sam_candidates``), ``.sam`` the best of them.
            only: ``"hq"`` or ``"sam"`` decodes one model (see :meth:`predict`).
            mask_input: low-res logits to refine from, ``(K, 256, 256)`` (or one ``(256, 256)`` for all).
            batch_size: objects per decoder call; None picks 64 on a GPU and :data:`CPU_BATCH_SIZE` on a CPU,
                where larger chunks are slower per object (``benchmarks/bench_batch.py``).

        Returns:
            A :class:`~hqsam_nb.pair.results.PairBatchPrediction`: ``.sam`` / ``.hq`` / ``.fused`` with masks
            ``bool (K, H, W)``, scores ``(K,)``, logits ``float32 (K, 256, 256)``; ``result[i]`` is object i.
        """
        state = self._require_state()
        if prompts is None:
            prompts = make_prompt_batch(boxes, points, labels, image_size=state.original_size)
        elif boxes is not None or points is not None or labels is not None:
            raise ValueError("pass either prompts= or boxes / points / labels, not both")
        elif isinstance(prompts, PromptBatch):
            prompts.check_inside(state.original_size)
        else:
            prompts = PromptBatch.from_prompts(prompts).check_inside(state.original_size)
        batch_size = self._batch_size(batch_size)
        t0 = time.perf_counter()
        out = self._decode_rows(state, prompts, multimask=check_flag(multimask, "multimask"), only=_check_only(only),
                                mask_input=as_mask_input(mask_input, len(prompts), self.device),
                                batch_size=batch_size)
        batches = {key: (None if v is None else MaskBatch(*v)) for key, v in out.items()}
        return PairBatchPrediction(sam=batches["sam"], hq=batches["hq"], fused=batches["fused"],
                                   sam_candidates=batches["sam_candidates"], prompts=prompts,
                                   decode_ms=(time.perf_counter() - t0) * 1e3)

    def upsample_logits(self, logits: Any) -> torch.Tensor:
        """Low-res logits ``(..., 256, 256)`` of the current image -> float32 ``(..., H, W)`` full-resolution
        logits on the model's device: exactly the official ``Sam.postprocess_masks`` (a mask is logits > 0)."""
        state = self._require_state()
        t = logits if isinstance(logits, torch.Tensor) else torch.as_tensor(np.asarray(logits, dtype=np.float32))
        if t.ndim < 2 or tuple(t.shape[-2:]) != (256, 256):
            raise ValueError(f"logits must have shape (..., 256, 256), got {tuple(t.shape)}")
        lead = t.shape[:-2]
        with torch.inference_mode():
            up = self.model.postprocess_masks(t.reshape(-1, 1, 256, 256).float().to(self.device), state.input_size,
                                              state.original_size)
        return up.reshape(*lead, *state.original_size)

    def decode_low_res(self, prompts: PromptBatch, *, multimask: bool = False, only: Literal["sam", "hq"] | None = None,
                       batch_size: int | None = None) -> dict[str, LowResBatch | None]:
        """The decoders' low-resolution logits and scores for K objects, without full-resolution masks.

        For callers that upsample only what they keep (segment everything: the official filters need
        full-resolution logits of the masks that pass the predicted-IoU filter, never the pair's boolean masks).
        Decodes exactly as :meth:`predict_batch` (same chunks, same values).

        Args:
            prompts: a validated :class:`~hqsam_nb.pair.prompts.PromptBatch` inside the current image.
            multimask, only, batch_size: as :meth:`predict_batch`.

        Returns:
            ``{"sam", "hq", "fused", "sam_candidates"}`` -> :class:`~hqsam_nb.pair.results.LowResBatch` (None for
            what was not decoded; ``"sam_candidates"`` only with ``multimask``).
        """
        state = self._require_state()
        prompts.check_inside(state.original_size)
        out = self._decode_rows(state, prompts, multimask=check_flag(multimask, "multimask"), only=_check_only(only),
                                mask_input=None, batch_size=self._batch_size(batch_size), full_res=False)
        return {key: (None if v is None else LowResBatch(v[1], v[2])) for key, v in out.items()}

    def _batch_size(self, batch_size: Any) -> int:
        if batch_size is None:
            return CPU_BATCH_SIZE if self.device.type == "cpu" else 64
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        return int(batch_size)

    def _decode_rows(self, state: _ImageState, prompts: PromptBatch, *, multimask: bool, only: str | None,
                     mask_input: torch.Tensor | None, batch_size: int, full_res: bool = True) -> dict[str, Any]:
        """Decode every object, ``batch_size`` at a time, objects of equal point count together, into
        preallocated numpy outputs ``{branch: (masks, scores, logits) | None, "sam_candidates": ...}`` (masks None
        without ``full_res``)."""
        k, (h, w) = len(prompts), state.original_size
        decoded = {"sam": only != "hq", "hq": only != "sam", "fused": only != "sam"}
        out: dict[str, Any] = {key: None for key in (*BRANCH_KEYS, "sam_candidates")}
        for key in (key for key in BRANCH_KEYS if decoded[key]):
            out[key] = (np.zeros((k, h, w), bool) if full_res else None, np.zeros(k, np.float32),
                        np.zeros((k, 256, 256), np.float32))
        if multimask and only != "hq":
            out["sam_candidates"] = (np.zeros((k, 3, h, w), bool) if full_res else None, np.zeros((k, 3), np.float32),
                                     np.zeros((k, 3, 256, 256), np.float32))
        counts = prompts.n_points
        for n in np.unique(counts):
            group = np.flatnonzero(counts == n)
            for start in range(0, len(group), batch_size):
                rows = group[start:start + batch_size]
                chunk = prompts.select(rows)  # real points first, trimmed to this group's count
                self._decode_chunk(state, chunk, rows, out, multimask=multimask, only=only,
                                   mask_input=None if mask_input is None else mask_input[rows])
        return out

    def _decode_chunk(self, state: _ImageState, chunk: PromptBatch, rows: np.ndarray, out: dict[str, Any], *,
                      multimask: bool, only: str | None, mask_input: torch.Tensor | None) -> None:
        with torch.inference_mode():
            points, boxes = prompt_tensors(chunk, state.original_size, self.model.image_encoder.img_size, self.device)
            if self.onnx is not None:
                sam_low, sam_iou, hq_low, fused_low, fused_iou = self.onnx.decoders(
                    state.features, state.hq_features, points, boxes, mask_input, multimask, only)
            else:
                sparse, dense = self.model.prompt_encoder(points=points, boxes=boxes, masks=mask_input)
                sam_sparse, sam_dense = sparse, dense
                if self._sam_model is not None and only != "hq":  # SAM's own prompt encoder (a foreign checkpoint)
                    sam_sparse, sam_dense = self._sam_model.prompt_encoder(points=points, boxes=boxes,
                                                                           masks=mask_input)
                sam_low, sam_iou, hq_low, fused_low, fused_iou = self._run_decoders(
                    state.features, state.sam_features if state.sam_features is not None else state.features,
                    state.hq_features, sparse, dense, sam_sparse, sam_dense, multimask, only)
            lows = [t for t in (sam_low, hq_low, fused_low) if t is not None]
            low = torch.cat(lows, dim=1)
            masks_np = None
            if out["hq" if hq_low is not None else "sam"][0] is not None:  # full-resolution masks wanted
                masks = self.model.postprocess_masks(low, state.input_size, state.original_size)
                masks_np = (masks > self.model.mask_threshold).cpu().numpy()
            low_np = low.float().cpu().numpy()
        def put(key: str, masks: np.ndarray | None, scores: np.ndarray, logits: np.ndarray) -> None:
            m, sc, lg = out[key]
            if m is not None:
                m[rows] = masks
            sc[rows], lg[rows] = scores, logits

        c = 0
        if sam_low is not None:
            n_sam = sam_low.shape[1]
            scores = sam_iou.float().cpu().numpy()
            pick = (np.arange(len(rows)), np.argmax(scores, axis=1))
            put("sam", None if masks_np is None else masks_np[pick], scores[pick], low_np[pick])
            if out["sam_candidates"] is not None:
                put("sam_candidates", None if masks_np is None else masks_np[:, :n_sam], scores, low_np[:, :n_sam])
            c = n_sam
        if hq_low is not None:
            score = fused_iou.reshape(-1).float().cpu().numpy()
            for key, j in (("hq", c), ("fused", c + 1)):
                put(key, None if masks_np is None else masks_np[:, j], score, low_np[:, j])

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
            hq_low, fused_low, fused_iou = select_hq(masks, iou, multimask)
        if only != "hq":
            sam_low, sam_iou = self.sam_decoder(
                image_embeddings=sam_features, image_pe=self._sam_dense_pe, sparse_prompt_embeddings=sam_sparse,
                dense_prompt_embeddings=sam_dense, multimask_output=multimask, hq_token_only=False,
                interm_embeddings=None,
            )
        return sam_low, sam_iou, hq_low, fused_low, fused_iou


def _load_sam_side(model: Sam, sam_checkpoint: str | os.PathLike,
                   model_name: str) -> tuple[MaskDecoder, Sam | None, WeightsProvenance]:
    """Load an original SAM checkpoint for ``.sam``, strictly.

    Returns SAM's decoder, plus a full SAM model only when the file's image or prompt encoder differs from
    the HQ-SAM checkpoint's (then SAM needs an encoder pass of its own), and the file's provenance.
    """
    from ..models.loading import build_model

    resolved = resolve_checkpoint(model_name, hq=False, checkpoint=sam_checkpoint)
    state_dict = load_state_dict(resolved.path, max_bytes=checkpoint_limit(model))
    source = str(resolved.path)
    hq_state = model.state_dict()
    expected = {k: v for k, v in hq_state.items() if hq_module_of(k) is None}
    check_state_dict(expected, state_dict, model=model_name, hq=False, source=source)
    info = read_provenance(resolved.path, model=model_name, hq=False)
    if all(torch.equal(state_dict[k], hq_state[k].cpu()) for k in expected if not k.startswith("mask_decoder.")):
        decoder = sam_decoder_of(model.mask_decoder, share=False)
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
              compile: bool = False, backend: Backend = "torch",
              onnx_dir: str | os.PathLike | None = None) -> PairPredictor:
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
        backend: ``"torch"`` (the official PyTorch modules) or ``"onnx"``: the encoder and both decoders exported
            from the same checkpoint, run by ONNX Runtime (``pip install "hqsam-nb[onnx]"``; faster decoders on a
            CPU). Same results to float rounding (``tests/test_onnx.py``), same weights provenance (``info``).
        onnx_dir: with ``backend="onnx"``: a folder of files exported from this checkpoint
            (``hqsam-nb export-onnx``); default: exported once into the cache and reused.

    Raises:
        ValueError: an unknown ``backend``; ``onnx_dir`` holds files exported from another checkpoint.
    """
    check_model_name(model)
    if weights == "random" and sam_checkpoint is not None:
        raise ValueError("weights='random' builds a random model: do not pass sam_checkpoint= with it")
    if backend not in BACKENDS:
        raise ValueError(f"backend={backend!r} is not accepted; use one of {', '.join(map(repr, BACKENDS))}")
    if backend == "onnx":
        return _load_onnx_pair(model, checkpoint=checkpoint, sam_checkpoint=sam_checkpoint, device=device,
                               weights=weights, encoder_dtype=encoder_dtype, cache_size=cache_size, compile=compile,
                               onnx_dir=onnx_dir)
    if onnx_dir is not None:
        raise ValueError("onnx_dir= is for backend='onnx'")
    net, info = load_model(model, checkpoint=checkpoint, device=device, weights=weights, hq=True)
    sam_decoder, sam_model = sam_decoder_of(net.mask_decoder), None
    sam_info = info.for_sam()
    if sam_checkpoint is not None:
        sam_decoder, sam_model, sam_info = _load_sam_side(net, sam_checkpoint, model)
    return PairPredictor(net, sam_decoder, info=info, sam_info=sam_info, sam_model=sam_model,
                         encoder_dtype=encoder_dtype, cache_size=cache_size, compile=compile)


def _load_onnx_pair(model: str, *, checkpoint: str | os.PathLike | None, sam_checkpoint: Any, device: Any,
                    weights: Weights, encoder_dtype: Any, cache_size: int, compile: bool,
                    onnx_dir: str | os.PathLike | None) -> PairPredictor:
    """``load_pair(..., backend="onnx")``: the checkpoint loaded as for the PyTorch pair (its provenance, the
    preprocessing and upsampling), its exported models (``onnx_dir`` or the cache) run by ONNX Runtime."""
    from ..models.loading import pick_device
    from ..onnx.export import export_for
    from ..onnx.runtime import OnnxPairBackend, OnnxSessions, import_onnxruntime

    if sam_checkpoint is not None or encoder_dtype not in (None, "float32", torch.float32) or compile:
        raise ValueError("backend='onnx' runs the exported float32 models: it takes no sam_checkpoint, "
                         "encoder_dtype or compile (use backend='torch' for those)")
    import_onnxruntime()  # fail before minutes of export when it is missing
    dev = pick_device(device)
    net, info = load_model(model, checkpoint=checkpoint, device="cpu", weights=weights, hq=True)
    export = export_for(net, info, onnx_dir)
    net.to(dev)
    backend = OnnxPairBackend(OnnxSessions(export, device=dev))
    return PairPredictor(net, sam_decoder_of(net.mask_decoder), info=info, sam_info=info.for_sam(),
                         cache_size=cache_size, onnx=backend)
