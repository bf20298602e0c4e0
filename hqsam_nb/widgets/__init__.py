"""Interactive prompting in the notebook.

* :mod:`.state` - pure Python: canvas <-> image coordinates, the prompt editor with undo/redo, prompt
  histories that replay to identical masks;
* :mod:`.canvas` - :class:`PromptCanvas`, the ``ipycanvas`` widget (imported on first use), composing
  :mod:`.controls` (the ipywidgets controls, declared in one place), :mod:`.layers` (the image / mask / prompt
  layers and the legend) and :mod:`.files` (uploads, mask exports, histories);
* :mod:`.find` - :func:`add_find_field`, a "find:" text field whose detector boxes become the objects shown;
* :mod:`.wipe` - the ipywidgets wipe slider.
"""

from __future__ import annotations

from typing import Any

__all__ = ["VIEWS", "PromptCanvas", "add_find_field"]
_HOMES = {"VIEWS": "canvas", "PromptCanvas": "canvas", "add_find_field": "find"}


def __getattr__(name: str) -> Any:
    """``PromptCanvas``, ``VIEWS`` and ``add_find_field`` import ipycanvas only when first used."""
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(f"module 'hqsam_nb.widgets' has no attribute {name!r}")
