"""Interactive prompting in the notebook.

* :mod:`.state` - pure Python: canvas <-> image coordinates, the prompt editor with undo/redo, prompt
  histories that replay to identical masks;
* :mod:`.canvas` - :class:`PromptCanvas`, the ``ipycanvas`` widget (imported on first use), composing
  :mod:`.controls` (the ipywidgets controls, declared in one place), :mod:`.layers` (the image / mask / prompt
  layers and the legend) and :mod:`.files` (uploads, mask exports, histories);
* :mod:`.wipe` - the ipywidgets wipe slider.
"""

from __future__ import annotations

from typing import Any

__all__ = ["VIEWS", "PromptCanvas"]


def __getattr__(name: str) -> Any:
    """``PromptCanvas`` and ``VIEWS`` import ipycanvas only when first used."""
    if name in __all__:
        from . import canvas

        return getattr(canvas, name)
    raise AttributeError(f"module 'hqsam_nb.widgets' has no attribute {name!r}")
