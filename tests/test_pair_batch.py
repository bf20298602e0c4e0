"""Many objects per image: ``predict_batch`` against the official ``predict_torch`` on the same weights, rows against
single ``predict`` calls, chunk sizes, ragged point sets, ``mask_input``, and errors at the boundary."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_masks_match, make_image

import hqsam_nb
from hqsam_nb.pair.prompts import MAX_POINTS

H, W = 96, 128
#: Overlapping, whole-image, touching the border (left/top and right/bottom), small.
BOXES = np.array([[20, 15, 90, 70], [40, 30, 110, 85], [0, 0, W, H], [0, 40, 30, H], [100, 0, W, 20],
                  [60, 50, 66, 58]], dtype=float)
POINTS = np.array([[[50, 40], [10, 10], [120, 90]], [[70, 60], [5, 90], [64, 48]], [[30, 30], [31, 31], [100, 10]],
                   [[127, 95], [0, 0], [64, 1]]], dtype=float)
LABELS = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 0, 0]])


def _official_torch(predictor, boxes=None, points=None, labels=None, **kwargs):
    """The official ``predict_torch`` on original-image prompts, through the predictor's own transform."""
    size = predictor.original_size
    pts = lab = bx = None
    if points is not None:
        pts = torch.as_tensor(predictor.transform.apply_coords(np.asarray(points, float), size), dtype=torch.float)
        lab = torch.as_tensor(np.asarray(labels), dtype=torch.int)
    if boxes is not None:
        bx = torch.as_tensor(predictor.transform.apply_boxes(np.asarray(boxes, float), size), dtype=torch.float)
    with torch.inference_mode():
        masks, iou, low = predictor.predict_torch(pts, lab, bx, **kwargs)
    return masks.numpy(), iou.numpy(), low.numpy()


def _assert_batch(batch: hqsam_nb.MaskBatch, masks, scores, logits) -> None:
    """``batch`` (K, ...) equals official outputs of shape (K, 1, ...) / (K, C, ...)."""
    if batch.masks.ndim == 3:
        masks, scores, logits = masks[:, 0], scores[:, 0], logits[:, 0]
    assert batch.logits.dtype == np.float32
    assert_masks_match(batch.masks, masks, batch.logits, logits)
    np.testing.assert_allclose(batch.scores, scores, atol=1e-5, rtol=0)


def _assert_rows_equal(a: hqsam_nb.PairBatchPrediction, b: hqsam_nb.PairBatchPrediction) -> None:
    for key in ("sam", "hq", "fused", "sam_candidates"):
        x, y = getattr(a, key), getattr(b, key)
        assert (x is None) == (y is None), key
        if x is not None:
            assert_masks_match(x.masks, y.masks, x.logits, y.logits, what=key)
            np.testing.assert_allclose(x.scores, y.scores, atol=1e-6, rtol=0)


CASES = {
    "boxes": {"boxes": BOXES},
    "points_with_negatives": {"points": POINTS, "labels": LABELS},
    "boxes_and_points": {"boxes": BOXES[:4], "points": POINTS[:, :2], "labels": LABELS[:, :2]},
}


@pytest.fixture(scope="module")
def image_set(tiny_pair, tiny_official):
    image = make_image(H, W, seed=11)
    hq_pred, sam_pred = tiny_official
    hq_pred.set_image(image)
    sam_pred.set_image(image)
    tiny_pair.set_image(image)
    return tiny_pair, hq_pred, sam_pred, image


@pytest.mark.parametrize("multimask", [False, True], ids=["single", "multimask"])
@pytest.mark.parametrize("case", list(CASES))
def test_predict_batch_equals_the_official_predict_torch(image_set, case: str, multimask: bool) -> None:
    pair, hq_pred, sam_pred, image = image_set
    pair.set_image(image)
    prompt = CASES[case]
    out = pair.predict_batch(**prompt, multimask=multimask)
    k = len(prompt.get("boxes", prompt.get("points")))
    assert len(out) == k and out.sam.masks.shape == (k, H, W) and out.sam.logits.shape == (k, 256, 256)
    _assert_batch(out.hq, *_official_torch(hq_pred, **prompt, multimask_output=multimask, hq_token_only=True))
    _assert_batch(out.fused, *_official_torch(hq_pred, **prompt, multimask_output=multimask, hq_token_only=False))
    sam = _official_torch(sam_pred, **prompt, multimask_output=multimask)
    if multimask:
        _assert_batch(out.sam_candidates, *sam)
        best = np.argmax(sam[1], axis=1)
        assert_masks_match(out.sam.masks, sam[0][np.arange(k), best], out.sam.logits, sam[2][np.arange(k), best])
    else:
        assert out.sam_candidates is None
        _assert_batch(out.sam, *sam)
    # Every row is the single-object prediction of that prompt.
    for i in range(k):
        single = pair.predict(prompt=out.prompts[i], multimask=multimask)
        row = out[i]
        for key in ("sam", "hq", "fused"):
            assert_masks_match(getattr(row, key).mask, getattr(single, key).mask, getattr(row, key).logits,
                               getattr(single, key).logits, what=f"{case} row {i} {key}")
            assert getattr(row, key).score == pytest.approx(getattr(single, key).score, abs=1e-5)
        assert len(row.sam_candidates) == (3 if multimask else 1)


def test_batch_sizes_give_identical_results(image_set) -> None:
    pair, *_ = image_set
    pair.set_image(image_set[3])
    results = [pair.predict_batch(boxes=BOXES, multimask=True, batch_size=bs) for bs in (1, 3, 64)]
    for other in results[1:]:
        _assert_rows_equal(results[0], other)


def test_ragged_point_sets_are_padded_and_each_row_equals_its_single_prediction(image_set) -> None:
    pair, hq_pred, _, image = image_set
    pair.set_image(image)
    sets = [[[50, 40]], [[70, 60], [5, 90], [64, 48]], [[30, 30], [100, 10]]]
    labels = [[1], [1, 0, 0], [1, 0]]
    out = pair.predict_batch(points=sets, labels=labels, batch_size=2)
    assert out.prompts.labels.tolist() == [[1, -1, -1], [1, 0, 0], [1, 0, -1]]
    for i, (pts, lab) in enumerate(zip(sets, labels, strict=True)):
        single = pair.predict(points=pts, labels=lab)
        assert_masks_match(out.fused.masks[i], single.fused.mask, out.fused.logits[i], single.fused.logits)
        assert_masks_match(out.hq.masks[i], single.hq.mask, out.hq.logits[i], single.hq.logits)
        official = hq_pred.predict(np.asarray(pts, float), np.asarray(lab), multimask_output=False,
                                   hq_token_only=True)
        assert_masks_match(out.hq.masks[i], official[0][0], out.hq.logits[i], official[2][0])
    # The same padded arrays give the same batch.
    again = pair.predict_batch(points=out.prompts.points, labels=out.prompts.labels)
    _assert_rows_equal(out, again)


def test_only_and_empty_batches(image_set) -> None:
    pair, *_, image = image_set
    pair.set_image(image)
    hq_only = pair.predict_batch(boxes=BOXES[:2], only="hq")
    assert hq_only.sam is None and hq_only.sam_candidates is None and hq_only.hq.masks.shape == (2, H, W)
    assert hq_only[0].sam is None and hq_only[0].sam_candidates == ()
    sam_only = pair.predict_batch(boxes=BOXES[:2], only="sam", multimask=True)
    assert sam_only.hq is None and sam_only.fused is None and sam_only.sam_candidates.masks.shape == (2, 3, H, W)
    empty = pair.predict_batch(boxes=np.zeros((0, 4)))
    assert len(empty) == 0 and empty.fused.masks.shape == (0, H, W)


def test_mask_input_refines_as_the_official_predictor(image_set) -> None:
    pair, hq_pred, sam_pred, image = image_set
    pair.set_image(image)
    first = pair.predict(points=[[50, 40]], labels=[1])
    prev = first.fused.logits
    refined = pair.predict(points=[[50, 40], [90, 20]], labels=[1, 0], mask_input=prev)
    kwargs = {"point_coords": np.array([[50.0, 40], [90, 20]]), "point_labels": np.array([1, 0]),
              "mask_input": prev[None], "multimask_output": False}
    masks, scores, logits = hq_pred.predict(**kwargs, hq_token_only=False)
    assert_masks_match(refined.fused.mask, masks[0], refined.fused.logits, logits[0])
    masks, scores, logits = sam_pred.predict(**kwargs)
    assert_masks_match(refined.sam.mask, masks[0], refined.sam.logits, logits[0])
    assert not np.array_equal(refined.fused.logits, pair.predict(points=[[50, 40], [90, 20]], labels=[1, 0])
                              .fused.logits)
    # Batched: one mask per object, as the official predict_torch(mask_input=(K, 1, 256, 256)).
    start = pair.predict_batch(boxes=BOXES[:3])
    out = pair.predict_batch(boxes=BOXES[:3], mask_input=start.hq.logits, batch_size=2)
    size = hq_pred.original_size
    bx = torch.as_tensor(hq_pred.transform.apply_boxes(BOXES[:3], size), dtype=torch.float)
    with torch.inference_mode():
        m, _, low = hq_pred.predict_torch(None, None, bx, mask_input=torch.as_tensor(start.hq.logits[:, None]),
                                          multimask_output=False, hq_token_only=True)
    assert_masks_match(out.hq.masks, m[:, 0].numpy(), out.hq.logits, low[:, 0].numpy())


def test_upsample_logits_is_the_official_postprocess(image_set) -> None:
    pair, *_, image = image_set
    pair.set_image(image)
    out = pair.predict_batch(boxes=BOXES[:3], multimask=True)
    up = pair.upsample_logits(out.fused.logits)
    assert up.shape == (3, H, W) and up.dtype == torch.float32
    assert np.array_equal(up.numpy() > 0, out.fused.masks)
    assert pair.upsample_logits(out.sam_candidates.logits).shape == (3, 3, H, W)
    with pytest.raises(ValueError, match="256, 256"):
        pair.upsample_logits(np.zeros((3, 64, 64)))


def test_a_prompt_is_passed_on_as_is(image_set) -> None:
    pair, *_, image = image_set
    pair.set_image(image)
    prompt = hqsam_nb.make_prompt([[50, 40]], [1], box=[20, 15, 90, 70], image_size=(H, W))
    a, b = pair.predict(prompt), pair.predict(prompt=prompt)
    assert a.prompt is prompt and b.prompt is prompt and np.array_equal(a.fused.mask, b.fused.mask)
    batch = pair.predict_batch(prompts=[prompt, prompt])
    assert_masks_match(batch.fused.masks[1], a.fused.mask, batch.fused.logits[1], a.fused.logits)
    with pytest.raises(ValueError, match="either a Prompt or points"):
        pair.predict(prompt=prompt, box=[0, 0, 5, 5])
    with pytest.raises(ValueError, match="outside the image"):
        pair.predict(prompt=hqsam_nb.Prompt(box=[0, 0, W + 50, H]))


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"boxes": [[0, 0, 10]]}, ValueError, r"shape \(K, 4\)"),
    ({"boxes": [[0, 0, 10, 10]], "points": [[[1, 1]], [[2, 2]]]}, ValueError, "2 objects but boxes for 1"),
    ({"points": [[[1, 1], [2, 2]]], "labels": [[1, 2]]}, ValueError, "1 .positive. or 0"),
    ({"points": [[[1, 1]]], "labels": [[-1]]}, ValueError, "only padding"),
    ({"points": np.ones((1, MAX_POINTS + 1, 2))}, ValueError, f"MAX_POINTS = {MAX_POINTS}"),
    ({"boxes": [[0, 0, 500, 10]]}, ValueError, "outside the image"),
    ({"boxes": [[5, 5, 5, 9]]}, ValueError, "zero width"),
    ({"boxes": [[0, 0, 10, 10]], "batch_size": 0}, ValueError, "batch_size"),
    ({"boxes": [[0, 0, 10, 10]], "multimask": "no"}, TypeError, "multimask must be True or False"),
    ({"boxes": [[0, 0, 10, 10]], "mask_input": np.zeros((2, 256, 256))}, ValueError, "mask_input"),
    ({"boxes": [[0, 0, 10, 10]], "only": "both"}, ValueError, "only="),
    ({}, ValueError, "no prompts given"),
])
def test_bad_batches_are_explained(image_set, kwargs: dict, error: type, message: str) -> None:
    pair, *_, image = image_set
    pair.set_image(image)
    with pytest.raises(error, match=message):
        pair.predict_batch(**kwargs)


def test_single_prompt_point_cap() -> None:
    with pytest.raises(ValueError, match=f"at most MAX_POINTS = {MAX_POINTS}"):
        hqsam_nb.make_prompt(np.ones((MAX_POINTS + 1, 2)), image_size=(10, 10))
    assert hqsam_nb.make_prompt(np.ones((MAX_POINTS, 2)), image_size=(10, 10)).n_points == MAX_POINTS
