"""Files in and out of the prompt widget: uploaded images, mask exports, prompt histories.

Every write goes through :mod:`hqsam_nb.io.atomic` (a crash never leaves half a file).
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..io.atomic import atomic_write_json
from ..io.images import as_rgb_uint8

__all__ = ["export_masks", "image_from_upload", "read_history", "write_history"]


def image_from_upload(value: Any) -> tuple[np.ndarray, str]:
    """The first file of an ``ipywidgets.FileUpload`` value as RGB ``uint8`` ``H x W x 3``, and its name.

    Accepts the ipywidgets 8 value (a tuple of dicts) and the ipywidgets 7 one (a dict of dicts).
    """
    from PIL import Image

    item = value[0] if isinstance(value, (list, tuple)) else next(iter(value.values()))
    with Image.open(io.BytesIO(bytes(item["content"]))) as img:
        image = as_rgb_uint8(img)
    return image, str(item.get("name", "image"))


def export_masks(prediction: Any, stem: Path, *, candidate: int | None, source: str | None,
                 multimask: bool) -> list[Path]:
    """Write SAM's, HQ-SAM's and the fused mask with their prompt: ``<stem>_{sam,hq,fused}.png`` and one COCO
    RLE JSON ``<stem>_coco.json``.

    Args:
        prediction: a :class:`~hqsam_nb.PairPrediction` holding both decoders' masks.
        stem: the path without extension.
        candidate: SAM's candidate to export (0-2, with multimask), None for ``prediction.sam``.
        source: where the image came from (stored in the files).
    """
    from ..io.exports import MaskRecord, save_coco_json, save_mask_png

    p = prediction
    extra = {"source": source, "multimask": bool(multimask), "candidate": candidate}
    sam = p.sam if candidate is None else p.sam_candidates[candidate]
    records = [MaskRecord(res.mask, p.prompt, name=stem.name, model=key, score=res.score, extra=extra)
               for key, res in (("sam", sam), ("hq", p.hq), ("fused", p.fused))]
    paths = [save_mask_png(stem.with_name(f"{stem.name}_{r.model}.png"), r) for r in records]
    paths.append(save_coco_json(stem.with_name(f"{stem.name}_coco.json"), records, file_name=source or ""))
    return [Path(path) for path in paths]


def write_history(path: Path, data: Mapping[str, Any]) -> Path:
    """Write a prompt history (:func:`~hqsam_nb.widgets.state.history_to_dict`) as JSON, atomically."""
    atomic_write_json(path, dict(data))
    return path


def read_history(history: Mapping[str, Any] | str | os.PathLike) -> dict[str, Any]:
    """A prompt history given as a dict or as the path of its JSON file."""
    if isinstance(history, Mapping):
        return dict(history)
    return json.loads(Path(history).read_text())
