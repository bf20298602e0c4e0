"""Many objects per image: ``PairPredictor.predict_batch`` vs the official batched path, measured in one run.

Prints, for vit_tiny on a 1024 x 768 image with K = 32 random boxes (random weights; speed does not depend on them):

* ``predict_batch`` (SAM, HQ token and fused for all K) / (official HQ ``predict_torch(hq_token_only=True)`` +
  the same with ``False`` + baseline SAM ``predict_torch``), each official call on all K boxes   target <= 0.40
* ``predict_batch`` / K single ``pair.predict`` calls                                             target <= 1.0
* ``predict_batch`` per chunk size (``batch_size``), to choose the CPU default
* peak memory of K = 512 vs K = 64 beyond the output arrays (each K in a fresh process)           target <= 300 MiB

Usage::

    python benchmarks/bench_batch.py                   # the table above
    python benchmarks/bench_batch.py --reps 3 --k 32 --device cuda
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

import hqsam_nb

sys.path.insert(0, str(Path(__file__).parent))
from bench_pair import _interleaved, _official_predictors  # noqa: E402  (the same timing and official setup)

H, W = 768, 1024


def _setup(model: str, device: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hqsam_nb.RandomWeightsWarning)
        pair = hqsam_nb.load_pair(model, device=device, weights="random")
    rng = np.random.default_rng(0)
    image = (rng.random((H, W, 3)) * 255).astype(np.uint8)
    pair.set_image(image)
    return pair, image


def _boxes(k: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    xy = rng.random((k, 2)) * [W * 0.8, H * 0.8]
    wh = 20 + rng.random((k, 2)) * [W * 0.3, H * 0.3]
    return np.concatenate([xy, np.minimum(xy + wh, [W, H])], axis=1)


def speed(model: str, device: str, k: int, reps: int) -> None:
    pair, image = _setup(model, device)
    hq_official, sam_official = _official_predictors(pair, model)
    hq_official.set_image(image)
    sam_official.set_image(image)
    boxes = _boxes(k)
    tboxes = torch.as_tensor(hq_official.transform.apply_boxes(boxes, (H, W)), dtype=torch.float, device=device)

    def official_three() -> None:
        with torch.inference_mode():
            hq_official.predict_torch(None, None, tboxes, multimask_output=False, hq_token_only=True)
            hq_official.predict_torch(None, None, tboxes, multimask_output=False, hq_token_only=False)
            sam_official.predict_torch(None, None, tboxes, multimask_output=False)

    def singles() -> None:
        for b in boxes:
            pair.predict(box=b)

    fns = {"predict_batch": lambda: pair.predict_batch(boxes=boxes), "official x3": official_three,
           f"{k} x predict": singles}
    best = _interleaved(fns, reps)
    print(f"\n{model} on {device}, {W}x{H}, K = {k} boxes, best of {reps} (ms); default batch_size = "
          f"{hqsam_nb.pair.predictor.CPU_BATCH_SIZE if device == 'cpu' else 64}")
    print("| | ms | ratio | target |\n|---|---|---|---|")
    print(f"| predict_batch / official (HQ hq_token_only=True + False + SAM predict_torch) | "
          f"{best['predict_batch']:.0f} vs {best['official x3']:.0f} | "
          f"**{best['predict_batch'] / best['official x3']:.2f}** | <= 0.40 |")
    print(f"| predict_batch / {k} single pair.predict | {best['predict_batch']:.0f} vs {best[f'{k} x predict']:.0f} | "
          f"**{best['predict_batch'] / best[f'{k} x predict']:.2f}** | <= 1.0 |")
    sizes = {f"batch_size={bs}": (lambda bs=bs: pair.predict_batch(boxes=boxes, batch_size=bs))
             for bs in (1, 2, 4, 8, 16, 32) if bs <= k}
    per = _interleaved(sizes, max(1, reps // 2))
    print("\nchunk size: " + ", ".join(f"{name.split('=')[1]}: {ms:.0f} ms" for name, ms in per.items()))


def _reset_peak_rss() -> None:
    """Linux: reset this process's peak RSS (VmHWM) to its current RSS (``clear_refs`` 5, Linux >= 4.0)."""
    Path("/proc/self/clear_refs").write_text("5")


def _peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def memory_child(model: str, device: str, k: int) -> None:
    """In a fresh process: RSS before, and peak RSS during, predict_batch of K boxes (MiB), as JSON."""
    pair, _ = _setup(model, device)
    pair.predict_batch(boxes=_boxes(8))  # warm up the allocator on a small batch
    gc.collect()
    _reset_peak_rss()
    before = _peak_rss_mib()
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    out = pair.predict_batch(boxes=_boxes(k))
    after = _peak_rss_mib()
    outputs = sum(getattr(out, b).masks.nbytes + getattr(out, b).logits.nbytes + getattr(out, b).scores.nbytes
                  for b in ("sam", "hq", "fused")) / 2**20
    cuda = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else None
    print(json.dumps({"k": k, "before": before, "after": after, "outputs": outputs, "cuda_peak": cuda}))


def memory(model: str, device: str, ks: tuple[int, int] = (64, 512)) -> None:
    rows = {}
    for k in ks:
        res = subprocess.run([sys.executable, __file__, "--memory-child", str(k), "--models", model,
                              "--device", device], capture_output=True, text=True, check=True)
        rows[k] = json.loads(res.stdout.strip().splitlines()[-1])
    lo, hi = rows[ks[0]], rows[ks[1]]
    beyond = {k: r["after"] - r["before"] - r["outputs"] for k, r in rows.items()}
    print(f"\npeak RSS beyond the outputs ({model}, {device}): K={ks[0]}: {beyond[ks[0]]:.0f} MiB "
          f"(outputs {lo['outputs']:.0f} MiB), K={ks[1]}: {beyond[ks[1]]:.0f} MiB (outputs {hi['outputs']:.0f} MiB); "
          f"K={ks[1]} - K={ks[0]}: **{beyond[ks[1]] - beyond[ks[0]]:.0f} MiB** (target <= 300)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="vit_tiny")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--k", type=int, default=32)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--memory-child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child is not None:
        memory_child(args.models, args.device, args.memory_child)
        return
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for model in args.models.split(","):
        speed(model, args.device, args.k, args.reps)
        if not args.no_memory:
            memory(model, args.device)


if __name__ == "__main__":
    main()
