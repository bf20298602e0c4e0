"""The procedural thin-structure benchmark: deterministic, exact masks, thin objects."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hqsam_nb.io.synthetic import SCENE_KINDS, benchmark_specs, synthetic_benchmark, thin_structure_scene


@pytest.mark.parametrize("kind", SCENE_KINDS)
def test_scene_shapes_and_determinism(kind: str) -> None:
    image, mask = thin_structure_scene(kind, size=(200, 300), seed=4)
    assert image.shape == (200, 300, 3) and image.dtype == np.uint8
    assert mask.shape == (200, 300) and mask.dtype == bool
    again_image, again_mask = thin_structure_scene(kind, size=(200, 300), seed=4)
    np.testing.assert_array_equal(image, again_image)
    np.testing.assert_array_equal(mask, again_mask)
    other_image, _ = thin_structure_scene(kind, size=(200, 300), seed=5)
    assert not np.array_equal(image, other_image)


@pytest.mark.parametrize("kind", SCENE_KINDS)
def test_objects_are_thin(kind: str) -> None:
    """Most object pixels vanish under a 7x7 erosion: the objects are wires, not blobs."""
    _, mask = thin_structure_scene(kind, size=(512, 512), seed=0)
    assert 0.002 < mask.mean() < 0.3
    eroded = cv2.erode(mask.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    assert eroded.sum() < 0.2 * mask.sum()


def test_image_shows_object_colour_on_mask() -> None:
    """The object is composited exactly on the mask: colours inside differ from the background outside."""
    image, mask = thin_structure_scene("fence", size=(256, 256), seed=2)
    inside = image[mask].astype(float).mean()
    ring = cv2.dilate(mask.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    outside = image[ring & ~mask].astype(float).mean()
    assert abs(inside - outside) > 40


def test_benchmark_is_prefix_stable_and_covers_kinds() -> None:
    names = [s.name for s in benchmark_specs(12)]
    assert names[:5] == [f"{i:03d}_{k}" for i, k in enumerate(SCENE_KINDS)]
    assert [s.name for s in benchmark_specs(4)] == names[:4]
    sizes = {s.size for s in benchmark_specs(50)}
    assert min(min(s) for s in sizes) >= 512 and max(max(s) for s in sizes) <= 1024 and len(sizes) > 3
    first = next(synthetic_benchmark(n=2, seed=3, sizes=((64, 96),)))
    image, mask = thin_structure_scene(first.kind, (64, 96), benchmark_specs(1, seed=3)[0].seed)
    np.testing.assert_array_equal(first.image, image)
    np.testing.assert_array_equal(first.mask, mask)


@pytest.mark.parametrize("bad", [dict(kind="cloud"), dict(size=(10, 10)), dict(size=(64.0, 64)),
                                 dict(seed=-1)])
def test_bad_arguments(bad: dict) -> None:
    kwargs = dict(kind="wires", size=(64, 64), seed=0) | bad
    with pytest.raises(ValueError, match=list(bad)[0]):
        thin_structure_scene(**kwargs)
