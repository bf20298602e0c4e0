"""The frozen image encoder's outputs, and a cache of them per example and augmentation view.

A training step of HQ-SAM runs the frozen image encoder (ViT-H: ~3 TFLOPs per 1024 x 1024 image), then the
prompt encoder and the mask decoder, of which only the HQ additions learn. Nothing that learns touches the
encoder, so its two outputs the HQ decoder reads - the image embedding and the early ViT feature - are the same
every time an example is seen in the same view. :class:`FeatureCache` keeps them, in memory up to a byte budget
and optionally on disk, so that an epoch after the first costs the decoder only.

The official loop encodes every step (it augments every sample afresh); with the cache, each example has a
fixed set of views (:attr:`hqsam_nb.training.recipe.Recipe.cache_views`).
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..io.atomic import atomic_torch_save, atomic_write_json

if TYPE_CHECKING:
    from segment_anything_hq.modeling import Sam

logger = logging.getLogger(__name__)

__all__ = ["EncoderFeatures", "FeatureCache", "encode"]


@dataclass(frozen=True)
class EncoderFeatures:
    """What the HQ decoder reads from the image encoder for one image.

    Attributes:
        embedding: float ``(1, 256, 64, 64)``, the image embedding (the encoder's neck output).
        early: float ``(1, C, 64, 64)``, the early ViT feature, channels first (``C`` = 160 for ``vit_tiny``,
            the encoder width for ViT-B/L/H: the output of the first global-attention block).
    """

    embedding: torch.Tensor
    early: torch.Tensor

    @property
    def nbytes(self) -> int:
        return sum(t.element_size() * t.nelement() for t in (self.embedding, self.early))

    def to(self, device: torch.device | str, dtype: torch.dtype = torch.float32) -> EncoderFeatures:
        return EncoderFeatures(self.embedding.to(device, dtype), self.early.to(device, dtype))


@torch.no_grad()
def encode(model: Sam, image: np.ndarray, *, autocast_dtype: torch.dtype | None = None) -> EncoderFeatures:
    """Run the frozen image encoder on one view image.

    Args:
        model: an official HQ-SAM model.
        image: RGB ``uint8`` ``h x w x 3``, long side at most the encoder's input size (a training view, see
            :func:`~hqsam_nb.training.augment.apply_view`); normalised and zero-padded here by ``model.preprocess``.
        autocast_dtype: run the encoder under ``torch.autocast`` in this dtype (``torch.bfloat16`` on a GPU);
            the outputs are returned in float32.
    """
    x = torch.as_tensor(image, device=model.device).permute(2, 0, 1)[None].float()
    x = model.preprocess(x)
    ctx = (torch.autocast(device_type=model.device.type, dtype=autocast_dtype) if autocast_dtype is not None
           else contextlib.nullcontext())
    with ctx:
        embedding, interm = model.image_encoder(x)
    return EncoderFeatures(embedding.float(), interm[0].float().permute(0, 3, 1, 2).contiguous())


class FeatureCache:
    """Encoder outputs per ``(example index, view index)``: in memory up to ``max_bytes``, and on disk in
    ``folder`` if one is given.

    In memory, entries are kept in the order they arrive until the budget is full; later ones are not kept
    (with random sample order an LRU would evict exactly what comes back next). On disk every entry is kept,
    one ``.pt`` file each, written atomically; ``manifest.json`` records the ``fingerprint`` (what the features
    depend on: weights, data, views); a folder made with another fingerprint is emptied first.

    Args:
        max_bytes: the memory budget (None: no limit; 0: keep nothing in memory).
        folder: a folder for the disk copy, or None.
        fingerprint: a text that changes whenever the cached features would (checked against ``folder``).
        dtype: the dtype entries are stored in (float32 keeps training exactly as without a cache; float16
            halves the memory).
        writable: False to only read ``folder`` (the other ranks of a multi-process run: only rank 0 writes);
            a read-only cache ignores a folder made with another fingerprint.
    """

    def __init__(self, *, max_bytes: int | None = None, folder: str | os.PathLike | None = None,
                 fingerprint: str = "", dtype: torch.dtype = torch.float32, writable: bool = True) -> None:
        self.max_bytes = max_bytes
        self.writable = writable
        self.dtype = dtype
        self.fingerprint = fingerprint
        self.folder = Path(folder) if folder is not None else None
        self._memory: dict[tuple[int, int], EncoderFeatures] = {}
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        if self.folder is not None:
            self._open_folder()

    def _open_folder(self) -> None:
        import json

        assert self.folder is not None
        manifest = self.folder / "manifest.json"
        if manifest.exists():
            try:
                found = json.loads(manifest.read_text()).get("fingerprint")
            except (OSError, ValueError):
                found = None
            if found == self.fingerprint:
                return
            if not self.writable:
                self.folder = None
                return
            removed = 0
            for p in self.folder.glob("*.pt"):
                p.unlink()
                removed += 1
            logger.info("feature cache %s was made for other weights/data/views: %d entries removed",
                        self.folder, removed)
        if not self.writable:
            self.folder = None
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_json(manifest, {"fingerprint": self.fingerprint})

    def _path(self, key: tuple[int, int]) -> Path:
        assert self.folder is not None
        return self.folder / f"{key[0]:07d}_{key[1]:03d}.pt"

    def __len__(self) -> int:
        return len(self._memory)

    def get(self, key: tuple[int, int]) -> EncoderFeatures | None:
        """The entry, or None (counted as a miss)."""
        found = self._memory.get(key)
        if found is None and self.folder is not None and self._path(key).exists():
            data = torch.load(self._path(key), map_location="cpu", weights_only=True)
            found = EncoderFeatures(data["embedding"], data["early"])
            self._remember(key, found)
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def put(self, key: tuple[int, int], features: EncoderFeatures) -> None:
        """Store an entry (on CPU, in the cache's dtype)."""
        stored = features.to("cpu", self.dtype)
        if self.folder is not None and self.writable:
            atomic_torch_save({"embedding": stored.embedding, "early": stored.early}, self._path(key))
        self._remember(key, stored)

    def _remember(self, key: tuple[int, int], features: EncoderFeatures) -> None:
        if key in self._memory:
            return
        if self.max_bytes is not None and self.bytes + features.nbytes > self.max_bytes:
            return
        self._memory[key] = features
        self.bytes += features.nbytes
