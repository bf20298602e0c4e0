"""The COCO protocol end to end: every box of an image in one predict_batch after one encoder pass, result
files with one result per box and branch, metrics recomputable from them, resume after SIGKILL."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from helpers import kill_after_first_record

from hqsam_nb.evaluate import main
from hqsam_nb.evaluation.coco import (
    CocoConfig,
    branch_differences,
    coco_results,
    evaluate_coco_sample,
    open_coco,
    run_coco_evaluation,
)
from hqsam_nb.io.coco_format import CocoFormatError, segmentation_to_mask
from hqsam_nb.io.exports import rle_to_mask
from hqsam_nb.io.synthetic_coco import write_synthetic_coco
from hqsam_nb.metrics import coco_instance_metrics
from hqsam_nb.models.provenance import WeightsProvenance
from hqsam_nb.pair.branches import BRANCH_KEYS

SIZE = (128, 160)
FILES = ("coco_results_sam.json", "coco_results_hq.json", "coco_results_fused.json", "coco_metrics.json",
         "coco_table.md")


@pytest.fixture(scope="module")
def syn(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_synthetic_coco(tmp_path_factory.mktemp("syn"), n_images=3, size=SIZE, seed=4)


class _OraclePair:
    """A stand-in predictor whose every branch returns the ground-truth object the box was made from."""

    def __init__(self, dataset) -> None:
        self.dataset, self.encoder_passes, self.batch_calls = dataset, 0, 0
        self.info = WeightsProvenance("unknown", "oracle")
        self.sam_info, self.device, self.encoder_dtype, self.backend = self.info, "cpu", None, "torch"
        self._image = None

    def set_image(self, image: np.ndarray) -> None:
        self.encoder_passes += 1
        self._image = image

    def predict_batch(self, boxes: np.ndarray):
        self.batch_calls += 1
        h, w = self._image.shape[:2]
        masks = []
        for box in boxes:
            best = max((a for a in self.dataset.annotations["annotations"] if not a["iscrowd"]),
                       key=lambda a: -np.abs(np.array(a["bbox"]) - [box[0], box[1], box[2] - box[0],
                                                                    box[3] - box[1]]).sum())
            masks.append(segmentation_to_mask(best["segmentation"], h, w))
        batch = SimpleNamespace(masks=np.array(masks), scores=np.full(len(boxes), 0.9, np.float32))
        return SimpleNamespace(sam=batch, hq=batch, fused=batch)


def test_oracle_masks_score_100_and_reports(syn, tmp_path: Path) -> None:
    dataset = open_coco(syn["annotations"], syn["images"])  # ground-truth boxes
    pair = _OraclePair(dataset)
    run = run_coco_evaluation(dataset, pair, tmp_path, progress=False)  # type: ignore[arg-type]
    assert pair.encoder_passes == len(dataset) and pair.batch_calls == len(dataset)
    for b in BRANCH_KEYS:
        assert run.metrics[b]["AP"] == pytest.approx(100.0) and run.metrics[b]["AP_B"] == pytest.approx(100.0)
    table = (tmp_path / "coco_table.md").read_text()
    assert "| HQ-SAM (fused) | paper |" not in table  # oracle is no paper model
    assert "HQ-SAM (fused)" in table and "NOT the official ones" in table
    # the score option: the detector's score alone (1.0 for ground-truth boxes) or times predicted IoU
    assert {r["score"] for r in coco_results(run.records, "fused", "det")} == {1.0}
    assert {round(r["score"], 4) for r in coco_results(run.records, "fused")} == {0.9}


def test_bad_inputs_are_named(syn, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="image folder"):
        open_coco(syn["annotations"], tmp_path / "nowhere")
    (tmp_path / "imgs").mkdir()
    with pytest.raises(FileNotFoundError, match="3 of 3 images"):
        open_coco(syn["annotations"], tmp_path / "imgs")
    dets = json.loads(syn["detections"].read_text())
    dets[0]["bbox"][2] = -1
    with pytest.raises(CocoFormatError, match="w or h <= 0"):
        open_coco(syn["annotations"], syn["images"], dets)
    with pytest.raises(ValueError, match="score"):
        CocoConfig(score="iou")


def test_one_encoder_pass_one_batch_per_image(tiny_pair, syn, monkeypatch) -> None:
    dataset = open_coco(syn["annotations"], syn["images"], syn["detections"])
    calls = []
    real = tiny_pair.predict_batch
    monkeypatch.setattr(tiny_pair, "predict_batch", lambda **kw: calls.append(kw) or real(**kw))
    tiny_pair.clear_cache()
    before = tiny_pair.encoder_passes
    sample = dataset[0]
    record = evaluate_coco_sample(tiny_pair, sample)
    assert tiny_pair.encoder_passes - before == 1 and len(calls) == 1
    assert len(record["detections"]) == len(sample.boxes) > 1
    ref = real(boxes=sample.boxes)
    for k, d in enumerate(record["detections"]):
        for b in BRANCH_KEYS:
            got = rle_to_mask({"size": [record["height"], record["width"]], "counts": d["counts"][b]})
            np.testing.assert_array_equal(got, getattr(ref, b).masks[k])
            assert d["pred_iou"][b] == pytest.approx(float(getattr(ref, b).scores[k]))


def _cli(syn: dict[str, Path], out: Path) -> list[str]:
    return ["--data", "coco", "--annotations", str(syn["annotations"]), "--images", str(syn["images"]),
            "--detections", str(syn["detections"]), "--model", "vit_tiny", "--weights", "random", "--out",
            str(out), "-q", "-n", "2"]


def test_cli_end_to_end_and_resume_after_sigkill(syn, tmp_path: Path) -> None:
    ref = tmp_path / "ref"
    assert main(_cli(syn, ref)) == 0
    dets = [d for d in json.loads(syn["detections"].read_text()) if d["image_id"] <= 2]  # -n 2: two images
    metrics = json.loads((ref / "coco_metrics.json").read_text())
    assert set(metrics) == set(BRANCH_KEYS)
    for b in BRANCH_KEYS:
        results = json.loads((ref / f"coco_results_{b}.json").read_text())
        assert len(results) == len(dets)  # one result per detection
        assert [(r["image_id"], r["category_id"]) for r in results] == [(d["image_id"], d["category_id"])
                                                                        for d in dets]
        again = coco_instance_metrics(syn["annotations"], ref / f"coco_results_{b}.json", image_ids=[1, 2])
        assert again == pytest.approx(metrics[b], nan_ok=True)
    # the same command in a subprocess, killed (SIGKILL) once an image is on disk, then resumed
    out = tmp_path / "killed"
    kill_after_first_record("hqsam_nb.evaluate", _cli(syn, out), out, torn=b'{"image": "00')
    assert main(_cli(syn, out)) == 0
    for name in FILES:
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name


def test_branch_differences(syn, tiny_pair, tmp_path: Path) -> None:
    dataset = open_coco(syn["annotations"], syn["images"], syn["detections"], limit=1)
    run = run_coco_evaluation(dataset, tiny_pair, tmp_path, progress=False)
    picks = branch_differences(dataset.annotations, run.records, k=2)
    assert len(picks) <= 2
    assert all(abs(a["delta"]) >= abs(b["delta"]) for a, b in zip(picks, picks[1:], strict=False))
    for p in picks:
        assert p["delta"] == pytest.approx(p["biou"]["fused"] - p["biou"]["sam"])


def test_oracle_boxes_jitter_and_limit(syn) -> None:
    exact = open_coco(syn["annotations"], syn["images"])
    jit = open_coco(syn["annotations"], syn["images"], config=CocoConfig(box_jitter=0.1, seed=1))
    again = open_coco(syn["annotations"], syn["images"], config=CocoConfig(box_jitter=0.1, seed=1))
    a, b, c = exact[0], jit[0], again[0]
    assert len(a.boxes) == len(b.boxes) and (a.det_scores == 1.0).all()
    assert not np.allclose(a.boxes, b.boxes) and np.array_equal(b.boxes, c.boxes)  # moved, reproducibly
    h, w = a.image.shape[:2]
    assert (b.boxes[:, :2] >= 0).all() and (b.boxes[:, 2] <= w).all() and (b.boxes[:, 3] <= h).all()
    assert (b.boxes[:, 2:] > b.boxes[:, :2]).all()
    one = open_coco(syn["annotations"], syn["images"], syn["detections"], limit=1)
    assert len(one) == 1 and {d["image_id"] for d in one.detections} == {1}


def test_many_or_stray_detections_are_bounded_and_said(syn, tmp_path: Path, monkeypatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    """10 000 detections on one image once preallocated 12-17 GB in one predict_batch; a box wholly outside its image
    became a 1 x 1 px box. Now: chunks of DECODE_CHUNK boxes (the same record), a warning past COCOeval's 100 per
    image, and a box outside dropped with a warning."""
    from hqsam_nb.evaluation import coco

    dets = json.loads(syn["detections"].read_text())
    first = dets[0]["image_id"]
    many = [dict(dets[0], score=0.5 + i / 1000) for i in range(coco.COCO_MAX_DETS + 1)]
    stray = dict(dets[0], bbox=[SIZE[1] + 5, 3, 10, 10])  # right of the image
    dataset = open_coco(syn["annotations"], syn["images"], [*many, stray])
    assert "1 detection box(es) lie wholly outside their image and are dropped" in caplog.text
    assert f"more than {coco.COCO_MAX_DETS} detections (image {first}: {coco.COCO_MAX_DETS + 1})" in caplog.text
    sample = dataset[dataset.image_ids.index(first)]
    assert len(sample.boxes) == coco.COCO_MAX_DETS + 1  # the stray one is gone, not a 1 x 1 px box
    small = open_coco(syn["annotations"], syn["images"], dets)
    sample = small[0]
    pair = _OraclePair(small)
    whole = evaluate_coco_sample(pair, sample)  # type: ignore[arg-type]
    monkeypatch.setattr(coco, "DECODE_CHUNK", 2)
    pair.batch_calls = 0
    chunked = evaluate_coco_sample(pair, sample)  # type: ignore[arg-type]
    assert pair.batch_calls == -(-len(sample.boxes) // 2) > 1
    assert chunked["detections"] == whole["detections"]


def test_a_binary_annotations_file_is_named_in_one_line(syn, tmp_path: Path) -> None:
    from helpers import assert_refused_in_one_line, run_cli

    binary = tmp_path / "instances.json"
    binary.write_bytes(bytes(range(256)) * 8)
    done = run_cli("hqsam_nb.evaluate", "--data", "coco", "--annotations", binary, "--images", syn["images"],
                   "--weights", "random", "--out", tmp_path / "out", "-q")
    assert_refused_in_one_line(done, str(binary), "not UTF-8")
    assert not (tmp_path / "out").exists()
