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

**Words must match the figures.** The same report describes each figure: its legends' swatch colours and texts,
its titles. After the last code cell of a run of cells, :func:`prose_problems` reads the markdown cell(s) before
the run: a colour it names (green, magenta, orange, blue, cyan, pink, white, grey, yellow, red, ...; named by
:func:`hqsam_nb.drawing.palette.colour_name`, as the package's legends are) must be one a figure of the run
uses in its legend or title, and a figure titled with one HQ-SAM branch must not label its panels with the other.
Questions, answers (``<details>``), summaries and code spans are not checked: they refer back.
"""

from __future__ import annotations

import os
import re
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

    def rgb(color):
        from matplotlib.colors import to_rgba
        import numpy as np

        arr = np.asarray(color, dtype=object)
        if arr.ndim == 2:  # a collection's face colours: the first
            color = tuple(arr[0]) if len(arr) else None
        if color is None or (isinstance(color, str) and color == "none"):
            return None
        r, g, b, a = to_rgba(color)
        return None if a == 0 else [round(255 * r), round(255 * g), round(255 * b)]

    def describe(fig):
        """What a reader can name in a figure: its legends' swatch colours and texts, and its titles."""
        legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
        colours, legend_texts = [], []
        for leg in legends:
            for handle in getattr(leg, "legend_handles", None) or getattr(leg, "legendHandles", []):
                # a marker's fill, else a patch's face (its edge when the face is empty), else a line's colour
                marker = getattr(handle, "get_marker", lambda: None)()
                getters = ("get_markerfacecolor",) if marker not in (None, "None", "", " ") else ()
                for getter in (*getters, "get_facecolor", "get_edgecolor", "get_color"):
                    if hasattr(handle, getter):
                        try:
                            c = rgb(getattr(handle, getter)())
                        except (TypeError, ValueError):
                            c = None
                        if c is not None:
                            colours.append(c)
                            break
            legend_texts += [t.get_text() for t in leg.get_texts()] + [leg.get_title().get_text()]
        sup = [t.get_text() for t in (getattr(fig, "_suptitle", None), getattr(fig, "_supxlabel", None)) if t]
        titles = [ax.get_title(loc) for ax in fig.axes for loc in ("left", "center", "right") if ax.get_title(loc)]
        return {{"legend_colours": colours, "legend_texts": [t for t in legend_texts if t], "suptitles": sup,
                "titles": titles}}

    def post_run_cell(result=None):
        # report files a library run writes (save_figure(..., report=True)) are not figures for the reader
        shown = [f for f in created if not getattr(f, "hqsam_nb_report_file", False)]
        created.clear()
        if shown:
            figures = []
            for f in shown:
                try:
                    figures.append(describe(f))
                except Exception as exc:  # never break a notebook over the report itself
                    figures.append({{"error": repr(exc)}})
            publish_display_data({{"{FIGURE_REPORT_MIME}": {{"created": len(shown), "figures": figures}}}})

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


# --- prose against figures -------------------------------------------------------------------------------
#: Headings from which a markdown cell refers back to figures above (questions, answers, summaries): the colour
#: words under them are not checked against the figure below.
_BACK_REFERENCE = re.compile(r"^#+\s*(Questions|Summary)\b.*", re.IGNORECASE | re.MULTILINE | re.DOTALL)
_CODE = re.compile(r"```.*?```|`[^`]*`|<details>.*?</details>", re.DOTALL)
_HQ_LABELS = ("HQ-SAM (HQ token)", "HQ-SAM (fused)")


def prose_text(markdown: str) -> str:
    """The sentences of a markdown cell that speak about what follows: code spans, fenced code, folded answers
    and everything from a "Questions" or "Summary" heading on are left out."""
    return _CODE.sub(" ", _BACK_REFERENCE.sub(" ", markdown))


def figure_reports(outputs: list[Any]) -> list[dict[str, Any]]:
    """The kernel's description of each figure a cell showed (legend colours and texts, titles)."""
    return [fig for out in outputs
            for fig in (out.get("data") or {}).get(FIGURE_REPORT_MIME, {}).get("figures", [])]


def figure_colour_words(figure: dict[str, Any]) -> set[str]:
    """The colours a reader can name in a figure: its legend swatches' colours (:func:`colour_name`) and the
    colour words of its legend texts and titles."""
    from hqsam_nb.drawing.palette import colour_name, colour_words_in

    words = {colour_name(c) for c in figure.get("legend_colours", [])}
    for text in (*figure.get("legend_texts", []), *figure.get("titles", []), *figure.get("suptitles", [])):
        words |= colour_words_in(text)
    return words


def branch_label_problem(figure: dict[str, Any]) -> str | None:
    """A figure whose overall title names one HQ-SAM branch while a panel names the other."""
    sup = " ".join(figure.get("suptitles", []))
    named = [label for label in _HQ_LABELS if label in sup]
    if len(named) != 1:
        return None
    other = _HQ_LABELS[1 - _HQ_LABELS.index(named[0])]
    panels = [t for t in figure.get("titles", []) + figure.get("legend_texts", []) if other in t]
    if panels:
        return f"the figure's title names {named[0]!r} but its panels say {panels[0]!r}"
    return None


def prose_problems(cells: list[Any], first_index: int = 0) -> list[str]:
    """Where a notebook's words and its figures disagree.

    ``cells`` are nbformat cells (dicts with ``cell_type``, ``source`` and, for code, ``outputs`` holding the
    kernel's figure reports). A markdown cell that names a colour (green, magenta, orange, ...) must be followed,
    before the next markdown cell, by a figure whose legend or title uses that colour: a sentence read aloud
    names what is on the screen. A figure must not title one HQ-SAM branch while its panels name the other.
    ``first_index`` is the notebook index of ``cells[0]`` (for the messages).
    """
    from hqsam_nb.drawing.palette import colour_words_in

    problems: list[str] = []
    for i, cell in enumerate(cells):
        if cell["cell_type"] == "code":
            for fig in figure_reports(cell.get("outputs", [])):
                problem = branch_label_problem(fig)
                if problem:
                    problems.append(f"cell {first_index + i}: {problem}")
        if cell["cell_type"] != "markdown":
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        named = colour_words_in(prose_text(source))
        if not named:
            continue
        figures = []
        for after in cells[i + 1:]:
            if after["cell_type"] == "markdown":
                break
            if after["cell_type"] == "code":
                figures += figure_reports(after.get("outputs", []))
        shown = set().union(*(figure_colour_words(f) for f in figures)) if figures else set()
        missing = sorted(named - shown)
        if missing:
            first = " ".join(source.split())[:90]
            where = (f"the figure(s) below use {', '.join(sorted(shown)) or 'no named colour'} in their "
                     "legends and titles" if figures else "no figure follows it")
            problems.append(f"markdown cell {first_index + i} (\"{first}...\") names {', '.join(missing)}, but {where}")
    return problems


_OUTPUTS: dict[int, list[Any]] = {}


def _prose_problem_for(item) -> str | None:
    """After the last code cell of a run (the next cell is markdown, or none), check the markdown cell(s) before
    the run against the figures of the run (:func:`prose_problems`)."""
    nb = getattr(item.parent, "nb", None)
    if nb is None:
        return None
    cells = nb.cells
    index = next((i for i, c in enumerate(cells) if c is item.cell), None)
    if index is None or (index + 1 < len(cells) and cells[index + 1].cell_type != "markdown"):
        return None
    start = index
    while start > 0 and cells[start - 1].cell_type != "markdown":
        start -= 1
    first = start
    while first > 0 and cells[first - 1].cell_type == "markdown":
        first -= 1
    window = [{"cell_type": c.cell_type, "source": c.source, "outputs": _OUTPUTS.get(id(c), [])}
              for c in cells[first:index + 1]]
    return "; ".join(prose_problems(window, first)) or None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    outputs = getattr(item, "test_outputs", None)
    if outputs is not None:  # an nbval cell: nbval has just executed it and kept its outputs
        cell = getattr(item, "cell", None)
        source = "" if cell is None else "\n".join(cell.source.splitlines()[-3:])
        problem = figure_problem(outputs)
        if problem is not None:
            pytest.fail(f"{item.name}: {problem}\n... {source}", pytrace=False)
        if cell is not None and not os.environ.get("HQSAM_NB_FIGURE_CHECK_OFF"):
            _OUTPUTS[id(cell)] = outputs
            problem = _prose_problem_for(item)
            if problem is not None:
                pytest.fail(f"{item.name}: the words do not match the figure: {problem}", pytrace=False)
    return result
