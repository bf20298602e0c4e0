"""The one preprocessing path: the official resize, except that a short side is never rounded to 0 pixels."""

from __future__ import annotations

import numpy as np
import pytest

from hqsam_nb.pair.preprocess import input_size, resize_transform

ELONGATED = [(1, 5000), (2, 5000), (5000, 1), (1, 2049)]  # the official resize makes one side 0 pixels


def test_resize_matches_the_official_one_wherever_that_one_works() -> None:
    from segment_anything_hq.utils.transforms import ResizeLongestSide

    official = ResizeLongestSide(1024)
    rng = np.random.default_rng(0)
    shapes = [(1, 1), (3, 2048), (480, 640), (1024, 1024), (4000, 3), (7, 9)]
    shapes += [tuple(int(v) for v in rng.integers(1, 6000, 2)) for _ in range(200)]
    for h, w in shapes:
        want = official.get_preprocess_shape(h, w, 1024)
        if min(want) >= 1:
            assert input_size((h, w)) == want, (h, w)


@pytest.mark.parametrize("shape", ELONGATED)
def test_short_side_is_clamped_to_one_pixel(shape: tuple[int, int]) -> None:
    from segment_anything_hq.utils.transforms import ResizeLongestSide

    assert min(ResizeLongestSide.get_preprocess_shape(*shape, 1024)) == 0  # why this exists
    h, w = input_size(shape)
    assert max(h, w) == 1024 and min(h, w) == 1
    transform = resize_transform(1024)
    assert transform.apply_image(np.zeros((*shape, 3), np.uint8)).shape == (h, w, 3)
    corner = transform.apply_coords(np.array([[shape[1], shape[0]]], float), shape)
    np.testing.assert_allclose(corner, [[w, h]])  # the far corner maps to the resized image's far corner


@pytest.mark.parametrize("shape", ELONGATED)
def test_elongated_images_work_through_the_pair(tiny_pair, shape: tuple[int, int]) -> None:
    image = np.random.default_rng(1).integers(0, 255, (*shape, 3), dtype=np.uint8)
    tiny_pair.set_image(image)
    h, w = shape
    out = tiny_pair.predict(box=[0, 0, w, h])
    for result in (out.sam, out.hq, out.fused):
        assert result.mask.shape == shape and result.logits.shape == (256, 256)
    assert tuple(tiny_pair.upsample_logits(out.hq.logits[None]).shape) == (1, h, w)
