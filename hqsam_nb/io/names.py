"""The one rule for names a user types that become a file or folder name inside a folder of ours.

A widget's "Save as" name, a DAVIS sequence name from ``--sequences`` or from ``ImageSets/2017/<subset>.txt``:
each is joined to a folder the package writes into (``export_dir``, ``--out``), so each must be a *plain name* -
one path component that can only mean a file or folder right there. ``../../Annotations/480p/bike-packing``,
``/etc``, ``.`` or ``~`` would otherwise write outside that folder (or onto the data being evaluated).

Accepted: letters (any script), digits, spaces and ``- _ . , + = @ ( )``, at most :data:`MAX_NAME_LENGTH`
characters, not starting with a dot (so no ``.``, ``..`` or hidden files). Refused: ``/``, ``\\``, ``:``, ``~``,
absolute paths, control characters and everything else. Spaces around the name are dropped.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["MAX_NAME_LENGTH", "PLAIN_NAME_RULE", "check_plain_name"]

#: Longest plain name (suffixes such as ``_coco.json`` / ``.history.json`` must still fit a file system's 255).
MAX_NAME_LENGTH = 120
#: What :func:`check_plain_name` accepts, in words (for error messages).
PLAIN_NAME_RULE = (f"a plain name: letters, digits, spaces and - _ . , + = @ ( ), at most {MAX_NAME_LENGTH} "
                   "characters, not starting with a dot, no folders (/ \\ : ~)")
_NAME = re.compile(r"[\w\-.,+=@() ]+")  # \w: letters (any script), digits, underscore


def check_plain_name(name: Any, what: str) -> str:
    """``name`` without surrounding spaces, if it is a plain file or folder name (the module docstring's rule).

    Args:
        name: what the user typed.
        what: how the error names it, e.g. ``"export name"``, ``"DAVIS sequence name (--sequences)"``.

    Raises:
        TypeError: ``name`` is not a string. ValueError: any other name, saying what was given and what is
            accepted.
    """
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a string, got {type(name).__name__}")
    stem = name.strip()
    if not stem or stem.startswith(".") or len(stem) > MAX_NAME_LENGTH or not _NAME.fullmatch(stem):
        raise ValueError(f"{what} {name!r:.140} is not accepted: use {PLAIN_NAME_RULE}")
    return stem
