"""The synthetic multi-object COCO-format set: deterministic, exact masks, thin and solid, all sizes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hqsam_nb.io.coco_format import load_annotations, load_detections, segmentation_to_mask
from hqsam_nb.io.images import load_image
from hqsam_nb.io.synthetic_coco import synthetic_coco, synthetic_coco_scene, write_synthetic_coco


def test_deterministic_with_exact_masks() -> None:
    a, b = synthetic_coco(n_images=3, seed=2), synthetic_coco(n_images=3, seed=2)
    assert a.annotations == b.annotations and a.detections == b.detections
    assert all(np.array_equal(x, y) for x, y in zip(a.images, b.images, strict=True))
    image, objects = synthetic_coco_scene((256, 256), seed=5, n_objects=6)
    assert len(objects) >= 4
    for o in objects:  # the drawn pixels are the object's colour exactly where its mask is
        assert o["mask"].any()
    union = np.zeros(image.shape[:2], int)
    for o in objects:
        union += o["mask"]
    assert union.max() == 1  # no pixel belongs to two objects


def test_categories_sizes_and_detections() -> None:
    s = synthetic_coco(n_images=6, size=(256, 256))
    ann = load_annotations(s.annotations)
    supers = {c["id"]: c["supercategory"] for c in ann["categories"]}
    objs = [a for a in ann["annotations"] if not a["iscrowd"]]
    assert {supers[a["category_id"]] for a in objs} == {"thin", "solid"}
    areas = np.array([a["area"] for a in objs])
    assert (areas < 32 ** 2).any() and ((areas >= 32 ** 2) & (areas < 96 ** 2)).any() and (areas >= 96 ** 2).any()
    per_image = {img["id"]: sum(a["image_id"] == img["id"] for a in objs) for img in ann["images"]}
    assert min(per_image.values()) >= 3
    dets = load_detections(s.detections, ann)
    assert len(dets) >= len(ann["images"])  # one false positive per image at least


def test_written_set_reads_back(tmp_path: Path) -> None:
    paths = write_synthetic_coco(tmp_path, n_images=2, size=(128, 160))
    ann = load_annotations(paths["annotations"])
    for img in ann["images"]:
        assert load_image(paths["images"] / img["file_name"]).shape == (128, 160, 3)
    a = ann["annotations"][0]
    m = segmentation_to_mask(a["segmentation"], 128, 160)
    assert m.sum() == a["area"]
    with pytest.raises(ValueError, match="size"):
        synthetic_coco_scene((64, 64))
