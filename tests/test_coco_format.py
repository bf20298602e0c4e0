"""COCO-format readers: annotations (polygons, RLE, iscrowd), detections and results, with named errors."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from hqsam_nb.io.coco_format import (
    CocoFormatError,
    load_annotations,
    load_detections,
    segmentation_to_mask,
    xywh_to_xyxy,
)
from hqsam_nb.io.synthetic_coco import synthetic_coco


@pytest.fixture(scope="module")
def syn():
    return synthetic_coco(n_images=3, size=(128, 128), seed=1)


def test_reads_polygons_rle_and_crowds(syn, tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps(syn.annotations))
    ann = load_annotations(path)
    kinds = {("poly" if isinstance(a["segmentation"], list) else
              "rle-list" if isinstance(a["segmentation"]["counts"], list) else "rle") for a in ann["annotations"]}
    assert kinds == {"poly", "rle", "rle-list"}
    assert any(a["iscrowd"] for a in ann["annotations"])
    for a in ann["annotations"]:  # area and bbox are the exact masks'
        img = ann["images"][a["image_id"] - 1]
        m = segmentation_to_mask(a["segmentation"], img["height"], img["width"])
        assert m.sum() == a["area"]
    # area / bbox / iscrowd filled where absent, input untouched
    bare = copy.deepcopy(syn.annotations)
    for a in bare["annotations"]:
        del a["area"], a["bbox"], a["iscrowd"]
    filled = load_annotations(bare)
    assert "area" not in bare["annotations"][0]
    assert [a["area"] for a in filled["annotations"]] == [a["area"] for a in ann["annotations"]]
    assert [a["bbox"] for a in filled["annotations"]] == [a["bbox"] for a in ann["annotations"]]


def _broken(syn, fn):
    doc = copy.deepcopy(syn.annotations)
    fn(doc)
    return doc


@pytest.mark.parametrize(("fn", "message"), [
    (lambda d: d.pop("categories"), "needs 'images'"),
    (lambda d: d["annotations"][0].update(image_id=99), "image ids not in 'images'"),
    (lambda d: d["annotations"][0].update(category_id=99), "category_id not in"),
    (lambda d: d["annotations"][0].update(segmentation=[[1, 2, 3]]), "bad segmentation"),
    (lambda d: d["annotations"][0].update(segmentation={"size": [3, 3], "counts": "x"}), "RLE size"),
    (lambda d: d["annotations"][0].update(segmentation="nope"), "polygons"),
    (lambda d: d["images"].append(dict(d["images"][0])), "more than once"),
    (lambda d: d["images"][0].update(height=0), "positive integer"),
    (lambda d: d["annotations"][0].update(iscrowd=2), "iscrowd"),
])
def test_bad_annotations_are_named(syn, fn, message) -> None:
    with pytest.raises(CocoFormatError, match=message):
        load_annotations(_broken(syn, fn))


def test_missing_or_invalid_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_annotations(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(CocoFormatError, match="not valid JSON"):
        load_annotations(tmp_path / "bad.json")


@pytest.mark.parametrize(("change", "message"), [
    ({"image_id": 42}, "image id"),
    ({"category_id": 42}, "category id"),
    ({"bbox": [1, 2, 0, 5]}, "w or h <= 0"),
    ({"bbox": [1, 2, 3]}, "four"),
    ({"bbox": [1, float("nan"), 3, 4]}, "four"),
    ({"score": float("nan")}, "finite"),
    ({"score": None}, "finite"),
])
def test_bad_detections_are_named(syn, change, message) -> None:
    ann = load_annotations(syn.annotations)
    dets = copy.deepcopy(syn.detections)
    dets[1].update(change)
    with pytest.raises(CocoFormatError, match=message):
        load_detections(dets, ann)


def test_detections_and_boxes(syn) -> None:
    ann = load_annotations(syn.annotations)
    dets = load_detections(syn.detections, ann)
    assert len(dets) == len(syn.detections) and all(isinstance(d["score"], float) for d in dets)
    np.testing.assert_array_equal(xywh_to_xyxy([[1, 2, 3, 4]]), [[1, 2, 4, 6]])
