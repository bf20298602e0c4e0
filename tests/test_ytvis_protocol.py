"""The video-instance protocol with a stand-in predictor (no model): one encoder pass and one batch per frame,
one result per input track and branch in the input's order, absent frames None, oracle prompts score 100, the
result files re-score to the reported metrics, withheld ground truth, resume, the figures' inputs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from hqsam_nb.io.coco_format import segmentation_to_mask
from hqsam_nb.metrics import ytvis_metrics
from hqsam_nb.models.provenance import WeightsProvenance
from hqsam_nb.pair.branches import BRANCH_KEYS
from hqsam_nb.video import (
    evaluate_ytvis_video,
    open_ytvis,
    run_ytvis_evaluation,
    show_track_frames,
    show_ytvis_video,
    track_differences,
    track_frames,
    write_synthetic_ytvis,
    ytvis_results,
)

SIZE = (96, 128)


@pytest.fixture(scope="module")
def syn(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_synthetic_ytvis(tmp_path_factory.mktemp("ytvis"), n_videos=3, n_frames=5, size=SIZE, seed=3)


class _OraclePair:
    """A stand-in predictor: every box gets the ground-truth object (of the current frame) whose box is nearest;
    SAM's mask is that object grown by a pixel, so the branches differ."""

    def __init__(self, dataset) -> None:
        self.encoder_passes, self.batch_calls, self._frame = 0, 0, None
        self.info = WeightsProvenance("unknown", "oracle")
        self.sam_info, self.device, self.encoder_dtype, self.backend = self.info, "cpu", None, "torch"
        self._index = {}
        for v in dataset:
            for t in range(len(v)):
                self._index[hashlib.sha1(v.frame(t).tobytes()).hexdigest()] = (v.video_id, t, v.height, v.width)
        self._gt = dataset.annotations["annotations"]

    def set_image(self, image: np.ndarray) -> None:
        self.encoder_passes += 1
        self._frame = self._index[hashlib.sha1(image.tobytes()).hexdigest()]

    def predict_batch(self, boxes: np.ndarray):
        import cv2

        self.batch_calls += 1
        vid, t, h, w = self._frame
        cands = [a for a in self._gt if a["video_id"] == vid and a["segmentations"][t] is not None
                 and not a["iscrowd"]]
        masks = []
        for box in boxes:
            best = min(cands, key=lambda a: np.abs(np.array(a["bboxes"][t]) - [box[0], box[1], box[2] - box[0],
                                                                                box[3] - box[1]]).sum())
            masks.append(segmentation_to_mask(best["segmentations"][t], h, w))
        masks = np.array(masks)
        grown = np.array([cv2.dilate(m.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0 for m in masks])
        scores = np.full(len(boxes), 0.9, np.float32)
        return SimpleNamespace(sam=SimpleNamespace(masks=grown, scores=scores),
                               hq=SimpleNamespace(masks=masks, scores=scores),
                               fused=SimpleNamespace(masks=masks, scores=scores))


def test_one_encoder_pass_and_one_batch_per_frame(syn) -> None:
    ds = open_ytvis(syn["annotations"], syn["frames"], syn["results"])
    pair = _OraclePair(ds)
    for v in ds:
        passes, calls = pair.encoder_passes, pair.batch_calls
        record = evaluate_ytvis_video(pair, v)
        prompted = sum(any(tr.present(t) for tr in v.tracks) for t in range(len(v)))
        assert pair.encoder_passes - passes == record["encoder_passes"] == prompted
        assert pair.batch_calls - calls == prompted
        assert len(record["tracks"]) == len(v.tracks)
        for tr, out in zip(v.tracks, record["tracks"], strict=True):
            for b in BRANCH_KEYS:
                assert [c is not None for c in out["counts"][b]] == [tr.present(t) for t in range(len(v))]


def test_oracle_prompts_score_100_and_files_rescore(syn, tmp_path: Path) -> None:
    ds = open_ytvis(syn["annotations"], syn["frames"])  # ground-truth tracks prompt
    run = run_ytvis_evaluation(ds, _OraclePair(ds), tmp_path / "oracle", progress=False)
    for b in ("hq", "fused"):
        assert run.metrics[b]["mask"]["AP"] == pytest.approx(100) and run.metrics[b]["boundary"]["AP"] == 100
    assert run.metrics["sam"]["boundary"]["AP"] < 100  # grown by a pixel
    # the VIS model's tracks: one result per input track and branch, in the input's order, re-scoring to the table
    ds = open_ytvis(syn["annotations"], syn["frames"], syn["results"])
    run = run_ytvis_evaluation(ds, _OraclePair(ds), tmp_path / "vis", progress=False)
    inputs = json.loads(syn["results"].read_text())
    stored = json.loads((tmp_path / "vis" / "ytvis_metrics.json").read_text())
    for b in BRANCH_KEYS:
        path = tmp_path / "vis" / f"ytvis_results_{b}.json"
        out = json.loads(path.read_text())
        assert [(r["video_id"], r["category_id"], r["score"]) for r in out] == [
            (r["video_id"], r["category_id"], r["score"]) for r in inputs]
        again = ytvis_metrics(syn["annotations"], path)
        for t in ("mask", "boundary"):
            assert again[t] == pytest.approx(stored[b][t], nan_ok=True)
    assert stored["fused"]["mask"]["AP"] > ytvis_metrics(syn["annotations"], inputs)["mask"]["AP"]
    table = run.markdown()
    assert "| HQ-SAM-L | HQ-SAM (fused) | HQ-YTVIS test | paper | 34.0 | 63.6 |" in table
    assert f"| oracle | HQ-SAM (fused) | this run | ours | {stored['fused']['boundary']['AP']:.1f} |" in table
    assert "NOT the official ones" in table
    picks = track_differences(ds, run.records, k=2)
    assert picks and all(p["delta"] > 0 for p in picks)  # the stand-in's SAM masks are the grown ones
    items = track_frames(ds, run.records, picks[0], n=2)
    assert 1 <= len(items) <= 2 and set(items[0]["biou"]) == set(BRANCH_KEYS)
    fig = show_ytvis_video(ds, run.records, video=picks[0]["video"], frames=2)
    assert len(fig.axes) == 2 * 3
    fig = show_track_frames(ds, run.records, picks[0], n=2)
    assert len(fig.axes) == len(items) * 3


def test_withheld_ground_truth_and_resume(syn, tmp_path: Path) -> None:
    ann = json.loads(syn["annotations"].read_text())
    withheld = {k: v for k, v in ann.items() if k != "annotations"}
    ds = open_ytvis(withheld, syn["frames"], syn["results"])
    run = run_ytvis_evaluation(ds, _OraclePair(open_ytvis(syn["annotations"], syn["frames"])), tmp_path / "w",
                               progress=False)
    assert run.metrics is None and not (tmp_path / "w" / "ytvis_metrics.json").exists()
    assert "ground truth of this split is withheld" in run.markdown()
    assert len(json.loads((tmp_path / "w" / "ytvis_results_fused.json").read_text())) == ds.n_tracks()
    # resume: the last video lost and its line torn, as a kill mid-write leaves it
    ds = open_ytvis(syn["annotations"], syn["frames"], syn["results"])
    ref = run_ytvis_evaluation(ds, _OraclePair(ds), tmp_path / "a", progress=False)
    lines = (tmp_path / "a" / "results.jsonl").read_bytes().split(b"\n")
    (tmp_path / "a" / "results.jsonl").write_bytes(b"\n".join(lines[:2]) + b"\n" + lines[2][:40])
    again = run_ytvis_evaluation(ds, _OraclePair(ds), tmp_path / "a", progress=False)
    assert again.computed == ["synthetic-02"]
    assert [r["image"] for r in again.records] == list(ds.names)
    assert ytvis_results(again.records, "fused") == ytvis_results(ref.records, "fused")
    with pytest.raises(ValueError, match="other settings"):
        run_ytvis_evaluation(open_ytvis(syn["annotations"], syn["frames"]), _OraclePair(ds), tmp_path / "a",
                             progress=False)
