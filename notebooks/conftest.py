"""nbval runs of the notebooks: CPU, vit_tiny, a synthetic (random-weight) checkpoint, no network; and a check
that every figure a cell draws is shown.

The checkpoint is written once per session under its official name into a temporary directory named by
``$HQSAM_NB_CHECKPOINTS``; kernels inherit the environment, so the notebooks load it through the real
resolution code, and their banner says the weights are random (the file carries the marker
``save_random_checkpoint`` leaves beside it).

**Figures must be shown.** The package's figures appear only as a cell's value: a cell ending in ``;`` or one
that saves a figure without displaying it draws nothing a reader sees, and ``--nbval-lax`` cannot notice. So
the kernels get an IPython startup file (through ``$IPYTHONDIR``) that counts the matplotlib figures each cell
creates (leaving out report files a library run saves with ``save_figure(..., report=True)``) and reports the
count in an output of its own mime type; after nbval has run a cell (its one execution
of the notebook; nothing is executed twice), :func:`pytest_runtest_call` fails the cell when it created more
figures than it displayed images. This covers every notebook in this folder, present and future.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

#: The mime type of the kernel's figure report (front ends do not render it; nbval keeps it in the outputs).
FIGURE_REPORT_MIME = "application/vnd.hqsam-nb.figures+json"

_STARTUP = f'''
"""hqsam_nb's notebook tests: report how many matplotlib figures each cell created (notebooks/conftest.py)."""
def _hqsam_nb_figure_counter():
    import matplotlib.figure
    from IPython import get_ipython
    from IPython.display import publish_display_data

    ip = get_ipython()
    if ip is None:
        return
    created = []
    original = matplotlib.figure.Figure.__init__

    def counting_init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        created.append(self)

    matplotlib.figure.Figure.__init__ = counting_init

    def pre_run_cell(info=None):
        created.clear()

    def post_run_cell(result=None):
        # report files a library run writes (save_figure(..., report=True)) are not figures for the reader
        shown = [f for f in created if not getattr(f, "hqsam_nb_report_file", False)]
        created.clear()
        if shown:
            publish_display_data({{"{FIGURE_REPORT_MIME}": {{"created": len(shown)}}}})

    ip.events.register("pre_run_cell", pre_run_cell)
    ip.events.register("post_run_cell", post_run_cell)


_hqsam_nb_figure_counter()
del _hqsam_nb_figure_counter
'''


def install_figure_counter(ipython_dir: Path) -> Path:
    """Write the kernel startup file into ``ipython_dir/profile_default/startup``; returns its path."""
    startup = ipython_dir / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    path = startup / "00-hqsam-nb-figure-counter.py"
    path.write_text(_STARTUP, encoding="utf-8")
    return path


def pytest_configure(config) -> None:
    # No MPLBACKEND here: kernels keep Jupyter's inline backend, so pyplot figures are shown as a reader sees
    # them (with Agg they would silently vanish), and headless matplotlib falls back to Agg by itself.
    if not os.environ.get("HQSAM_NB_FIGURE_CHECK_OFF"):
        os.environ["IPYTHONDIR"] = str(Path(tempfile.mkdtemp(prefix="hqsam_nb_ipython_")))
        install_figure_counter(Path(os.environ["IPYTHONDIR"]))
    if os.environ.get("HQSAM_NB_CHECKPOINTS"):
        return
    root = Path(tempfile.mkdtemp(prefix="hqsam_nb_ckpt_"))
    from hqsam_nb import save_random_checkpoint

    save_random_checkpoint(root / "sam_hq_vit_tiny.pth", "vit_tiny", seed=1)
    os.environ["HQSAM_NB_CHECKPOINTS"] = str(root)
    os.environ["HQSAM_NB_CACHE"] = str(root / "cache")
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("HQSAM_NB_CI", "1")


def _images_shown(outputs: list[Any]) -> int:
    """Image outputs of a cell: any ``image/*`` bundle, or HTML holding an ``<img>`` (e.g. an inlined GIF)."""
    n = 0
    for out in outputs:
        data = out.get("data") or {}
        if any(k.startswith("image/") for k in data) or "<img" in str(data.get("text/html", "")):
            n += 1
    return n


def _figures_created(outputs: list[Any]) -> int:
    return sum(int((out.get("data") or {}).get(FIGURE_REPORT_MIME, {}).get("created", 0)) for out in outputs)


def figure_problem(outputs: list[Any]) -> str | None:
    """Why a cell's outputs break the rule "every figure drawn is shown", or None when they keep it."""
    created, shown = _figures_created(outputs), _images_shown(outputs)
    if created > shown:
        return (f"this cell created {created} matplotlib figure(s) but shows {shown} image(s): end the cell with "
                "the figure (no trailing ';'), or display(fig) each one, also figures that are only saved")
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    outputs = getattr(item, "test_outputs", None)
    if outputs is not None:  # an nbval cell: nbval has just executed it and kept its outputs
        problem = figure_problem(outputs)
        if problem is not None:
            cell = getattr(item, "cell", None)
            source = "" if cell is None else "\n".join(cell.source.splitlines()[-3:])
            pytest.fail(f"{item.name}: {problem}\n... {source}", pytrace=False)
    return result
