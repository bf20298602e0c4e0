"""Segment everything: PairMaskGenerator (SAM, HQ token and fused) vs the official generators, in one run.

For each model and ``points_per_side`` on a 1024 x 768 image (random weights; speed does not depend on their values):

* pair generator, three branches / (official SAM generator on the baseline model + official HQ-SAM generator):
  wall time, and where it goes (encoder, decoders, post-processing);
* peak memory of each (CPU: resident set growth during ``generate``; GPU: ``torch.cuda.max_memory_allocated``).

Wall time and CPU time (``time.process_time``: on a shared machine the CPU time moves far less than the wall time;
run with ``OMP_NUM_THREADS=1`` to compare single-thread work). Each measurement runs in a fresh process (so peaks
and allocator caches do not leak between them), in alternation pair / official, ``--reps`` times; the best time is
reported (noise on a shared machine only adds time).

Thresholds: Meta's defaults. With random weights no candidate passes them (predicted IoUs are about 0), so the
numbers measure the model side (encoder, decoders, upsampling, the filters) and post-processing of kept masks costs
nothing; with real weights both sides add the same official RLE / NMS / record code for the masks they keep.
``--keep-all`` sets both thresholds to 0 instead: every candidate is RLE-encoded and goes through NMS, which with
random weights' noisy masks (very many runs per RLE) costs far more than real masks would.

Usage::

    python benchmarks/bench_everything.py                                   # CPU: vit_tiny, vit_b x 8, 16 points
    python benchmarks/bench_everything.py --models vit_tiny --points 8 --reps 1
    python benchmarks/bench_everything.py --device cuda --models vit_h --points 32
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import warnings
from typing import Any

import numpy as np
import torch

import hqsam_nb

PARAMS: dict[str, float] = {}
KEEP_ALL = {"pred_iou_thresh": 0.0, "stability_score_thresh": 0.0}


def _image() -> np.ndarray:
    import cv2

    sample = hqsam_nb.load_sample("astronaut_shuttle")
    return cv2.resize(sample.image, (1024, 768), interpolation=cv2.INTER_AREA)


class _PeakRss:
    """Peak resident set size (bytes) above the level at start, sampled every 2 ms in a thread."""

    def __enter__(self) -> _PeakRss:
        import psutil

        self._proc = psutil.Process()
        self.start = self._proc.memory_info().rss
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss)
            time.sleep(0.002)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)

    @property
    def growth_mib(self) -> float:
        return (self.peak - self.start) / 2**20


def _timed(obj: Any, name: str, bucket: dict[str, float], key: str) -> None:
    """Wrap ``obj.name`` so that its wall time adds up in ``bucket[key]`` (benchmark instrumentation only)."""
    fn = getattr(obj, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            bucket[key] += time.perf_counter() - t0

    setattr(obj, name, wrapper)


def worker(method: str, model: str, points: int, device: str, keep_all: bool = False,
           backend: str = "torch") -> dict[str, Any]:
    """One measurement, in this (fresh) process. ``backend`` is the pair's (the official side is always PyTorch)."""
    torch.set_grad_enabled(False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pair = hqsam_nb.load_pair(model, device=device, weights="random",
                                  backend=backend if method == "pair" else "torch")
        from segment_anything_hq import SamAutomaticMaskGenerator
    image = _image()
    params = {"points_per_side": points, **(KEEP_ALL if keep_all else PARAMS)}
    cuda = pair.device.type == "cuda"
    if method == "official":
        baseline = hqsam_nb.build_model(model, hq=False)
        state = pair.model.state_dict()
        baseline.load_state_dict({k: state[k] for k in baseline.state_dict()})
        baseline.to(pair.device).eval()
        gens = {"sam": SamAutomaticMaskGenerator(baseline, **params),
                "fused": SamAutomaticMaskGenerator(pair.model, **params)}
        parts = {"encoder": 0.0, "decoders": 0.0}
        for gen in gens.values():
            _timed(gen.predictor, "set_image", parts, "encoder")
            _timed(gen.predictor, "predict_torch", parts, "decoders")  # decoders + upsampling to full size
    else:
        gen = hqsam_nb.PairMaskGenerator(pair, **params)
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    cpu0 = time.process_time()
    with _PeakRss() as rss:
        t0 = time.perf_counter()
        if method == "official":
            counts = {k: len(g.generate(image)) for k, g in gens.items()}
        else:
            res = gen.generate(image)
            counts = res.counts()
        if cuda:
            torch.cuda.synchronize()
        total = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    if method == "official":
        timings = {**parts, "post-processing": total - parts["encoder"] - parts["decoders"]}
    else:
        t = res.timings
        timings = {"encoder": t["encoder"], "decoders": t["decoders"] + t["upsample"],
                   "post-processing": total - t["encoder"] - t["decoders"] - t["upsample"]}
    return {"total": total, "cpu": cpu, "timings": timings, "counts": counts, "rss_growth_mib": rss.growth_mib,
            "cuda_peak_mib": torch.cuda.max_memory_allocated() / 2**20 if cuda else None}


def _run(method: str, model: str, points: int, device: str, keep_all: bool, backend: str = "torch") -> dict[str, Any]:
    """One measurement in a fresh process, with this process's number of threads."""
    cmd = [sys.executable, __file__, "--worker", method, model, str(points), device, str(int(keep_all)), backend]
    env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())}
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{method} {model} {points} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _fmt(r: dict[str, Any]) -> str:
    t = r["timings"]
    cuda = r["cuda_peak_mib"]
    mem = f"{cuda:.0f} MiB GPU" if cuda is not None else f"+{r['rss_growth_mib']:.0f} MiB RSS"
    return (f"{r['total']:7.1f} s wall, {r['cpu']:6.1f} s CPU (wall: encoder {t['encoder']:.1f}, decoders "
            f"{t['decoders']:.1f}, post {t['post-processing']:.1f}), {mem}, masks {r['counts']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["vit_tiny", "vit_b"], choices=hqsam_nb.MODEL_NAMES)
    parser.add_argument("--points", nargs="+", type=int, default=[8, 16], help="points_per_side values")
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--keep-all", action="store_true", help="thresholds 0: every candidate is post-processed")
    parser.add_argument("--backend", default="torch", choices=hqsam_nb.pair.BACKENDS, help="the pair's backend")
    parser.add_argument("--worker", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        method, model, points, device, keep_all, backend = args.worker
        print(json.dumps(worker(method, model, int(points), device, keep_all == "1", backend)))
        return
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.device}, random weights, "
          f"image 1024x768, thresholds {KEEP_ALL if args.keep_all else 'Meta defaults'}")
    for model in args.models:
        for points in args.points:
            best: dict[str, dict[str, Any]] = {}
            for _ in range(args.reps):
                for method in ("pair", "official"):
                    r = _run(method, model, points, args.device, args.keep_all, args.backend)
                    if method not in best or r["total"] < best[method]["total"]:
                        best[method] = r
            p, o = best["pair"], best["official"]
            print(f"{model} points_per_side {points} ({points ** 2} points)")
            print(f"  pair (sam + hq + fused)   {_fmt(p)}")
            print(f"  official SAM + HQ (fused) {_fmt(o)}")
            print(f"  ratio pair / official: wall time {p['total'] / o['total']:.2f}, CPU time "
                  f"{p['cpu'] / o['cpu']:.2f}", flush=True)


if __name__ == "__main__":
    main()
