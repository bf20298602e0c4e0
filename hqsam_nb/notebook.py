"""Small things every notebook does the same way: the setup printout, the weights banner, and the stamp that
every figure, frame and export made with random (or unofficial) weights carries.

Notebooks import these; they never define helpers of their own.
"""

from __future__ import annotations

import html
import logging
import platform
from typing import Any

from ._compat import figure_suptitle
from .models.provenance import ProvenanceLike, provenance_of

__all__ = [
    "detector_banner_html",
    "environment_summary",
    "show_detector_banner",
    "show_environment",
    "show_weights_banner",
    "stamp_figure",
    "weights_banner_html",
    "weights_warning",
]


def environment_summary(device: Any = None) -> dict[str, str]:
    """Versions of the stack and the device that ``device`` resolves to (see :func:`~hqsam_nb.pick_device`)."""
    import numpy
    import torch

    from ._version import __version__
    from .models.loading import pick_device

    dev = pick_device(device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor() or platform.machine()
    return {
        "hqsam_nb": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "device": f"{dev} ({name})",
    }


def show_environment(device: Any = None) -> dict[str, str]:
    """Log-free setup printout for a notebook's "Setup imports" cell: one line per item, returned as a dict."""
    from IPython.display import Markdown, display

    summary = environment_summary(device)
    display(Markdown(" | ".join(f"**{k}** {v}" for k, v in summary.items())))
    return summary


def weights_warning(weights: ProvenanceLike) -> str | None:
    """The stamp for things made with ``weights`` (:meth:`~hqsam_nb.models.provenance.WeightsProvenance.warning`):
    None for official weights (or None given), else one line: ``"RANDOM WEIGHTS - masks and numbers are
    meaningless"``, ``"FINE-TUNED WEIGHTS - ..."``, ``"NOT THE OFFICIAL WEIGHTS - ..."``."""
    info = provenance_of(weights)
    return None if info is None else info.warning()


def stamp_figure(fig: Any, weights: ProvenanceLike) -> Any:
    """Write :func:`weights_warning` across the top of a matplotlib figure, in red, when there is one.

    Every figure of this package whose content depends on the weights calls this (``weights=`` argument),
    so a figure made with random weights cannot be mistaken for a result, on screen or saved.

    Returns:
        ``fig`` (stamped in place), so that ``return stamp_figure(fig, weights)`` ends a figure function.
    """
    text = weights_warning(weights)
    if text is not None:
        # sized with the figure, so that it reads the same once a wide figure is scaled to the page
        size = max(12.0, 1.1 * float(fig.get_figwidth()))
        # room for it above everything: the layout engine reserves the suptitle's height, so the suptitle
        # (the figure's own, if it has one) starts with empty lines the stamp then sits in
        suptitle = figure_suptitle(fig)
        old = suptitle.get_text() if suptitle is not None else ""
        title_size = suptitle.get_fontsize() if old else size
        blank = "\n" * max(1, round(1.5 * size / title_size))
        fig.suptitle(blank + old if old else blank, fontsize=title_size)
        fig.text(0.5, 0.998, text, ha="center", va="top", fontsize=size, fontweight="bold", color="white",
                 bbox={"boxstyle": "square,pad=0.3", "facecolor": "#c00000", "edgecolor": "none"}, zorder=10)
        fig._hqsam_nb_stamp = text
    return fig


#: Banner colour and title per provenance kind.
_BANNERS = {
    "official": ("#1b7f3b", "Official weights."),
    "fine-tuned": ("#c2410c", "Fine-tuned weights (not the paper's release)."),
    "random": ("#b91c1c", "RANDOM / synthetic weights: every mask, score and accuracy below is noise."),
    "unknown": ("#c2410c", "Not the official weights."),
}


def weights_banner_html(info: ProvenanceLike) -> str:
    """An HTML banner: green for official weights, a loud red warning for random ones, orange otherwise.

    Args:
        info: a :class:`~hqsam_nb.models.provenance.WeightsProvenance`, or a pair (its ``.info``).
    """
    info = provenance_of(info)
    if info is None:
        raise TypeError("expected a WeightsProvenance or a pair predictor, got None")
    colour, title = _BANNERS[info.kind]
    return (
        f'<div style="border-left:6px solid {colour};background:{colour}14;padding:8px 12px;margin:4px 0">'
        f"<b>{html.escape(title)}</b> {html.escape(info.describe())}</div>"
    )


def _banner(ok: bool, title: str, text: str) -> str:
    colour = "#1b7f3b" if ok else "#c2410c"
    return (f'<div style="border-left:6px solid {colour};background:{colour}14;padding:8px 12px;margin:4px 0">'
            f"<b>{html.escape(title)}.</b> {html.escape(text)}</div>")


def detector_banner_html(detector: Any) -> str:
    """An HTML banner for a text detector: green with its name and revision, a loud orange one when random."""
    name = getattr(detector, "name", type(detector).__name__)
    if getattr(detector, "random_weights", False):
        return _banner(False, "Not a real detector", "a tiny GroundingDINO with RANDOM weights (hqsam_nb.text."
                       "tiny_random_detector): boxes, scores and labels are noise; only the code path is real. "
                       "For real boxes set DETECTOR = 'IDEA-Research/grounding-dino-tiny' on a machine that can "
                       "download it (or to a folder holding it).")
    revision = getattr(detector, "revision", None)
    where = f"Hub revision {revision[:10]}" if revision else "a local folder"
    return _banner(True, "Detector", f"{name} ({getattr(detector, 'family', '')}, {where})")


def show_detector_banner(detector: Any) -> None:
    """Display :func:`detector_banner_html` and log what it says."""
    from IPython.display import HTML, display

    display(HTML(detector_banner_html(detector)))
    logging.getLogger(__name__).info("detector: %r", detector)


def show_weights_banner(info: ProvenanceLike) -> None:
    """Display :func:`weights_banner_html` in the notebook and log it (so it shows in plain runs too)."""
    from IPython.display import HTML, display

    html_text = weights_banner_html(info)
    display(HTML(html_text))
    logging.getLogger(__name__).info(provenance_of(info).describe())
