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
    # memory per model on a CPU: its parameters + the peak of live activations (not the whole process)
    assert sam.memory_kind == "parameters + peak activations"
    assert sam.total_mb < sam.peak_memory_mb and hq.total_mb < hq.peak_memory_mb
    assert 1 < sam.activation_mb < 2000 and hq.activation_mb > 0
    assert hq.total_mb > sam.total_mb and hq.learnable_mb < 0.1 * sam.learnable_mb
    header, rows = speed_rows(results)
    assert len(rows) == 2 and len(header) == len(rows[0])
    assert [r[0] for r in rows] == ["MobileSAM (vit_tiny)", "Light HQ-SAM (vit_tiny)"]


def test_time_call_warms_up_and_takes_the_median() -> None:
    import pytest

    from hqsam_nb.util import time_call

    calls = []
    t = time_call(lambda: calls.append(1), repeats=3, warmup=2)
    assert len(calls) == 5 and t.repeats == 3 and t.warmup == 2 and 0 <= t.min_ms <= t.median_ms
    with pytest.raises(ValueError, match="repeats"):
        time_call(lambda: None, repeats=0)


def test_peak_activation_bytes_counts_what_the_call_allocates() -> None:
    import torch

    from hqsam_nb.evaluation.speed import peak_activation_bytes

    x = torch.ones(1000)  # exists before: not counted

    def work() -> torch.Tensor:
        a = x * 2        # 4000 bytes
        b = a + 1        # 4000 more: both alive
        del a
        return b.sum()   # a freed; b + the scalar

    peak = peak_activation_bytes(work)
    assert 8000 <= peak < 8000 + 64
