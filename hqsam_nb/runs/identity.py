"""One run identity for every runner: what ``run.json`` records, and when a folder may be resumed.

Every resumable run (image datasets, COCO, video, and any new runner) describes itself as a :class:`RunIdentity`
and opens its output folder with :func:`open_run`:

* ``same`` - everything that changes the numbers: the data (its content hash where it is a file: annotations,
  detections, tracker boxes), the model (:func:`model_identity`: the variant, the checkpoints' SHA-256, the
  encoder dtype) and the protocol. A resumed run must agree on every one of them, or it is refused (the message
  names each difference), so a folder never mixes two settings;
* ``recorded`` - kept for the reports but never compared: resolved paths, the device, the engine, the weights'
  provenance. A run continued on another machine, from another working directory, or with the checkpoint
  moved, resumes.

The refusals (:class:`ValueError`, one line each): a folder whose ``run.json`` disagrees; a folder that holds a
runner's results but no ``run.json`` (they cannot be told apart from another run's); an unreadable
``run.json`` (named). ``restart=True`` discards ``run.json`` and the runner's results first.

Example:
    >>> identity = RunIdentity("evaluate", same={"dataset": "synthetic", **model_identity(pair)[0]},
    ...                        recorded=model_identity(pair)[1])             # doctest: +SKIP
    >>> open_run("runs/x", identity, results=("results.jsonl",))            # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..io.atomic import atomic_write_text
from ..models.checkpoints import file_sha256
from ..models.provenance import WeightsProvenance

logger = logging.getLogger(__name__)

__all__ = [
    "MODEL_KEYS",
    "RUN_FILE",
    "DescribesModel",
    "RunIdentity",
    "content_sha256",
    "file_identity",
    "model_identity",
    "open_run",
    "provenance_from_run",
    "read_run",
]

RUN_FILE = "run.json"

#: The model keys of :func:`model_identity` a resumed run must share: the variant, the weights (their files'
#: content, not their paths) and the encoder's dtype. Not the device: CPU and GPU float32 agree to rounding, and a
#: run may well be continued on another machine.
MODEL_KEYS: tuple[str, ...] = ("model", "weights", "checkpoint_sha256", "sam_checkpoint_sha256", "encoder_dtype")


class DescribesModel(Protocol):
    """What :func:`model_identity` reads: a :class:`~hqsam_nb.pair.PairPredictor`, or an engine's
    :class:`~hqsam_nb.evaluation.engines.ModelDescription` (no model loaded in this process)."""

    @property
    def info(self) -> WeightsProvenance: ...

    @property
    def sam_info(self) -> WeightsProvenance: ...

    @property
    def device(self) -> Any: ...

    @property
    def encoder_dtype(self) -> Any: ...

    @property
    def backend(self) -> str: ...


def _json(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples become lists, ...), so that stored and current compare equal."""
    return json.loads(json.dumps(value, allow_nan=True))


@dataclass(frozen=True)
class RunIdentity:
    """What a run folder holds, as ``run.json`` records it.

    Attributes:
        runner: which runner made it (``"evaluate"``, ``"coco"``, ``"video"``, ...): a folder of one runner is
            never resumed by another.
        same: the settings a resumed run must share (JSON-serialisable; compared after a JSON round trip).
        recorded: written to ``run.json`` for the reports, never compared.
        added_later: keys of ``same`` that ``run.json`` files of older versions lack: compared only when the
            stored file has them, so such a run can still be resumed.
    """

    runner: str
    same: Mapping[str, Any]
    recorded: Mapping[str, Any] = field(default_factory=dict)
    added_later: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        clash = sorted(set(self.same) & set(self.recorded))
        if clash:
            raise ValueError(f"keys both compared and only recorded: {clash}")
        object.__setattr__(self, "same", _json(dict(self.same)))
        object.__setattr__(self, "recorded", _json(dict(self.recorded)))

    def to_json(self) -> dict[str, Any]:
        """The content of ``run.json``: ``runner``, the compared settings, the recorded ones, and ``resume_keys``
        (which of them a resume compares)."""
        return {"runner": self.runner, **self.same, **self.recorded, "resume_keys": sorted(self.same)}

    def differences(self, stored: Mapping[str, Any]) -> list[str]:
        """The compared settings in which ``stored`` (a ``run.json``'s content) differs from this identity, one
        ``"key: stored there, current now"`` string each; empty when the run may be resumed."""
        now = {"runner": self.runner, **self.same}
        old_optional = {"runner", *self.added_later}
        return [f"{k}: {stored.get(k)!r} there, {v!r} now" for k, v in now.items()
                if stored.get(k) != v and (k in stored or k not in old_optional)]


def model_identity(pair: DescribesModel) -> tuple[dict[str, Any], dict[str, Any]]:
    """The model's part of a run identity: ``(same, recorded)``.

    ``same``: :data:`MODEL_KEYS` (variant, ``weights`` ``"pretrained"``/``"random"``, the HQ-SAM checkpoint's and a
    separate SAM checkpoint's SHA-256, the encoder dtype ``None``/``"bfloat16"``/``"float16"``). ``recorded``: the
    checkpoint paths (resolved), ``official_weights``, ``provenance`` (the
    :class:`~hqsam_nb.models.provenance.WeightsProvenance` as a dict) and the device.
    """
    info, sam_info = pair.info, pair.sam_info
    separate_sam = sam_info.path is not None and sam_info.path != info.path
    dtype = pair.encoder_dtype
    same = {
        "model": info.model, "weights": info.weights,
        # The files' content, not their names: a new fine-tune saved under the same path changes results.
        "checkpoint_sha256": info.sha256,
        "sam_checkpoint_sha256": sam_info.sha256 if separate_sam else None,
        "encoder_dtype": None if dtype is None else str(dtype).split(".")[-1],
    }
    recorded = {
        "checkpoint": None if info.path is None else str(Path(info.path).resolve()),
        "sam_checkpoint": str(Path(sam_info.path).resolve()) if separate_sam else None,
        "official_weights": info.official, "provenance": info.to_dict(), "device": str(pair.device),
        # Recorded, not compared: the ONNX backend's masks equal the PyTorch modules' to float rounding (a handful
        # of pixels at |logit| < 1e-4, tests/test_onnx.py), as a run moved to another machine would differ.
        "backend": pair.backend,
    }
    return same, recorded


def file_identity(path: str | os.PathLike | None) -> tuple[str | None, str | None]:
    """An input file's ``(resolved path, SHA-256)`` (``(None, None)`` for None): compare the hash, record the path,
    so a file rewritten in place is noticed and a rerun from another working directory is not refused."""
    if path is None:
        return None, None
    p = Path(path).expanduser().resolve()
    return str(p), file_sha256(p)


def content_sha256(data: Any) -> str:
    """SHA-256 of JSON-serialisable data given in memory (an annotations dict, a detections list), key order
    ignored: the identity of an input that is not a file."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def read_run(out_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The content of ``out_dir/run.json``, or None when there is none.

    Raises:
        ValueError: the file is not readable JSON (the message names it).
    """
    path = Path(out_dir).expanduser() / RUN_FILE
    if not path.exists():
        return None
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ValueError(f"{path} is not readable JSON ({type(exc).__name__}: {str(exc)[:120]}); move the folder "
                         "away, or restart=True (--restart) to discard the run") from None
    if not isinstance(stored, dict):
        raise ValueError(f"{path} holds a JSON {type(stored).__name__}, not a run's settings; move the folder "
                         "away, or restart=True (--restart) to discard the run")
    return stored


def _present(path: Path) -> bool:
    if path.is_dir():
        return any(path.iterdir())
    return path.exists() and path.stat().st_size > 0


def open_run(out_dir: str | os.PathLike, identity: RunIdentity, *, results: Sequence[str] = (),
             restart: bool = False) -> Path:
    """Start or resume a run in ``out_dir``: write ``run.json``, or check the stored one agrees with ``identity``.

    Args:
        out_dir: created if needed.
        identity: the run's :class:`RunIdentity`.
        results: what the runner writes there that a resume continues (files or folders, relative to
            ``out_dir``: ``results.jsonl``, the video runner's branch folders...): a folder holding any of them
            but no ``run.json`` is refused; ``restart`` removes them.
        restart: discard a previous run (``run.json`` and ``results``) first.

    Returns:
        The folder (``out_dir``, ``~`` expanded).

    Raises:
        ValueError: ``out_dir`` holds a run with other settings (each difference named), results without a
            ``run.json``, or an unreadable ``run.json``.
    """
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    run_path = out / RUN_FILE
    if restart:
        for name in (RUN_FILE, *results):
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
    stored = read_run(out)
    if stored is not None:
        diff = identity.differences(stored)
        if diff:
            raise ValueError(f"{out} holds a run with other settings ({'; '.join(diff)}); use another output "
                             "folder, or restart=True (--restart) to discard it")
        return out
    found = [name for name in results if _present(out / name)]
    if found:
        raise ValueError(f"{out} holds results ({', '.join(found)}) but no {RUN_FILE}, so what made them is unknown "
                         "and a resume could mix two settings; use another output folder, or restart=True "
                         "(--restart) to discard them")
    atomic_write_text(run_path, json.dumps(identity.to_json(), indent=2) + "\n")
    return out


def provenance_from_run(meta: Mapping[str, Any]) -> WeightsProvenance | None:
    """The weights' provenance a ``run.json`` recorded (so that plots of a random-weight run are stamped so),
    or None when it recorded none."""
    if isinstance(meta.get("provenance"), Mapping):
        return WeightsProvenance.from_dict(meta["provenance"])
    if "weights" not in meta or "model" not in meta:
        return None
    # run.json files of older versions: the two-valued weights and official_weights
    kind = "random" if meta["weights"] == "random" else "official" if meta.get("official_weights") else "unknown"
    path = meta.get("checkpoint")
    return WeightsProvenance(kind, meta["model"], True, None if path is None else Path(path),
                             meta.get("checkpoint_sha256"))
