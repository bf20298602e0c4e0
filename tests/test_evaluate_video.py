"""``hqsam-nb video`` (``python -m hqsam_nb video``) on a synthetic DAVIS folder (random weights): the PNGs it
writes re-score to the J&F it reports, and a run killed with SIGKILL then rerun writes the same files as an
uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hqsam_nb.cli import run_command
from hqsam_nb.metrics import boundary_f_measure, region_similarity
from hqsam_nb.video import DavisDataset, write_synthetic_davis

ROOT = Path(__file__).resolve().parents[1]
N_FRAMES = 4


def main(argv: list[str]) -> int:
    return run_command("video", argv)


def cli(root: Path, out: Path, checkpoint: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "hqsam_nb", "video", "--data", "davis", "--root", str(root), "--model",
            "vit_tiny", "--checkpoint", str(checkpoint), "--device", "cpu", "--prompt", "propagate", "--out",
            str(out), "-q", *extra]


def env() -> dict[str, str]:
    e = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    return e


@pytest.fixture(scope="module")
def davis(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("davis")
    write_synthetic_davis(root, n_sequences=1, n_frames=N_FRAMES, size=(96, 128), n_objects=2, seed=3)
    return root


@pytest.fixture(scope="module")
def reference(davis: Path, checkpoint_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "reference"
    done = subprocess.run(cli(davis, out, checkpoint_dir / "sam_hq_vit_tiny.pth"), env=env(), capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()
            and p.name != "run.json"}


def test_outputs_in_davis_layout_rescore_to_the_reported_numbers(davis: Path, reference: Path) -> None:
    metrics = json.loads((reference / "video_metrics.json").read_text())
    assert set(metrics) == {"sam", "hq", "fused"}
    seq = DavisDataset(davis).sequence(DavisDataset(davis).names[0])
    for branch, m in metrics.items():
        pngs = sorted((reference / branch / seq.name).glob("*.png"))
        assert [p.stem for p in pngs] == list(seq.frame_names)
        with Image.open(pngs[0]) as img:
            assert img.mode == "P"
        # re-score from the files alone: frames 1 .. n-2, objects from the first annotation, means per object
        per_object_j, per_object_f = [], []
        gt_dir = davis / "Annotations" / "480p" / seq.name
        for k in (1, 2):
            js, fs = [], []
            for name in seq.frame_names[1:-1]:
                gt = np.asarray(Image.open(gt_dir / f"{name}.png")) == k
                pred = np.asarray(Image.open(reference / branch / seq.name / f"{name}.png")) == k
                js.append(region_similarity(gt, pred))
                fs.append(boundary_f_measure(gt, pred))
            per_object_j.append(np.mean(js))
            per_object_f.append(np.mean(fs))
        j, f = float(np.mean(per_object_j)), float(np.mean(per_object_f))
        assert m["J"] == pytest.approx(j, abs=1e-9)
        assert m["F"] == pytest.approx(f, abs=1e-9)
        assert m["J&F"] == pytest.approx((j + f) / 2, abs=1e-9)
        assert m["per_sequence"][seq.name]["J&F"] == pytest.approx((j + f) / 2, abs=1e-9)
        assert len(m["per_sequence"][seq.name]["J_per_frame"]) == N_FRAMES - 2


def test_sigkill_mid_run_then_rerun_gives_identical_outputs(davis: Path, reference: Path, checkpoint_dir: Path,
                                                            tmp_path: Path) -> None:
    out = tmp_path / "killed"
    command = cli(davis, out, checkpoint_dir / "sam_hq_vit_tiny.pth")
    proc = subprocess.Popen(command, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seq_dir = next(iter((reference / "fused").iterdir())).name
    marker = out / "sam" / seq_dir / "00001.png"
    deadline = time.monotonic() + 600
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    written = list((out / "fused").rglob("*.png"))
    assert len(written) < N_FRAMES, "the run was not killed mid-way"
    done = subprocess.run(command, env=env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert files(out) == files(reference)


def test_bad_arguments_are_explained(davis: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert main(["--root", str(davis), "--out", str(tmp_path / "x"), "--prompt", "boxes"]) == 2
    assert "--prompt boxes FILE" in caplog.text
    assert main(["--root", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")]) == 2
    assert "not a folder" in caplog.text
    assert main(["--root", str(davis), "--out", str(tmp_path / "x"), "--prompt", "boxes",
                 str(tmp_path / "none.json")]) == 2
    assert "does not exist" in caplog.text


def test_a_sequence_name_that_leaves_the_results_folder_is_refused(tmp_path: Path, checkpoint_dir: Path) -> None:
    """--sequences ../../Annotations/480p/SEQ (or such a line in ImageSets/2017/val.txt) once wrote the results over
    the ground truth, then scored them J&F 100. A sequence name is a plain folder name: refused before anything is
    read or written, in one line."""
    from helpers import assert_refused_in_one_line, run_cli, tree_snapshot

    root = tmp_path / "DAVIS"
    write_synthetic_davis(root, n_sequences=1, n_frames=3, size=(64, 64), n_objects=1, seed=5)
    seq = DavisDataset(root).names[0]
    before = tree_snapshot(tmp_path)
    common = ["--root", root, "--prompt", "oracle", "--model", "vit_tiny", "--checkpoint",
              checkpoint_dir / "sam_hq_vit_tiny.pth", "--device", "cpu", "--out", root / "runs", "-q"]
    traversal = f"../../Annotations/480p/{seq}"
    done = run_cli("hqsam_nb", "video", *common, "--sequences", traversal)
    assert_refused_in_one_line(done, repr(traversal), "plain name", "no folders")
    listing = root / "ImageSets" / "2017" / "val.txt"
    listing.write_text(f"{seq}\n{traversal}\n")
    before[str(listing.relative_to(tmp_path))] = listing.read_bytes()
    done = run_cli("hqsam_nb", "video", *common)
    assert_refused_in_one_line(done, str(listing), repr(traversal))
    assert tree_snapshot(tmp_path) == before  # nothing written anywhere, the ground truth untouched
    for bad in (".", "..", "/etc", str(root / "JPEGImages" / "480p" / seq), "", "a/b", "~"):
        with pytest.raises(ValueError, match="plain name"):
            DavisDataset(root, sequences=[bad])
