"""The notebooks' figure/prose check (notebooks/conftest.py) and the colour words it reads (drawing.palette)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from hqsam_nb.drawing import palette
from hqsam_nb.drawing.palette import BAND_PALETTE, colour_name, colour_words_in, overlap_palette
from hqsam_nb.pair.branches import BRANCHES

_spec = importlib.util.spec_from_file_location("nb_conftest", Path(__file__).parents[1] / "notebooks" / "conftest.py")
nb_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nb_conftest)

MIME = nb_conftest.FIGURE_REPORT_MIME


def _md(text: str) -> dict:
    return {"cell_type": "markdown", "source": text}


def _code(*figures: dict) -> dict:
    return {"cell_type": "code", "source": "fig",
            "outputs": [{"data": {MIME: {"created": len(figures), "figures": list(figures)}}}] if figures else []}


def _figure(colours=(), texts=(), titles=(), sup=()) -> dict:
    return {"legend_colours": [list(c) for c in colours], "legend_texts": list(texts), "titles": list(titles),
            "suptitles": list(sup)}


@pytest.mark.parametrize(("rgb", "word"), [
    (BRANCHES["sam"].color, "blue"), (BRANCHES["hq"].color, "orange"), (BRANCHES["fused"].color, "pink"),
    (palette.POSITIVE_COLOR, "green"), (palette.NEGATIVE_COLOR, "red"), (palette.BOX_COLOR, "yellow"),
    ((255, 0, 255), "magenta"), ((0, 215, 255), "cyan"), ((255, 255, 255), "white"), ((190, 190, 190), "grey"),
    ((0.0, 0.447, 0.698, 1.0), "blue"),  # matplotlib's floats, with alpha
])
def test_colour_names(rgb, word) -> None:
    assert colour_name(rgb) == word


def test_one_palette_for_both_only_a_only_b() -> None:
    for other in ("hq", "fused"):
        pal = overlap_palette("sam", other)
        assert pal.colors == palette.diff_colors(other) and pal.labels == palette.diff_labels(other)
        assert f"**{colour_name(BRANCHES[other].color)}**: only {BRANCHES[other].label}" in pal.sentence()
    assert BAND_PALETTE.sentence().startswith("**white**: in both bands")
    with pytest.raises(ValueError, match="unknown branch"):
        overlap_palette("sam", "HQ")
    assert colour_words_in("Green pixels, GRAY and `red`") == {"green", "grey", "red"}


def test_prose_naming_colours_the_figure_does_not_use_fails() -> None:
    # notebook 08 before the fix: green / orange / blue above a white / magenta / cyan legend
    cells = [_md("green pixels are in both bands, orange only the prediction's, blue only the truth's"),
             _code(_figure(colours=BAND_PALETTE.colors.values(), texts=BAND_PALETTE.labels.values()))]
    [problem] = nb_conftest.prose_problems(cells)
    assert "names blue, green, orange" in problem and "cyan, magenta, white" in problem
    # the same words as the legend: fine; words in code spans, answers and questions are not prose
    cells[0] = _md("**white**: both, **magenta**: prediction only, **cyan**: truth only. `green`\n\n"
                   "<details>orange</details>\n\n## Questions\n1. Why is it blue?")
    assert nb_conftest.prose_problems(cells) == []


def test_colour_named_without_a_figure_after_it_fails_and_legend_words_count() -> None:
    cells = [_md("the orange mask"), _code(), _md("next"), _code(_figure(colours=[(230, 159, 0)]))]
    assert "no figure follows it" in nb_conftest.prose_problems(cells)[0]
    cells = [_md("the orange mask"), _code(), _code(_figure(texts=["HQ token (orange)"]))]
    assert nb_conftest.prose_problems(cells) == []


def test_figure_titled_with_one_branch_and_panels_with_the_other_fails() -> None:
    cells = [_code(_figure(sup=["Largest SAM vs HQ-SAM (fused) differences"],
                           titles=["SAM: boundary IoU 0.1", "HQ-SAM (HQ token): boundary IoU 0.2"]))]
    [problem] = nb_conftest.prose_problems(cells)
    assert "HQ-SAM (fused)" in problem and "HQ token" in problem
    cells = [_code(_figure(sup=["SAM vs HQ-SAM (fused)"], titles=["HQ-SAM (fused): 0.2"]))]
    assert nb_conftest.prose_problems(cells) == []


def test_zoom_windows_stay_inside_the_prompt_box() -> None:
    from hqsam_nb.drawing import disagreement_boxes

    sam = np.zeros((200, 300), bool)
    hq = sam.copy()
    hq[60:140, 100:112] = True  # disagreement along the left edge of the box below
    within = (95, 50, 215, 150)
    boxes = disagreement_boxes(sam, hq, n=2, size=40, within=within)
    assert boxes and all(within[0] <= x0 and within[1] <= y0 and x1 <= within[2] and y1 <= within[3]
                         for x0, y0, x1, y1 in boxes), boxes
    # a window larger than the box is centred on it
    [(x0, y0, x1, y1)] = disagreement_boxes(sam, hq, n=1, size=180, within=within)
    assert (x0 + x1) // 2 == 155 and (y0 + y1) // 2 == 100


def test_video_comparison_paints_each_branch_and_the_palette() -> None:
    from hqsam_nb.video import comparison_frame

    image = np.full((60, 80, 3), 100, np.uint8)
    sam = np.zeros((1, 60, 80), bool)
    sam[0, 10:40, 10:40] = True
    fused = np.zeros_like(sam)
    fused[0, 10:40, 30:60] = True
    frame = comparison_frame(image, sam, fused, hq_branch="fused")
    colours = {tuple(int(v) for v in px) for px in frame.reshape(-1, 3)}
    palette = overlap_palette("sam", "fused")
    for key in ("hq_only", "sam_only", "both"):  # the legend's swatches are the palette's exact colours
        assert palette.colors[key] in colours, key
    assert BRANCHES["hq"].color not in colours  # no HQ-token orange when the fused mask is compared
