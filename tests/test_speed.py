"""Speed and size helpers: parameter counts by branch, timings and memory that make sense."""

from __future__ import annotations

from hqsam_nb.evaluation.speed import measure_speed, model_size, speed_rows
from hqsam_nb.io.synthetic import thin_structure_scene
from hqsam_nb.models.loading import HQ_PARAM_PREFIXES


def test_model_size_splits_sam_and_hq(tiny_pair) -> None:
    size = model_size(tiny_pair)
    total = sum(p.numel() for p in tiny_pair.model.parameters())
    hq = sum(p.numel() for n, p in tiny_pair.model.named_parameters()
             if n.startswith("mask_decoder.") and n.split(".")[1] in HQ_PARAM_PREFIXES)
    assert size.hq_params == total and size.hq_extra_params == hq > 0
    # The paper: Light HQ-SAM is 40.3 MB of which ~1.7 are learnable; HQ adds well under 5 % to SAM.
    assert 38 < size.mb(size.hq_params) < 42 and size.hq_extra_params < 0.05 * size.sam_params


def test_measure_speed_cpu(tiny_pair) -> None:
    image = thin_structure_scene("frame", (120, 160), seed=0)[0]
    results = measure_speed(tiny_pair, image, repeats=1, warmup=0)
    assert [r.branch for r in results] == ["SAM", "HQ-SAM"]
    sam, hq = results
    assert sam.encoder_ms == hq.encoder_ms > 0 and sam.decoder_ms > 0 and hq.decoder_ms > 0
    assert hq.images_per_s == 1e3 / (hq.encoder_ms + hq.decoder_ms)
    assert sam.memory_kind == "process RSS" and sam.peak_memory_mb > 50
    assert hq.total_mb > sam.total_mb and hq.learnable_mb < 0.1 * sam.learnable_mb
    header, rows = speed_rows(results)
    assert len(rows) == 2 and len(header) == len(rows[0]) and rows[1][0] == "HQ-SAM vit_tiny"
