"""The pair predictor: parity with the official predictors on the same weights, caching, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import assert_masks_match, encoder_runs_once, make_image

import hqsam_nb

IMAGES = {"landscape": (480, 640), "portrait": (640, 360), "small": (50, 70)}


def _prompts(h: int, w: int) -> dict[str, dict]:
    return {
        "points_with_negatives": {"points": [[w * 0.45, h * 0.5], [w * 0.9, h * 0.1], [w * 0.2, h * 0.8]],
                                  "labels": [1, 0, 0]},
        "box": {"box": [w * 0.2, h * 0.25, w * 0.7, h * 0.75]},
        "box_and_points": {"points": [[w * 0.45, h * 0.5], [w * 0.05, h * 0.05]], "labels": [1, 0],
                           "box": [w * 0.2, h * 0.25, w * 0.7, h * 0.75]},
    }


def _official(predictor, prompt: dict, **kwargs):
    points = prompt.get("points")
    return predictor.predict(
        point_coords=None if points is None else np.asarray(points),
        point_labels=None if points is None else np.asarray(prompt["labels"]),
        box=None if "box" not in prompt else np.asarray(prompt["box"]),
        **kwargs,
    )


def _assert_same(result: hqsam_nb.MaskResult, masks, scores, logits, index: int = 0) -> None:
    assert result.logits.dtype == np.float32 and result.logits.shape == (256, 256)
    assert_masks_match(result.mask, masks[index], result.logits, logits[index])
    assert result.score == pytest.approx(float(scores[index]), abs=1e-5)


@pytest.mark.parametrize("image_name", list(IMAGES))
def test_parity_with_official_predictors(image_name: str, tiny_pair, tiny_official) -> None:
    h, w = IMAGES[image_name]
    image = make_image(h, w, seed=h)
    hq_pred, sam_pred = tiny_official
    hq_pred.set_image(image)
    sam_pred.set_image(image)
    tiny_pair.set_image(image)
    for name, prompt in _prompts(h, w).items():
        out = tiny_pair.predict(**prompt)
        _assert_same(out.hq, *_official(hq_pred, prompt, multimask_output=False, hq_token_only=True))
        _assert_same(out.fused, *_official(hq_pred, prompt, multimask_output=False, hq_token_only=False))
        _assert_same(out.sam, *_official(sam_pred, prompt, multimask_output=False))
        assert out.sam_candidates == (out.sam,)
        assert out.sam.mask.shape == (h, w), name


def test_multimask_gives_all_three_sam_candidates(tiny_pair, tiny_official) -> None:
    h, w = IMAGES["landscape"]
    image = make_image(h, w, seed=1)
    hq_pred, sam_pred = tiny_official
    hq_pred.set_image(image)
    sam_pred.set_image(image)
    tiny_pair.set_image(image)
    prompt = {"points": [[w * 0.45, h * 0.5]], "labels": [1]}
    out = tiny_pair.predict(**prompt, multimask=True)
    masks, scores, logits = _official(sam_pred, prompt, multimask_output=True)
    assert len(out.sam_candidates) == 3 == len(masks)
    for i, cand in enumerate(out.sam_candidates):
        _assert_same(cand, masks, scores, logits, index=i)
    assert out.sam is out.sam_candidates[int(np.argmax(scores))]
    # The official HQ predictor with multimask_output=True returns ONE mask: best SAM candidate fused with HQ.
    _assert_same(out.fused, *_official(hq_pred, prompt, multimask_output=True, hq_token_only=False))
    _assert_same(out.hq, *_official(hq_pred, prompt, multimask_output=True, hq_token_only=True))


def test_one_encoder_pass_per_image_and_lru_cache(checkpoint_dir: Path) -> None:
    pair = hqsam_nb.load_pair("vit_tiny", device="cpu", cache_size=2)
    a, b, c = (make_image(40, 60, seed=s) for s in range(3))
    pair.set_image(a)
    first = pair.predict(box=[5, 5, 50, 30])
    pair.set_image(b)
    pair.set_image(a.copy())  # same content, another array: served from the cache
    assert pair.encoder_passes == 2
    again = pair.predict(box=[5, 5, 50, 30])
    assert np.array_equal(first.fused.mask, again.fused.mask)
    pair.set_image(c)  # evicts b (least recently used)
    pair.set_image(a)
    assert pair.encoder_passes == 3
    pair.set_image(b)
    assert pair.encoder_passes == 4
    assert pair.image is not None and pair.original_size == (40, 60)


def test_sam_is_the_same_decoder_as_the_hq_checkpoints_frozen_sam(tiny_pair) -> None:
    hq_dec = tiny_pair.model.mask_decoder
    assert tiny_pair.sam_decoder.transformer is hq_dec.transformer  # shared, not copied
    assert tiny_pair.sam_decoder.output_hypernetworks_mlps is hq_dec.output_hypernetworks_mlps
    assert type(tiny_pair.sam_decoder).__name__ == "MaskDecoder"


def test_separate_sam_checkpoint_with_the_same_encoder(tmp_path: Path, checkpoint_dir: Path, tiny_official) -> None:
    hq_state = torch.load(checkpoint_dir / "sam_hq_vit_tiny.pth", weights_only=True)
    sam_state = hqsam_nb.models.random_state_dict("vit_tiny", hq=False, seed=7)
    for k in sam_state:  # same frozen encoder as the HQ file, a different SAM decoder
        if not k.startswith("mask_decoder."):
            sam_state[k] = hq_state[k]
    path = tmp_path / "mobile_sam.pt"
    torch.save(sam_state, path)
    pair = hqsam_nb.load_pair("vit_tiny", sam_checkpoint=path, device="cpu")
    assert pair.sam_decoder.transformer is not pair.model.mask_decoder.transformer
    assert pair.sam_info.path == path and pair.sam_info.hq is False

    from segment_anything_hq import SamPredictor

    baseline = hqsam_nb.build_model("vit_tiny", hq=False)
    baseline.load_state_dict(sam_state)
    baseline.eval()
    official = SamPredictor(baseline)
    image = make_image(64, 96, seed=3)
    official.set_image(image)
    pair.set_image(image)
    prompt = {"points": [[40, 30]], "labels": [1]}
    _assert_same(pair.predict(**prompt).sam, *_official(official, prompt, multimask_output=False))
    assert pair.encoder_passes == 1


def test_sam_checkpoint_with_another_encoder_gets_its_own_pass(tmp_path: Path) -> None:
    path = tmp_path / "other_sam.pt"
    torch.save(hqsam_nb.models.random_state_dict("vit_tiny", hq=False, seed=9), path)
    pair = hqsam_nb.load_pair("vit_tiny", sam_checkpoint=path, device="cpu")
    pair.set_image(make_image(32, 32))
    out = pair.predict(points=[[16, 16]])
    assert pair.encoder_passes == 2 and out.sam.mask.shape == (32, 32)


class _LinearEncoder(torch.nn.Module):
    """A stand-in image encoder with the official interface (``B x 3 x 1024 x 1024`` -> the embedding
    ``B x 256 x 64 x 64`` and a list of early features ``B x 64 x 64 x C``), made of two Linear layers: autocast runs
    them in bfloat16, so its outputs ARE bfloat16 (the official ViT's last LayerNorm hands out float32, which would
    hide a missing cast), and it costs milliseconds where TinyViT at 1024 px in bfloat16 takes minutes on a CPU
    without native bfloat16 (CI's: 160 s; its convolutions fall back to ATen's slow path)."""

    img_size = 1024

    def __init__(self, vit_dim: int) -> None:
        super().__init__()
        self.early, self.neck = torch.nn.Linear(3, vit_dim), torch.nn.Linear(vit_dim, 256)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        early = self.early(torch.nn.functional.avg_pool2d(x, 16).permute(0, 2, 3, 1))  # one token per 16 px patch
        return self.neck(early).permute(0, 3, 1, 2), [early]


def test_bfloat16_encoder_keeps_decoder_inputs_float32(checkpoint_dir: Path) -> None:
    """encoder_dtype='bfloat16': the image encoder runs under bfloat16 autocast, and what it hands out (the
    embedding and the early feature, both bfloat16 here) reaches the decoders as float32."""
    pair = hqsam_nb.load_pair("vit_tiny", device="cpu", encoder_dtype="bfloat16")
    pair.model.image_encoder = _LinearEncoder(pair.model.mask_decoder.compress_vit_feat[0].in_channels)
    seen = []
    pair.model.image_encoder.register_forward_hook(lambda _m, _i, out: seen.append((out[0].dtype, out[1][0].dtype)))
    pair.set_image(make_image(48, 64))
    assert seen == [(torch.bfloat16, torch.bfloat16)]  # the encoder ran under bfloat16 autocast
    assert pair.image_embedding.dtype == torch.float32
    out = pair.predict(box=[4, 4, 40, 30])
    for key in ("sam", "hq", "fused"):
        result = getattr(out, key)
        assert result.logits.dtype == np.float32 and np.isfinite(result.logits).all(), key
        assert result.mask.shape == (48, 64)


def test_errors_at_the_boundary(tiny_pair, checkpoint_dir: Path) -> None:
    fresh = hqsam_nb.load_pair("vit_tiny", device="cpu")
    with pytest.raises(RuntimeError, match="call pair.set_image"):
        fresh.predict(points=[[1, 1]])
    fresh.set_image(make_image(20, 30))
    with pytest.raises(ValueError, match="outside the image"):
        fresh.predict(points=[[31, 1]])
    with pytest.raises(ValueError, match="no prompt given"):
        fresh.predict()
    for bad in ("no", 1):  # "no" is truthy: it must not quietly mean multimask=True
        with pytest.raises(TypeError, match="multimask must be True or False"):
            fresh.predict(points=[[1, 1]], multimask=bad)
        with pytest.raises(TypeError, match="multimask must be True or False"):
            fresh.predict_batch(boxes=[[0, 0, 10, 10]], multimask=bad)
    with pytest.raises(ValueError, match="encoder_dtype"):
        hqsam_nb.load_pair("vit_tiny", device="cpu", encoder_dtype="int8")
    with pytest.raises(ValueError, match="float16.*GPU"):
        hqsam_nb.load_pair("vit_tiny", device="cpu", encoder_dtype="float16")
    with pytest.raises(ValueError, match="sam_checkpoint"):
        hqsam_nb.load_pair("vit_tiny", weights="random", sam_checkpoint="x.pth")


def test_vit_b_parity(vit_b_checkpoint: Path) -> None:
    """One ViT (not TinyViT) variant end to end: the early feature is the first global-attention block's.

    Ours, the official HQ predictor and the official SAM predictor share one vit_b encoder pass (HQ-SAM keeps
    SAM's encoder frozen, so the baseline model is given the same module): the pass runs once, which also proves
    all three fed it the same input tensor, bit for bit."""
    from segment_anything_hq import SamPredictor, sam_model_registry_baseline
    from test_pair_batch import BOXES, _assert_batch, _official_torch

    pair = hqsam_nb.load_pair("vit_b", device="cpu")
    official = SamPredictor(pair.model)  # the same loaded weights, the official predictor class
    sam_model = sam_model_registry_baseline["vit_b"](checkpoint=None)
    sam_model.load_state_dict({k: v for k, v in pair.model.state_dict().items() if k in sam_model.state_dict()})
    sam_model.image_encoder = pair.model.image_encoder  # the same weights: one module, one pass
    sam_official = SamPredictor(sam_model.eval())
    image = make_image(120, 160, seed=5)
    with encoder_runs_once(pair.model.image_encoder) as passes:
        official.set_image(image)
        pair.set_image(image)
        sam_official.set_image(image)
    assert len(passes) == 1
    prompt = {"points": [[70, 60], [150, 10]], "labels": [1, 0], "box": [30, 30, 110, 90]}
    out = pair.predict(**prompt)
    _assert_same(out.hq, *_official(official, prompt, multimask_output=False, hq_token_only=True))
    _assert_same(out.fused, *_official(official, prompt, multimask_output=False, hq_token_only=False))
    _assert_same(out.sam, *_official(sam_official, prompt, multimask_output=False))
    # Many objects on the same encoder pass: equal to the official predict_torch (HQ) and baseline SAM's.
    boxes = BOXES[:3] * [160 / 128, 120 / 96, 160 / 128, 120 / 96]
    batch = pair.predict_batch(boxes=boxes, batch_size=2)
    _assert_batch(batch.hq, *_official_torch(official, boxes=boxes, multimask_output=False, hq_token_only=True))
    _assert_batch(batch.fused, *_official_torch(official, boxes=boxes, multimask_output=False, hq_token_only=False))
    _assert_batch(batch.sam, *_official_torch(sam_official, boxes=boxes, multimask_output=False))


def test_only_one_decoder(tiny_pair) -> None:
    tiny_pair.set_image(make_image(60, 80, seed=4))
    prompt = {"points": [[30, 30], [70, 10]], "labels": [1, 0], "box": [10, 10, 60, 50]}
    both = tiny_pair.predict(**prompt, multimask=True)
    hq = tiny_pair.predict(**prompt, multimask=True, only="hq")
    sam = tiny_pair.predict(**prompt, multimask=True, only="sam")
    assert hq.sam is None and hq.sam_candidates == ()
    assert sam.hq is None and sam.fused is None
    for got, ref in ((hq.hq, both.hq), (hq.fused, both.fused), (sam.sam, both.sam)):
        assert np.array_equal(got.mask, ref.mask) and np.array_equal(got.logits, ref.logits)
        assert got.score == ref.score
    assert [c.score for c in sam.sam_candidates] == [c.score for c in both.sam_candidates]
    with pytest.raises(ValueError, match="only='both' is not accepted"):
        tiny_pair.predict(**prompt, only="both")


def test_merge_completes_a_one_decoder_prediction(tiny_pair) -> None:
    tiny_pair.set_image(make_image(60, 80, seed=4))
    both = tiny_pair.predict(box=[10, 10, 60, 50])
    merged = tiny_pair.predict(box=[10, 10, 60, 50], only="hq").merge(tiny_pair.predict(box=[10, 10, 60, 50],
                                                                                         only="sam"))
    for key in ("sam", "hq", "fused"):
        assert np.array_equal(getattr(merged, key).mask, getattr(both, key).mask)
    with pytest.raises(ValueError, match="different prompts"):
        merged.merge(tiny_pair.predict(box=[0, 0, 5, 5]))


def test_compile_falls_back_to_eager_when_compiling_fails(tiny_pair, monkeypatch, caplog) -> None:
    """A machine without a working compiler: the compiled decoders fail on first use, the eager ones answer."""
    from hqsam_nb.pair import predictor as pair_module

    def broken_compile(fn, **kwargs):
        def call(*args, **kw):
            raise RuntimeError("InductorError: no C++ compiler found")
        return call

    monkeypatch.setattr(pair_module.torch, "compile", broken_compile)
    compiled = hqsam_nb.PairPredictor(tiny_pair.model, tiny_pair.sam_decoder, info=tiny_pair.info,
                                      sam_info=tiny_pair.sam_info, compile=True)
    image = make_image(40, 60, seed=8)
    compiled.set_image(image)
    tiny_pair.set_image(image)
    out, ref = compiled.predict(box=[5, 5, 50, 30]), tiny_pair.predict(box=[5, 5, 50, 30])
    assert np.array_equal(out.fused.mask, ref.fused.mask) and np.array_equal(out.sam.mask, ref.sam.mask)
    assert "torch.compile of the decoders failed" in caplog.text


def test_compiled_decoders_agree_with_eager(tiny_pair) -> None:
    """The opt-in torch.compile path (TorchInductor on CPU): the same masks up to float rounding. One graph is
    compiled for both decoders (dynamic shapes: the second prompt, of other sizes, reuses it)."""
    compiled = hqsam_nb.PairPredictor(tiny_pair.model, tiny_pair.sam_decoder, info=tiny_pair.info,
                                      sam_info=tiny_pair.sam_info, compile=True)
    image = make_image(64, 96, seed=9)
    with encoder_runs_once(tiny_pair.model.image_encoder) as passes:  # the decoders are what is compiled
        compiled.set_image(image)
        tiny_pair.set_image(image)
    assert len(passes) == 1
    for prompt in ({"points": [[40, 30]], "labels": [1]}, {"points": [[40, 30], [90, 5]], "labels": [1, 0],
                                                           "box": [10, 10, 80, 60]}):
        out, ref = compiled.predict(**prompt), tiny_pair.predict(**prompt)
        for key in ("sam", "hq", "fused"):
            got, want = getattr(out, key), getattr(ref, key)
            # Inductor fuses and reorders the reductions: logits within 1e-3 rather than the default 1e-4.
            assert_masks_match(got.mask, want.mask, got.logits, want.logits, atol=1e-3, what=key)
