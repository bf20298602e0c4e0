"""Keeping the masks you made: binary PNG, COCO-style JSON with RLE, polygon outlines, GIFs and figures.

Every writer stores the prompt that produced a mask next to it (in the PNG's text chunk, in each COCO
annotation, in each polygon record), so a result can be reproduced with
``Prompt.from_dict(record.prompt, image_size)``. Every write is atomic: the file is written to a temporary
file in the same folder and moved into place with ``os.replace``, so a crash never leaves a half-written file
and an existing file is either kept or fully replaced.

Coordinates are ``(x, y)`` pixels of the original image. COCO RLE is column-major, as ``pycocotools``
makes it.
"""

from __future__ import annotations

import io
import json
import logging
import numbers
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..validation import check_mask
from .atomic import atomic_write_bytes

logger = logging.getLogger(__name__)

__all__ = [
    "MaskRecord",
    "gif_html",
    "load_coco_json",
    "load_mask_png",
    "load_polygons_json",
    "mask_to_polygons",
    "mask_to_rle",
    "polygons_to_mask",
    "rle_to_mask",
    "save_coco_json",
    "save_figure",
    "save_gif",
    "save_mask_png",
    "save_polygons_json",
]

PNG_TEXT_KEY = "hqsam_nb"
FORMAT_VERSION = 1


# --- atomic writes ----------------------------------------------------------------------------------

def _atomic_write_with(path: str | os.PathLike, write: Callable[[io.BytesIO], None]) -> Path:
    buf = io.BytesIO()
    write(buf)
    return atomic_write_bytes(path, buf.getvalue())


# --- records ----------------------------------------------------------------------------------------

@dataclass
class MaskRecord:
    """A mask and where it came from: enough to reproduce it.

    Attributes:
        mask: ``bool`` ``H x W``.
        prompt: the prompt as :meth:`~hqsam_nb.Prompt.to_dict` gives it (``points``, ``labels``, ``box``),
            or None.
        name: a label, e.g. the sample's or object's name.
        model: which mask this is, e.g. ``"sam"``, ``"hq"``, ``"fused"`` (or a checkpoint name).
        score: the model's predicted IoU (any real number, numpy scalars included, stored as a Python
            ``float``), or None.
        extra: anything else JSON-serialisable to keep with it.
    """

    mask: np.ndarray
    prompt: dict[str, Any] | None = None
    name: str = ""
    model: str = ""
    score: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.mask = check_mask(self.mask)
        if self.score is not None:
            if isinstance(self.score, bool) or not isinstance(self.score, numbers.Real):
                raise TypeError(f"score must be a real number or None, got {type(self.score).__name__}: "
                                f"{self.score!r:.40}")
            self.score = float(self.score)  # np.float32 is not JSON-serialisable
        if self.prompt is not None and not isinstance(self.prompt, dict):
            to_dict = getattr(self.prompt, "to_dict", None)
            if to_dict is None:
                raise TypeError(
                    f"prompt must be a dict or a hqsam_nb.Prompt, got {type(self.prompt).__name__}")
            self.prompt = to_dict()

    def meta(self) -> dict[str, Any]:
        """Everything but the mask, JSON-serialisable."""
        return {"name": self.name, "model": self.model, "score": self.score, "prompt": self.prompt,
                "extra": self.extra}


def _check_records(records: Sequence[MaskRecord]) -> list[MaskRecord]:
    """The records as a list, all :class:`MaskRecord` of one mask size; raise otherwise."""
    records = list(records)
    if not records:
        raise ValueError("records is empty: nothing to save")
    for i, rec in enumerate(records):
        if not isinstance(rec, MaskRecord):
            raise TypeError(f"record {i} is a {type(rec).__name__}; records must be MaskRecord items: wrap a mask "
                            "as MaskRecord(mask, prompt), or use hqsam_nb.records_from_prediction(prediction)")
        if rec.mask.shape != records[0].mask.shape:
            raise ValueError(f"record {i} has mask shape {rec.mask.shape}, the first has {records[0].mask.shape}")
    return records


# --- PNG --------------------------------------------------------------------------------------------

def save_mask_png(path: str | os.PathLike, mask: np.ndarray | MaskRecord, *, prompt: Any = None,
                  **meta: Any) -> Path:
    """Save a mask as an 8-bit grayscale PNG (0 = background, 255 = mask), atomically.

    The prompt and ``meta`` (e.g. ``model="hq"``, ``score=0.93``) are stored as JSON in the PNG's
    ``hqsam_nb`` text chunk; :func:`load_mask_png` reads them back.

    Args:
        path: where to write (parent folders are created).
        mask: ``bool`` ``H x W``, or a :class:`MaskRecord` (its prompt and metadata are stored).
        prompt: a :class:`~hqsam_nb.Prompt` or its dict; overrides the record's.

    Returns:
        The path written.
    """
    from PIL import Image, PngImagePlugin

    record = mask if isinstance(mask, MaskRecord) else MaskRecord(mask)
    info_dict = record.meta()
    info_dict.update(meta)
    if prompt is not None:
        info_dict["prompt"] = MaskRecord(record.mask[:1, :1], prompt).prompt
    info_dict["format"] = FORMAT_VERSION
    info_dict["size"] = list(record.mask.shape)
    pnginfo = PngImagePlugin.PngInfo()
    pnginfo.add_text(PNG_TEXT_KEY, json.dumps(info_dict))
    img = Image.fromarray(record.mask.astype(np.uint8) * 255, mode="L")
    return _atomic_write_with(path, lambda buf: img.save(buf, format="PNG", pnginfo=pnginfo))


def load_mask_png(path: str | os.PathLike, *, with_meta: bool = False
                  ) -> np.ndarray | tuple[np.ndarray, dict[str, Any]]:
    """Read a mask PNG: pixels > 127 (of the grayscale image) are the mask.

    Returns:
        ``bool`` ``H x W``; with ``with_meta=True`` also the stored metadata dict (``{}`` for PNGs not
        written by :func:`save_mask_png`).
    """
    from PIL import Image

    with Image.open(Path(path).expanduser()) as img:
        meta_text = img.info.get(PNG_TEXT_KEY) if hasattr(img, "info") else None
        arr = np.asarray(img.convert("L"))
    mask = arr > 127
    if not with_meta:
        return mask
    return mask, (json.loads(meta_text) if meta_text else {})


# --- COCO RLE ---------------------------------------------------------------------------------------

def mask_to_rle(mask: np.ndarray) -> dict[str, Any]:
    """COCO RLE of a mask, ``{"size": [H, W], "counts": str}`` (compressed, JSON-ready), by pycocotools."""
    from pycocotools import mask as mask_utils

    mask = check_mask(mask)
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")}


def rle_to_mask(rle: dict[str, Any]) -> np.ndarray:
    """Decode a COCO RLE (compressed string counts, or uncompressed list counts) to ``bool`` ``H x W``."""
    from pycocotools import mask as mask_utils

    if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
        raise ValueError(f"an RLE is a dict with 'size' and 'counts', got {rle!r:.80}")
    h, w = (int(s) for s in rle["size"])
    counts = rle["counts"]
    if isinstance(counts, list):
        obj = mask_utils.frPyObjects({"size": [h, w], "counts": counts}, h, w)
    else:
        obj = {"size": [h, w], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
    with warnings.catch_warnings():
        # pycocotools 2.0.x under numpy 2 (its Cython RLEs object); harmless, fixed upstream in later releases
        warnings.filterwarnings("ignore", message="__array__ implementation doesn't accept a copy keyword",
                                category=DeprecationWarning)
        return mask_utils.decode(obj).astype(bool)


def save_coco_json(path: str | os.PathLike, records: Sequence[MaskRecord], *, file_name: str = "",
                   image_id: int = 1, category: str = "object") -> Path:
    """Save masks of one image as a COCO-style results file with RLE segmentations, atomically.

    The file has ``images`` (one), ``categories`` (one) and ``annotations``, each with ``segmentation``
    (compressed RLE), ``area``, ``bbox`` ``[x, y, w, h]``, ``iscrowd: 0``, ``score`` and, beyond COCO, the
    ``prompt`` that produced it plus ``name``, ``model`` and ``extra``. ``pycocotools.coco.COCO`` reads it.

    Args:
        records: :class:`MaskRecord` items, all of one image size.
        file_name: the image's file name, for the ``images`` entry.
    """
    from pycocotools import mask as mask_utils

    records = _check_records(records)
    h, w = records[0].mask.shape
    anns = []
    for i, rec in enumerate(records, start=1):
        rle = mask_to_rle(rec.mask)
        coco_rle = {"size": rle["size"], "counts": rle["counts"].encode("ascii")}
        anns.append({
            "id": i, "image_id": image_id, "category_id": 1, "segmentation": rle,
            "area": int(mask_utils.area(coco_rle)), "bbox": [float(v) for v in mask_utils.toBbox(coco_rle)],
            "iscrowd": 0, "score": rec.score, "name": rec.name, "model": rec.model, "prompt": rec.prompt,
            "extra": rec.extra,
        })
    warnings_ = sorted({r.extra["weights_warning"] for r in records if "weights_warning" in r.extra})
    doc = {
        "info": {"description": "masks saved by hqsam_nb" + "".join(f" - {w}" for w in warnings_),
                 "format": FORMAT_VERSION},
        "images": [{"id": image_id, "width": int(w), "height": int(h), "file_name": file_name}],
        "categories": [{"id": 1, "name": category}],
        "annotations": anns,
    }
    return atomic_write_bytes(path, json.dumps(doc).encode("utf-8"))


def load_coco_json(path: str | os.PathLike) -> list[MaskRecord]:
    """Read a file written by :func:`save_coco_json` (or any COCO file with RLE segmentations) back."""
    doc = json.loads(Path(path).expanduser().read_text(encoding="utf-8"))
    if "annotations" not in doc:
        raise ValueError(f"{str(path)!r} has no 'annotations': not a COCO-style file")
    out = []
    for ann in doc["annotations"]:
        seg = ann.get("segmentation")
        if not isinstance(seg, dict):
            raise ValueError(f"annotation {ann.get('id')} has polygon segmentation; only RLE is read here")
        out.append(MaskRecord(rle_to_mask(seg), ann.get("prompt"), name=ann.get("name", ""),
                              model=ann.get("model", ""), score=ann.get("score"),
                              extra=ann.get("extra") or {}))
    return out


# --- polygons ---------------------------------------------------------------------------------------

def mask_to_polygons(mask: np.ndarray, epsilon: float = 0.0) -> list[dict[str, Any]]:
    """Outlines of a mask's connected parts, with their holes, from OpenCV contours.

    Vertices are ``(x, y)`` integer pixel indices (column, row) of the boundary pixels, as
    ``cv2.findContours`` gives them; :func:`polygons_to_mask` fills them back to the same pixels.

    Args:
        mask: ``bool`` ``H x W``.
        epsilon: simplify each outline with ``cv2.approxPolyDP`` to within this many pixels (0 = exact,
            only collinear vertices dropped).

    Returns:
        One dict per connected part (8-connectivity), largest first: ``{"exterior": (K, 2) int32 array,
        "holes": [(K_i, 2) int32 arrays]}``.
    """
    import cv2

    mask = check_mask(mask)
    contours, hierarchy = cv2.findContours(mask.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []

    def simplify(c: np.ndarray) -> np.ndarray:
        if epsilon > 0 and len(c) > 3:
            c = cv2.approxPolyDP(c, float(epsilon), True)
        return c.reshape(-1, 2).astype(np.int32)

    polygons = []
    hier = hierarchy[0]
    for i, (_next, _prev, child, parent) in enumerate(hier):
        if parent != -1:
            continue
        holes = []
        j = child
        while j != -1:
            holes.append(simplify(contours[j]))
            j = hier[j][0]
        polygons.append({"exterior": simplify(contours[i]), "holes": holes,
                         "_area": cv2.contourArea(contours[i])})
    polygons.sort(key=lambda p: -p["_area"])
    for p in polygons:
        del p["_area"]
    return polygons


def polygons_to_mask(polygons: Sequence[dict[str, Any]], shape: tuple[int, int]) -> np.ndarray:
    """Rasterise :func:`mask_to_polygons` output back to a ``bool`` mask of ``shape = (H, W)``.

    Each part is filled, its holes cleared, then the holes' outlines (which run along mask pixels) redrawn;
    parts are drawn largest first so islands inside another part's hole survive.
    """
    import cv2

    h, w = (int(s) for s in shape)
    out = np.zeros((h, w), np.uint8)
    for i, poly in enumerate(polygons):
        try:
            ext = np.asarray(poly["exterior"], dtype=np.int32).reshape(-1, 1, 2)
            holes = [np.asarray(hh, dtype=np.int32).reshape(-1, 1, 2) for hh in poly.get("holes", [])]
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"polygon {i} must be {{'exterior': [[x, y], ...], 'holes': [...]}}") from None
        cv2.fillPoly(out, [ext], 1)
        cv2.polylines(out, [ext], True, 1)
        if holes:
            cv2.fillPoly(out, holes, 0)
            cv2.polylines(out, holes, True, 1)
    return out.astype(bool)


def _polygons_json(polygons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"exterior": np.asarray(p["exterior"]).tolist(),
             "holes": [np.asarray(hh).tolist() for hh in p["holes"]]} for p in polygons]


def save_polygons_json(path: str | os.PathLike, records: Sequence[MaskRecord], *,
                       epsilon: float = 0.0) -> Path:
    """Save the polygon outlines (:func:`mask_to_polygons`) of masks with their prompts, atomically.

    The file is ``{"format": 1, "size": [H, W], "masks": [{"name", "model", "score", "prompt", "extra",
    "polygons": [{"exterior": [[x, y], ...], "holes": [[[x, y], ...], ...]}, ...]}, ...]}``.
    """
    records = _check_records(records)
    h, w = records[0].mask.shape
    masks = []
    for rec in records:
        masks.append({**rec.meta(), "polygons": _polygons_json(mask_to_polygons(rec.mask, epsilon))})
    doc = {"format": FORMAT_VERSION, "size": [int(h), int(w)], "masks": masks}
    return atomic_write_bytes(path, json.dumps(doc).encode("utf-8"))


def load_polygons_json(path: str | os.PathLike) -> list[MaskRecord]:
    """Read a file written by :func:`save_polygons_json`, rasterising the polygons back to masks."""
    doc = json.loads(Path(path).expanduser().read_text(encoding="utf-8"))
    if "masks" not in doc or "size" not in doc:
        raise ValueError(f"{str(path)!r} is not a polygons file written by save_polygons_json")
    shape = tuple(doc["size"])
    return [MaskRecord(polygons_to_mask(m["polygons"], shape), m.get("prompt"), name=m.get("name", ""),
                       model=m.get("model", ""), score=m.get("score"), extra=m.get("extra") or {})
            for m in doc["masks"]]


# --- pictures ---------------------------------------------------------------------------------------

def save_gif(path: str | os.PathLike, frames: Sequence[np.ndarray], *, duration_ms: int = 900,
             loop: int = 0) -> Path:
    """Write ``uint8`` ``H x W x 3`` frames as an animated GIF, atomically.

    Frames of different sizes are centred on a white canvas of the largest size. Colours are quantised to
    GIF's 256-colour palette by Pillow.

    Args:
        frames: at least one RGB ``uint8`` frame (e.g. :func:`~hqsam_nb.drawing.comparison_panel`).
        duration_ms: display time per frame. loop: 0 = forever.
    """
    from PIL import Image

    frames = list(frames)
    if not frames:
        raise ValueError("frames is empty: give at least one uint8 H x W x 3 image")
    for i, f in enumerate(frames):
        if not isinstance(f, np.ndarray) or f.dtype != np.uint8 or f.ndim != 3 or f.shape[2] != 3:
            got = f"{f.dtype} {f.shape}" if isinstance(f, np.ndarray) else type(f).__name__
            raise ValueError(f"frames[{i}] must be uint8 H x W x 3, got {got}")
    hmax = max(f.shape[0] for f in frames)
    wmax = max(f.shape[1] for f in frames)
    padded = []
    for f in frames:
        canvas = np.full((hmax, wmax, 3), 255, np.uint8)
        y0, x0 = (hmax - f.shape[0]) // 2, (wmax - f.shape[1]) // 2
        canvas[y0:y0 + f.shape[0], x0:x0 + f.shape[1]] = f
        padded.append(Image.fromarray(canvas))
    return _atomic_write_with(path, lambda buf: padded[0].save(
        buf, format="GIF", save_all=True, append_images=padded[1:], duration=int(duration_ms), loop=int(loop),
        disposal=1))


def gif_html(path: str | os.PathLike, *, width: int | None = None) -> Any:
    """A saved GIF as an ``IPython.display.HTML`` ``<img>`` with the file inlined (a ``data:`` URI).

    Notebook front ends animate it, and static renderings (nbconvert HTML, nbviewer, GitHub) keep it, which
    ``IPython.display.Image`` of a GIF does not do everywhere.

    Args:
        path: a GIF file (e.g. from :func:`save_gif`).
        width: display width in CSS pixels; default the GIF's own.
    """
    import base64

    from IPython.display import HTML

    data = Path(path).expanduser().read_bytes()
    if data[:6] not in (b"GIF87a", b"GIF89a"):
        raise ValueError(f"{path} is not a GIF file (it starts with {data[:6]!r})")
    size = f' width="{int(width)}"' if width else ""
    uri = base64.b64encode(data).decode("ascii")
    return HTML(f'<img src="data:image/gif;base64,{uri}"{size} alt="{Path(path).name}">')


def save_figure(path: str | os.PathLike, fig: Any, *, dpi: int = 100, report: bool = False, **kwargs: Any) -> Path:
    """Save a matplotlib figure atomically; the format follows the suffix (``.png``, ``.pdf``, ``.svg``).

    Args:
        report: the figure is a report file that a library run writes for later (e.g. an evaluation run's
            ``summary.png``), not one for the reader of the notebook cell that triggered the run: it is marked
            (``fig.hqsam_nb_report_file``) so that the notebooks' figure check (``notebooks/conftest.py``) does
            not ask for it to be shown. A figure a notebook cell saves itself should be shown as well.
    """
    if report:
        fig.hqsam_nb_report_file = True
    target = Path(path).expanduser()
    fmt = target.suffix.lstrip(".").lower() or "png"
    return _atomic_write_with(target, lambda buf: fig.savefig(buf, format=fmt, dpi=dpi, **kwargs))
