"""One rule each, used everywhere: what a box is (swapped corners put in order), what a mask is, which branches
exist."""

from __future__ import annotations

import numpy as np
import pytest

from hqsam_nb.pair import check_branches, hq_branch, make_prompt, make_prompt_batch
from hqsam_nb.validation import check_mask, ordered_boxes


def test_one_box_rule_for_prompts_and_tracker_boxes() -> None:
    from hqsam_nb.video.prompts import _check_box

    swapped = [150, 90, 20, 10]
    assert ordered_boxes(swapped).tolist() == [20, 10, 150, 90]
    assert make_prompt(box=swapped, image_size=(100, 200)).box.tolist() == [20, 10, 150, 90]
    assert _check_box(swapped, "seq/00000 object 1").tolist() == [20, 10, 150, 90]  # it used to be refused
    batch = make_prompt_batch(boxes=[[0, 0, 5, 5], swapped], image_size=(100, 200))
    assert batch.boxes.tolist() == [[0, 0, 5, 5], [20, 10, 150, 90]]
    with pytest.raises(ValueError, match=r"\(object 1\) has zero width"):
        ordered_boxes([[0, 0, 5, 5], [3, 3, 3, 9]])
    for bad, message in (([1, 1, 1, 5], "zero width"), ([np.nan, 0, 1, 1], "NaN"), ([1, 2, 3], r"shape \(3,\)"),
                         ("abc", "must be")):
        with pytest.raises(ValueError, match=message):
            _check_box(bad, "seq/00000 object 1")
        with pytest.raises(ValueError, match=message):
            ordered_boxes(bad)


def test_one_mask_rule() -> None:
    assert check_mask(np.ones((1, 3, 4), np.uint8)).dtype == bool  # (1, H, W) and 0/1 numbers accepted
    with pytest.raises(ValueError, match="only 0 and 1"):
        check_mask(np.full((3, 4), 0.5))
    with pytest.raises(ValueError, match="expected"):
        check_mask(np.zeros((3, 4), bool), shape=(4, 3))
    with pytest.raises(TypeError, match="numpy bool array"):
        check_mask([[True]])


def test_one_branch_rule() -> None:
    assert check_branches(None) == ("sam", "hq", "fused") and check_branches("hq") == ("hq",)
    assert check_branches(["fused", "sam", "sam"]) == ("sam", "fused")  # display order, once each
    with pytest.raises(ValueError, match="which: unknown branch 'best'; use one of sam, hq, fused"):
        check_branches(["best"], what="which")
    with pytest.raises(ValueError, match="is empty"):
        check_branches([])
    assert hq_branch("fused") == "fused"
    with pytest.raises(ValueError, match="other must be 'hq' or 'fused', got 'sam'"):
        hq_branch("sam", "other")
