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


# -- what a hostile but realistic file holds (reliability round 2) -------------------------------------------
def _first_rle_annotation(doc: dict) -> dict:
    return next(a for a in doc["annotations"] if isinstance(a["segmentation"], dict))


@pytest.mark.parametrize(("fn", "message"), [
    # duplicate ids: pycocotools keeps one annotation per id, so perfect results scored AP 25, not 100
    (lambda d: [a.update(id=7) for a in d["annotations"][:2]], r"annotation ids 7 appear more than once"),
    (lambda d: d["annotations"][0].update(id=[1]), "annotation ids must be integers"),
    (lambda d: d["annotations"][0].update(image_id=[1]), "image_id that is not an integer"),
    # a compressed RLE whose counts do not sum to H x W (pycocotools accepted it; an oversized one hung it)
    (lambda d: _first_rle_annotation(d).update(segmentation={"size": [128, 128], "counts": "zzzz~~"}),
     "not a compressed COCO RLE string"),
    (lambda d: _first_rle_annotation(d).update(segmentation={"size": [128, 128], "counts": "0PReb8"}),
     r"sum.* 9000000.* H\*W = 16384"),
    (lambda d: _first_rle_annotation(d).update(segmentation={"size": [128, 128], "counts": "é1"}),
     "not a compressed COCO RLE string"),
    (lambda d: _first_rle_annotation(d).update(segmentation={"size": ["a", "b"], "counts": "PPa"}), "RLE size"),
    # a polygon 1e8 px away: pycocotools crashed (SIGSEGV); 1e7 took 6.7 s and 1.1 GB
    (lambda d: d["annotations"][0].update(segmentation=[[0, 0, 1e8, 0, 1e8, 1e8]]), r"within the 128 x 128 image"),
    (lambda d: d["annotations"][0].update(area="big"), "area must be a number"),
    (lambda d: d["annotations"][0].update(bbox=[float("nan"), 0, 10, 10]), "bbox must be"),
    (lambda d: d["annotations"][0].update(bbox=[50, 50, -40, -30]), "bbox must be"),
])
def test_hostile_annotations_are_refused_by_name(syn, fn, message) -> None:
    with pytest.raises(CocoFormatError, match=message):
        load_annotations(_broken(syn, fn))


def test_compressed_rle_counts_decode_as_pycocotools_writes_them() -> None:
    from pycocotools import mask as mask_utils

    from hqsam_nb.io.coco_format import compressed_rle_counts

    rng = np.random.default_rng(0)
    for density in (0.0, 0.02, 0.5, 1.0):
        m = np.asfortranarray((rng.random((37, 53)) < density).astype(np.uint8))
        flat = m.flatten(order="F")
        edges = np.flatnonzero(np.diff(flat)) + 1
        runs = np.diff(np.concatenate([[0], edges, [flat.size]]))
        expected = np.concatenate([[0], runs]) if flat[0] else runs  # runs start with the zeros
        assert compressed_rle_counts(mask_utils.encode(m)["counts"]).tolist() == expected.tolist()


def test_user_files_fail_naming_the_file(tmp_path: Path, syn) -> None:
    binary = tmp_path / "annotations.bin"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(CocoFormatError, match=r"annotations file '.*annotations\.bin' is not UTF-8"):
        load_annotations(binary)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(CocoFormatError, match=r"deep\.json' is JSON nested too deeply"):
        load_annotations(deep)
    ann = load_annotations(syn.annotations)
    with pytest.raises(CocoFormatError, match="a list of dicts .* got dict"):
        load_detections({"image_id": 1}, ann)


def test_results_uncompressed_counts_are_compressed_and_a_bbox_key_changes_nothing(syn) -> None:
    from hqsam_nb.io.coco_format import load_results
    from hqsam_nb.io.exports import mask_to_rle
    from hqsam_nb.metrics import coco_instance_metrics

    ann = load_annotations(syn.annotations)
    size = {img["id"]: (img["height"], img["width"]) for img in ann["images"]}
    perfect = [{"image_id": a["image_id"], "category_id": a["category_id"], "score": 0.9,
                "segmentation": mask_to_rle(segmentation_to_mask(a["segmentation"], *size[a["image_id"]]))}
               for a in ann["annotations"] if not a["iscrowd"]]
    a = perfect[0]
    m = segmentation_to_mask(a["segmentation"], *size[a["image_id"]]).flatten(order="F")
    edges = np.flatnonzero(np.diff(m)) + 1
    runs = np.diff(np.concatenate([[0], edges, [m.size]])).tolist()
    raw = {**a, "segmentation": {"size": list(size[a["image_id"]]), "counts": ([0] if m[0] else []) + runs}}
    assert load_results([raw], ann)[0]["segmentation"] == a["segmentation"]  # was: AttributeError on a list
    plain = coco_instance_metrics(ann, perfect)
    boxed = coco_instance_metrics(ann, [{**r, "bbox": [0, 0, 1, 1], "area": 1.0} for r in perfect])
    assert boxed == plain and plain["AP"] == pytest.approx(100.0)
