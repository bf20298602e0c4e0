"""Training speed: steps/s with the encoder-feature cache vs encoding every step (the official loop), peak memory.

Both runs are the same :func:`hqsam_nb.training.train` call on the same synthetic scenes, with the same recipe
(batch ``--batch``, box / points / noisy-mask prompts, the official loss), except ``cache_views``: ``None`` runs the
frozen image encoder on every step, as sam-hq's ``train/train.py`` does; ``1`` runs it once per scene (the first
epoch) and then trains from the cached encoder outputs. Steps/s counts the steps after the first epoch (warm
cache, warm allocator). Each run is a fresh process, so its peak memory is its own (CPU: peak resident memory of
the process; GPU: peak CUDA memory allocated); process CPU time per step is printed too (the steadier figure on a
shared machine). The two runs' losses are compared step by step: the cache changes the speed, not the numbers.

Usage::

    python benchmarks/bench_training.py                                   # vit_tiny on the CPU
    python benchmarks/bench_training.py --models vit_tiny vit_h --device cuda --encoder-dtype bfloat16

Random weights (no download is possible here): speed does not depend on weight values. Prints one row per
model and mode, then the cache's speed-up per model.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
import torch
from hqsam_nb.training import Recipe, synthetic_training_data, train
a = json.loads(sys.argv[1])
if a["threads"]:
    torch.set_num_threads(a["threads"])
stamps = []
recipe = Recipe(batch_size=a["batch"], epochs=a["epochs"], hflip=False, jitter=None, cache_views=a["cache_views"],
                lr_schedule="cosine")
data = synthetic_training_data(a["images"], seed=0, size=(256, 256))
result = train(data, a["out"], model=a["model"], recipe=recipe, device=a["device"], progress=False, plots=False,
               encoder_dtype=a["encoder_dtype"], save_every=10**9,
               on_step=lambda s, l: stamps.append((time.perf_counter(), time.process_time())))
print("RESULT" + json.dumps({"stamps": stamps, "loss": [row[1] for row in result.history["loss"]],
                             "encoder_passes": result.encoder_passes, "cache_hits": result.cache_hits,
                             "peak_mb": result.peak_memory_mb, "device": str(torch.device(a["device"] or
                             ("cuda" if torch.cuda.is_available() else "cpu")))}))
"""


def run_one(model: str, cache_views: int | None, args: argparse.Namespace, workdir: Path) -> dict:
    settings = {"model": model, "cache_views": cache_views, "batch": args.batch, "epochs": args.epochs,
                "images": args.batch * args.steps_per_epoch, "device": args.device, "threads": args.threads,
                "encoder_dtype": args.encoder_dtype, "out": str(workdir / f"{model}-{cache_views}")}
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(settings)], env=env, capture_output=True,
                          text=True, timeout=args.timeout)
    if done.returncode != 0:
        raise SystemExit(f"{model} cache_views={cache_views} failed:\n{done.stderr[-3000:]}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT"))
    out = json.loads(line[len("RESULT"):])
    warm = out["stamps"][args.steps_per_epoch - 1:]  # from the end of the first epoch on
    steps = len(warm) - 1
    out["steps_per_s"] = steps / (warm[-1][0] - warm[0][0]) if steps > 0 else float("nan")
    out["cpu_s_per_step"] = (warm[-1][1] - warm[0][1]) / steps if steps > 0 else float("nan")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["vit_tiny"])
    parser.add_argument("--device", default=None, help="None: cuda if available, else cpu")
    parser.add_argument("--batch", type=int, default=4, help="images per step (official: 4 per GPU)")
    parser.add_argument("--steps-per-epoch", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3, help="the first fills the cache; the others are timed")
    parser.add_argument("--encoder-dtype", default=None, choices=[None, "bfloat16"])
    parser.add_argument("--threads", type=int, default=0, help="torch threads on a CPU (0: torch's default)")
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args()
    print(f"training steps/s, batch {args.batch} images x 1 object, {args.steps_per_epoch} steps per epoch, "
          f"{args.epochs} epochs (the first not timed), encoder dtype {args.encoder_dtype or 'float32'}")
    print(f"{'model':9s} {'mode':22s} {'device':8s} {'steps/s':>8s} {'s/step':>7s} {'CPU s/step':>10s} "
          f"{'encoder passes':>14s} {'peak MiB':>9s}")
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models:
            rows = {}
            for label, views in (("encode every step", None), ("feature cache", 1)):
                t0 = time.perf_counter()
                r = rows[label] = run_one(model, views, args, Path(tmp))
                print(f"{model:9s} {label:22s} {r['device']:8s} {r['steps_per_s']:8.3f} {1 / r['steps_per_s']:7.2f} "
                      f"{r['cpu_s_per_step']:10.2f} {r['encoder_passes']:14d} {r['peak_mb']:9.0f}   "
                      f"({time.perf_counter() - t0:.0f} s)", flush=True)
            a, b = rows["encode every step"], rows["feature cache"]
            same = max(abs(x - y) for x, y in zip(a["loss"], b["loss"], strict=True))
            print(f"{model:9s} cache speed-up x{b['steps_per_s'] / a['steps_per_s']:.2f} (wall), "
                  f"x{a['cpu_s_per_step'] / b['cpu_s_per_step']:.2f} (process CPU time); largest loss difference "
                  f"between the two runs {same:.2e} (the cache changes speed, not numbers)", flush=True)


if __name__ == "__main__":
    main()
