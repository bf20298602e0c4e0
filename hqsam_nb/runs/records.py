"""Resumable per-item runs: one fsync'd JSON line per finished image (``results.jsonl``).

Every evaluation that walks a dataset image by image (the single-object runner, the COCO protocol) stores its
work the same way, here; the folder's ``run.json`` (what the run is, and whether it may be resumed) is
:mod:`hqsam_nb.runs.identity`'s.

* ``results.jsonl`` - one JSON record per finished image, appended and flushed to disk (``fsync``) before the
  next image starts. Ctrl-C, a crash or ``kill -9`` loses at most the image in progress; a half-written last
  line is dropped (and the file repaired) when the run resumes, and that image is done again.

The per-image work is a plain function ``work(index) -> record`` (JSON-serialisable, with an ``"image"`` key),
so the results after an interruption and a resume are identical to those of an uninterrupted run as long as
``work`` is deterministic.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from ..io.atomic import atomic_write_bytes

logger = logging.getLogger(__name__)

__all__ = ["RESULTS_FILE", "append_record", "load_records", "run_images"]

RESULTS_FILE = "results.jsonl"


def load_records(out_dir: str | os.PathLike, *, repair: bool = False) -> list[dict[str, Any]]:
    """The finished images' records in ``out_dir/results.jsonl`` (in the order they were finished).

    A last line cut short by a crash is ignored; with ``repair=True`` the file is rewritten without it
    (atomically) so that appending can go on.

    Raises:
        ValueError: a line other than the last is not valid JSON (the file was edited or corrupted).
    """
    path = Path(out_dir) / RESULTS_FILE
    if not path.exists():
        return []
    raw = path.read_bytes()
    chunks = raw.split(b"\n")
    records: list[dict[str, Any]] = []
    keep = pos = 0  # keep: bytes up to the end of the last complete record
    for i, line in enumerate(chunks):
        end = pos + len(line) + 1
        if line.strip():
            try:
                records.append(json.loads(line))
                keep = min(end, len(raw))
            except (ValueError, RecursionError):  # not JSON, not UTF-8, nested too deeply
                if any(c.strip() for c in chunks[i + 1:]):
                    raise ValueError(f"{path}: line {i + 1} is not valid JSON and is not the last line; the "
                                     "file was edited or corrupted - move it away to start over") from None
                logger.warning("%s: dropping a half-written last line (an interrupted write); that image "
                               "is redone", path)
                break
        pos = end
    if repair:
        fixed = raw[:keep]
        if fixed and not fixed.endswith(b"\n"):
            fixed += b"\n"
        if fixed != raw:
            atomic_write_bytes(path, fixed)
    return records


def append_record(path: str | os.PathLike, record: dict[str, Any]) -> None:
    """Append one record as a JSON line and ``fsync`` it: once this returns, the record survives a crash."""
    line = json.dumps(record, separators=(",", ":")) + "\n"
    with open(path, "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def run_images(out_dir: str | os.PathLike, names: Sequence[str], work: Callable[[int], dict[str, Any]],
               done: dict[str, dict[str, Any]], *, desc: str = "", progress: bool = True,
               postfix: Callable[[dict[str, Any]], dict[str, str]] | None = None,
               stream: Callable[[list[int]], Iterable[tuple[int, dict[str, Any]]]] | None = None) -> list[str]:
    """Compute and store every image of ``names`` not yet in ``done``, with a tqdm progress bar.

    Args:
        out_dir: the run's folder (:func:`~hqsam_nb.runs.identity.open_run` made it).
        names: every image's name, in dataset order.
        work: ``work(index) -> record``; the record's ``"image"`` must be ``names[index]``.
        done: the finished records by name (:func:`load_records`); updated in place.
        desc: the progress bar's label. progress: show the bar.
        postfix: ``postfix(record) -> {label: text}`` shown on the bar after each image.
        stream: the images computed elsewhere (an engine: :mod:`~hqsam_nb.evaluation.engines`):
            ``stream(todo) -> (index, record)`` pairs in any order; a record delivered twice is stored once.
            Default: ``work(index)`` for each image, in order, in this process.

    Returns:
        The names computed by this call (not the resumed ones).

    Raises:
        KeyboardInterrupt: passed on after the finished images are safely on disk; run again to continue.
    """
    from tqdm.auto import tqdm

    results_path = Path(out_dir).expanduser() / RESULTS_FILE
    wanted = set(names)
    extra = set(done) - wanted
    if extra:
        logger.warning("%s: %d finished image(s) are not in this dataset and are left out of the reports",
                       out_dir, len(extra))
    todo = [i for i, n in enumerate(names) if n not in done]
    if len(todo) < len(names):
        logger.info("resuming: %d of %d images already done in %s", len(names) - len(todo), len(names), out_dir)
    computed = []
    with tqdm(total=len(names), initial=len(names) - len(todo), desc=desc, unit="img",
              disable=not progress, dynamic_ncols=True) as bar:
        results = stream(todo) if stream is not None else ((i, work(i)) for i in todo)
        try:
            for i, record in results:
                if names[i] in done:  # delivered twice (an engine re-ran a task): stored once
                    continue
                if record.get("image") != names[i]:
                    raise ValueError(f"work({i}) returned a record for {record.get('image')!r}, expected "
                                     f"{names[i]!r}")
                append_record(results_path, record)
                done[names[i]] = record
                computed.append(names[i])
                if postfix is not None:
                    bar.set_postfix(postfix(record))
                bar.update(1)
        finally:  # an engine's stream stops its workers when closed (also on Ctrl-C or an error)
            getattr(results, "close", lambda: None)()
    return computed
