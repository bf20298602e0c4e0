"""Architecture introspection: counts from named_parameters, HQ additions vs baseline SAM, traces vs outputs.

Heavy variants (vit_l, vit_h) are checked on the meta device (structure and shapes, no memory); a real
forward runs for vit_tiny (the session's synthetic checkpoint) and once for vit_b (random init).
"""

from __future__ import annotations

import math
import warnings

import matplotlib
import numpy as np
import pytest
import torch
from helpers import make_image

import hqsam_nb
from hqsam_nb import architecture as arch
from hqsam_nb.models.loading import HQ_PARAM_PREFIXES

matplotlib.use("Agg")

VARIANTS = hqsam_nb.MODEL_NAMES
POINT = dict(points=[[150, 110]], labels=[1])


def _build(model: str, hq: bool) -> torch.nn.Module:
    """``hqsam_nb.build_model`` itself, under ``torch.device("meta")`` for the ViT variants (cheap)."""
    if model == "vit_tiny":
        return hqsam_nb.build_model(model, hq=hq)
    with torch.device("meta"):
        return hqsam_nb.build_model(model, hq=hq)


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return make_image(240, 320, seed=3)


@pytest.fixture(scope="module")
def tiny_model(tiny_pair: hqsam_nb.PairPredictor) -> torch.nn.Module:
    return tiny_pair.model


@pytest.fixture(scope="module")
def tiny_record(tiny_model: torch.nn.Module, image: np.ndarray) -> arch.ForwardRecord:
    return arch.record_forward(tiny_model, image, **POINT)


# ---------------------------------------------------------------------------------------------- parameters
@pytest.mark.parametrize("model", VARIANTS)
def test_parameter_table_sums_named_parameters(model: str) -> None:
    net = _build(model, hq=True)
    table = arch.parameter_table(net)
    named = dict(net.named_parameters())
    assert table.model == model and table.hq
    assert table.total.params == sum(p.numel() for p in named.values())
    assert table.total.trainable == sum(p.numel() for p in named.values() if p.requires_grad)
    for top in ("image_encoder", "prompt_encoder"):
        assert table[top].params == sum(p.numel() for n, p in named.items() if n.startswith(top + "."))
    for prefix in HQ_PARAM_PREFIXES:
        want = sum(p.numel() for n, p in named.items() if n.startswith(f"mask_decoder.{prefix}."))
        assert want > 0 and table[prefix].params == want
    decoder = sum(p.numel() for n, p in named.items() if n.startswith("mask_decoder."))
    assert table["mask_decoder (SAM)"].params + table.hq_additions.params == decoder
    assert table.total.mb == pytest.approx(table.total.params * 4 / 2**20)
    # The name-based table (built by meta_model) counts the same.
    assert arch.parameter_table(model).rows == table.rows


@pytest.mark.parametrize("model", VARIANTS)
def test_hq_additions_are_exactly_what_baseline_sam_lacks(model: str) -> None:
    hq_net, sam_net = _build(model, hq=True), _build(model, hq=False)
    hq_params, sam_params = dict(hq_net.named_parameters()), dict(sam_net.named_parameters())
    extra = set(hq_params) - set(sam_params)
    assert set(sam_params) <= set(hq_params)
    assert extra == set(arch.hq_parameter_names(hq_net))
    assert all(hq_params[n].shape == sam_params[n].shape for n in sam_params)
    hq_table, sam_table = arch.parameter_table(hq_net), arch.parameter_table(sam_net)
    assert hq_table.hq_additions.params == sum(hq_params[n].numel() for n in extra)
    assert hq_table.sam_part.params == sam_table.total.params
    assert sam_table.hq_additions.params == 0 and not sam_table.hq
    # The official HQ builder freezes SAM: exactly the additions are trainable.
    assert {n for n, p in hq_params.items() if p.requires_grad} == extra
    assert hq_table.total.trainable == hq_table.hq_additions.params


def test_loaded_model_counts_like_its_meta_twin(tiny_model: torch.nn.Module) -> None:
    assert arch.parameter_table(tiny_model).rows == arch.parameter_table("vit_tiny").rows


def test_meta_model_holds_no_memory() -> None:
    net = arch.meta_model("vit_h")
    assert {t.device.type for t in (*net.parameters(), *net.buffers())} == {"meta"}
    assert arch.parameter_table(net).model == "vit_h"


def test_summary_marks_paper_numbers_and_counts() -> None:
    text = arch.format_parameter_summary(("vit_tiny",), paper={"vit_tiny": {"hq_mb": 40.3}})
    table = arch.parameter_table("vit_tiny")
    assert f"{table.total.mb:.2f} (paper 40.3)" in text
    assert f"{table.hq_additions.millions:.3f}" in text


def test_bad_inputs_are_refused(image: np.ndarray) -> None:
    with pytest.raises(ValueError, match="vit_tiny"):
        arch.parameter_table("vit_x")
    with pytest.raises(TypeError, match="variant name"):
        arch.parameter_table(3)
    with pytest.raises(ValueError, match="not a parameter"):
        arch.component_of("pixel_mean")
    with pytest.raises(TypeError, match="HQ-SAM model"):
        arch.record_forward(_build("vit_tiny", hq=False), image, **POINT)
    with pytest.raises(ValueError, match="repeats"):
        arch.stage_costs(arch.meta_model("vit_tiny"), image, **POINT, repeats=0)


# ---------------------------------------------------------------------------------------------- trace
def _step(record: arch.ForwardRecord, module: str) -> arch.TraceStep:
    return next(s for s in record.steps if s.module == module)


def test_tiny_trace_matches_the_models_own_outputs(tiny_model, tiny_record, image) -> None:
    from segment_anything_hq.utils.transforms import ResizeLongestSide

    transform = ResizeLongestSide(1024)
    x = torch.as_tensor(transform.apply_image(image)).permute(2, 0, 1).float()
    coords = torch.as_tensor(transform.apply_coords(np.array(POINT["points"], float), image.shape[:2]))
    with torch.inference_mode():
        emb, interm = tiny_model.image_encoder(tiny_model.preprocess(x)[None])
        out = tiny_model([{"image": x, "original_size": image.shape[:2], "point_coords": coords[None].float(),
                           "point_labels": torch.tensor([[1]])}], multimask_output=False)[0]
    encoder_shapes = (tuple(emb.shape), *(tuple(t.shape) for t in interm))
    assert _step(tiny_record, "image_encoder").outputs == encoder_shapes
    assert tiny_record.steps[-1].outputs == tuple(tuple(out[k].shape) for k in
                                                  ("masks", "iou_predictions", "low_res_logits"))
    assert tiny_record.outputs == {k: tuple(v.shape) for k, v in out.items()}
    np.testing.assert_array_equal(tiny_record.low_res_logits, out["low_res_logits"][0].numpy())
    # Features are the official tensors, and the HQ features are what the official modules make of them.
    np.testing.assert_array_equal(tiny_record.features["embedding"], emb[0].numpy())
    np.testing.assert_array_equal(tiny_record.features["early_vit"], interm[0][0].permute(2, 0, 1).numpy())
    dec = tiny_model.mask_decoder
    with torch.inference_mode():
        hq = dec.embedding_encoder(emb) + dec.compress_vit_feat(interm[0].permute(0, 3, 1, 2))
    np.testing.assert_allclose(tiny_record.features["hq_features"], hq[0].numpy(), atol=1e-5)
    for name in arch.FEATURE_NAMES:
        shape = tiny_record.features[name].shape
        producer = {"early_vit": None, "embedding": "image_encoder.neck",
                    "hq_features": "mask_decoder.embedding_encoder",
                    "sam_mask_features": "mask_decoder.output_upscaling",
                    "hq_mask_features": "mask_decoder.embedding_maskfeature"}[name]
        if producer:
            assert _step(tiny_record, producer).outputs[0] == (1, *shape)


def test_trace_lists_stages_in_execution_order(tiny_record, image) -> None:
    # The meta-device trace (used for the heavy variants) is the real one.
    assert arch.record_forward(arch.meta_model("vit_tiny"), image, **POINT).steps == tiny_record.steps
    modules = [s.module for s in tiny_record.steps]
    order = ["image_encoder", "image_encoder.patch_embed", "image_encoder.neck", "prompt_encoder",
             "mask_decoder", "mask_decoder.embedding_encoder", "mask_decoder.transformer",
             "mask_decoder.output_upscaling", "mask_decoder.hf_mlp"]
    assert [modules.index(m) for m in order] == sorted(modules.index(m) for m in order)
    assert tiny_record.steps[0].outputs == ((240, 320, 3),)
    assert "|" in arch.format_trace(tiny_record)


@pytest.mark.parametrize("model", ["vit_l", "vit_h"])
def test_meta_trace_of_heavy_variants_follows_the_structure(model: str, image: np.ndarray) -> None:
    net = arch.meta_model(model)
    rec = arch.record_forward(net, image, **POINT)
    enc, dec = net.image_encoder, net.mask_decoder
    width = enc.pos_embed.shape[-1]
    n_global = sum(blk.window_size == 0 for blk in enc.blocks)
    first = next(i for i, blk in enumerate(enc.blocks) if blk.window_size == 0)
    grid = enc.img_size // enc.patch_embed.proj.kernel_size[0]
    emb_shape = (1, dec.transformer_dim, grid, grid)
    assert _step(rec, "image_encoder").outputs == (emb_shape, *[(1, grid, grid, width)] * n_global)
    assert _step(rec, f"image_encoder.blocks.{first}").outputs == ((1, grid, grid, width),)
    assert dec.compress_vit_feat[0].in_channels == width
    hq_shape = (1, dec.transformer_dim // 8, 4 * grid, 4 * grid)
    for module in ("mask_decoder.compress_vit_feat", "mask_decoder.embedding_encoder",
                   "mask_decoder.output_upscaling", "mask_decoder.embedding_maskfeature"):
        assert _step(rec, module).outputs == (hq_shape,)
    assert rec.outputs == {"masks": (1, 1, *image.shape[:2]), "iou_predictions": (1, 1),
                           "low_res_logits": (1, 1, *hq_shape[2:])}
    assert rec.features == {} and rec.token_logits is None


def test_vit_b_real_forward_trace_equals_its_meta_trace(image: np.ndarray) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hqsam_nb.RandomWeightsWarning)
        torch.manual_seed(0)
        net = hqsam_nb.build_model("vit_b").eval()
    real = arch.record_forward(net, image, **POINT)
    meta = arch.record_forward(arch.meta_model("vit_b"), image, **POINT)
    assert real.steps == meta.steps
    assert real.features["early_vit"].shape == (net.image_encoder.pos_embed.shape[-1], 64, 64)
    assert real.low_res_logits.shape == real.outputs["low_res_logits"][1:]


# ---------------------------------------------------------------------------------------------- tokens
def test_token_masks_sum_to_the_models_output(tiny_model, tiny_record, image) -> None:
    rec = tiny_record
    hq = rec.hq_token_index - 1
    assert rec.token_logits.shape == (tiny_model.mask_decoder.num_mask_tokens, 256, 256)
    np.testing.assert_allclose(rec.token_logits[0] + rec.token_logits[hq], rec.low_res_logits[0], atol=1e-6)
    hq_only = arch.record_forward(tiny_model, image, **POINT, hq_token_only=True)
    np.testing.assert_array_equal(hq_only.low_res_logits[0], rec.token_logits[hq])
    multi = arch.record_forward(tiny_model, image, **POINT, multimask=True)
    best = 1 + int(np.argmax(rec.token_scores[1:]))
    expected = rec.token_logits[best] + rec.token_logits[hq]
    np.testing.assert_allclose(multi.low_res_logits[0], expected, atol=1e-6)


def test_attention_weights_reproduce_the_official_attention_output(tiny_model, image) -> None:
    attn_mod = tiny_model.mask_decoder.transformer.final_attn_token_to_image
    seen = {}

    def hook(_m, args, kwargs, out):
        seen.update(kwargs, out=out)

    handle = attn_mod.register_forward_hook(hook, with_kwargs=True)
    try:
        rec = arch.record_forward(tiny_model, image, **POINT)
    finally:
        handle.remove()
    weights = torch.as_tensor(rec.attention["final"])  # heads x tokens x 64 x 64
    heads, tokens = weights.shape[:2]
    flat = weights.reshape(1, heads, tokens, -1)
    np.testing.assert_allclose(flat.sum(-1).numpy(), 1.0, atol=1e-5)
    with torch.inference_mode():
        v = attn_mod._separate_heads(attn_mod.v_proj(seen["v"]), attn_mod.num_heads)
        out = attn_mod.out_proj(attn_mod._recombine_heads(flat @ v))
    np.testing.assert_allclose(out.numpy(), seen["out"].numpy(), atol=1e-5)
    assert rec.token_names[:6] == ("iou", "sam_0", "sam_1", "sam_2", "sam_3", "hq")
    assert len(rec.token_names) == tokens
    hq_map = rec.attention_map("hq")
    assert hq_map.shape == (64, 64) and hq_map.sum() == pytest.approx(1.0, abs=1e-4)
    with pytest.raises(ValueError, match="token="):
        rec.attention_map("nope")


def test_recording_leaves_no_hooks_behind(tiny_model, image) -> None:
    arch.record_forward(tiny_model, image, **POINT)
    assert "predict_masks" not in vars(tiny_model.mask_decoder)
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in tiny_model.modules())


# ---------------------------------------------------------------------------------------------- costs
def test_stage_flops_on_meta_equal_the_real_count(tiny_model, image) -> None:
    meta = {c.stage: c for c in arch.stage_costs(arch.meta_model("vit_tiny"), image, **POINT)}
    real = {c.stage: c for c in arch.stage_costs(tiny_model, image, **POINT, repeats=1, warmup=0)}
    assert meta.keys() == real.keys()
    for stage in meta:
        assert meta[stage].flops == real[stage].flops
        assert meta[stage].ms is None
    for stage in ("image encoder", "prompt encoder", "SAM mask decoder", "HQ-SAM mask decoder"):
        assert real[stage].ms is not None and real[stage].ms > 0
    extra = real["HQ-SAM mask decoder"].flops - real["SAM mask decoder"].flops
    assert real["HQ additions"].flops == extra > 0
    # Per-module rows are what FlopCounterMode counts for those official modules on their own.
    from torch.utils.flop_counter import FlopCounterMode

    rec = arch.record_forward(tiny_model, image, **POINT)
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        tiny_model.mask_decoder.compress_vit_feat(torch.as_tensor(rec.features["early_vit"])[None])
    assert real["HQ additions: compress_vit_feat"].flops == counter.get_total_flops()
    assert "GFLOPs" in arch.format_costs(tuple(real.values()))


# ---------------------------------------------------------------------------------------------- pictures
def test_pca_rgb_recovers_dominant_patterns() -> None:
    rng = np.random.default_rng(0)
    h, w = 24, 32
    yy, xx = np.mgrid[0:h, 0:w]
    patterns = np.stack([xx / w - 0.5, yy / h - 0.5, np.sin(xx / 3.0) * 0.5]).reshape(3, -1)
    mixing = np.linalg.qr(rng.normal(size=(16, 3)))[0] * np.array([9.0, 6.0, 3.0])
    feats = (mixing @ patterns).reshape(16, h, w) + rng.normal(0, 0.01, (16, h, w))
    rgb = arch.pca_rgb(feats.astype(np.float32))
    assert rgb.shape == (h, w, 3) and rgb.dtype == np.uint8
    for c in range(3):
        corr = np.corrcoef(rgb[..., c].ravel().astype(float), patterns[c])[0, 1]
        assert abs(corr) > 0.95
    np.testing.assert_array_equal(arch.pca_rgb(feats), arch.pca_rgb(feats.copy()))
    padded = np.concatenate([feats, np.zeros((16, 8, w))], axis=1)
    assert arch.pca_rgb(padded, valid=(h, w)).shape == (h + 8, w, 3)


@pytest.mark.parametrize("bad", [np.zeros((4, 4)), np.zeros((2, 4, 4)), np.zeros((3, 4, 4), dtype=np.int64)])
def test_pca_rgb_refuses_bad_input(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="C x H x W"):
        arch.pca_rgb(bad)


def test_plots_draw(tiny_record, image) -> None:
    import matplotlib.pyplot as plt

    figures = ((arch.plot_framework(), 1), (arch.plot_features(tiny_record), len(arch.FEATURE_NAMES)),
               (arch.plot_token_story(tiny_record, image), 8))
    for fig, n_axes in figures:
        assert len(fig.axes) == n_axes
        plt.close(fig)
    meta = arch.record_forward(arch.meta_model("vit_tiny"), image, **POINT)
    with pytest.raises(RuntimeError, match="meta"):
        arch.plot_features(meta)
    assert math.isfinite(float(tiny_record.features["hq_features"].std()))
