"""The ONNX Runtime backend vs the official PyTorch code, measured in one run on a CPU (random weights).

Per model (default vit_tiny and vit_b), with ``--threads`` threads (default 2) for PyTorch and ONNX Runtime alike:

* click -> all three masks: ``load_pair(..., backend="onnx").predict`` / one official HQ ``predict``  target <= 0.75
* ``predict_batch`` K = 32 boxes (ONNX backend) / the three official ``predict_torch`` calls on the 32 boxes
  (HQ ``hq_token_only=True``, HQ ``False``, baseline SAM)                                              target <= 0.30
* segment everything, three branches (``PairMaskGenerator`` on the ONNX pair) / the official SAM generator on the
  baseline model + the official HQ-SAM generator, each measurement in a fresh process, peak memory (RSS growth)
  stated                                                                                              target <= 0.50

The torch pair's click and batch are measured in the same rounds, for reference. The machine this was written on is
shared and loaded, so each figure is the **median** of ``--reps`` interleaved repetitions (one of each contender per
round, so that load drifts hit all alike); segment everything reports CPU time besides wall time. Image: 1024 x 768
``astronaut_shuttle``. The ONNX files are exported once into the cache (``$HQSAM_NB_CACHE``), not timed.

Usage::

    python benchmarks/bench_onnx.py                                  # vit_tiny and vit_b, 2 threads
    python benchmarks/bench_onnx.py --models vit_tiny --reps 5 --points 8 --keep-all
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

import hqsam_nb

sys.path.insert(0, str(Path(__file__).parent))
from bench_batch import _boxes  # noqa: E402  (the same 32 random boxes)
from bench_everything import _image, _run  # noqa: E402  (the same image, fresh-process measurement)
from bench_pair import _official_predictors  # noqa: E402  (the official predictors on the pair's weights)


def _medians(fns: dict[str, Callable[[], object]], reps: int) -> dict[str, float]:
    """Median ms of each function over ``reps`` interleaved rounds (after one warm-up call each)."""
    for fn in fns.values():
        fn()
    samples: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            samples[name].append((time.perf_counter() - t0) * 1e3)
    return {k: statistics.median(v) for k, v in samples.items()}


def clicks_and_batches(model: str, reps: int, k: int) -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch_pair = hqsam_nb.load_pair(model, device="cpu", weights="random")
        t0 = time.perf_counter()
        onnx_pair = hqsam_nb.load_pair(model, device="cpu", weights="random", backend="onnx")
        load_s = time.perf_counter() - t0
    hq_official, sam_official = _official_predictors(torch_pair, model)
    image = _image()
    for predictor in (torch_pair, onnx_pair, hq_official, sam_official):
        predictor.set_image(image)
    point, label = np.array([[500.0, 380.0]]), np.array([1])
    clicks = _medians({
        "onnx": lambda: onnx_pair.predict(point, label),
        "torch": lambda: torch_pair.predict(point, label),
        "official_hq": lambda: hq_official.predict(point_coords=point, point_labels=label, multimask_output=False),
    }, reps)
    boxes = _boxes(k)
    tboxes = hq_official.transform.apply_boxes_torch(torch.as_tensor(boxes, dtype=torch.float), image.shape[:2])

    def official_three() -> None:
        with torch.inference_mode():
            hq_official.predict_torch(None, None, boxes=tboxes, multimask_output=False, hq_token_only=True)
            hq_official.predict_torch(None, None, boxes=tboxes, multimask_output=False, hq_token_only=False)
            sam_official.predict_torch(None, None, boxes=tboxes, multimask_output=False)

    batches = _medians({
        "onnx": lambda: onnx_pair.predict_batch(boxes=boxes),
        "torch": lambda: torch_pair.predict_batch(boxes=boxes),
        "official_three": official_three,
    }, max(3, reps // 4))
    c, b = clicks, batches
    return [
        f"{model}: ONNX pair loaded in {load_s:.1f} s (files from the cache)",
        f"{model} click, all three masks: ONNX pair {c['onnx']:.1f} ms, torch pair {c['torch']:.1f} ms, one official "
        f"HQ predict {c['official_hq']:.1f} ms -> ONNX / official {c['onnx'] / c['official_hq']:.2f} (target <= 0.75); "
        f"torch / official {c['torch'] / c['official_hq']:.2f}",
        f"{model} predict_batch K={k}: ONNX pair {b['onnx']:.0f} ms, torch pair {b['torch']:.0f} ms, three official "
        f"predict_torch {b['official_three']:.0f} ms -> ONNX / official {b['onnx'] / b['official_three']:.2f} "
        f"(target <= 0.30); torch / official {b['torch'] / b['official_three']:.2f}",
    ]


def everything(model: str, points: int, reps: int, keep_all: bool) -> list[str]:
    runs: dict[str, list[dict]] = {"pair": [], "official": []}
    for _ in range(reps):
        for method in runs:
            runs[method].append(_run(method, model, points, "cpu", keep_all, backend="onnx"))

    def med(method: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[method])

    p, o = runs["pair"], runs["official"]
    lines = [f"{model} segment everything, {points}x{points} points, thresholds "
             f"{'0 (keep all)' if keep_all else 'Meta defaults'}, median of {reps}:"]
    for method, label in (("pair", "ONNX pair, sam + hq + fused"), ("official", "official SAM + HQ generators")):
        counts = runs[method][0]["counts"]
        lines.append(f"  {label:<30} {med(method, 'total'):7.1f} s wall, {med(method, 'cpu'):7.1f} s CPU, peak RSS "
                     f"+{max(r['rss_growth_mib'] for r in runs[method]):.0f} MiB, masks {counts}")
    lines.append(f"  ratio pair / official: wall {med('pair', 'total') / med('official', 'total'):.2f}, CPU "
                 f"{med('pair', 'cpu') / med('official', 'cpu'):.2f} (target <= 0.50); per-run wall ratios "
                 f"{[round(a['total'] / b['total'], 2) for a, b in zip(p, o, strict=True)]}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["vit_tiny", "vit_b"], choices=hqsam_nb.MODEL_NAMES)
    parser.add_argument("--reps", type=int, default=15, help="interleaved rounds for clicks (batches: a quarter)")
    parser.add_argument("--k", type=int, default=32, help="objects for predict_batch")
    parser.add_argument("--points", type=int, default=8, help="points_per_side for segment everything")
    parser.add_argument("--everything-reps", type=int, default=3)
    parser.add_argument("--keep-all", action="store_true", help="segment everything with thresholds 0")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-everything", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import onnxruntime

    print(f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, {args.threads} threads, CPU, random "
          f"weights, image 1024x768; medians of interleaved repetitions", flush=True)
    for model in args.models:
        for line in clicks_and_batches(model, args.reps, args.k):
            print(line, flush=True)
        if not args.skip_everything:
            for line in everything(model, args.points, args.everything_reps, args.keep_all):
                print(line, flush=True)


if __name__ == "__main__":
    main()
