"""Atomic file writes: the one place this package writes files that users keep.

A file is written to a temporary file in the same folder, flushed to disk, and moved into place with
``os.replace``: a crash or Ctrl-C never leaves a half-written file, and an existing file is either kept or fully
replaced.

A process killed outright (``kill -9``, the OOM killer, a power cut) cannot delete its temporary file. Such an
orphan (a hidden ``.<name>.<8 random characters>.tmp`` next to the target) is removed by the next write to the
same target once it is older than :data:`STALE_TEMP_SECONDS` (one hour): a younger one may belong to another
process writing right now. Only files with exactly this package's temp-name pattern for that target are touched.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["STALE_TEMP_SECONDS", "atomic_path", "atomic_torch_save", "atomic_write_bytes", "atomic_write_json",
           "atomic_write_text"]

#: Age (seconds since last modified) after which an orphaned temp file of a target is removed: one hour.
STALE_TEMP_SECONDS = 3600.0
_TEMP_SUFFIX = ".tmp"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temp_pattern(target: Path) -> re.Pattern[str]:
    # tempfile.mkstemp's random part: 8 characters of [a-z0-9_].
    return re.compile(rf"\.{re.escape(target.name)}\.[a-z0-9_]{{8}}{re.escape(_TEMP_SUFFIX)}")


def _remove_stale_temps(target: Path) -> None:
    """Delete orphaned temp files of ``target`` (our name pattern, regular files, older than an hour)."""
    pattern = _temp_pattern(target)
    cutoff = time.time() - STALE_TEMP_SECONDS
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < cutoff:
                os.unlink(entry.path)
                logger.info("removed %s, left by an interrupted write of %s", entry.name, target.name)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success move it onto ``path``, on error delete it.

    The finished file gets the permissions ``open()`` would have given it (``mkstemp`` makes them 0600).
    Orphaned temp files of the same target older than :data:`STALE_TEMP_SECONDS` are removed first.

    Example:
        >>> with atomic_path("out.txt") as tmp:              # doctest: +SKIP
        ...     tmp.write_text("all or nothing")
    """
    target = Path(path).expanduser()
    if target.is_dir():
        raise IsADirectoryError(f"{str(target)!r} is a directory; give a file path")
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(target)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=_TEMP_SUFFIX, dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, ``os.replace``)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return Path(path).expanduser()


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save(obj)`` to ``path`` atomically, with bytes that depend on ``obj`` only.

    ``torch.save`` to a *path* names the archive's inner folder after the file (here: the random temporary name),
    so two saves of the same weights would get different SHA-256s; through an open file the folder is always
    ``archive`` (what ``torch.save`` does for any stream), and the official loaders read both alike.
    """
    import torch  # here, not at the top: this module is imported by code that never touches torch

    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        torch.save(obj, fh)
        fh.flush()
        os.fsync(fh.fileno())
    return Path(path).expanduser()


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, data: Any, *, indent: int | None = 1) -> Path:
    """Write ``data`` as JSON to ``path`` atomically (keys sorted, so that diffs of saved files stay small)."""
    return atomic_write_text(path, json.dumps(data, indent=indent, sort_keys=True) + "\n")
