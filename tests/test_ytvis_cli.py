"""``hqsam-nb ytvis`` end to end on the synthetic set with a real (synthetic-weight) vit_tiny: a run killed with
SIGKILL once a video is on disk, then resumed, gives files byte-identical to an uninterrupted run of the library
(the session's ``tiny_pair``: one model build fewer), one result per input track and branch, one encoder pass per
prompted frame, and result files that re-score to the reported metrics. Two one-frame videos keep it short: the
per-frame logic is tested with a stand-in predictor (test_ytvis_protocol.py); Ray run = plain run: test_engines.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import kill_after_first_record

from hqsam_nb.cli import main
from hqsam_nb.metrics import ytvis_metrics
from hqsam_nb.pair.branches import BRANCH_KEYS
from hqsam_nb.runs import load_records
from hqsam_nb.video import open_ytvis, run_ytvis_evaluation, write_synthetic_ytvis

FILES = (*(f"ytvis_results_{b}.json" for b in BRANCH_KEYS), "ytvis_metrics.json", "ytvis_table.md")


def _cli(out: Path) -> list[str]:
    return ["ytvis", "--synthetic", "-n", "2", "--synthetic-frames", "1", "--model", "vit_tiny", "--out", str(out),
            "-q"]


def test_cli_end_to_end_and_resume_after_sigkill(tmp_path: Path, tiny_pair) -> None:
    # the uninterrupted run: the library on the set the CLI draws (-n 2 --synthetic-frames 1, seed 0)
    ref = tmp_path / "ref"
    syn = write_synthetic_ytvis(ref / "synthetic_ytvis", n_videos=2, n_frames=1, seed=0)
    run_ytvis_evaluation(open_ytvis(syn["annotations"], syn["frames"], syn["results"]), tiny_pair, ref,
                         progress=False)
    # the command in a subprocess, killed (SIGKILL) once a video is on disk, then resumed here
    out = tmp_path / "killed"
    kill_after_first_record("hqsam_nb", _cli(out), out, torn=b'{"image": "synthetic-0')
    assert main(_cli(out)) == 0
    assert [r["image"] for r in load_records(out)] == ["synthetic-00", "synthetic-01"]
    for name in FILES:
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name
    assert json.loads((out / "run.json").read_text())["runner"] == "ytvis"

    syn = out / "synthetic_ytvis"
    inputs = json.loads((syn / "vis_results.json").read_text())
    dataset = open_ytvis(syn / "annotations.json", syn / "JPEGImages", syn / "vis_results.json")
    records = {r["image"]: r for r in load_records(out)}
    for video in dataset:  # one encoder pass per frame where a track prompts
        prompted = sum(any(tr.present(t) for tr in video.tracks) for t in range(len(video)))
        assert records[video.name]["encoder_passes"] == prompted > 0
    metrics = json.loads((out / "ytvis_metrics.json").read_text())
    for b in BRANCH_KEYS:
        path = out / f"ytvis_results_{b}.json"
        got = json.loads(path.read_text())
        assert [(r["video_id"], r["category_id"], r["score"]) for r in got] == [
            (r["video_id"], r["category_id"], r["score"]) for r in inputs]  # one per input track, in its order
        again = ytvis_metrics(syn / "annotations.json", path)
        for t in ("mask", "boundary"):
            assert again[t] == pytest.approx(metrics[b][t], nan_ok=True)
