"""coco_instance_metrics: equals pycocotools' own segm AP, and a boundary AP written here from the definition
(Cheng et al. 2021: per pair min(mask IoU, boundary IoU), band = mask minus its erosion by
round(0.02 x diagonal) 3 x 3 steps, zero-padded), on results of known quality."""

from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from scipy import ndimage

import hqsam_nb
from hqsam_nb.io.coco_format import CocoFormatError, segmentation_to_mask
from hqsam_nb.io.exports import mask_to_rle
from hqsam_nb.io.synthetic_coco import synthetic_coco
from hqsam_nb.metrics import coco_instance_metrics, shifted_ground_truth_results

SIZE = (128, 160)


@pytest.fixture(scope="module")
def gt() -> dict:
    return synthetic_coco(n_images=4, size=SIZE, seed=3).annotations


def _perturbed_results(gt: dict, seed: int = 0) -> list[dict]:
    """Every object's mask dilated, eroded, shifted or exact (in turn), scores spread; plus false positives."""
    rng = np.random.default_rng(seed)
    sizes = {img["id"]: (img["height"], img["width"]) for img in gt["images"]}
    out = []
    kernel = np.ones((3, 3), np.uint8)
    for i, ann in enumerate(a for a in gt["annotations"] if not a["iscrowd"]):
        h, w = sizes[ann["image_id"]]
        m = segmentation_to_mask(ann["segmentation"], h, w).astype(np.uint8)
        kind = i % 4
        if kind == 0:
            m = cv2.dilate(m, kernel, iterations=2)
        elif kind == 1:
            m = cv2.erode(m, kernel, iterations=1)
        elif kind == 2:
            m = np.roll(m, (2, 3), axis=(0, 1))
        out.append({"image_id": ann["image_id"], "category_id": ann["category_id"],
                    "segmentation": mask_to_rle(m.astype(bool)), "score": float(rng.uniform(0.2, 1.0))})
    for img in gt["images"]:  # false positives: a random rectangle each, one with a high score
        h, w = img["height"], img["width"]
        m = np.zeros((h, w), bool)
        x, y = rng.integers(0, w - 30), rng.integers(0, h - 30)
        m[y:y + 25, x:x + 28] = True
        out.append({"image_id": img["id"], "category_id": int(rng.integers(1, 9)),
                    "segmentation": mask_to_rle(m), "score": float(rng.uniform(0.0, 1.0))})
    return out


def _band(m: np.ndarray, ratio: float = 0.02) -> np.ndarray:
    h, w = m.shape
    d = max(1, int(round(ratio * math.hypot(h, w))))
    eroded = ndimage.binary_erosion(np.pad(m, 1), structure=np.ones((3, 3), bool), iterations=d,
                                    border_value=0)[1:-1, 1:-1]
    return m & ~eroded


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = (a | b).sum()
    return float((a & b).sum() / union) if union else 0.0


class _BoundaryEval(COCOeval):
    """pycocotools' matching and accumulation, with the IoU of a pair replaced by min(mask IoU, boundary IoU)
    (crowd regions keep pycocotools' crowd IoU, intersection / result area)."""

    def computeIoU(self, img_id, cat_id):  # noqa: N802 - pycocotools calls it by this name
        gts, dts = self._gts[img_id, cat_id], self._dts[img_id, cat_id]
        if not gts or not dts:
            return []
        order = np.argsort([-d["score"] for d in dts], kind="mergesort")
        dts = [dts[i] for i in order][:self.params.maxDets[-1]]
        g_masks = [mask_utils.decode(self.cocoGt.annToRLE(g)).astype(bool) for g in gts]
        d_masks = [mask_utils.decode(self.cocoDt.annToRLE(d)).astype(bool) for d in dts]
        ious = np.zeros((len(dts), len(gts)))
        for i, dm in enumerate(d_masks):
            for j, (g, gm) in enumerate(zip(gts, g_masks, strict=True)):
                if g["iscrowd"]:
                    ious[i, j] = (dm & gm).sum() / max(dm.sum(), 1)
                else:
                    ious[i, j] = min(_iou(dm, gm), _iou(_band(dm), _band(gm)))
        return ious


def _pycocotools_stats(gt_path: Path, results: list[dict], evaluator=COCOeval) -> np.ndarray:
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(str(gt_path))
        coco_dt = coco_gt.loadRes(results)
        ev = evaluator(coco_gt, coco_dt, "segm")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats


def test_equals_pycocotools_and_the_boundary_definition(gt: dict, tmp_path: Path) -> None:
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(gt))
    results = _perturbed_results(gt)
    ours = coco_instance_metrics(path, results)
    assert set(ours) == {"AP", "AP50", "AP75", "AP_S", "AP_M", "AP_L", "AP_B"}
    ref = _pycocotools_stats(path, json.loads(json.dumps(results)))
    for key, v in zip(("AP", "AP50", "AP75", "AP_S", "AP_M", "AP_L"), ref[:6], strict=True):
        if v < 0:  # pycocotools' -1: no ground truth of that size
            assert math.isnan(ours[key]), key
        else:
            assert ours[key] == pytest.approx(100 * v, abs=0.1), key
    ref_b = _pycocotools_stats(path, json.loads(json.dumps(results)), _BoundaryEval)[0]
    assert ours["AP_B"] == pytest.approx(100 * ref_b, abs=0.1)
    # known quality: imperfect masks, so boundary AP well below mask AP, and both well above 0
    assert 5 < ours["AP_B"] < ours["AP"] < 100
    assert hqsam_nb.metrics.coco_instance_metrics is coco_instance_metrics


def test_perfect_and_empty_results(gt: dict) -> None:
    sizes = {img["id"]: (img["height"], img["width"]) for img in gt["images"]}
    perfect = [{"image_id": a["image_id"], "category_id": a["category_id"], "score": 1.0,
                "segmentation": mask_to_rle(segmentation_to_mask(a["segmentation"], *sizes[a["image_id"]]))}
               for a in gt["annotations"] if not a["iscrowd"]]
    m = coco_instance_metrics(gt, perfect)
    assert all(v == pytest.approx(100.0) or math.isnan(v) for v in m.values()), m
    assert m["AP_B"] == pytest.approx(100.0)
    empty = coco_instance_metrics(gt, [])
    assert empty["AP"] == 0.0 and empty["AP_B"] == 0.0
    # only some images: the others' objects do not count as missed
    one = coco_instance_metrics(gt, [r for r in perfect if r["image_id"] == 1], image_ids=[1])
    assert one["AP"] == pytest.approx(100.0)


@pytest.mark.parametrize(("change", "message"), [
    ({"image_id": 999}, "image id"),
    ({"category_id": 77}, "category id"),
    ({"score": float("nan")}, "finite"),
    ({"segmentation": {"size": [5, 5], "counts": "abc"}}, "RLE size"),
])
def test_bad_results_are_named(gt: dict, change: dict, message: str) -> None:
    good = _perturbed_results(gt)[:2]
    bad = [good[0], {**good[1], **change}]
    with pytest.raises(CocoFormatError, match=message):
        coco_instance_metrics(gt, bad)


def test_the_shifted_ground_truth_is_a_known_nontrivial_answer(gt: dict) -> None:
    sizes = {img["id"]: (img["height"], img["width"]) for img in gt["images"]}
    crowd = sum(bool(a["iscrowd"]) for a in gt["annotations"])
    zero = shifted_ground_truth_results(gt, shift=0)
    assert len(zero) == len(gt["annotations"]) - crowd
    assert coco_instance_metrics(gt, zero)["AP_B"] == pytest.approx(100.0)
    moved = shifted_ground_truth_results(gt, shift=2)
    first = next(a for a in gt["annotations"] if not a["iscrowd"])
    mask = segmentation_to_mask(first["segmentation"], *sizes[first["image_id"]])
    expected = np.zeros_like(mask)
    expected[:, 2:] = mask[:, :-2]
    np.testing.assert_array_equal(mask_utils.decode(moved[0]["segmentation"]).astype(bool), expected)
    m = coco_instance_metrics(gt, moved)
    assert 0 < m["AP_B"] < m["AP"] < 100  # two pixels cost the boundary more than the region
    with pytest.raises(ValueError, match="shift"):
        shifted_ground_truth_results(gt, shift=-1)

