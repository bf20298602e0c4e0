"""Reading a JSON file a user gave: one function, so every such file fails the same way, naming itself.

A user's file may be missing, binary, not UTF-8, not JSON, or JSON nested so deeply that Python's parser runs out
of stack (``RecursionError``, which is not a ``ValueError`` and would otherwise escape as a traceback). Each of these
becomes one error that names the file, says what it was meant to be and what was wrong.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["parse_json", "read_json"]


def parse_json(text: str | bytes, where: str, *, error: type[ValueError] = ValueError) -> Any:
    """``json.loads(text)``; any failure as ``error`` (a ``ValueError`` subclass) whose message starts with
    ``where`` (e.g. ``"tracker-box file 'boxes.json'"``)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise error(f"{where} is not UTF-8 text (a binary file?); expected a JSON file") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{where} is not valid JSON: {exc}") from None
    except RecursionError:
        raise error(f"{where} is JSON nested too deeply to read (thousands of levels); not a file this package "
                    "writes or reads") from None


def read_json(path: str | os.PathLike, what: str, *, max_bytes: int | None = None,
              error: type[ValueError] = ValueError) -> Any:
    """The parsed content of the JSON file ``path``, which should be a ``what`` (e.g. ``"tracker-box"``).

    Raises:
        FileNotFoundError: no such file (or a folder). ``error`` (a ``ValueError``): larger than ``max_bytes``,
            binary or not UTF-8, not JSON, nested too deeply; the message names the file.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise FileNotFoundError(f"{what} file {str(p)!r} does not exist" + (" (it is a folder)" if p.is_dir()
                                                                               else ""))
    where = f"{what} file {str(p)!r}"
    if max_bytes is not None and p.stat().st_size > max_bytes:
        raise error(f"{where} is larger than {max_bytes // 2**20} MiB: not a {what} file")
    return parse_json(p.read_bytes(), where, error=error)
