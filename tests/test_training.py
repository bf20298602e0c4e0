"""Training HQ-SAM: SAM stays frozen bit for bit, only the HQ additions learn, the checkpoint is an ordinary HQ-SAM
checkpoint, a run killed with SIGKILL resumes to the same weights, bad data is refused before anything trains.

One tiny run (two synthetic scenes, one per step, two epochs: four steps, every prompt kind) is shared by the tests
of this module; its encoder features land in a disk cache that the killed and resumed runs reuse.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import hqsam_nb
from hqsam_nb.evaluation.datasets import DatasetError
from hqsam_nb.models.checkpoints import file_sha256
from hqsam_nb.models.loading import hq_module_of, load_state_dict
from hqsam_nb.training import (
    PROMPT_KINDS,
    HQDecoderPass,
    Recipe,
    TrainingDataError,
    TrainPrompt,
    Validator,
    check_training_data,
    hq_loss,
    load_state,
    open_training_data,
    start_model,
    synthetic_training_data,
    train,
)
from hqsam_nb.training.features import EncoderFeatures

ROOT = Path(__file__).resolve().parents[1]
RECIPE = Recipe.cpu_demo(batch_size=1, epochs=2, warmup_steps=0, loss_points=2000, prompt_kinds=PROMPT_KINDS)


def _data():
    return synthetic_training_data(2, seed=0, size=(96, 96))


@pytest.fixture(scope="module")
def sam_start(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An original SAM vit_tiny checkpoint (no HQ additions): the paper's starting point."""
    path = tmp_path_factory.mktemp("start") / "sam_vit_tiny.pth"
    hqsam_nb.save_random_checkpoint(path, "vit_tiny", hq=False, seed=3)
    return path


@pytest.fixture(scope="module")
def feature_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shared with test_training_ddp.py (same scenes), so that each scene is encoded once per session."""
    path = tmp_path_factory.getbasetemp() / "training-features"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, sam_start: Path, feature_dir: Path):
    out = tmp_path_factory.mktemp("run") / "run"
    return train(_data(), out, model="vit_tiny", checkpoint=sam_start, recipe=RECIPE, save_every=1,
                 cache_dir=feature_dir, progress=False, device="cpu")


def test_only_the_hq_additions_receive_gradients() -> None:
    net, start = start_model("vit_tiny", seed=0)
    assert start.kind == "random"
    trainable = {n for n, p in net.named_parameters() if p.requires_grad}
    assert trainable and all(hq_module_of(n) is not None for n in trainable)
    gen = torch.Generator().manual_seed(0)
    feats = EncoderFeatures(torch.randn(1, 256, 64, 64, generator=gen), torch.randn(1, 160, 64, 64, generator=gen))
    target = torch.zeros(1, 1, 1024, 1024)
    target[..., 300:320, 100:900] = 1
    logits = HQDecoderPass(net)([feats], [[TrainPrompt("box", box=np.array([100, 300, 899, 319], np.float32))]])
    hq_loss(logits, target, [0], n_points=500).total.backward()
    for name, param in net.named_parameters():
        if hq_module_of(name) is None:
            assert param.grad is None, name
        else:
            assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_standardise_early_trains_as_if_the_early_feature_had_unit_scale() -> None:
    """Recipe.standardise_early (cpu_demo) rescales the early layer's initial weight, learning rate and Adam eps:
    three steps on the raw feature end where three official steps on the standardised feature end."""
    from hqsam_nb.training.loop import EARLY_LAYER, _optimizer

    gen = torch.Generator().manual_seed(1)
    emb = torch.randn(1, 256, 64, 64, generator=gen)
    early = 0.003 * torch.randn(1, 160, 64, 64, generator=gen)  # the scale of random SAM weights' early feature
    rms = float(early.pow(2).mean().sqrt())
    target = torch.zeros(1, 1, 1024, 1024)
    target[..., 300:320, 100:900] = 1
    prompt = [[TrainPrompt("box", box=np.array([100, 300, 899, 319], np.float32))]]
    on, off = Recipe.cpu_demo(), Recipe.cpu_demo(standardise_early=False)
    assert on.standardise_early and Recipe.official().standardise_early is False

    def run(recipe: Recipe, feats: EncoderFeatures, early_rms: float | None) -> tuple[torch.Tensor, torch.Tensor]:
        net, _ = start_model("vit_tiny", seed=0)
        optimizer = _optimizer(net, recipe, early_rms, fresh=True)
        decoder = HQDecoderPass(net)
        for step in range(3):
            for group in optimizer.param_groups:
                group["lr"] = 1e-3 * group.get("lr_scale", 1.0)
            optimizer.zero_grad()
            hq_loss(decoder([feats], prompt), target, [step], n_points=500).total.backward()
            optimizer.step()
        with torch.no_grad():
            return decoder([feats], prompt), dict(net.named_parameters())[EARLY_LAYER].detach()

    got, weight = run(on, EncoderFeatures(emb, early), rms)
    want, standard_weight = run(off, EncoderFeatures(emb, early / rms), None)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4 * float(want.abs().max()))
    torch.testing.assert_close(weight * rms, standard_weight, rtol=1e-4, atol=1e-6)
    raw, _ = run(off, EncoderFeatures(emb, early), None)  # the official run on the raw feature goes elsewhere
    assert (raw - want).abs().max() > 100 * 1e-4 * float(want.abs().max())
    with pytest.raises(ValueError, match="root mean square is 0.0"):
        _optimizer(start_model("vit_tiny", seed=0)[0], on, 0.0, fresh=True)


def test_sam_stays_bit_identical_and_the_checkpoint_is_an_hq_sam_checkpoint(tiny_run, sam_start: Path) -> None:
    assert tiny_run.start.kind == "sam" and tiny_run.steps == 4 and tiny_run.steps_run == 4
    start = load_state_dict(sam_start)
    trained = load_state_dict(tiny_run.checkpoint)
    sam_keys = [k for k in trained if hq_module_of(k) is None]
    assert set(sam_keys) == set(start)
    assert all(torch.equal(trained[k], start[k]) for k in sam_keys)  # frozen: bit for bit
    fresh, _ = start_model("vit_tiny", checkpoint=sam_start, seed=RECIPE.seed)
    fresh_state = fresh.state_dict()
    changed = [k for k in trained if hq_module_of(k) is not None and not torch.equal(trained[k], fresh_state[k])]
    assert {hq_module_of(k) for k in changed} == set(hqsam_nb.models.loading.HQ_PARAM_PREFIXES)

    # The official builder loads it with every key matched (it loads non-strictly and prints what it found).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from segment_anything_hq import sam_model_registry
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        official = sam_model_registry["vit_tiny"](checkpoint=str(tiny_run.checkpoint))
    assert printed.getvalue().strip() == "<All keys matched successfully>"
    official.load_state_dict(trained, strict=True)
    # ... and so does the package's own strict loader.
    pair = hqsam_nb.load_pair("vit_tiny", checkpoint=tiny_run.checkpoint, device="cpu")
    assert all(torch.equal(v, trained[k]) for k, v in pair.model.state_dict().items())
    # ... and its weights note says fine-tuned, with the run's provenance (base checkpoint, data, recipe, epochs)
    info = pair.info
    assert info.kind == "fine-tuned" and "FINE-TUNED" in info.describe() and info == tiny_run.provenance
    assert info.details["base_sha256"] == file_sha256(sam_start)
    assert info.details["epochs"] == 2 and info.details["start_kind"] == "sam"
    assert "2 examples" in info.details["data"] and "Adam" in info.details["recipe"]
    for name in ("curves.png", "history.json", "run.json"):
        assert (tiny_run.out / name).stat().st_size > 0
    history = json.loads((tiny_run.out / "history.json").read_text())
    assert [row[0] for row in history["loss"]] == [1, 2, 3, 4]
    assert history["early_feature_rms"] > 0 and "unit scale" in info.details["recipe"]  # cpu_demo standardises


def test_validation_scores_are_what_load_pair_gives_for_the_checkpoint(tiny_run) -> None:
    """The numbers a run reports per epoch are the package's evaluation of its exported checkpoint."""
    pair = hqsam_nb.load_pair("vit_tiny", checkpoint=tiny_run.checkpoint, device="cpu")
    held_out = synthetic_training_data(1, seed=5, size=(80, 120))
    decoder = HQDecoderPass(pair.model)
    rows = Validator(pair.model, held_out)(decoder)
    from hqsam_nb.evaluation.protocols import tight_box

    for ex, row in zip(held_out, rows, strict=True):
        pair.set_image(ex.image)
        out = pair.predict_batch(boxes=tight_box(ex.mask)[None])
        for key in ("sam", "hq", "fused"):
            iou = hqsam_nb.mask_iou(ex.mask, out.branch(key).masks[0])
            assert row.iou[key] == pytest.approx(iou, abs=0.02), key  # a few pixels at float noise may flip


_KILLED_RUN = """
import json, sys, time
from pathlib import Path
import torch
from hqsam_nb.training import Recipe, synthetic_training_data, train
args = json.loads(sys.argv[1])
data = synthetic_training_data(2, seed=0, size=(96, 96))
def slow(step, loss):
    if step >= 3:
        time.sleep(60)  # the test kills the run here: step 3 is done but not saved
train(data, args["out"], model="vit_tiny", checkpoint=args["start"], recipe=Recipe.from_dict(args["recipe"]),
      save_every=1, cache_dir=args["cache"], progress=False, device="cpu", on_step=slow)
"""


def test_a_run_killed_with_sigkill_resumes_to_the_weights_of_an_uninterrupted_run(
        tiny_run, sam_start: Path, feature_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "killed"
    args = {"out": str(out), "start": str(sam_start), "recipe": RECIPE.to_dict(), "cache": str(feature_dir)}
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_RUN, json.dumps(args)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            state = out / "state.pt"
            if state.exists() and load_state(state)["step"] >= 2:
                break
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            time.sleep(0.2)
        else:
            pytest.fail("the run did not reach step 2 within 300 s")
        time.sleep(1.0)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert load_state(out / "state.pt")["step"] == 2
    with pytest.raises(ValueError, match="other settings.*recipe"):
        train(_data(), out, checkpoint=sam_start, recipe=RECIPE.replace(lr=1e-4), progress=False, device="cpu")
    # the same call again continues the run from its last saved step
    resumed = train(_data(), out, checkpoint=sam_start, recipe=RECIPE, cache_dir=feature_dir, progress=False,
                    device="cpu")
    assert resumed.steps == 4 and resumed.steps_run == 2 and resumed.encoder_passes == 0
    a, b = load_state_dict(tiny_run.checkpoint), load_state_dict(resumed.checkpoint)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.history["loss"] == tiny_run.history["loss"]


# --------------------------------------------------------------------------------------------------
# Bad data: refused, named, before anything is built or trained.

def _folder(root: Path, files: dict[str, object]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            Image.fromarray(content).save(path)
    return root


def _image(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (40, 60, 3), dtype=np.uint8)


def _mask(empty: bool = False, shape: tuple[int, int] = (40, 60)) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    if not empty:
        m[10:20, 5:50] = 255
    return m


def test_bad_data_is_refused_before_training_starts_and_each_problem_is_named(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    no_masks = _folder(tmp_path / "no_masks", {"images/a.png": _image()})
    with pytest.raises(DatasetError, match="no images/ and masks/"):
        open_training_data(no_masks)
    stems = _folder(tmp_path / "stems", {"images/a.png": _image(), "images/b.png": _image(1),
                                         "masks/a.png": _mask(), "masks/c.png": _mask()})
    with pytest.raises(DatasetError, match=r"image\(s\) without a mask.*'b'.*mask\(s\) without an image.*'c'"):
        open_training_data(stems)
    bad = _folder(tmp_path / "bad", {
        "images/good.png": _image(), "masks/good.png": _mask(),
        "images/empty.png": _image(1), "masks/empty.png": _mask(empty=True),
        "images/broken.png": b"\x89PNG not really", "masks/broken.png": _mask(),
        "images/badmask.png": _image(2), "masks/badmask.png": b"garbage",
        "images/small.png": _image(3), "masks/small.png": _mask(shape=(20, 30)),
    })
    data = open_training_data(bad)
    with pytest.raises(TrainingDataError) as err:
        check_training_data(data)
    message = str(err.value)
    assert "4 of 5 training examples are unusable" in message and "\n" not in message
    for name, why in (("empty", "empty mask"), ("broken", "not a readable image"),
                      ("badmask", "not a readable image"), ("small", "masks must have their image's size")):
        assert f"[{name}]" in message and why in message, (name, message)
    assert "[good]" not in message

    def never(*args, **kwargs):
        raise AssertionError("the model was built although the data is bad")

    monkeypatch.setattr("hqsam_nb.training.loop.start_model", never)
    with pytest.raises(TrainingDataError, match="nothing was trained"):
        train(data, tmp_path / "out", recipe=Recipe(batch_size=1), progress=False, device="cpu")
    assert not (tmp_path / "out").exists()


def test_the_command_line_refuses_bad_data_in_one_line_before_anything_is_built(tmp_path: Path) -> None:
    data = _folder(tmp_path / "data", {"images/a.png": _image(), "masks/a.png": _mask(),
                                       "images/b.png": _image(1), "masks/b.png": _mask(empty=True)})
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1",
           "HQSAM_NB_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "hqsam_nb", "train", "--data", str(data), "--weights", "random",
                           "--batch", "1", "--out", str(tmp_path / "out")], capture_output=True, text=True,
                          env=env, timeout=180)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "[b] empty mask" in lines[0] and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "out").exists()
