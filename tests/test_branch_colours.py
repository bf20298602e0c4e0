"""One colour scheme and one set of branch names everywhere: figures, overlays, result plots, exports, widget."""

from __future__ import annotations

import numpy as np

from hqsam_nb.drawing import overlays, palette
from hqsam_nb.evaluation import plots, runner
from hqsam_nb.pair.branches import BRANCHES, PAPER_BRANCH


def _far(a, b, at_least: int = 60) -> bool:
    return int(np.abs(np.subtract(a, b, dtype=int)).sum()) >= at_least


def test_branch_colours_are_the_same_everywhere() -> None:
    assert {k: b.color for k, b in BRANCHES.items()} == palette.BRANCH_COLORS
    # the widget imports MASK_COLORS[0] / [1] and FUSED_COLOR for its SAM / HQ / fused views
    assert palette.MASK_COLORS[:3] == (BRANCHES["sam"].color, BRANCHES["hq"].color, BRANCHES["fused"].color)
    assert BRANCHES["fused"].color == palette.FUSED_COLOR
    assert {k: b.hex for k, b in BRANCHES.items()} == plots.BRANCH_COLOURS
    assert {k: b.label for k, b in BRANCHES.items()} == runner.BRANCH_LABELS
    assert tuple(BRANCHES) == runner.BRANCHES


def test_difference_and_error_colours_do_not_clash_with_prompts_or_branches() -> None:
    prompts = (palette.POSITIVE_COLOR, palette.NEGATIVE_COLOR, palette.BOX_COLOR)
    for other in ("hq", "fused"):
        colours = palette.diff_colors(other)
        assert colours["hq_only"] == BRANCHES[other].color and colours["sam_only"] == BRANCHES["sam"].color
        assert all(_far(c, p) for c in colours.values() for p in prompts)
    branch_colours = [b.color for b in BRANCHES.values()]
    for c in plots.ERROR_COLOURS.values():
        assert all(_far(c, p) for p in (*prompts, *branch_colours)), c
    assert all(_far(c, p) for c in branch_colours for p in prompts)


def test_object_colours_are_never_read_as_a_branch_or_a_prompt() -> None:
    """Objects (ground truth, detections, tracks) are coloured apart from the models: no colour word they share."""
    from hqsam_nb.drawing.text_figures import object_color
    from hqsam_nb.video.ytvis_plots import TRACK_COLORS

    name = palette.colour_name
    taken = {name(c) for c in (*palette.BRANCH_COLORS.values(), palette.POSITIVE_COLOR, palette.NEGATIVE_COLOR,
                               palette.BOX_COLOR, palette.BOTH_COLOR)}
    assert taken == {"blue", "orange", "pink", "green", "red", "yellow", "grey"}
    objects = palette.OBJECT_COLORS
    names = [name(c) for c in objects]
    assert not taken & set(names), names
    assert len(set(objects)) == len(objects) >= 6
    assert all(_far(a, b) for i, a in enumerate(objects) for b in objects[i + 1:])
    masks = [np.eye(4, dtype=bool), np.eye(4, dtype=bool)[::-1]]
    assert overlays.masks_rgba(masks, contour_width=0)[0, 0, :3].tolist() == list(objects[0])
    assert [object_color(i) for i in range(7)] == [*objects, objects[0]]
    assert TRACK_COLORS is objects


def test_boxes_are_one_colour_in_drawings_and_figures() -> None:
    import inspect

    from hqsam_nb.drawing import figures

    assert inspect.signature(overlays.draw_box).parameters["color"].default == palette.BOX_COLOR
    assert inspect.signature(figures.show_box).parameters["color"].default == palette.BOX_COLOR
    image = np.zeros((40, 40, 3), np.uint8)
    drawn = overlays.draw_box(image, [5, 5, 30, 30], thickness=3)
    assert tuple(int(v) for v in drawn[5, 15]) == palette.BOX_COLOR


def test_tables_beside_the_paper_use_the_papers_branch() -> None:
    assert PAPER_BRANCH["hq_datasets"] == "hq"
    assert inspect_default(runner.biggest_changes, "branch") == "hq"
    assert inspect_default(plots.show_boundary_gallery, "branches") == ("sam", "hq")
    assert inspect_default(plots.plot_per_image, "branch") == "hq"


def inspect_default(fn, name):
    import inspect

    return inspect.signature(fn).parameters[name].default


def test_the_widget_names_and_colours_branches_as_everywhere_else() -> None:
    from hqsam_nb.widgets import layers

    assert {k: layers.VIEWS[k] for k in BRANCHES} == {k: b.label for k, b in BRANCHES.items()}
    assert layers.VIEWS["hq"] == "HQ-SAM (HQ token)"  # never plain "HQ-SAM": two masks carry that name
    assert {k: layers.VIEW_COLORS[k] for k in BRANCHES} == palette.BRANCH_COLORS
    assert "HQ-SAM (HQ token) (right)" in layers.legend_html("side")
    assert "border:2px solid rgb(255, 212, 0)" in layers.legend_html("sam")  # the one BOX_COLOR, an RGB triple
    assert not hasattr(layers, "BOX_COLOR") or layers.BOX_COLOR is palette.BOX_COLOR
