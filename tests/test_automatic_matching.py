"""Matching SAM's automatic masks to HQ-SAM's, the all-masks overlay, figures and the COCO export, on synthetic
masks and hand-made records in the official format (no model: fast)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import hqsam_nb
from hqsam_nb.automatic import (
    EverythingResult,
    branch_colors,
    changed_objects_figure,
    everything_figure,
    everything_records,
    iou_matrix,
    match_branches,
    match_masks,
    record_mask,
    save_everything_coco,
)
from hqsam_nb.drawing.overlays import random_colors, segments_rgba
from hqsam_nb.io.exports import load_coco_json, mask_to_rle

H, W = 60, 80


def _rect(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[y0:y1, x0:x1] = True
    return m


def _record(mask: np.ndarray, score: float = 0.9, mode: str = "binary_mask") -> dict:
    ys, xs = np.nonzero(mask)
    seg = mask if mode == "binary_mask" else mask_to_rle(mask)
    return {"segmentation": seg, "area": int(mask.sum()),
            "bbox": [float(xs.min()), float(ys.min()), float(xs.max() - xs.min()), float(ys.max() - ys.min())],
            "predicted_iou": score, "point_coords": [[float(xs.mean()), float(ys.mean())]],
            "stability_score": 0.97, "crop_box": [0.0, 0.0, float(W), float(H)]}


SAM = [_rect(0, 0, 20, 20), _rect(30, 10, 60, 40), _rect(65, 45, 78, 58)]
HQ = [_rect(32, 12, 60, 40), _rect(0, 0, 19, 20), _rect(5, 40, 15, 55)]  # two objects moved a little, one new


def _result(note: str = "") -> EverythingResult:
    return EverythingResult(sam=[_record(m) for m in SAM], hq=[_record(m, mode="coco_rle") for m in HQ],
                            fused=[_record(m) for m in HQ[:2]], image_size=(H, W), params={}, weights_note=note)


def test_matching_is_one_to_one_by_iou_and_lists_the_unmatched() -> None:
    m = match_masks(SAM, HQ, names=("sam", "hq"))
    assert [(p.a, p.b) for p in m.pairs] == [(0, 1), (1, 0)]
    assert m.unmatched_a == (2,) and m.unmatched_b == (2,)
    expected = (28 * 28) / (30 * 30)
    assert m.pairs[1].iou == pytest.approx(expected)
    assert m.most_changed(1)[0].a == 1  # the lower IoU first
    s = m.summary()
    assert s["matched"] == 2 and s["only sam"] == 1 and s["only hq"] == 1


def test_a_pair_below_min_iou_never_displaces_a_valid_one() -> None:
    a = [_rect(0, 0, 20, 20), _rect(0, 0, 40, 40)]
    b = [_rect(0, 0, 21, 21)]
    # a[0]-b IoU ~0.91, a[1]-b ~0.28: only the valid pair counts
    m = match_masks(a, b, min_iou=0.5)
    assert [(p.a, p.b) for p in m.pairs] == [(0, 0)] and m.unmatched_a == (1,)
    assert match_masks(a, b, min_iou=0.95).pairs == ()


def test_iou_matrix_agrees_with_the_metric_and_accepts_every_form() -> None:
    records = [_record(m, mode=mode) for m, mode in zip(SAM, ("binary_mask", "coco_rle", "binary_mask"),
                                                        strict=True)]
    mat = iou_matrix(records, np.stack(HQ))
    for i, a in enumerate(SAM):
        for j, b in enumerate(HQ):
            assert mat[i, j] == pytest.approx(hqsam_nb.mask_iou(a, b))
    assert iou_matrix([], HQ).shape == (0, 3)
    with pytest.raises(ValueError, match="different images"):
        iou_matrix(SAM, [np.zeros((10, 10), bool)])
    with pytest.raises(ValueError, match=r"min_iou must be a number in \(0, 1\]"):
        match_masks(SAM, HQ, min_iou=0)


def test_record_mask_decodes_every_output_mode() -> None:
    m = SAM[1]
    official_uncompressed = {"size": [H, W], "counts": _uncompressed_counts(m)}
    for seg in (m, mask_to_rle(m), official_uncompressed):
        assert np.array_equal(record_mask({"segmentation": seg}), m)
    with pytest.raises(ValueError, match="segmentation"):
        record_mask({"mask": m})


def _uncompressed_counts(mask: np.ndarray) -> list[int]:
    import torch
    from segment_anything_hq.utils.amg import mask_to_rle_pytorch

    return mask_to_rle_pytorch(torch.as_tensor(mask)[None])[0]["counts"]


def test_segments_overlay_draws_largest_first_in_fixed_colours() -> None:
    big, small = _rect(0, 0, 40, 40), _rect(10, 10, 20, 20)
    colors = [(255, 0, 0), (0, 0, 255)]
    layer = segments_rgba([small, big], colors, alpha=0.5, contour_width=0)
    assert tuple(layer[15, 15, :3]) == (255, 0, 0)  # the small one, on top although given first
    assert tuple(layer[30, 30, :3]) == (0, 0, 255) and layer[50, 50, 3] == 0
    assert np.array_equal(random_colors(5, seed=3)[:3], random_colors(3, seed=3))
    assert segments_rgba(np.zeros((0, H, W), bool)).shape == (H, W, 4)
    with pytest.raises(ValueError, match="one \\(R, G, B\\) per mask"):
        segments_rgba([big], colors)


def test_matched_objects_share_a_colour_across_branches() -> None:
    cols = branch_colors(_result(), ["sam", "hq"])
    assert np.array_equal(cols["hq"][1], cols["sam"][0]) and np.array_equal(cols["hq"][0], cols["sam"][1])
    assert not any(np.array_equal(cols["hq"][2], c) for c in cols["sam"])


def test_figures_show_every_branch_and_the_weights_note() -> None:
    image = np.full((H, W, 3), 120, np.uint8)
    fig = everything_figure(image, _result("HQ-SAM vit_tiny: RANDOM weights"))
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["SAM: 3 masks", "HQ-SAM (HQ token): 3 masks", "HQ-SAM (fused): 2 masks"]
    assert "RANDOM weights" in fig._suptitle.get_text()
    fig = changed_objects_figure(image, _result(), "sam", "hq", n=5)
    assert len(fig.axes) == 2 * 3 and fig.axes[0].get_title().startswith("SAM #1  IoU 0.87")
    assert fig._repr_png_()[:4] == b"\x89PNG"
    lonely = EverythingResult(sam=[_record(SAM[0])], hq=[_record(HQ[2])], fused=None, image_size=(H, W), params={})
    fig = changed_objects_figure(image, lonely)
    assert "no SAM mask matches" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="pass the image they were generated on"):
        everything_figure(np.zeros((10, 10, 3), np.uint8), _result())
    with pytest.raises(ValueError, match="matching is between"):
        changed_objects_figure(image, _result(), "sam", "fused", matching=match_branches(_result(), "sam", "hq"))


def test_coco_export_round_trips(tmp_path) -> None:
    path = save_everything_coco(tmp_path / "everything.json", _result(), file_name="scene.png")
    doc = json.loads(path.read_text())
    assert len(doc["annotations"]) == 8 and doc["images"][0]["file_name"] == "scene.png"
    assert [a["model"] for a in doc["annotations"]] == ["sam"] * 3 + ["hq"] * 3 + ["fused"] * 2
    back = load_coco_json(path)
    assert np.array_equal(back[3].mask, HQ[0]) and back[3].score == pytest.approx(0.9)
    assert back[0].prompt["points"] == _result().sam[0]["point_coords"] and back[0].prompt["labels"] == [1]
    assert back[0].extra["stability_score"] == pytest.approx(0.97)
    assert len(everything_records(_result(), ["fused"])) == 2
    empty = EverythingResult(sam=[], hq=None, fused=None, image_size=(H, W), params={})
    with pytest.raises(ValueError, match="no masks to save"):
        save_everything_coco(tmp_path / "x.json", empty)
    from pycocotools.coco import COCO

    assert len(COCO(str(path)).getAnnIds()) == 8
