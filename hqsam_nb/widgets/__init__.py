"""Interactive prompting in the notebook.

* :mod:`.state` - pure Python: canvas <-> image coordinates, the prompt editor with undo/redo;
* :mod:`.history` - prompt histories that replay to identical masks;
* :mod:`.canvas` - :class:`PromptCanvas`, the ``ipycanvas`` widget (imported on first use), composing
  :mod:`.controls` (the ipywidgets controls, declared in one place), :mod:`.layers` (the image / mask / prompt
  layers and the legend) and :mod:`.files` (uploads, mask exports, histories);
* :mod:`.find` - :func:`add_find_field`, a "find:" text field whose detector boxes become the objects shown;
* :mod:`.everything` - :func:`add_everything_button`, the automatic masks of the canvas' image for its view;
* :mod:`.wipe` - the ipywidgets wipe slider.

Names are imported on first use (:mod:`hqsam_nb._lazy`): ``from hqsam_nb.widgets import PromptCanvas`` imports
ipycanvas, ``from hqsam_nb.widgets import replay_history`` does not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_face

if TYPE_CHECKING:
    from .canvas import PromptCanvas
    from .everything import add_everything_button
    from .find import add_find_field
    from .history import Replay, history_to_dict, replay_history
    from .layers import VIEWS
    from .state import CanvasMapping, PromptEditor, PromptState
    from .wipe import wipe_widget

#: Each public name -> the module that defines it (imported on first use: :mod:`hqsam_nb._lazy`).
_HOMES = {
    "CanvasMapping": "state",
    "PromptCanvas": "canvas",
    "PromptEditor": "state",
    "PromptState": "state",
    "Replay": "history",
    "VIEWS": "layers",
    "add_everything_button": "everything",
    "add_find_field": "find",
    "history_to_dict": "history",
    "replay_history": "history",
    "wipe_widget": "wipe",
}
__all__ = [
    "CanvasMapping", "PromptCanvas", "PromptEditor", "PromptState", "Replay", "VIEWS", "add_everything_button",
    "add_find_field", "history_to_dict", "replay_history", "wipe_widget",
]
__getattr__, __dir__ = lazy_face(__name__, _HOMES)
