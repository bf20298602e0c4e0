"""Atomic file writes: the one place this package writes files that users keep.

A file is written to a temporary file in the same folder, flushed to disk, and moved into place with
``os.replace``: a crash or Ctrl-C never leaves a half-written file, and an existing file is either kept or fully
replaced.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_json", "atomic_write_text"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success move it onto ``path``, on error delete it.

    The finished file gets the permissions ``open()`` would have given it (``mkstemp`` makes them 0600).

    Example:
        >>> with atomic_path("out.txt") as tmp:              # doctest: +SKIP
        ...     tmp.write_text("all or nothing")
    """
    target = Path(path).expanduser()
    if target.is_dir():
        raise IsADirectoryError(f"{str(target)!r} is a directory; give a file path")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
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


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, data: Any, *, indent: int | None = 1) -> Path:
    """Write ``data`` as JSON to ``path`` atomically (keys sorted, so that diffs of saved files stay small)."""
    return atomic_write_text(path, json.dumps(data, indent=indent, sort_keys=True) + "\n")
