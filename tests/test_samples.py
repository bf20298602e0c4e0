"""Samples: bundled or generated (no download), with prompts inside the image that make_prompt accepts."""

from __future__ import annotations

import numpy as np
import pytest

from hqsam_nb import make_prompt
from hqsam_nb.io.samples import SAMPLE_NAMES, list_samples, load_sample, samples_markdown, suggest_prompt


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_every_sample_loads_with_a_valid_prompt(name: str, no_network) -> None:
    s = load_sample(name, size=(256, 320))
    h, w = s.image.shape[:2]
    assert s.image.dtype == np.uint8 and s.image.ndim == 3 and s.image.shape[2] == 3
    p = make_prompt(image_size=(h, w), **s.prompt_kwargs())
    assert p.box is not None and p.points is not None
    if s.gt_mask is not None:  # generated: box = tight box of the ground truth, points on the object
        assert s.gt_mask.shape == (h, w) and s.source.startswith("hqsam_nb.io.synthetic.")
        ys, xs = np.nonzero(s.gt_mask)
        assert s.box == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
        assert all(s.gt_mask[y, x] for x, y in s.points)
        assert (h, w) == (256, 320)
    else:
        assert s.source.startswith("skimage.data.")


def test_list_samples_and_unknown_name() -> None:
    rows = list_samples()
    assert [r["name"] for r in rows] == list(SAMPLE_NAMES)
    assert {r["name"] for r in list_samples("generated")} | {r["name"] for r in list_samples("photo")} == set(
        SAMPLE_NAMES)
    with pytest.raises(ValueError, match="no sample named 'nope'"):
        load_sample("nope")
    with pytest.raises(ValueError, match="kind"):
        list_samples("videos")
    table = samples_markdown().splitlines()
    assert len(table) == 2 + len(SAMPLE_NAMES) and table[2].startswith(f"| `{SAMPLE_NAMES[0]}` |")


def test_generated_samples_are_deterministic() -> None:
    a, b = load_sample("fence", size=(128, 128)), load_sample("fence", size=(128, 128))
    np.testing.assert_array_equal(a.image, b.image)
    c = load_sample("fence", size=(128, 128), seed=99)
    assert not np.array_equal(a.gt_mask, c.gt_mask)


def test_prompt_kwargs_variants() -> None:
    s = load_sample("camera_tripod")
    assert set(s.prompt_kwargs()) == {"points", "labels", "box"}
    assert set(s.prompt_kwargs(use_points=False)) == {"box"}
    assert set(s.prompt_kwargs(use_box=False)) == {"points", "labels"}
    assert 0 in s.prompt_kwargs()["labels"]


def test_suggest_prompt_points_spread_on_the_thickest_parts() -> None:
    m = np.zeros((100, 200), bool)
    m[40:60, 10:50] = True  # thick block (distance max 10)
    m[48:51, 50:190] = True  # a 3-px wire
    m[30:70, 150:190] = True  # a second thick block, far from the first
    box, points = suggest_prompt(m, n_points=2)
    assert box == (10, 30, 190, 70)
    xs = sorted(p[0] for p in points)
    assert 20 <= xs[0] <= 40 and 160 <= xs[1] <= 180
    with pytest.raises(ValueError, match="non-empty"):
        suggest_prompt(np.zeros((4, 4), bool))
