"""Prompt protocols: the tight box, jitter, and seeded nested point prompts."""

from __future__ import annotations

import numpy as np
import pytest

from hqsam_nb.evaluation.protocols import POINT_SETTINGS, image_rng, point_prompts, tight_box


def _mask() -> np.ndarray:
    m = np.zeros((60, 80), bool)
    m[10:30, 20:50] = True
    m[15:25, 30:40] = False  # a hole
    return m


def test_tight_box_is_the_pixel_extent() -> None:
    np.testing.assert_array_equal(tight_box(_mask()), [20, 10, 49, 29])
    wire = np.zeros((20, 20), bool)
    wire[3:15, 7] = True  # one column wide: x1 = x0 + 1 so that the box is a box
    np.testing.assert_array_equal(tight_box(wire), [7, 3, 8, 14])


def test_box_jitter_is_seeded_and_bounded() -> None:
    mask = _mask()
    a = tight_box(mask, jitter=0.2, rng=image_rng(0, "img", "box"))
    b = tight_box(mask, jitter=0.2, rng=image_rng(0, "img", "box"))
    c = tight_box(mask, jitter=0.2, rng=image_rng(1, "img", "box"))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    exact = tight_box(mask)
    assert np.all(np.abs(a - exact) <= 0.2 * 30 + 1e-3)
    assert a[0] < a[2] and a[1] < a[3] and a.min() >= 0 and a[2] <= 80 and a[3] <= 60
    with pytest.raises(ValueError, match="rng"):
        tight_box(mask, jitter=0.1)


def test_point_prompts_sampled_from_the_ground_truth() -> None:
    mask = _mask()
    prompts = point_prompts(mask, image_rng(0, "img", "points"))
    assert list(prompts) == [s.label for s in POINT_SETTINGS]
    for s in POINT_SETTINGS:
        points, labels = prompts[s.label]
        assert points.shape == (s.n_pos + s.n_neg, 2) and labels.dtype == np.int32
        assert (labels == 1).sum() == s.n_pos and (labels == 0).sum() == s.n_neg
        xs, ys = points[:, 0].astype(int), points[:, 1].astype(int)
        np.testing.assert_array_equal(mask[ys, xs], labels == 1)  # positives inside, negatives outside
        neg = points[labels == 0]
        if len(neg):  # near the object: inside its box grown by 20 %
            assert neg[:, 0].min() >= 20 - 6 and neg[:, 0].max() <= 49 + 7
            assert neg[:, 1].min() >= 10 - 4 and neg[:, 1].max() <= 29 + 5
    # Nested: 3 positives include the 1; 10 include the 5; 10+5neg has the 5+5neg negatives.
    np.testing.assert_array_equal(prompts["3"][0][:1], prompts["1"][0])
    np.testing.assert_array_equal(prompts["10"][0][:5], prompts["5"][0])
    np.testing.assert_array_equal(prompts["10+5neg"][0][10:], prompts["5+5neg"][0][5:])


def test_point_prompts_depend_only_on_seed_and_name() -> None:
    mask = _mask()
    a = point_prompts(mask, image_rng(3, "a", "points"))["10"][0]
    again = point_prompts(mask, image_rng(3, "a", "points"))["10"][0]
    other = point_prompts(mask, image_rng(3, "b", "points"))["10"][0]
    np.testing.assert_array_equal(a, again)
    assert not np.array_equal(a, other)


def test_small_objects_get_fewer_points() -> None:
    tiny = np.zeros((10, 10), bool)
    tiny[4, 4:7] = True
    points, labels = point_prompts(tiny, image_rng(0, "t", "points"))["10"]
    assert len(points) == 3 and (labels == 1).all()


def test_empty_or_bad_mask() -> None:
    with pytest.raises(ValueError, match="empty"):
        tight_box(np.zeros((5, 5), bool))
    with pytest.raises(TypeError, match="boolean"):
        point_prompts(np.zeros((5, 5), np.uint8), image_rng(0, "x", "points"))
