"""Files in and out of the prompt widget: uploaded images, mask exports, prompt histories.

Every write goes through :mod:`hqsam_nb.io.atomic` (a crash never leaves half a file), and stays inside the
widget's ``export_dir``: the "Save as" field of a Voilà app is typed by whoever opens the page, so an export name
must be a plain file name (:func:`export_path`). A name that is not is refused with a ``ValueError`` shown in the
widget (rather than quietly changed into another name the user did not type).
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..io.atomic import atomic_write_json
from ..io.images import as_rgb_uint8
from ..io.jsonfile import parse_json
from ..io.names import MAX_NAME_LENGTH, check_plain_name

__all__ = ["MAX_NAME_LENGTH", "export_masks", "export_path", "image_from_upload", "read_history", "write_history"]


def export_path(export_dir: str | os.PathLike, name: Any, suffix: str = "") -> Path:
    """``export_dir / (name + suffix)``, refusing any ``name`` that could leave ``export_dir``: it must be a plain
    file name (:func:`hqsam_nb.io.names.check_plain_name`: letters, digits, spaces and ``- _ . , + = @ ( )``, at
    most :data:`~hqsam_nb.io.names.MAX_NAME_LENGTH` characters, not starting with a dot, no folders). Spaces
    around the name are dropped.

    Raises:
        TypeError: ``name`` is not a string. ValueError: any other name, saying what is accepted.
    """
    try:
        stem = check_plain_name(name, "export name")
    except ValueError as exc:
        raise ValueError(f"{exc} (a plain file name: files are written inside export_dir, {export_dir})") from None
    folder = Path(export_dir)
    target = folder / f"{stem}{suffix}"
    if target.resolve().parent != folder.resolve():  # belt and braces: the rule already ensures it
        raise ValueError(f"export name {name!r} would write outside export_dir ({folder})")
    return target


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
    """A prompt history given as a dict or as the path of its JSON file (at most
    :data:`~hqsam_nb.widgets.history.MAX_HISTORY_BYTES`; checked by
    :func:`~hqsam_nb.widgets.history.check_history`, not here).

    Raises:
        ValueError: a file larger than the limit, or not JSON.
    """
    from .history import MAX_HISTORY_BYTES

    if isinstance(history, Mapping):
        return dict(history)
    path = Path(history)
    with path.open("rb") as f:
        raw = f.read(MAX_HISTORY_BYTES + 1)
    if len(raw) > MAX_HISTORY_BYTES:
        raise ValueError(f"{path} is larger than {MAX_HISTORY_BYTES // 2**20} MiB: not a prompt history "
                         "(hqsam_nb.widgets.history.MAX_HISTORY_BYTES)")
    data = parse_json(raw, f"prompt history {str(path)!r}")
    if not isinstance(data, dict):
        raise ValueError(f"{path} holds JSON {type(data).__name__}, not a prompt history (an object)")
    return data
