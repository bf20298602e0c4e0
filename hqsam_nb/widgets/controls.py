"""The ipywidgets controls around the prompt canvas, declared in one place.

:class:`Controls` builds every button, toggle and text field of :class:`~hqsam_nb.widgets.PromptCanvas`, and
:meth:`Controls.rows` lays them out. Nothing here reacts to anything: the canvas connects the callbacks
(``PromptCanvas._connect``), so a reader sees here *what* is on screen and there *what it does*.

To add a control:

* one button or text field at run time, without touching this file: ``canvas.add_action("Everything",
  callback)`` / ``canvas.add_text_field("find:", callback)`` put it in the :attr:`Controls.actions` row;
* a control that is always there: build it in :meth:`Controls.__init__` (give it a name), place it in
  :meth:`Controls.rows`, connect it in ``PromptCanvas._connect``.
"""

from __future__ import annotations

import ipywidgets as W  # noqa: N812

from .layers import VIEWS
from .state import KEY_BINDINGS

__all__ = ["Controls", "sample_options"]


def sample_options() -> list[tuple[str, str]]:
    """``(label, name)`` of the bundled samples: skimage photographs, and generated scenes when available."""
    from ..io.samples import list_samples

    try:
        from ..io import synthetic  # noqa: F401  (the generated scenes need it)
    except ImportError:
        rows = list_samples("photo")
    else:
        rows = list_samples("all")
    return [(row["name"].replace("_", " "), row["name"]) for row in rows]


def _label(text: str) -> W.Label:
    return W.Label(text, layout=W.Layout(width="80px"))


class Controls:
    """Every control of the widget (except the canvas itself), as attributes.

    Args:
        view: the initial view (a key of :data:`~hqsam_nb.widgets.layers.VIEWS`).
        multimask: the initial state of the multimask checkbox.
    """

    #: The controls' attribute names (``PromptCanvas`` exposes each as ``canvas.<name>``).
    NAMES: tuple[str, ...] = (
        "mode", "view", "multimask", "candidate", "undo_button", "redo_button", "clear_button", "status",
        "help", "legend", "sample_choice", "path_text", "path_button", "upload", "export_name",
        "export_masks_button", "export_history_button", "actions", "output", "weights_note",
    )

    def __init__(self, *, view: str, multimask: bool) -> None:
        # -- the prompt: click mode, undo / redo / clear
        self.mode = W.ToggleButtons(options=[("+ positive", "positive"), ("− negative", "negative")],
                                    value="positive", description="",
                                    tooltips=["a click adds a foreground point",
                                              "a click adds a background point (n)"],
                                    style={"button_width": "96px", "description_width": "initial"})
        self.undo_button = W.Button(description="Undo (z)", icon="undo", layout=W.Layout(width="110px"))
        self.redo_button = W.Button(description="Redo (y)", icon="repeat", layout=W.Layout(width="110px"))
        self.clear_button = W.Button(description="Clear (Esc)", icon="trash", layout=W.Layout(width="120px"))
        # -- what is shown
        self.view = W.ToggleButtons(options=[(label, key) for key, label in VIEWS.items()], value=view,
                                    description="",
                                    style={"button_width": "136px", "description_width": "initial"})
        self.multimask = W.Checkbox(value=multimask, description="SAM multimask (3 candidates)", indent=False,
                                    layout=W.Layout(width="220px"))
        self.candidate = W.ToggleButtons(options=[("best", -1)], value=-1, description="",
                                         style={"button_width": "72px", "description_width": "initial"},
                                         layout=W.Layout(display=None if multimask else "none"))
        # -- text around the canvas
        self.status = W.HTML(value="")
        self.status.add_class("hqsam-status")
        keys = " · ".join(f"<kbd>{k}</kbd> {v}" for k, v in KEY_BINDINGS.items())
        self.help = W.HTML(
            "<b>Click</b>: positive point · <b>Shift+click</b> (or negative mode): negative point · "
            "<b>drag</b>: box (points and a box combine)<br>"
            f"<span style='color:#555'>Keys, after clicking the image once: {keys}</span>")
        self.legend = W.HTML(value="")
        # what is not official about the weights, in red above the canvas (hidden with the official weights)
        self.weights_note = W.HTML(value="", layout=W.Layout(display="none"))
        self.weights_note.add_class("hqsam-weights-note")
        # -- the image: a sample, a path, an upload
        self.sample_choice = W.Dropdown(options=sample_options(), value=None, description="Sample",
                                        layout=W.Layout(width="240px"))
        self.path_text = W.Text(placeholder="path/to/image.png", description="or path",
                                layout=W.Layout(width="300px"))
        self.path_button = W.Button(description="Open", layout=W.Layout(width="70px"))
        self.upload = W.FileUpload(accept="image/*", multiple=False, description="Upload")
        # -- files
        self.export_name = W.Text(value="prompt", description="Save as", layout=W.Layout(width="220px"))
        self.export_masks_button = W.Button(description="Masks (PNG + COCO)", icon="download",
                                            layout=W.Layout(width="190px"))
        self.export_history_button = W.Button(description="History (JSON)", icon="history",
                                              layout=W.Layout(width="140px"))
        # -- extra actions (PromptCanvas.add_action / add_text_field); hidden while empty
        self.actions = W.HBox([], layout=W.Layout(display="none"))
        # -- messages and tracebacks
        self.output = W.Output(layout=W.Layout(max_height="160px", overflow="auto"))

    def rows(self, canvas: W.Widget) -> list[W.Widget]:
        """The widget's children, top to bottom, with ``canvas`` (the ``MultiCanvas``) in its place."""
        row = W.HBox
        return [
            row([self.sample_choice, self.path_text, self.path_button, self.upload]),
            row([_label("Click adds"), self.mode, self.undo_button, self.redo_button, self.clear_button]),
            row([_label("Show"), self.view]),
            row([_label(""), self.multimask, self.candidate]),
            self.actions,
            self.help,
            self.weights_note,
            canvas,
            self.legend,
            self.status,
            row([self.export_name, self.export_masks_button, self.export_history_button]),
            self.output,
        ]

    def add_action(self, widget: W.Widget) -> None:
        """Append ``widget`` (a button, a text field) to the :attr:`actions` row and show the row."""
        self.actions.children = (*self.actions.children, widget)
        self.actions.layout.display = None
