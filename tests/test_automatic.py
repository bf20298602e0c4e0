"""Segment everything: PairMaskGenerator against the official SamAutomaticMaskGenerator on the same random weights.

``.sam`` must equal the official generator on the baseline SAM model, ``.fused`` the official generator on the
HQ-SAM model, ``.hq`` the official generator whose predictor calls ``predict_torch(..., hq_token_only=True)``:
same records (masks, boxes, areas, points, crops) in the same order, scores within 1e-4; with and without crops,
with thresholds low enough that random-weight masks survive, and with the defaults.

Cost: vit_tiny, a 192 x 256 image, 4 x 4 points (2 x 2 with crops). The three official reference generators share
one official encoder pass per crop (their image encoders hold the same weights, checked), which keeps the reference
side honest (official code throughout) and the test in seconds.
"""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pytest
import torch
from helpers import assert_masks_match, make_image

import hqsam_nb
from hqsam_nb.automatic import CANDIDATES_PER_POINT, EverythingResult, PairMaskGenerator, check_params, record_mask

# Thresholds for random weights (predicted IoUs about -0.07 .. 0.11; SAM's stability at offset 0.02 about
# 0.2 .. 0.9, HQ-SAM's above 0.95; boxes nearly all of the image, so NMS below 0.99 keeps one mask).
LOW = {"pred_iou_thresh": 0.04, "stability_score_thresh": 0.6, "stability_score_offset": 0.02,
       "box_nms_thresh": 0.99}
IMAGE = make_image(192, 256, seed=3)


with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # segment_anything_hq's timm import-time warnings
    from segment_anything_hq import SamAutomaticMaskGenerator, SamPredictor


def _cached_predictor(model, cache: dict, hq_token_only: bool = False):
    """The official SamPredictor; ``set_image`` results shared through ``cache`` (same encoder weights), and
    ``predict_torch`` forced to ``hq_token_only=True`` for the HQ-token reference."""
    class Predictor(SamPredictor):
        def set_image(self, image, image_format="RGB"):
            key = hashlib.sha256(image.tobytes() + str(image.shape).encode()).hexdigest()
            if key not in cache:
                super().set_image(image, image_format)
                cache[key] = (self.features, self.interm_features, self.original_size, self.input_size)
                return
            self.reset_image()
            self.features, self.interm_features, self.original_size, self.input_size = cache[key]
            self.is_image_set = True

        def predict_torch(self, *args, **kwargs):
            if hq_token_only:
                kwargs["hq_token_only"] = True
            return super().predict_torch(*args, **kwargs)

    return Predictor(model)


@pytest.fixture(scope="module")
def official(tiny_official):
    """generate(branch, params) with the official generator for each branch, sharing encoder passes."""
    hq_model, sam_model = tiny_official[0].model, tiny_official[1].model
    hq_enc, sam_enc = hq_model.image_encoder.state_dict(), sam_model.image_encoder.state_dict()
    assert hq_enc.keys() == sam_enc.keys() and all(torch.equal(hq_enc[k], sam_enc[k]) for k in hq_enc)
    cache: dict = {}
    models = {"sam": (sam_model, False), "fused": (hq_model, False), "hq": (hq_model, True)}

    def generate(key: str, params: dict, multimask_output: bool = True) -> list[dict]:
        model, hq_only = models[key]
        gen = SamAutomaticMaskGenerator(model, **params)
        gen.predictor = _cached_predictor(model, cache, hq_token_only=hq_only)
        return gen.generate(IMAGE, multimask_output=multimask_output)

    return generate


def _assert_same_records(ours: list[dict], ref: list[dict], what: str) -> None:
    assert len(ours) == len(ref), f"{what}: {len(ours)} masks, the official generator {len(ref)}"
    for i, (a, b) in enumerate(zip(ours, ref, strict=True)):
        ma, mb = record_mask(a), record_mask(b)
        assert_masks_match(ma, mb, what=f"{what}: mask {i}")
        if np.array_equal(ma, mb):
            assert a["area"] == b["area"] and a["bbox"] == b["bbox"], f"{what}: mask {i}"
        else:  # a float-noise pixel: each record's area is still its own mask's
            assert a["area"] - b["area"] == int(ma.sum()) - int(mb.sum()), f"{what}: mask {i}"
        assert a["point_coords"] == b["point_coords"] and a["crop_box"] == b["crop_box"], f"{what}: mask {i}"
        assert a["predicted_iou"] == pytest.approx(b["predicted_iou"], abs=1e-4), f"{what}: mask {i}"
        assert a["stability_score"] == pytest.approx(b["stability_score"], abs=1e-4), f"{what}: mask {i}"


CASES = {
    # 9 points in chunks of 5; holes and islands below 400 px cleaned (then NMS again); official RLE records
    "low": {"points_per_side": 3, **LOW, "min_mask_region_area": 400, "output_mode": "uncompressed_rle",
            "points_per_batch": 5},
    # the whole image (4 points) plus 4 overlapping crops (1 point each: downscale factor 2); bool masks
    "low_crops": {"points_per_side": 2, "crop_n_layers": 1, "crop_n_points_downscale_factor": 2, **LOW},
    # Meta's thresholds: nothing of random weights survives, on both sides
    "defaults": {"points_per_side": 2},
}


@pytest.fixture(scope="module")
def generated(tiny_pair) -> dict[str, EverythingResult]:
    return {}


def _ours(tiny_pair, generated: dict, case: str) -> EverythingResult:
    if case not in generated:
        tiny_pair.clear_cache()  # so that encoder_passes counts this call's passes
        generated[case] = PairMaskGenerator(tiny_pair, **CASES[case]).generate(IMAGE)
    return generated[case]


@pytest.mark.parametrize("case", list(CASES))
def test_every_branch_equals_the_official_generator(case: str, tiny_pair, official, generated) -> None:
    ours = _ours(tiny_pair, generated, case)
    for key in ("sam", "hq", "fused"):
        _assert_same_records(ours.branch(key), official(key, CASES[case]), f"{case}/{key}")
    if case.startswith("low"):
        assert all(ours.counts().values()), f"{case}: thresholds must let masks through, got {ours.counts()}"
    assert ours.n_crops == (5 if "crops" in case else 1)


def test_single_output_per_point_equals_the_official_generator(tiny_pair, official) -> None:
    params = {"points_per_side": 2, **LOW, "stability_score_thresh": 0.3}
    ours = PairMaskGenerator(tiny_pair, **params).generate(IMAGE, multimask_output=False)
    for key in ("sam", "hq", "fused"):
        _assert_same_records(ours.branch(key), official(key, params, multimask_output=False), f"single/{key}")


def test_one_encoder_pass_per_crop_serves_all_branches(tiny_pair, generated) -> None:
    res = _ours(tiny_pair, generated, "low_crops")
    assert res.encoder_passes == res.n_crops == 5
    assert res.n_points == 4 + 4 * 1
    assert set(res.timings) == {"encoder", "decoders", "upsample", "filters", "merge", "total"}
    assert res.weights_note == tiny_pair.info.describe() != ""  # the synthetic checkpoint: not official


def test_candidates_per_point(tiny_pair) -> None:
    # no filter and no NMS (box IoU > 1 never happens): every candidate survives, points x candidates
    params = {"points_per_side": 2, "pred_iou_thresh": 0.0, "stability_score_thresh": 0.0, "box_nms_thresh": 1.0}
    res = PairMaskGenerator(tiny_pair, **params).generate(IMAGE)
    assert res.counts() == {k: 4 * n for k, n in CANDIDATES_PER_POINT.items()}


def test_branches_subset_progress_and_result_api(tiny_pair) -> None:
    calls = []
    params = {"points_per_side": 2, "points_per_batch": 3, **LOW, "stability_score_thresh": 0.3}
    gen = PairMaskGenerator(tiny_pair, **params)
    full = gen.generate(IMAGE)
    res = gen.generate(IMAGE, branches=["hq"], progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 2), (2, 2)]
    assert res.branches == ("hq",) and res.sam is None and res.fused is None
    _assert_same_records(res.hq, full.hq, "hq alone")
    with pytest.raises(ValueError, match="'sam' was not generated"):
        res.branch("sam")
    masks = full.masks("sam")
    assert masks.dtype == bool and masks.shape == (len(full.sam), 192, 256)
    assert full.params == check_params(**params)
    with pytest.raises(ValueError, match="unknown branch"):
        gen.generate(IMAGE, branches=["hq-sam"])


@pytest.mark.parametrize(("params", "message"), [
    ({"points_per_side": -1}, r"points_per_side must be an int in \[1, 256\], got -1"),
    ({"points_per_side": 0}, r"points_per_side must be an int in \[1, "),
    ({"points_per_side": 2.5}, r"points_per_side must be an int in \[1, "),
    ({"points_per_batch": 0}, r"points_per_batch must be an int in \[1, "),
    ({"pred_iou_thresh": 1.5}, r"pred_iou_thresh must be a number in \[0, 1\], got 1.5"),
    ({"stability_score_thresh": -0.1}, r"stability_score_thresh must be a number in \[0, 1\]"),
    ({"box_nms_thresh": float("nan")}, r"box_nms_thresh must be a number in \[0, 1\]"),
    ({"crop_nms_thresh": "0.7"}, r"crop_nms_thresh must be a number in \[0, 1\]"),
    ({"stability_score_offset": -1}, r"stability_score_offset must be a number >= 0, got -1"),
    ({"crop_n_layers": -1}, r"crop_n_layers must be an int in \[0, 4\]"),
    # upper bounds: these exhausted memory before any result
    ({"points_per_side": 100000}, r"points_per_side must be an int in \[1, 256\], got 100000"),
    ({"crop_n_layers": 14}, r"crop_n_layers must be an int in \[0, 4\], got 14"),
    ({"points_per_batch": 10**6}, r"points_per_batch must be an int in \[1, 1024\]"),
    ({"crop_overlap_ratio": 1.0}, r"crop_overlap_ratio must be a number in \[0, 1\)"),
    ({"crop_n_points_downscale_factor": 0}, r"crop_n_points_downscale_factor must be an int >= 1"),
    ({"min_mask_region_area": -5}, r"min_mask_region_area must be an int >= 0"),
    ({"output_mode": "png"}, r"output_mode must be one of binary_mask, uncompressed_rle, coco_rle"),
    ({"points_per_side": None}, r"exactly one of points_per_side"),
    ({"points_per_side": 4, "point_grids": [np.full((4, 2), 0.5)]}, r"exactly one of points_per_side"),
    ({"point_grids": [np.full((4, 2), 1.5)]}, r"point_grids\[0\] must hold \(x, y\) fractions in \[0, 1\]"),
    ({"point_grids": [np.full((4, 2), 0.5)], "crop_n_layers": 1}, r"must hold crop_n_layers \+ 1 = 2 grids"),
    ({"points_per_sides": 4}, r"unknown parameter\(s\) points_per_sides"),
])
def test_bad_parameters_name_the_parameter_and_its_range(tiny_pair, params: dict, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        PairMaskGenerator(tiny_pair, **params)


def test_point_grids_replace_the_default_grid(tiny_pair) -> None:
    grid = np.array([[0.25, 0.5], [0.75, 0.5]])
    gen = PairMaskGenerator(tiny_pair, point_grids=[grid])
    assert gen.params["points_per_side"] is None and np.array_equal(gen.point_grids[0], grid)


def test_bad_pair_or_image(tiny_pair) -> None:
    with pytest.raises(TypeError, match="pair must be a hqsam_nb.PairPredictor"):
        PairMaskGenerator(object())
    with pytest.raises((TypeError, ValueError)):
        PairMaskGenerator(tiny_pair, points_per_side=2).generate(np.zeros((4, 4, 5), np.uint8))
    assert hqsam_nb.PairMaskGenerator is PairMaskGenerator
