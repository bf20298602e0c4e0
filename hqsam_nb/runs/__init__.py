"""Resumable runs, the same for every runner: what a run folder is (:mod:`.identity`: ``run.json``, when a folder
may be resumed) and how finished items are stored (:mod:`.records`: ``results.jsonl``)."""

from .identity import (
    MODEL_KEYS,
    RUN_FILE,
    RunIdentity,
    content_sha256,
    file_identity,
    model_identity,
    open_run,
    provenance_from_run,
    read_run,
)
from .records import RESULTS_FILE, append_record, load_records, run_images

__all__ = [
    "MODEL_KEYS",
    "RESULTS_FILE",
    "RUN_FILE",
    "RunIdentity",
    "append_record",
    "content_sha256",
    "file_identity",
    "load_records",
    "model_identity",
    "open_run",
    "provenance_from_run",
    "read_run",
    "run_images",
]
