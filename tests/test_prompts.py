"""Prompt validation at the boundary."""

from __future__ import annotations

import numpy as np
import pytest

from hqsam_nb import MAX_POINTS, Prompt, make_prompt
from hqsam_nb.pair.prompts import check_flag

SIZE = (100, 200)  # H, W


def test_points_labels_box_are_normalised() -> None:
    p = make_prompt([[10, 20], [30.5, 40]], [1, 0], [150, 90, 20, 10], image_size=SIZE)
    assert p.points.shape == (2, 2) and p.points.dtype == np.float64
    assert p.labels.tolist() == [1, 0] and p.labels.dtype == np.int32
    assert p.box.tolist() == [20, 10, 150, 90]  # swapped corners put in order


def test_labels_default_to_positive_and_edges_are_inside() -> None:
    p = make_prompt([[0, 0], [200, 100]], image_size=SIZE)
    assert p.labels.tolist() == [1, 1]


def test_round_trip_through_dict() -> None:
    p = make_prompt([[10, 20]], [0], [1, 2, 3, 4], image_size=SIZE)
    q = Prompt.from_dict(p.to_dict(), image_size=SIZE)
    assert q.to_dict() == p.to_dict()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "no prompt given"),
        ({"points": [10, 20]}, r"shape \(N, 2\)"),
        ({"points": np.zeros((0, 2))}, r"shape \(N, 2\)"),
        ({"points": [[10, 20]], "labels": [1, 0]}, "to match 1 points"),
        ({"points": [[10, 20]], "labels": [2]}, "1 \\(positive\\) or 0"),
        ({"labels": [1]}, "without points"),
        ({"points": [[np.nan, 1]]}, "NaN or inf"),
        ({"points": [[201, 1]]}, "outside the image"),
        ({"points": [[-1, 1]]}, "outside the image"),
        ({"box": [0, 0, 10]}, r"shape \(4,\)"),
        ({"box": [0, 0, 10, np.inf]}, "NaN or inf"),
        ({"box": [0, 0, 300, 10]}, "outside the image"),
        ({"box": [5, 0, 5, 10]}, "zero width"),
        ({"points": "abc"}, "numeric"),
    ],
)
def test_bad_prompts_are_explained(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_prompt(image_size=SIZE, **kwargs)


def test_points_per_prompt_are_capped() -> None:
    assert MAX_POINTS == 256
    many = np.random.default_rng(0).uniform(0, 100, (MAX_POINTS + 1, 2))
    assert make_prompt(many[:MAX_POINTS], image_size=SIZE).points.shape == (MAX_POINTS, 2)
    with pytest.raises(ValueError, match=r"257 points; at most MAX_POINTS = 256"):
        make_prompt(many, image_size=SIZE)
    with pytest.raises(ValueError, match="MAX_POINTS"):
        Prompt.from_dict({"points": many.tolist(), "labels": [1] * len(many), "box": None}, image_size=SIZE)


def test_flags_must_be_bools() -> None:
    assert check_flag(True, "multimask") is True and check_flag(np.bool_(False), "multimask") is False
    for bad in ("no", "False", 1, 0, None, [True]):
        with pytest.raises(TypeError, match=r"multimask must be True or False, got"):
            check_flag(bad, "multimask")
