"""Small things every notebook does the same way: the setup printout and the weights banner.

Notebooks import these; they never define helpers of their own.
"""

from __future__ import annotations

import html
import logging
import platform
from typing import Any

from .models.loading import WeightsInfo

__all__ = ["detector_banner_html", "environment_summary", "show_detector_banner", "show_environment",
           "show_weights_banner", "weights_banner_html"]


def environment_summary(device: Any = None) -> dict[str, str]:
    """Versions of the stack and the device that ``device`` resolves to (see :func:`~hqsam_nb.pick_device`)."""
    import numpy
    import torch

    from . import __version__
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


def weights_banner_html(info: WeightsInfo | Any) -> str:
    """An HTML banner: green for official weights, a loud orange warning otherwise.

    Args:
        info: a :class:`~hqsam_nb.WeightsInfo`, or anything with an ``.info`` attribute holding one (a pair).
    """
    info = getattr(info, "info", info)
    if not isinstance(info, WeightsInfo):
        raise TypeError(f"expected a WeightsInfo or a pair predictor, got {type(info).__name__}")
    ok = info.weights == "pretrained" and info.official
    colour, title = ("#1b7f3b", "Official weights") if ok else ("#c2410c", "Not the official weights")
    return (
        f'<div style="border-left:6px solid {colour};background:{colour}14;padding:8px 12px;margin:4px 0">'
        f"<b>{title}.</b> {html.escape(info.describe())}</div>"
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


def show_weights_banner(info: WeightsInfo | Any) -> None:
    """Display :func:`weights_banner_html` in the notebook and log it (so it shows in plain runs too)."""
    from IPython.display import HTML, display

    info = getattr(info, "info", info)
    display(HTML(weights_banner_html(info)))
    logging.getLogger(__name__).info(info.describe() if isinstance(info, WeightsInfo) else str(info))
