"""Safe, strict loading: refused pickles, broken files, mismatches explained, eval() after loading."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
import torch

import hqsam_nb
from hqsam_nb import CheckpointError


class _Payload:
    """Pickles to a call that would create a file when unpickled with full pickle."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (open, (str(self.target), "w"))


def test_checkpoint_with_pickled_code_is_refused_and_nothing_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned.txt"
    bad = tmp_path / "sam_hq_vit_tiny.pth"
    torch.save({"mask_decoder.hf_token.weight": torch.zeros(1, 256), "x": _Payload(marker)}, bad)
    assert not marker.exists()
    with pytest.raises(CheckpointError, match="refused.*Nothing in it was run"):
        hqsam_nb.models.load_state_dict(bad)
    with pytest.raises(CheckpointError, match="refused"):
        hqsam_nb.load_pair("vit_tiny", checkpoint=bad, device="cpu")
    assert not marker.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 42526881\n", "Git-LFS pointer"),
        (b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", "HTML"),
        (b"\x00\x01garbage" * 10, "not a readable PyTorch checkpoint"),
    ],
)
def test_broken_files_are_explained(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "ckpt.pth"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        hqsam_nb.models.load_state_dict(path)


def test_truncated_checkpoint_is_explained(tmp_path: Path, checkpoint_dir: Path) -> None:
    data = (checkpoint_dir / "sam_hq_vit_tiny.pth").read_bytes()
    path = tmp_path / "sam_hq_vit_tiny.pth"
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        hqsam_nb.load_predictor("vit_tiny", checkpoint=path, device="cpu")


def test_wrapped_and_ddp_state_dicts_are_unwrapped(tmp_path: Path) -> None:
    path = tmp_path / "wrapped.pth"
    torch.save({"model": {"module.a": torch.ones(2)}}, path)
    assert list(hqsam_nb.models.load_state_dict(path)) == ["a"]


def test_original_sam_checkpoint_where_hq_expected(tmp_path: Path) -> None:
    path = tmp_path / "mobile_sam.pt"
    torch.save(hqsam_nb.models.random_state_dict("vit_tiny", hq=False), path)
    info = hqsam_nb.models.describe_state_dict(hqsam_nb.models.load_state_dict(path))
    assert (info.model, info.hq) == ("vit_tiny", False)
    with pytest.raises(CheckpointError, match="original SAM checkpoint.*sam_hq_vit_tiny.pth.*sam_checkpoint="):
        hqsam_nb.load_predictor("vit_tiny", checkpoint=path, device="cpu")


def test_hq_checkpoint_where_original_sam_expected(checkpoint_dir: Path) -> None:
    path = checkpoint_dir / "sam_hq_vit_tiny.pth"
    with pytest.raises(CheckpointError, match="HQ-SAM checkpoint, but an original SAM one was expected"):
        hqsam_nb.load_pair("vit_tiny", sam_checkpoint=path, device="cpu")
    with pytest.raises(CheckpointError, match="HQ-SAM checkpoint, but an original SAM one was expected"):
        hqsam_nb.load_predictor("vit_tiny", checkpoint=path, hq=False, device="cpu")


def test_wrong_variant_is_named(checkpoint_dir: Path) -> None:
    with pytest.raises(CheckpointError) as info:
        hqsam_nb.load_predictor("vit_b", checkpoint=checkpoint_dir / "sam_hq_vit_tiny.pth", device="cpu")
    assert "looks like an HQ-SAM checkpoint of vit_tiny" in str(info.value)
    assert "pass model='vit_tiny'" in str(info.value)


def test_vit_variants_are_told_apart_by_shape() -> None:
    for width, model in ((768, "vit_b"), (1024, "vit_l"), (1280, "vit_h")):
        sd = {"image_encoder.pos_embed": torch.zeros(1, 64, 64, width), "mask_decoder.hf_token.weight": torch.zeros(1)}
        assert hqsam_nb.models.describe_state_dict(sd) == hqsam_nb.models.StateDictInfo(model, True)
    assert hqsam_nb.models.describe_state_dict({"foo": torch.zeros(1)}).model is None


def test_state_dict_of_other_objects_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "list.pth"
    torch.save([torch.zeros(1)], path)
    with pytest.raises(CheckpointError, match="not a state dict"):
        hqsam_nb.models.load_state_dict(path)


def test_tinyvit_attention_cache_is_fresh_after_loading(checkpoint_dir: Path) -> None:
    net, info = hqsam_nb.load_model("vit_tiny", device="cpu")
    checked = 0
    for module in net.image_encoder.modules():
        if hasattr(module, "attention_bias_idxs") and hasattr(module, "ab"):
            expected = module.attention_biases[:, module.attention_bias_idxs]
            assert torch.equal(module.ab, expected)
            assert expected.abs().sum() > 0  # the synthetic biases are not the zero init
            checked += 1
    assert checked > 0
    assert not net.training


def test_loading_prints_nothing_and_warns_nothing(capfd: pytest.CaptureFixture, checkpoint_dir: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hqsam_nb.load_predictor("vit_tiny", device="cpu")
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_random_weights_warn_loudly_and_are_seeded() -> None:
    with pytest.warns(hqsam_nb.RandomWeightsWarning, match="RANDOM weights"):
        net_a, info = hqsam_nb.load_model("vit_tiny", weights="random", device="cpu")
    with pytest.warns(hqsam_nb.RandomWeightsWarning):
        net_b, _ = hqsam_nb.load_model("vit_tiny", weights="random", device="cpu")
    assert info.weights == "random" and info.official is False
    assert "RANDOM" in info.describe()
    for (name, a), b in zip(net_a.state_dict().items(), net_b.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "vit_x"}, "not a known variant"),
        ({"weights": "official"}, "weights='official' is not accepted"),
        ({"device": "cuda:0"} if not torch.cuda.is_available() else {"device": "tpu"}, "device="),
        ({"weights": "random", "checkpoint": "x.pth"}, "do not pass checkpoint"),
    ],
)
def test_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        hqsam_nb.load_predictor(**kwargs)


def test_pick_device_default_is_available() -> None:
    dev = hqsam_nb.pick_device(None)
    assert dev.type in ("cuda", "mps", "cpu")
    assert hqsam_nb.pick_device("cpu") == torch.device("cpu")


def test_load_predictor_returns_the_official_class(checkpoint_dir: Path) -> None:
    from segment_anything_hq import SamPredictor

    predictor = hqsam_nb.load_predictor("vit_tiny", device="cpu")
    assert type(predictor) is SamPredictor
    assert predictor.weights_info.path == checkpoint_dir / "sam_hq_vit_tiny.pth"
    assert predictor.model.device == torch.device("cpu")
    assert os.path.basename(str(predictor.weights_info.path)) == "sam_hq_vit_tiny.pth"


def test_first_import_and_load_are_silent(checkpoint_dir: Path) -> None:
    """In a fresh interpreter (import-time warnings of timm / the official package happen once): no output."""
    import subprocess
    import sys

    code = "import hqsam_nb; hqsam_nb.load_predictor('vit_tiny', device='cpu')"
    env = {**os.environ, "HQSAM_NB_CHECKPOINTS": str(checkpoint_dir), "PYTHONWARNINGS": "default"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""


def test_a_synthetic_checkpoint_loads_as_random_weights(tmp_path) -> None:
    """save_random_checkpoint leaves a marker beside the file, so banners and stamps say "random", not only
    "not official", when it is loaded later (CI's notebooks run on such a file)."""
    from hqsam_nb import load_model, save_random_checkpoint
    from hqsam_nb.models.provenance import sidecar_path as synthetic_marker
    from hqsam_nb.notebook import weights_banner_html, weights_warning

    path = save_random_checkpoint(tmp_path / "sam_hq_vit_tiny.pth", "vit_tiny", seed=3)
    assert synthetic_marker(path).exists()
    _, info = load_model("vit_tiny", checkpoint=path, device="cpu")
    assert info.weights == "random" and info.path == path and info.official is False
    assert "RANDOM" in info.describe() and "synthetic checkpoint" in info.describe()
    assert weights_warning(info).startswith("RANDOM WEIGHTS")
    assert "RANDOM / synthetic weights" in weights_banner_html(info)
    synthetic_marker(path).unlink()
    _, plain = load_model("vit_tiny", checkpoint=path, device="cpu")
    assert plain.weights == "pretrained" and weights_warning(plain).startswith("NOT THE OFFICIAL")


@pytest.mark.parametrize("content", [b"README\n=====\nthe weights are on the shared drive\n", b"hello",
                                     b"model: vit_b\n", "checkpoint \u00e9t\u00e9\n".encode()])
def test_text_file_as_checkpoint_is_explained(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "sam_hq_vit_tiny.pth"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=r"is a text file, not a checkpoint \(it begins"):
        hqsam_nb.models.load_state_dict(path)
    with pytest.raises(CheckpointError, match="text file"):
        hqsam_nb.load_pair("vit_tiny", checkpoint=path, device="cpu")


@pytest.mark.parametrize("content", [b"\x01a", b"\xffe", b"\x80\x02e", b"\x80\x02K\x01e"])
def test_garbage_the_unpickler_chokes_on_is_a_checkpoint_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "ckpt.pth"
    path.write_bytes(content)  # torch.load raises IndexError / KeyError / EOFError on these
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        hqsam_nb.models.load_state_dict(path)


def test_hq_checkpoint_with_only_hf_token_renamed_is_not_called_original_sam(tmp_path: Path) -> None:
    state = hqsam_nb.models.random_state_dict("vit_tiny")
    state["mask_decoder.hq_token.weight"] = state.pop("mask_decoder.hf_token.weight")
    path = tmp_path / "renamed.pth"
    torch.save(state, path)
    assert hqsam_nb.models.describe_state_dict(state).hq
    with pytest.raises(CheckpointError) as info:
        hqsam_nb.load_predictor("vit_tiny", checkpoint=path, device="cpu")
    msg = str(info.value)
    assert "original SAM" not in msg
    assert "missing keys: mask_decoder.hf_token.weight" in msg
    assert "unexpected keys: mask_decoder.hq_token.weight" in msg


def test_a_checkpoint_calling_os_system_is_said_to_hold_pickled_code(tmp_path: Path) -> None:
    """torch's newer wording ("unsupported GLOBAL posix.system ... blocked") was once reported as "truncated or
    corrupt"."""

    class _System:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    bad = tmp_path / "evil.pth"
    torch.save({"a": torch.zeros(1), "b": _System()}, bad)
    with pytest.raises(CheckpointError, match=r"refused: it holds pickled code \((posix|nt|os)\.system\)"):
        hqsam_nb.models.load_state_dict(bad)


def test_a_pickle_the_safe_unpickler_refuses_without_naming_a_global_says_so(tmp_path: Path) -> None:
    """A BUILD opcode on a dict: torch's weights-only unpickler refuses it ("Weights only load failed") without an
    "Unsupported global"; the message says what the file holds, once (it once read "pickled objects other than
    tensors, not only tensors")."""
    bad = tmp_path / "build.pth"
    bad.write_bytes(b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01K\x01s}b.")
    with pytest.raises(CheckpointError, match=r"build.pth was refused: it holds pickled objects, not tensors\. "
                                              r"Nothing in it was run"):
        hqsam_nb.models.load_state_dict(bad)


def test_a_deflated_checkpoint_is_refused_before_it_is_unpacked(tmp_path: Path, checkpoint_dir: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """An entry of a few hundred KB on disk that unpacks to 200 MB (the vit_tiny model needs about 42 MB, at most
    three times that with an optimizer's state): refused from the zip's entry sizes, nothing inflated."""
    import zipfile

    path = tmp_path / "bomb.pth"
    with zipfile.ZipFile(checkpoint_dir / "sam_hq_vit_tiny.pth") as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info.filename))  # as stored
        dst.writestr(f"{src.namelist()[0].split('/')[0]}/data/bomb", bytes(200 * 2**20),
                     compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
    assert path.stat().st_size < 50 * 2**20

    def no_load(*args, **kwargs):
        raise AssertionError("torch.load must not run")

    monkeypatch.setattr(torch, "load", no_load)
    with pytest.raises(CheckpointError, match=r"bomb\.pth unpacks to \d+ MiB .* more than the model's weights need"):
        hqsam_nb.load_pair("vit_tiny", checkpoint=path, device="cpu")
