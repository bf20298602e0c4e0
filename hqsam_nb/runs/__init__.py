"""Resumable runs, the same for every runner: what a run folder is (:mod:`.identity`: ``run.json``, when a folder
may be resumed) and how finished items are stored (:mod:`.records`: ``results.jsonl``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_face

if TYPE_CHECKING:
    from .identity import (
        MODEL_KEYS,
        RUN_FILE,
        DescribesModel,
        RunIdentity,
        content_sha256,
        file_identity,
        model_identity,
        open_run,
        provenance_from_run,
        read_run,
    )
    from .records import RESULTS_FILE, append_record, load_records, run_images

#: Each public name -> the module that defines it (imported on first use: :mod:`hqsam_nb._lazy`).
_HOMES = {
    "DescribesModel": "identity",
    "MODEL_KEYS": "identity",
    "RESULTS_FILE": "records",
    "RUN_FILE": "identity",
    "RunIdentity": "identity",
    "append_record": "records",
    "content_sha256": "identity",
    "file_identity": "identity",
    "load_records": "records",
    "model_identity": "identity",
    "open_run": "identity",
    "provenance_from_run": "identity",
    "read_run": "identity",
    "run_images": "records",
}
__all__ = [
    "DescribesModel", "MODEL_KEYS", "RESULTS_FILE", "RUN_FILE", "RunIdentity", "append_record", "content_sha256",
    "file_identity", "load_records", "model_identity", "open_run", "provenance_from_run", "read_run", "run_images",
]
__getattr__, __dir__ = lazy_face(__name__, _HOMES)
