"""A wipe view for notebooks: one slider reveals SAM's mask on one side of a line and HQ-SAM's on the other.

A thin ipywidgets layer over :func:`hqsam_nb.drawing.wipe_image`: the two overlays are painted once, then each
slider move only cuts and re-encodes one PNG (a few milliseconds), so it follows the slider smoothly. Works in
JupyterLab, Notebook 7, VS Code and Voila (plain ``ipywidgets``, no extra front-end extension).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..drawing.overlays import (
    draw_prompt,
    label_panels,
    overlay_mask,
    wipe_image,
)
from ..io.images import encode_png
from ..pair.branches import BRANCHES, hq_branch
from ..validation import check_image, check_mask

if TYPE_CHECKING:
    from ..models.provenance import ProvenanceLike

__all__ = ["wipe_widget"]


def _fit(image: np.ndarray, max_size: int) -> np.ndarray:
    import cv2

    h, w = image.shape[:2]
    scale = max_size / max(h, w)
    if scale >= 1:
        return image
    return cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)


def wipe_widget(image: np.ndarray, sam_mask: np.ndarray, hq_mask: np.ndarray, *, prompt: Any = None,
                position: float = 0.5, alpha: float = 0.5, labels: Sequence[str] | None = None,
                colors: Sequence[Sequence[int]] | None = None, other: str = "hq", weights: ProvenanceLike = None,
                max_size: int = 768) -> Any:
    """A slider that wipes between SAM's mask (left of the line) and HQ-SAM's (right of it).

    Args:
        image: ``uint8`` ``H x W x 3``. sam_mask, hq_mask: ``bool`` ``H x W``.
        prompt: optional :class:`~hqsam_nb.Prompt` drawn on both sides.
        position: the initial cut, as a fraction of the width.
        labels: names of the left and right masks, shown above the image; default the branches' labels
            (``"SAM"`` and ``other``'s, e.g. ``"HQ-SAM (HQ token)"``).
        colors: mask colours of the left and right masks; default the branches' colours.
        other: which HQ-SAM branch ``hq_mask`` is: ``"hq"`` or ``"fused"``.
        weights: the pair (or its ``WeightsProvenance``): random / unofficial weights are said above the slider and
            on the still.
        max_size: the longer side of the displayed image in pixels (larger images are shrunk for display).

    Displayed, it also leaves a PNG still of the picture as the next output, for nbconvert's HTML, nbviewer and
    GitHub (hidden where the widget runs; see :mod:`hqsam_nb.widgets.still`).

    Returns:
        An ``ipywidgets.VBox`` (label, slider, image). ``widget.slider`` and ``widget.image`` give its parts,
        ``widget.render(position)`` the ``uint8`` picture shown at a cut.
    """
    try:
        import ipywidgets as widgets
    except ImportError:  # pragma: no cover - ipywidgets is a dependency
        raise ImportError("wipe_widget needs ipywidgets: pip install ipywidgets") from None

    from ..notebook import weights_warning

    other = hq_branch(other, "other")
    labels = (BRANCHES["sam"].label, BRANCHES[other].label) if labels is None else labels
    colors = (BRANCHES["sam"].color, BRANCHES[other].color) if colors is None else colors
    note = weights_warning(weights)
    image = check_image(image)
    sam_mask = check_mask(sam_mask, image.shape[:2], name="sam_mask")
    hq_mask = check_mask(hq_mask, image.shape[:2], name="hq_mask")
    left = overlay_mask(image, sam_mask, colors[0], alpha)
    right = overlay_mask(image, hq_mask, colors[1], alpha)
    if prompt is not None:
        left, right = draw_prompt(left, prompt), draw_prompt(right, prompt)
    left, right = _fit(left, max_size), _fit(right, max_size)

    def render(pos: float) -> np.ndarray:
        return wipe_image(left, right, pos, line_width=max(2, left.shape[1] // 300))

    h, w = left.shape[:2]
    view = widgets.Image(value=encode_png(render(position)), format="png", width=w, height=h)
    slider = widgets.FloatSlider(value=position, min=0.0, max=1.0, step=0.01, continuous_update=True,
                                 readout=False, description="wipe", layout=widgets.Layout(width=f"{w}px"))
    caption = widgets.HTML(f"<b>&#9664; {labels[0]}</b> (left of the line) | <b>{labels[1]} &#9654;</b> "
                           "(right of the line)"
                           + (f"<br><b style='color:#b91c1c'>{note}</b>" if note else ""))

    from .still import Still, StillBox

    def still_picture() -> np.ndarray:  # the still names both sides (and the weights) as the live caption does
        picture = render(float(slider.value))
        picture = label_panels([picture], [note.split(" - ")[0]]) if note else picture  # short: it must fit
        return label_panels([picture], [f"<- {labels[0]} | {labels[1]} ->"])

    still = Still(still_picture,
                  label="wipe slider (a still: run the notebook to move the slider)")
    still.set_live()  # the live view shows the same picture (it is in the widget state): hide the still there

    def on_change(change: dict[str, Any]) -> None:
        view.value = encode_png(render(float(change["new"])))
        still.refresh()

    slider.observe(on_change, names="value")
    box = StillBox([caption, slider, view, still.hider])
    box.still = still
    box.slider, box.image, box.render = slider, view, render  # handles for tests and users
    return box
