"""One run identity (hqsam_nb.runs.identity) for every runner: a resume refuses other settings (the video runner's
encoder dtype included), inputs rewritten in place, results without run.json; a rerun from another working
directory resumes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from hqsam_nb.runs import RESULTS_FILE, RUN_FILE, RunIdentity, open_run, read_run


def test_video_resume_refuses_a_dtype_change(tiny_pair, tmp_path: Path) -> None:
    import hqsam_nb
    from hqsam_nb.video import PromptSpec, run_video_evaluation, write_synthetic_davis

    data = write_synthetic_davis(tmp_path / "davis", n_sequences=1, n_frames=3, size=(64, 80), n_objects=1)
    out = tmp_path / "run"
    run_video_evaluation(data, tiny_pair, out, PromptSpec("oracle"), branches=("hq",), progress=False)
    bf16 = hqsam_nb.load_pair("vit_tiny", device="cpu", encoder_dtype="bfloat16")
    before = sorted(p.stat().st_mtime_ns for p in out.rglob("*.png"))
    with pytest.raises(ValueError, match=r"other settings \(encoder_dtype: None there, 'bfloat16' now\)"):
        run_video_evaluation(data, bf16, out, PromptSpec("oracle"), branches=("hq",), progress=False)
    assert sorted(p.stat().st_mtime_ns for p in out.rglob("*.png")) == before  # nothing rewritten
    assert json.loads((out / RUN_FILE).read_text())["runner"] == "video"


def test_video_results_without_run_json_are_refused(tiny_pair, tmp_path: Path) -> None:
    from hqsam_nb.video import PromptSpec, run_video_evaluation, write_synthetic_davis

    data = write_synthetic_davis(tmp_path / "davis", n_sequences=1, n_frames=3, size=(64, 80), n_objects=1)
    out = tmp_path / "run"
    (out / "sam" / data.names[0]).mkdir(parents=True)
    (out / "sam" / data.names[0] / "00000.png").write_bytes(b"made by who knows")
    with pytest.raises(ValueError, match=r"holds results \(sam\) but no run.json"):
        run_video_evaluation(data, tiny_pair, out, PromptSpec("oracle"), progress=False)
    assert not (out / RUN_FILE).exists()


def test_coco_resume_refuses_rewritten_detections_and_accepts_another_cwd(tiny_pair, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from hqsam_nb.evaluation.coco import open_coco, run_coco_evaluation
    from hqsam_nb.io.synthetic_coco import write_synthetic_coco

    syn = write_synthetic_coco(tmp_path / "data", n_images=1, size=(128, 128), seed=2)
    monkeypatch.chdir(tmp_path)
    rel = {k: os.path.relpath(v, tmp_path) for k, v in syn.items()}
    first = run_coco_evaluation(open_coco(rel["annotations"], rel["images"], rel["detections"]), tiny_pair, "run",
                                progress=False)
    assert first.computed
    # the same relative command from another working directory is the same run: nothing is recomputed
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    up = {k: os.path.join("..", v) for k, v in rel.items()}
    again = run_coco_evaluation(open_coco(up["annotations"], up["images"], up["detections"]), tiny_pair, "../run",
                                progress=False)
    assert again.computed == []
    # detections rewritten in place (same path, other boxes): refused, naming the content hash
    dets = json.loads(syn["detections"].read_text())
    dets[0]["bbox"][2] += 3
    syn["detections"].write_text(json.dumps(dets))
    with pytest.raises(ValueError, match="other settings.*detections_sha256"):
        run_coco_evaluation(open_coco(up["annotations"], up["images"], up["detections"]), tiny_pair, "../run",
                            progress=False)


def test_image_runner_refuses_results_without_run_json_and_another_runner(tiny_pair, tmp_path: Path) -> None:
    from hqsam_nb.evaluation.datasets import synthetic_dataset
    from hqsam_nb.evaluation.runner import run_evaluation

    data = synthetic_dataset(n=1, sizes=((64, 64),))
    (tmp_path / RESULTS_FILE).write_text('{"image": "x"}\n')
    with pytest.raises(ValueError, match=r"holds results \(results.jsonl\) but no run.json"):
        run_evaluation(data, tiny_pair, tmp_path, progress=False, plots=False)
    assert run_evaluation(data, tiny_pair, tmp_path, progress=False, plots=False, restart=True).computed
    stored = json.loads((tmp_path / RUN_FILE).read_text())
    coco_like = RunIdentity("coco", same={k: stored[k] for k in stored["resume_keys"]})  # all else equal
    with pytest.raises(ValueError, match="runner: 'evaluate' there, 'coco' now"):
        open_run(tmp_path, coco_like, results=(RESULTS_FILE,))


def test_identity_rules(tmp_path: Path) -> None:
    ident = RunIdentity("x", same={"a": (1, 2), "new": 3}, recorded={"where": "here"}, added_later=("new",))
    assert ident.same == {"a": [1, 2], "new": 3}  # compared as JSON reads back
    out = open_run(tmp_path / "r", ident)
    assert read_run(out) == {"runner": "x", "a": [1, 2], "new": 3, "where": "here", "resume_keys": ["a", "new"]}
    assert ident.differences({"runner": "x", "a": [1, 2]}) == []  # an older run.json without "new"
    assert ident.differences({"a": [1, 2], "new": 3}) == []  # an older run.json without "runner"
    assert ident.differences({"runner": "x", "a": [1], "new": 3}) == ["a: [1] there, [1, 2] now"]
    moved = RunIdentity("x", same=ident.same, recorded={"where": "elsewhere"})
    assert open_run(out, moved) == out  # what is only recorded never refuses a resume
    (out / RUN_FILE).write_text("{truncated")
    with pytest.raises(ValueError, match=rf"{RUN_FILE} is not readable JSON"):
        open_run(out, ident)
    assert open_run(out, ident, restart=True) == out and read_run(out)["a"] == [1, 2]
    with pytest.raises(ValueError, match="both compared and only recorded"):
        RunIdentity("x", same={"k": 1}, recorded={"k": 2})
