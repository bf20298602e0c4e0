"""The one style of every package face: a sorted ``__all__`` whose names are imported from their home module on
first use, so that importing a package (or the command line) does not import torch, matplotlib or ipycanvas
until something needs them.

A face (``hqsam_nb/<package>/__init__.py``) is::

    _HOMES = {"PairPredictor": "predictor", "load_pair": "predictor", ...}   # name -> module, relative
    __all__ = [...]                                                          # the same names, sorted
    __getattr__, __dir__ = lazy_face(__name__, _HOMES)

with an ``if TYPE_CHECKING:`` block of the same imports for type checkers and editors.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_face"]


def lazy_face(package: str, homes: Mapping[str, str],
              submodules: tuple[str, ...] = ()) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for the face of ``package``.

    Args:
        package: the package's ``__name__``.
        homes: public name -> the module (relative to ``package``) that defines it.
        submodules: subpackages / modules reachable as attributes (``hqsam_nb.metrics``), imported on first use.
    """

    def getattr_(name: str) -> Any:
        if name in homes:
            value = getattr(importlib.import_module(f".{homes[name]}", package), name)
            setattr(sys.modules[package], name, value)  # cached: the next access is a plain attribute
            return value
        if name in submodules:
            return importlib.import_module(f".{name}", package)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def dir_() -> list[str]:
        return sorted({*vars(sys.modules[package]), *homes, *submodules})

    return getattr_, dir_
