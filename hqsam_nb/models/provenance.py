"""Which weights a model carries, decided once: official, fine-tuned, random or unknown.

The loader (:func:`~hqsam_nb.models.loading.load_model`) builds one :class:`WeightsProvenance` per checkpoint
it loads; the pair carries it (``pair.info``, ``pair.sam_info``) and every banner, figure stamp, table, export
and run record reads it from there (:func:`provenance_of`). Nothing else decides "are these the official
weights?".

Decision order for a checkpoint file (:func:`read_provenance`), first match wins:

1. **official** - the file's SHA-256 is the official release's for that model (``models.checkpoints``);
2. **fine-tuned** - a sidecar ``<file>.provenance.json`` says ``"kind": "fine-tuned"`` and records this file's
   SHA-256 (written by :func:`mark_fine_tuned` after a training run saved the checkpoint);
3. **random** - a sidecar says ``"kind": "random"`` and records this file's SHA-256 (written by
   :func:`~hqsam_nb.models.loading.save_random_checkpoint`: synthetic checkpoints of tests and CI);
4. **unknown** - anything else: a file of the user's with no sidecar, or one whose sidecar no longer matches the
   file (it was overwritten after the sidecar was written; a warning says so).

Weights built without a file (``weights="random"``) are ``random`` with ``path=None``.

Sidecar format (JSON, written atomically)::

    {"format": 1, "kind": "fine-tuned", "model": "vit_b", "hq": true,
     "sha256": "<SHA-256 of the checkpoint file>",
     "details": {"base_sha256": "...", "data": "HQSeg-44K", "recipe": "sam-hq train.py", "epochs": 12, ...}}
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from ..io.atomic import atomic_write_json
from .checkpoints import check_model_name, file_sha256, official_by_sha256

logger = logging.getLogger(__name__)

__all__ = [
    "FINE_TUNED_KEYS",
    "KINDS",
    "SIDECAR_SUFFIX",
    "CarriesProvenance",
    "ProvenanceLike",
    "WeightsKind",
    "WeightsProvenance",
    "mark_fine_tuned",
    "provenance_of",
    "read_provenance",
    "sidecar_path",
    "write_sidecar",
]

WeightsKind = Literal["official", "fine-tuned", "random", "unknown"]
#: Every kind, most trusted first (the loader's decision order).
KINDS: tuple[str, ...] = ("official", "fine-tuned", "random", "unknown")
#: The sidecar file beside a checkpoint: ``<file>`` + this suffix.
SIDECAR_SUFFIX = ".provenance.json"
_SIDECAR_FORMAT = 1
#: What a fine-tuned checkpoint's sidecar must say about its making (more keys are welcome).
FINE_TUNED_KEYS: tuple[str, ...] = ("base_sha256", "data", "recipe", "epochs")
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class WeightsProvenance:
    """Which weights a model carries, as the loader decided (see the module docstring for the order).

    Attributes:
        kind: ``"official"``, ``"fine-tuned"``, ``"random"`` or ``"unknown"``.
        model: the variant (``"vit_tiny"``, ``"vit_b"``, ``"vit_l"``, ``"vit_h"``).
        hq: HQ-SAM (True) or the original SAM (False).
        path: the checkpoint file loaded, None for weights built without a file.
        sha256: the file's SHA-256 (hex), None without a file.
        details: fine-tuned: ``base_sha256``, ``data``, ``recipe``, ``epochs`` and whatever else the training run
            recorded; random: ``seed``; otherwise empty.

    Example:
        >>> p = WeightsProvenance("random", "vit_tiny", True, details={"seed": 0})
        >>> p.official, p.weights, p.warning()
        (False, 'random', 'RANDOM WEIGHTS - masks and numbers are meaningless')
    """

    kind: WeightsKind
    model: str
    hq: bool = True
    path: Path | None = None
    sha256: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind={self.kind!r} is not accepted; use one of {', '.join(KINDS)}")
        if self.path is not None and not isinstance(self.path, Path):
            object.__setattr__(self, "path", Path(self.path))

    @property
    def official(self) -> bool:
        """True only for the official release (byte-identical, by SHA-256)."""
        return self.kind == "official"

    @property
    def weights(self) -> str:
        """``"random"`` or ``"pretrained"`` (any real checkpoint): the two values ``run.json`` files record as
        ``weights`` (and ``--weights`` accepts)."""
        return "random" if self.kind == "random" else "pretrained"

    @property
    def name(self) -> str:
        """``"HQ-SAM vit_b"`` / ``"SAM vit_b"``."""
        return ("HQ-SAM " if self.hq else "SAM ") + self.model

    def describe(self) -> str:
        """One line for a banner, a log or a table note."""
        if self.kind == "random":
            where = f"synthetic checkpoint {self.path.name}" if self.path else "seeded"
            return (f"{self.name}: RANDOM weights ({where}) - shapes, counts and speed are real, masks and scores "
                    "are meaningless")
        if self.kind == "official":
            return f"{self.name}: official weights ({self.path.name if self.path else ''})"
        if self.kind == "fine-tuned":
            d = self.details
            how = ", ".join(f"{k} {d[k]}" for k in ("recipe", "data", "epochs") if d.get(k) not in (None, ""))
            base = str(d.get("base_sha256") or "")[:12]
            return (f"{self.name}: FINE-TUNED weights from {self.path}" + (f" ({how})" if how else "")
                    + (f", base checkpoint {base}" if base else "") + " - not the paper's release")
        return f"{self.name}: weights from {self.path} - NOT the official release, masks may differ from the paper"

    def warning(self) -> str | None:
        """The stamp every figure, frame and export made with these weights carries; None for official ones."""
        return {
            "official": None,
            "random": "RANDOM WEIGHTS - masks and numbers are meaningless",
            "fine-tuned": "FINE-TUNED WEIGHTS - not the paper's release",
            "unknown": "NOT THE OFFICIAL WEIGHTS - results may differ from the paper's",
        }[self.kind]

    def for_sam(self) -> WeightsProvenance:
        """The same file's provenance seen as SAM's (``hq=False``): the pair takes SAM's frozen weights from the
        HQ-SAM checkpoint unless it is given an original SAM file."""
        return replace(self, hq=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable (``run.json``, summaries, exports)."""
        return {"kind": self.kind, "model": self.model, "hq": self.hq,
                "path": None if self.path is None else str(self.path), "sha256": self.sha256,
                "details": dict(self.details)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WeightsProvenance:
        """The inverse of :meth:`to_dict`."""
        path = data.get("path")
        return cls(data["kind"], data["model"], bool(data.get("hq", True)), None if path is None else Path(path),
                   data.get("sha256"), dict(data.get("details") or {}))


@runtime_checkable
class CarriesProvenance(Protocol):
    """Anything that carries its weights' provenance as ``.info``: a :class:`~hqsam_nb.pair.PairPredictor`, the
    model description of an evaluation engine."""

    @property
    def info(self) -> WeightsProvenance: ...


#: What stamps, banners, tables and exports accept as ``weights=``: a provenance, a pair (its ``.info``), or None.
ProvenanceLike = WeightsProvenance | CarriesProvenance | None


def provenance_of(weights: ProvenanceLike) -> WeightsProvenance | None:
    """The provenance of ``weights``: itself, the ``.info`` of a pair (or engine description), or None (unknown:
    nothing is stamped).

    Raises:
        TypeError: anything else (say ``weights=pair`` or ``weights=pair.info``).
    """
    if weights is None or isinstance(weights, WeightsProvenance):
        return weights
    info = getattr(weights, "info", None)
    if isinstance(info, WeightsProvenance):
        return info
    raise TypeError(f"weights must be a WeightsProvenance, a pair predictor (its .info) or None, got "
                    f"{type(weights).__name__}")


# --------------------------------------------------------------------------------------------------
# The sidecar file
# --------------------------------------------------------------------------------------------------

def sidecar_path(checkpoint: str | os.PathLike) -> Path:
    """The sidecar beside ``checkpoint``: ``<file>.provenance.json``."""
    p = Path(checkpoint)
    return p.with_name(p.name + SIDECAR_SUFFIX)


def write_sidecar(checkpoint: str | os.PathLike, kind: Literal["fine-tuned", "random"], *, model: str,
                  hq: bool = True, details: Mapping[str, Any] | None = None) -> WeightsProvenance:
    """Write ``<checkpoint>.provenance.json`` (atomically) for a checkpoint file that exists now; it records the
    file's SHA-256, so a later overwrite of the checkpoint makes the sidecar stale (loaded as ``unknown``).

    Returns:
        The provenance the loader will report for this file.

    Raises:
        FileNotFoundError: ``checkpoint`` is not a file. ValueError: unknown kind or model; details not JSON.
    """
    if kind not in ("fine-tuned", "random"):
        raise ValueError(f"a sidecar marks 'fine-tuned' or 'random' weights, got kind={kind!r}")
    check_model_name(model)
    path = Path(checkpoint)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist: save the checkpoint first, then mark it")
    details = dict(details or {})
    try:
        json.dumps(details, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"details must be JSON-serialisable (str, numbers, lists, dicts): {exc}") from None
    sha = file_sha256(path)
    atomic_write_json(sidecar_path(path), {"format": _SIDECAR_FORMAT, "kind": kind, "model": model, "hq": bool(hq),
                                           "sha256": sha, "details": details}, indent=2)
    return WeightsProvenance(kind, model, bool(hq), path, sha, details)


def mark_fine_tuned(checkpoint: str | os.PathLike, *, model: str, base_sha256: str, data: str, recipe: str,
                    epochs: int, hq: bool = True, **more: Any) -> WeightsProvenance:
    """Mark a checkpoint a training run just saved as fine-tuned: whatever loads it later reports
    ``kind="fine-tuned"`` with these details (banners, stamps, ``run.json``), not ``unknown``.

    Call it after the checkpoint file is complete (after the atomic save), every time it is saved again.

    Args:
        checkpoint: the saved file.
        model: its variant. hq: HQ-SAM (default) or original SAM weights.
        base_sha256: the SHA-256 of the checkpoint training started from (``pair.info.sha256``).
        data: what it was trained on, in words or a path (``"HQSeg-44K"``).
        recipe: how (``"sam-hq train.py, lr 1e-3, HQ additions only"``).
        epochs: how many epochs were completed (>= 0).
        **more: anything else worth keeping (JSON-serialisable): ``seed``, ``loss``, ``git_commit``...

    Example:
        >>> mark_fine_tuned("runs/train/epoch_011.pth", model="vit_b", base_sha256=pair.info.sha256,
        ...                 data="HQSeg-44K", recipe="sam-hq train.py", epochs=12)  # doctest: +SKIP
    """
    if not isinstance(base_sha256, str) or not _SHA256.fullmatch(base_sha256):
        raise ValueError(f"base_sha256 must be a 64-digit lowercase hex SHA-256, got {base_sha256!r}")
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 0:
        raise ValueError(f"epochs must be a whole number >= 0, got {epochs!r}")
    for key, value in (("data", data), ("recipe", recipe)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{key} must be a non-empty string, got {value!r}")
    details = {"base_sha256": base_sha256, "data": data, "recipe": recipe, "epochs": epochs, **more}
    return write_sidecar(checkpoint, "fine-tuned", model=model, hq=hq, details=details)


def _read_sidecar(path: Path) -> dict[str, Any] | None:
    side = sidecar_path(path)
    if not side.is_file():
        return None
    try:
        data = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        logger.warning("%s is not readable JSON (%s): ignored, the weights count as unknown", side, exc)
        return None
    if not isinstance(data, dict) or data.get("kind") not in ("fine-tuned", "random") \
            or not isinstance(data.get("details", {}), dict):
        logger.warning("%s is not a provenance sidecar this version understands: ignored", side)
        return None
    return data


def read_provenance(path: str | os.PathLike, *, model: str, hq: bool = True) -> WeightsProvenance:
    """Decide the provenance of a checkpoint file (the module docstring's order): official hash, then a matching
    sidecar (fine-tuned, random), else unknown. Hashes the file once (remembered by path, size and mtime)."""
    path = Path(path)
    sha = file_sha256(path)
    spec = official_by_sha256(sha)
    if spec is not None and spec.model == model and spec.hq == hq:
        return WeightsProvenance("official", model, hq, path, sha)
    side = _read_sidecar(path)
    if side is not None:
        if side.get("sha256") == sha:
            return WeightsProvenance(side["kind"], model, hq, path, sha, dict(side.get("details") or {}))
        logger.warning("%s: its sidecar %s was written for other file content (SHA-256 %s..., the file is %s...): "
                       "the checkpoint was overwritten after it was marked, so its weights count as unknown",
                       path, sidecar_path(path).name, str(side.get("sha256"))[:12], sha[:12])
    return WeightsProvenance("unknown", model, hq, path, sha)
