"""A still picture of a live widget, for the places that cannot run widgets.

nbconvert's HTML, nbviewer and GitHub show a notebook's saved outputs without a kernel: an ``ipycanvas``
canvas is blank there (its pixels were drawn by messages, never stored), and an ``ipywidgets`` view is at best a
placeholder. So a widget of this package, when displayed, leaves a second output right after its live view: a
PNG still (``image/png``) of what it shows, updated as it changes. Static renderers show the still.

Where the live widget runs (JupyterLab, Notebook 7, Voilà), the widget hides its still with one CSS rule (the
output right after the widget's output, ``:has()`` in current browsers), so nobody sees the picture twice:

* :class:`~hqsam_nb.widgets.PromptCanvas` switches the rule on when its canvas reports a browser view (the
  canvas' *client ready* event reaches the kernel), so an HTML page that embeds the saved widget state (without
  a kernel, the canvas blank) still shows the still;
* :func:`~hqsam_nb.widgets.wipe.wipe_widget` has it on from the start (its picture is in the widget state).

In other front ends (VS Code, Colab) the still shows below the widget.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from typing import Any

import ipywidgets as W  # noqa: N812
import numpy as np

__all__ = ["HIDE_STILL_CSS", "Still", "StillBox"]

#: Hides the output after the one holding ``.hqsam-live`` (that is: the widget's still, where the widget runs).
HIDE_STILL_CSS = ("<style>.jp-OutputArea-child:has(.hqsam-live) + .jp-OutputArea-child {display: none}</style>"
                  "<span class='hqsam-live'></span>")


class Still:
    """The PNG still of one widget: :meth:`display` it right after the widget, :meth:`refresh` it on changes.

    Args:
        render: returns the picture, ``uint8`` RGB ``H x W x 3``, or None while there is nothing to show.
        label: the output's ``text/plain`` (what a text-only renderer shows).
        debounce_s: with a live view (the still hidden), refresh at most once per this many seconds, after
            the last change, so that clicking stays fast; without one (nbconvert, nbval), at once.

    Attributes:
        hider: an ``ipywidgets.HTML`` (put it in the widget) that carries the CSS rule once :meth:`set_live`.
        updates: how many times the still was sent (tests read it).
    """

    def __init__(self, render: Callable[[], np.ndarray | None], *, label: str, debounce_s: float = 0.5) -> None:
        self.render = render
        self.label = label
        self.debounce_s = debounce_s
        self.hider = W.HTML("", layout=W.Layout(display="none"))
        self.live = False
        self.updates = 0
        self._handle: Any = None
        self._timer: asyncio.TimerHandle | None = None

    def bundle(self) -> dict[str, Any]:
        """The output's MIME bundle: ``image/png`` (base64) and ``text/plain``."""
        from ..io.images import encode_png

        data: dict[str, Any] = {"text/plain": self.label}
        picture = self.render()
        if picture is not None:
            data["image/png"] = base64.b64encode(encode_png(picture)).decode("ascii")
        return data

    def display(self) -> None:
        """Show the still as an output of the current cell (call right after displaying the widget)."""
        from IPython.display import display

        self._handle = display(self.bundle(), raw=True, display_id=True)
        self.updates += 1

    def set_live(self) -> None:
        """A live view of the widget exists: hide the still there."""
        self.live = True
        if self.hider.value != HIDE_STILL_CSS:
            self.hider.value = HIDE_STILL_CSS

    def refresh(self) -> None:
        """The widget changed: update the still (at once, or debounced when a live view hides it)."""
        if self._handle is None:
            return
        if not self.live:
            self._update()
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._update()
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_later(self.debounce_s, self._update)

    def _update(self) -> None:
        self._timer = None
        if self._handle is not None:
            self._handle.update(self.bundle(), raw=True)
            self.updates += 1


class StillBox(W.VBox):
    """An ``ipywidgets.VBox`` that, displayed, shows itself and then its :attr:`still` (a :class:`Still`; put
    ``still.hider`` among its children)."""

    still: Still | None = None

    def _ipython_display_(self, **kwargs: Any) -> None:
        from IPython.display import display

        display(self._repr_mimebundle_(**kwargs), raw=True)
        if self.still is not None:
            self.still.display()
