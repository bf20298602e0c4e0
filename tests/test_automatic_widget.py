"""The widget's "everything" button: the automatic masks of the canvas' image for its view, with progress."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import make_image

from hqsam_nb.automatic import PairMaskGenerator, suggested_thresholds
from hqsam_nb.widgets import PromptCanvas, add_everything_button

IMAGE = make_image(120, 160, seed=5)


@pytest.fixture
def canvas(tiny_pair, tmp_path):
    return PromptCanvas(tiny_pair, IMAGE, max_display=(60, 80), export_dir=tmp_path)


def test_everything_button_draws_the_views_masks_with_progress(canvas, tiny_pair) -> None:
    action = add_everything_button(canvas, points_per_side=2, points_per_batch=2)
    assert action.button in canvas.actions.children and action.progress in canvas.actions.children
    steps = []
    action.progress.observe(lambda ch: steps.append(ch["new"]), "value")
    canvas.view.value = "side"
    action.button.click()
    assert not canvas.errors, canvas.errors
    assert steps[-2:] == [1, 2] and action.progress.max == 2  # one step per chunk of 2 points
    assert action.result.branches == ("sam", "hq") and action.result.weights_note
    assert "segment everything (side view)" in canvas.status.value and action.result.weights_note in canvas.status.value
    assert canvas.layers.mask_digest is not None
    # the same masks as the generator run directly, with the thresholds for these (non-official) weights
    params = {"points_per_side": 2, "points_per_batch": 2, **suggested_thresholds(tiny_pair)}
    direct = PairMaskGenerator(tiny_pair, **params).generate(IMAGE, branches=["sam", "hq"])
    assert direct.counts() == action.result.counts()
    assert np.array_equal(direct.masks("hq"), action.result.masks("hq"))
    canvas.view.value = "diff"
    action.button.click()
    assert not canvas.errors and action.result.branches == ("sam", "hq")


def test_everything_button_checks_parameters_at_once(canvas) -> None:
    with pytest.raises(ValueError, match="points_per_side must be an int in \\[1, 256\\]"):
        add_everything_button(canvas, points_per_side=0)
