"""The evaluation runner and CLI: per-image records, resume after an interrupt or a torn write, reports."""

from __future__ import annotations

import csv
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import hqsam_nb.evaluation.runner as evaluate_mod
from hqsam_nb.evaluate import main
from hqsam_nb.evaluation.datasets import synthetic_dataset
from hqsam_nb.evaluation.runner import (
    EvalConfig,
    biggest_changes,
    evaluate_example,
    run_evaluation,
    summarize,
    write_reports,
)
from hqsam_nb.metrics import boundary_iou, mask_iou
from hqsam_nb.runs import load_records

SMALL = ((96, 128),)
TIMING = ("encoder_ms", "decode_ms")


def _table_without_timings(path: Path) -> list[dict[str, str]]:
    with open(path / "per_image.csv", newline="") as f:
        return [{k: v for k, v in row.items() if k not in TIMING} for row in csv.DictReader(f)]


def test_evaluate_example_box(tiny_pair) -> None:
    ex = synthetic_dataset(n=2, sizes=SMALL)[1]
    record = evaluate_example(tiny_pair, ex.name, ex.image, ex.mask)
    assert record["image"] == "001_fence" and (record["height"], record["width"]) == (96, 128)
    (res,) = record["results"]
    assert res["setting"] == "box" and res["n_pos"] == res["n_neg"] == 0
    # The stored numbers are the metrics of the pair's masks for the tight box.
    out = tiny_pair.predict(box=evaluate_mod.tight_box(ex.mask))
    assert res["iou"]["sam"] == mask_iou(ex.mask, out.sam.mask)
    assert res["biou"]["fused"] == boundary_iou(ex.mask, out.fused.mask)
    json.dumps(record)  # serialisable


def test_points_protocol_with_stretch(tiny_pair) -> None:
    ex = synthetic_dataset(n=1, sizes=((80, 160),))[0]
    config = EvalConfig(prompt="points", resize="stretch")
    encoder_ms, outcomes = evaluate_mod.predict_example(tiny_pair, ex.name, ex.image, ex.mask, config)
    assert [o.setting for o in outcomes] == ["1", "3", "5", "5+5neg", "10", "10+5neg"]
    assert all(m.shape == (80, 160) and m.dtype == bool for o in outcomes for m in o.masks.values())
    # The pair saw the stretched 1024 x 1024 image.
    assert tiny_pair.original_size == (1024, 1024)
    record = evaluate_example(tiny_pair, ex.name, ex.image, ex.mask, config)
    assert [(r["n_pos"], r["n_neg"]) for r in record["results"]] == [(1, 0), (3, 0), (5, 0), (5, 5), (10, 0),
                                                                    (10, 5)]


def test_resume_after_interrupt_and_torn_write(tiny_pair, tmp_path: Path, monkeypatch) -> None:
    data = synthetic_dataset(n=4, sizes=SMALL)
    names = list(data.names)
    real = evaluate_mod.evaluate_example
    calls: list[str] = []
    stop_after: list[int | None] = [2]

    def counting(pair, name, *args, **kwargs):
        if stop_after[0] is not None and len(calls) == stop_after[0]:
            raise KeyboardInterrupt  # Ctrl-C while the third image is being computed
        calls.append(name)
        return real(pair, name, *args, **kwargs)

    monkeypatch.setattr(evaluate_mod, "evaluate_example", counting)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run_evaluation(data, tiny_pair, out, progress=False, plots=False)
    assert calls == names[:2]
    assert [r["image"] for r in load_records(out)] == names[:2]  # both finished images are on disk

    # A crash in the middle of writing the next line leaves half a record: it is dropped and redone.
    with open(out / "results.jsonl", "a") as f:
        f.write('{"image": "002_branches", "height": 96, "wid')
    assert [r["image"] for r in load_records(out)] == names[:2]

    calls.clear()
    stop_after[0] = None
    resumed = run_evaluation(data, tiny_pair, out, progress=False, plots=False)
    assert calls == names[2:] and resumed.computed == names[2:]  # the first two were not recomputed
    assert [r["image"] for r in resumed.records] == names

    calls.clear()
    fresh = run_evaluation(data, tiny_pair, tmp_path / "fresh", progress=False, plots=False)
    assert calls == names
    assert _table_without_timings(out) == _table_without_timings(tmp_path / "fresh")
    assert resumed.table == fresh.table

    # Running once more computes nothing.
    calls.clear()
    again = run_evaluation(data, tiny_pair, out, progress=False, plots=False)
    assert calls == [] and again.table == fresh.table


def test_other_settings_in_the_same_folder_are_refused(tiny_pair, tmp_path: Path) -> None:
    data = synthetic_dataset(n=1, sizes=SMALL)
    run_evaluation(data, tiny_pair, tmp_path, progress=False, plots=False)
    with pytest.raises(ValueError, match="holds a run with other settings.*resize"):
        run_evaluation(data, tiny_pair, tmp_path, EvalConfig(resize="stretch"), progress=False, plots=False)
    run = run_evaluation(data, tiny_pair, tmp_path, EvalConfig(resize="stretch"), progress=False, plots=False,
                         restart=True)
    assert run.computed == ["000_wires"]


def test_corrupt_middle_line_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "results.jsonl").write_text('{"image": "a"}\n{broken\n{"image": "b"}\n')
    with pytest.raises(ValueError, match="line 2 is not valid JSON"):
        load_records(tmp_path)


def _fake_records() -> list[dict]:
    rng = np.random.default_rng(0)
    records = []
    for i in range(5):
        results = []
        for s in ("1", "3", "5", "5+5neg", "10", "10+5neg"):
            v = {b: float(rng.uniform()) for b in ("sam", "hq", "fused")}
            results.append({"setting": s, "n_pos": 1, "n_neg": 0, "decode_ms": 2.0, "iou": v,
                            "biou": {b: x / 2 for b, x in v.items()}, "score": v})
        records.append({"image": f"im{i}", "height": 10, "width": 10, "encoder_ms": 5.0, "results": results})
    records.append({"image": "blank", "height": 10, "width": 10, "skipped": "empty ground-truth mask"})
    return records


def test_summaries_and_reports(tmp_path: Path) -> None:
    records = _fake_records()
    table = summarize(records, ["1", "10"])
    assert [t["setting"] for t in table] == ["1", "10"] and table[0]["n_images"] == 5
    expected = 100 * np.mean([r["results"][0]["biou"]["sam"] for r in records[:5]])
    assert table[0]["sam"]["mBIoU"] == pytest.approx(expected)
    wins, losses = biggest_changes(records, setting="10", k=2)
    deltas = {r["image"]: r["results"][4]["biou"]["hq"] - r["results"][4]["biou"]["sam"]
              for r in records[:5]}
    assert [w[0] for w in wins] == [n for n in sorted(deltas, key=deltas.get, reverse=True)
                                    if deltas[n] >= 0.005][:2]
    assert [lo[0] for lo in losses] == [n for n in sorted(deltas, key=deltas.get) if deltas[n] <= -0.005][:2]
    assert all(d > 0 for _, d in wins) and all(d < 0 for _, d in losses)  # a "loss" is where HQ-SAM is worse
    # differences below half a point are ties: no gallery of a "+0.001 gain"
    tiny = [{"image": f"t{i}", "results": [{"setting": "box", "biou": {"sam": 0.5, "hq": 0.5 + d}}]}
            for i, d in enumerate((0.001, -0.0004, 0.02))]
    assert biggest_changes(tiny, k=3) == ([("t2", pytest.approx(0.02))], [])
    config = EvalConfig(prompt="points")
    write_reports(tmp_path, records, config, {"dataset": "fake", "title": "fake"}, plots=True)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["n_images"] == 5 and summary["skipped"] == ["blank"] and len(summary["table"]) == 6
    assert summary["speed"]["images_per_s"] == pytest.approx(1e3 / (5.0 + 6 * 2.0))
    with open(tmp_path / "per_image.csv", newline="") as f:
        assert len(list(csv.reader(f))) == 1 + 5 * 6
    for png in ("summary.png", "per_image.png"):
        assert (tmp_path / png).read_bytes()[:4] == b"\x89PNG"


def test_cli(tmp_path: Path, monkeypatch, caplog) -> None:
    caplog.set_level(logging.INFO)
    out = tmp_path / "cli"
    args = ["--data", "synthetic", "-n", "1", "--model", "vit_tiny", "--prompt", "box", "--out", str(out),
            "-q", "--no-plots"]
    assert main(args) == 0
    assert (out / "per_image.csv").exists() and (out / "summary.json").exists()
    assert "HQ-SAM (HQ token) mBIoU" in caplog.text and "HQ-SAM (fused) mBIoU" in caplog.text

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(evaluate_mod, "evaluate_example", interrupted)
    assert main(args[:3] + ["2"] + args[4:]) == 130
    assert "run the same command again" in caplog.text
    assert main(["--data", str(tmp_path / "nowhere"), "--out", str(out)]) == 2


def test_resume_with_another_encoder_dtype_is_refused(tiny_pair, tmp_path: Path) -> None:
    import hqsam_nb

    data = synthetic_dataset(n=1, sizes=SMALL)
    run_evaluation(data, tiny_pair, tmp_path, progress=False, plots=False)
    bf16 = hqsam_nb.load_pair("vit_tiny", device="cpu", encoder_dtype="bfloat16")
    with pytest.raises(ValueError, match=r"other settings \(encoder_dtype: None there, 'bfloat16' now\)"):
        run_evaluation(data, bf16, tmp_path, progress=False, plots=False)


def test_resume_with_a_changed_checkpoint_file_is_refused(tmp_path: Path) -> None:
    import hqsam_nb

    ckpt = tmp_path / "mine.pth"
    hqsam_nb.save_random_checkpoint(ckpt, "vit_tiny", seed=5)
    data = synthetic_dataset(n=1, sizes=SMALL)
    out = tmp_path / "run"
    run_evaluation(data, hqsam_nb.load_pair("vit_tiny", checkpoint=ckpt, device="cpu"), out, progress=False,
                   plots=False)
    hqsam_nb.save_random_checkpoint(ckpt, "vit_tiny", seed=6)  # same path, other weights (a new fine-tune)
    with pytest.raises(ValueError, match="other settings.*checkpoint_sha256"):
        run_evaluation(data, hqsam_nb.load_pair("vit_tiny", checkpoint=ckpt, device="cpu"), out,
                       progress=False, plots=False)


def test_run_json_of_an_older_version_without_the_checkpoint_hash_still_resumes(tiny_pair, tmp_path: Path) -> None:
    data = synthetic_dataset(n=1, sizes=SMALL)
    run_evaluation(data, tiny_pair, tmp_path, progress=False, plots=False)
    meta = json.loads((tmp_path / "run.json").read_text())
    del meta["checkpoint_sha256"]
    (tmp_path / "run.json").write_text(json.dumps(meta))
    assert run_evaluation(data, tiny_pair, tmp_path, progress=False, plots=False).computed == []


def test_open_dataset_refuses_a_non_positive_limit(tmp_path: Path) -> None:
    from hqsam_nb.evaluation.datasets import open_dataset

    for n in (0, -2):
        with pytest.raises(ValueError, match=rf"n={n} is not accepted.*positive"):
            open_dataset(tmp_path, n=n)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hqsam_nb.evaluate", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})


def test_cli_refuses_a_bad_limit_without_traceback(tmp_path: Path, capsys) -> None:
    done = _cli("--data", "synthetic", "-n", "-2", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "argument -n/--limit: expected a number of images >= 1, got -2" \
        in done.stderr
    for limit in ("0", "many"):  # the same argparse path, in-process (a subprocess costs seconds)
        with pytest.raises(SystemExit) as info:
            main(["--data", str(tmp_path), "-n", limit, "--out", str(tmp_path / "out")])
        assert info.value.code == 2 and "-n/--limit" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_cli_checkpoint_errors_are_one_line_without_traceback(tmp_path: Path, caplog) -> None:
    import torch

    import hqsam_nb

    text = tmp_path / "notes.pth"
    text.write_text("the weights are on the shared drive\n")
    done = _cli("--data", "synthetic", "-n", "1", "--checkpoint", str(text), "--out", str(tmp_path / "o"), "-q",
                cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [f"error: {text} is a text file, not a checkpoint (it begins: "
                                        "'the weights are on the shared drive\\n'). A checkpoint is a binary "
                                        "PyTorch file (.pth), e.g. sam_hq_vit_tiny.pth; pass the path of the "
                                        "weights themselves."]
    # A multi-line CheckpointError (wrong kind of file, missing keys listed) comes out as one line too.
    mobile = tmp_path / "mobile_sam.pt"
    torch.save(hqsam_nb.models.random_state_dict("vit_tiny", hq=False), mobile)
    caplog.set_level(logging.INFO)
    assert main(["--data", "synthetic", "-n", "1", "--checkpoint", str(mobile), "--out", str(tmp_path / "o"),
                 "-q"]) == 2
    (error,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert error.startswith("error: ") and "\n" not in error and "original SAM checkpoint" in error

