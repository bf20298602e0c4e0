"""ONNX export and the ONNX Runtime backend: every exported file against the official PyTorch modules (random
weights), provenance in the files, plain-onnxruntime use, and the pair's ``backend="onnx"`` against its torch
backend.

Exports are slow (about 15 s of CPU per part on a 2-core machine), so each is made once per session: vit_tiny in full,
vit_b's two decoders (its encoder's export and check take minutes there); ``benchmarks/onnx_parity.py`` exports and
checks all three parts of all four sizes.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from helpers import assert_masks_match, make_image

import hqsam_nb
from hqsam_nb.models.checkpoints import file_sha256
from hqsam_nb.models.loading import load_model
from hqsam_nb.onnx import (
    ONNX_OPSET,
    PART_NAMES,
    SPECS,
    agreement_with_official,
    compare_with_official,
    export_onnx,
    lower_export,
    read_export,
)
from hqsam_nb.onnx.export import MANIFEST, export_for
from hqsam_nb.onnx.runtime import OnnxSessions, decoder_prompt
from hqsam_nb.pair.preprocess import encoder_input, prompt_tensors

IMAGE = make_image(240, 320, seed=7)


@pytest.fixture(scope="session")
def tiny_export(checkpoint_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """vit_tiny exported from the session's synthetic checkpoint (all three parts)."""
    return export_onnx("vit_tiny", tmp_path_factory.mktemp("onnx_tiny"),
                       checkpoint=checkpoint_dir / "sam_hq_vit_tiny.pth")


@pytest.fixture(scope="session")
def vit_b_export(vit_b_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory):
    """vit_b's two decoders exported from a synthetic vit_b checkpoint (its encoder's export and check take minutes
    on a 2-core machine: benchmarks/onnx_parity.py does them, for all four sizes)."""
    return export_onnx("vit_b", tmp_path_factory.mktemp("onnx_vit_b"), checkpoint=vit_b_checkpoint,
                       parts=("sam_decoder", "hq_decoder"))


@pytest.fixture(scope="session")
def onnx_pair(tiny_export, checkpoint_dir: Path):
    return hqsam_nb.load_pair("vit_tiny", checkpoint=checkpoint_dir / "sam_hq_vit_tiny.pth", device="cpu",
                              backend="onnx", onnx_dir=tiny_export.directory)


TOLERANCE = 1e-4  # absolute, on logits, IoUs and features (the parity rule's LOGIT_ATOL)
OUTPUTS = {"encoder.image_embeddings", "encoder.interm_embeddings", "encoder.hq_features",
           "sam_decoder.low_res_masks", "sam_decoder.iou_predictions", "hq_decoder.hq (selected)",
           "hq_decoder.fused (selected)", "hq_decoder.iou_predictions", "hq_decoder.hq_masks", "hq_decoder.fused_masks"}


def test_vit_tiny_files_match_the_official_modules(tiny_export, checkpoint_dir: Path) -> None:
    """The official script cannot export vit_tiny (sam-hq issue #75); here all three parts export and agree with
    the official modules: encoder outputs, SAM decoder, HQ decoder (HQ token and fused, single and multimask)."""
    model, _ = load_model("vit_tiny", checkpoint=checkpoint_dir / "sam_hq_vit_tiny.pth", device="cpu")
    diffs = compare_with_official(tiny_export, model, IMAGE)
    assert set(diffs) == OUTPUTS
    assert max(diffs.values()) < TOLERANCE, diffs
    interm = OnnxSessions(tiny_export, parts=["encoder"]).run("encoder", {"image": encoder_input(model, IMAGE)[0]
                                                                         .numpy()})[1]
    assert interm.shape == (1, 64, 64, 160)  # TinyViT's one early feature, 160 channels (issue #75)


def test_vit_b_decoders_match_the_official_modules(vit_b_export, vit_b_checkpoint: Path) -> None:
    """The decoders exported from a vit_b checkpoint, fed the official vit_b encoder's outputs."""
    model, _ = load_model("vit_b", checkpoint=vit_b_checkpoint, device="cpu")
    diffs = compare_with_official(vit_b_export, model, IMAGE)
    assert set(diffs) == {k for k in OUTPUTS if not k.startswith("encoder.")}
    assert max(diffs.values()) < TOLERANCE, diffs


def test_the_check_sees_files_of_other_weights(tiny_export) -> None:
    """compare_with_official can fail: the vit_tiny files against a vit_tiny of other (seeded random) weights."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hqsam_nb.RandomWeightsWarning)
        other, _ = load_model("vit_tiny", weights="random", seed=9, device="cpu")
    diffs = compare_with_official(tiny_export, other, IMAGE)
    assert all(diffs[k] > 1e-2 for k in OUTPUTS if k != "hq_decoder.iou_predictions"), diffs


def test_int8_decoder_masks_agree_with_the_official_ones(tiny_export, checkpoint_dir: Path, tmp_path: Path) -> None:
    """An int8 HQ decoder (ONNX Runtime's dynamic quantization, as export_onnx(precision="int8") writes it) is
    really quantized (smaller, logits moved) and keeps the masks: benchmarks/onnx_parity.py measured a worst mask IoU
    of 0.988 (fused) / 0.993 (HQ token) against the official decoder on vit_tiny random weights; bound 0.95."""
    int8 = lower_export(tiny_export, tmp_path, "int8", parts="hq_decoder")
    assert set(int8.files) == {"hq_decoder"} and read_export(tmp_path).metadata["precision"] == "int8"
    meta = {p.key: p.value for p in onnx.load(str(int8.files["hq_decoder"])).metadata_props}
    assert meta["precision"] == "int8" and meta["checkpoint_sha256"] == tiny_export.checkpoint_sha256
    assert int8.files["hq_decoder"].stat().st_size < 0.5 * tiny_export.files["hq_decoder"].stat().st_size
    model, _ = load_model("vit_tiny", checkpoint=checkpoint_dir / "sam_hq_vit_tiny.pth", device="cpu")
    found = agreement_with_official(int8, model, IMAGE, cases="box_points_mask")  # one of three: quicker
    for branch in ("hq (selected)", "fused (selected)", "hq_masks", "fused_masks"):
        agreement = found[f"hq_decoder.{branch}"]
        assert 0.01 < agreement.official_share < 0.99, agreement  # masks with content: the IoU can fail
        assert agreement.max_abs > 1e-4, agreement  # other arithmetic than float32
        assert agreement.iou_worst >= 0.95, agreement


def test_files_record_their_provenance_and_interface(tiny_export, checkpoint_dir: Path) -> None:
    sha = file_sha256(checkpoint_dir / "sam_hq_vit_tiny.pth")
    assert tiny_export.checkpoint_sha256 == sha
    assert sorted(p.name for p in tiny_export.directory.iterdir()) == sorted([MANIFEST, *(f"{p}.onnx" for p in
                                                                                         PART_NAMES)])
    for part, path in tiny_export.files.items():
        proto = onnx.load(str(path))
        meta = {p.key: p.value for p in proto.metadata_props}
        assert meta["model"] == "vit_tiny" and meta["part"] == part
        assert meta["checkpoint_sha256"] == sha and meta["checkpoint"] == "sam_hq_vit_tiny.pth"
        assert meta["weights_kind"] == "random"  # the synthetic checkpoint's marker
        assert meta["opset"] == str(ONNX_OPSET) and meta["hqsam_nb_version"] == hqsam_nb.__version__
        assert {o.domain: o.version for o in proto.opset_import}[""] == ONNX_OPSET
        inputs, outputs = SPECS[part]
        assert [i.name for i in proto.graph.input] == [s.name for s in inputs]
        assert [o.name for o in proto.graph.output] == [s.name for s in outputs]
        assert meta["inputs"].splitlines()[0].startswith(inputs[0].name)
        if part != "encoder":  # dynamic number of objects and points
            coords = next(i for i in proto.graph.input if i.name == "point_coords")
            assert [d.dim_param or d.dim_value for d in coords.type.tensor_type.shape.dim] == ["num_objects",
                                                                                               "num_points", 2]
    encoder_meta = {p.key: p.value for p in onnx.load(str(tiny_export.files["encoder"])).metadata_props}
    assert json.loads(encoder_meta["pixel_mean"]) == pytest.approx([123.675, 116.28, 103.53])
    assert read_export(tiny_export.directory).metadata == tiny_export.metadata


def test_plain_onnxruntime_runs_the_files_as_the_readme_shows(tiny_export, tiny_pair) -> None:
    """The README's example, without hqsam-nb: preprocess, encoder, HQ decoder, upsample -> the pair's fused mask."""
    import onnxruntime as ort
    from PIL import Image

    folder = tiny_export.directory
    encoder = ort.InferenceSession(str(folder / "encoder.onnx"), providers=["CPUExecutionProvider"])
    decoder = ort.InferenceSession(str(folder / "hq_decoder.onnx"), providers=["CPUExecutionProvider"])
    meta = encoder.get_modelmeta().custom_metadata_map
    mean, std = np.array(json.loads(meta["pixel_mean"])), np.array(json.loads(meta["pixel_std"]))
    image = IMAGE  # RGB uint8, H x W x 3
    h, w = image.shape[:2]
    nh, nw = int(h * 1024 / max(h, w) + 0.5), int(w * 1024 / max(h, w) + 0.5)
    resized = np.asarray(Image.fromarray(image).resize((nw, nh), Image.BILINEAR), np.float32)
    x = np.zeros((1, 3, 1024, 1024), np.float32)
    x[0, :, :nh, :nw] = ((resized - mean) / std).transpose(2, 0, 1)
    embeddings, _, hq_features = encoder.run(None, {"image": x})
    # one positive click at (x, y) = (150, 120) in image pixels, then the padding point (no box)
    coords = np.array([[[150 * nw / w, 120 * nh / h], [0.0, 0.0]]], np.float32)
    masks, scores, hq_mask, fused_mask = decoder.run(None, {
        "image_embeddings": embeddings, "hq_features": hq_features, "point_coords": coords,
        "point_labels": np.array([[1, -1]], np.float32), "mask_input": np.zeros((1, 1, 256, 256), np.float32),
        "has_mask_input": np.zeros(1, np.float32)})
    up = torch.nn.functional.interpolate(torch.from_numpy(fused_mask), (1024, 1024), mode="bilinear")
    up = torch.nn.functional.interpolate(up[..., :nh, :nw], (h, w), mode="bilinear")
    mask = up[0, 0].numpy() > 0

    tiny_pair.set_image(IMAGE)
    ref = tiny_pair.predict(points=[[150, 120]], labels=[1]).fused
    assert_masks_match(mask[None], ref.mask[None], fused_mask[0], ref.logits[None], what="README example")
    assert float(scores[0, 0]) == pytest.approx(ref.score, abs=1e-4)


def test_onnx_pair_matches_the_torch_pair(onnx_pair, tiny_pair) -> None:
    assert onnx_pair.backend == "onnx" and tiny_pair.backend == "torch"
    assert onnx_pair.info == tiny_pair.info and onnx_pair.sam_info == tiny_pair.sam_info  # same provenance
    h, w = IMAGE.shape[:2]
    for pair in (onnx_pair, tiny_pair):
        pair.set_image(IMAGE)
    prompts = [dict(points=[[w * 0.45, h * 0.5], [w * 0.9, h * 0.1]], labels=[1, 0]),
               dict(box=[w * 0.2, h * 0.25, w * 0.7, h * 0.75]),
               dict(points=[[w * 0.4, h * 0.5]], labels=[1], box=[w * 0.2, h * 0.25, w * 0.7, h * 0.75],
                    multimask=True)]
    for prompt in prompts:
        ours, ref = onnx_pair.predict(**prompt), tiny_pair.predict(**prompt)
        for key in ("sam", "hq", "fused"):
            a, b = ours.branch(key), ref.branch(key)
            assert_masks_match(a.mask[None], b.mask[None], a.logits, b.logits, what=f"{prompt} {key}")
            assert a.score == pytest.approx(b.score, abs=1e-4)
        refined = onnx_pair.predict(**{k: v for k, v in prompt.items() if k != "multimask"},
                                    mask_input=ours.fused.logits, only="hq")
        expected = tiny_pair.predict(**{k: v for k, v in prompt.items() if k != "multimask"},
                                     mask_input=ref.fused.logits, only="hq")
        assert refined.sam is None
        assert_masks_match(refined.hq.mask[None], expected.hq.mask[None], refined.hq.logits, expected.hq.logits)
    boxes = [[10, 10, 100, 100], [50, 60, 250, 200], [0, 0, w - 1, h - 1]]
    ours, ref = onnx_pair.predict_batch(boxes=boxes, batch_size=2), tiny_pair.predict_batch(boxes=boxes)
    for key in ("sam", "hq", "fused"):
        a, b = ours.branch(key), ref.branch(key)
        assert_masks_match(a.masks, b.masks, a.logits, b.logits, what=f"batch {key}")
        np.testing.assert_allclose(a.scores, b.scores, atol=1e-4, rtol=0)


def test_the_cache_export_is_reused_for_the_same_checkpoint(tiny_export, checkpoint_dir: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """load_pair(backend="onnx") without onnx_dir finds the files of this checkpoint in the cache (keyed by its
    SHA-256); a folder of another checkpoint's files is refused, not overwritten."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("HQSAM_NB_CACHE", str(cache))
    shutil.copytree(tiny_export.directory, cache / "onnx" / f"vit_tiny-{tiny_export.checkpoint_sha256[:16]}")

    def no_export(*args, **kwargs):
        raise AssertionError("exported again although the cache holds this checkpoint's files")

    monkeypatch.setattr("hqsam_nb.onnx.export.export_model", no_export)
    pair = hqsam_nb.load_pair("vit_tiny", device="cpu", backend="onnx")
    assert pair.onnx.export.checkpoint_sha256 == tiny_export.checkpoint_sha256

    other = tmp_path / "sam_hq_vit_tiny.pth"
    hqsam_nb.save_random_checkpoint(other, "vit_tiny", seed=5)
    net, info = load_model("vit_tiny", checkpoint=other, device="cpu")
    with pytest.raises(ValueError, match=r"exported from checkpoint sam_hq_vit_tiny\.pth .*not from the loaded"):
        export_for(net, info, tiny_export.directory)


def test_backend_errors(checkpoint_dir: Path) -> None:
    with pytest.raises(ValueError, match="backend='tf' is not accepted; use one of 'torch', 'onnx'"):
        hqsam_nb.load_pair("vit_tiny", device="cpu", backend="tf")
    with pytest.raises(ValueError, match="backend='onnx' runs the exported float32 models"):
        hqsam_nb.load_pair("vit_tiny", device="cpu", backend="onnx", compile=True)
    with pytest.raises(ValueError, match="onnx_dir= is for backend='onnx'"):
        hqsam_nb.load_pair("vit_tiny", device="cpu", onnx_dir=checkpoint_dir)
    with pytest.raises(ValueError, match="parts=.*use some of encoder, sam_decoder, hq_decoder"):
        export_onnx("vit_tiny", checkpoint_dir / "x", parts=("decoder",))


def test_prompt_convention_matches_the_official_prompt_encoder() -> None:
    """decoder_prompt: points then one (0, 0) padding point labelled -1 without a box, the box's corners labelled 2
    and 3 with one; as PromptEncoder.forward embeds them."""
    prompts = hqsam_nb.make_prompt_batch(points=[[[10, 20], [30, 40]]], labels=[[1, 0]], image_size=(100, 200))
    coords, labels = decoder_prompt(*prompt_tensors(prompts, (100, 200), 1024, "cpu"))
    np.testing.assert_allclose(coords, [[[51.2, 102.4], [153.6, 204.8], [0, 0]]], rtol=1e-6)
    assert labels.tolist() == [[1, 0, -1]]
    prompts = hqsam_nb.make_prompt_batch(boxes=[[10, 20, 30, 40]], image_size=(100, 200))
    coords, labels = decoder_prompt(*prompt_tensors(prompts, (100, 200), 1024, "cpu"))
    np.testing.assert_allclose(coords, [[[51.2, 102.4], [153.6, 204.8]]], rtol=1e-6)
    assert labels.tolist() == [[2, 3]]
