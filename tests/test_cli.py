"""The command line ``hqsam-nb``: its commands, the shared options, one exit-code policy for every command, and a
start that does not import torch (``--help`` and argument errors answer at once)."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hqsam_nb.cli import commands, main
from hqsam_nb.cli._errors import CommandFailedError, exit_code
from hqsam_nb.cli._options import add_model_options

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str, cwd: Path, module: str = "hqsam_nb") -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1",
           "HQSAM_NB_CACHE": str(cwd / "cache")}
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=120)


def test_every_command_is_listed_and_help_imports_no_torch() -> None:
    assert {"fetch", "evaluate", "coco", "video", "export-onnx", "train", "fetch-hqseg44k", "ytvis"} <= set(commands())
    code = ("import sys\nfrom hqsam_nb.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "for name in ('fetch', 'evaluate', 'coco', 'video', 'export-onnx', 'train', 'fetch-hqseg44k', 'ytvis'):\n"
            "    try:\n        main([name, '--help'])\n    except SystemExit:\n        pass\n"
            "heavy = [m for m in ('torch', 'matplotlib', 'segment_anything_hq', 'cv2') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stdout
    # a long name gets its help on the next line
    for name in ("fetch", "evaluate", "coco", "video", "export-onnx", "train", "fetch-hqseg44k", "ytvis"):
        assert re.search(rf"^    {re.escape(name)}\s", done.stdout, re.MULTILINE), name


def test_choices_spelled_in_the_cli_match_the_library() -> None:
    from hqsam_nb.cli import coco, evaluate, export_onnx, train, video
    from hqsam_nb.evaluation.coco import SCORE_MODES
    from hqsam_nb.evaluation.runner import RESIZE_MODES
    from hqsam_nb.onnx import PART_NAMES, PRECISIONS
    from hqsam_nb.pair import BACKENDS
    from hqsam_nb.pair.branches import BRANCH_KEYS
    from hqsam_nb.training import PROMPT_KINDS

    assert (video.BRANCH_KEYS, coco.SCORE_MODES, evaluate.RESIZE_MODES) == (BRANCH_KEYS, SCORE_MODES, RESIZE_MODES)
    assert train.PROMPT_KINDS == PROMPT_KINDS
    assert (export_onnx.PARTS, export_onnx.PRECISIONS) == (PART_NAMES, PRECISIONS)
    parser = argparse.ArgumentParser()
    add_model_options(parser)
    assert next(a for a in parser._actions if a.dest == "backend").choices == BACKENDS


# One bad input per command, each before any model is loaded: exit 2, one line on stderr, no traceback, nothing
# written. Each is a subprocess (the policy is about what a shell sees), kept cheap by the CLI's lazy imports.
BAD_INPUTS = {
    "fetch": (["fetch", "vit_nope"], "invalid choice: 'vit_nope'"),
    "evaluate": (["evaluate", "--data", "no-such-folder", "--out", "out"], "has no images/ and masks/ folders"),
    "coco": (["coco", "--annotations", "missing.json", "--images", ".", "--out", "out"],
             "annotations file 'missing.json' does not exist"),
    "video": (["video", "--root", "no-such-davis", "--out", "out"], "is not a folder"),
    "train": (["train", "--data", "no-such-folder", "--weights", "random", "--out", "out"],
              "has no images/ and masks/ folders"),
    "export-onnx": (["export-onnx", "--bf16", "--out", "out"], "export-onnx exports on the CPU from the float32"),
    "ytvis": (["ytvis", "--annotations", "missing.json", "--frames", ".", "--out", "out"],
              "YouTube-VIS annotations file 'missing.json' does not exist"),
}


@pytest.mark.parametrize("command", sorted(BAD_INPUTS))
def test_bad_input_exits_2_with_one_line(command: str, tmp_path: Path) -> None:
    args, message = BAD_INPUTS[command]
    done = _run(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "out").exists()


def test_the_module_aliases_keep_working(tmp_path: Path) -> None:
    done = _run("--data", "no-such-folder", "--out", "out", cwd=tmp_path, module="hqsam_nb.evaluate")
    assert done.returncode == 2 and done.stderr.startswith("error: ") and len(done.stderr.splitlines()) == 1
    assert main(["video", "--root", str(tmp_path / "none"), "--out", str(tmp_path / "o"), "--prompt", "boxes"]) == 2


def test_exit_code_policy() -> None:
    from hqsam_nb.evaluation.datasets import DatasetError
    from hqsam_nb.models.checkpoints import CheckpointError, CheckpointUnavailableError

    bad_input = [ValueError("x"), DatasetError("x"), CheckpointError("x"), CheckpointUnavailableError("x"),
                 FileNotFoundError("x"), TypeError("x"), ImportError("x")]
    assert [exit_code(e) for e in bad_input] == [2] * len(bad_input)
    assert exit_code(CommandFailedError("download failed")) == 1
    assert exit_code(OSError(28, "No space left on device")) == 1
    assert exit_code(KeyError("a bug")) is None and exit_code(RuntimeError("a bug")) is None


def test_a_failed_write_exits_1_and_says_the_work_is_kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    from hqsam_nb.cli import evaluate

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(evaluate, "evaluate", disk_full)
    assert main(["evaluate", "--data", "synthetic", "--out", str(tmp_path / "o")]) == 1
    assert "No space left on device (finished work is kept in" in caplog.text


def test_the_version_is_the_one_pyproject_declares() -> None:
    import tomllib

    import hqsam_nb

    assert hqsam_nb.__version__ == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
