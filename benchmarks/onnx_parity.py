"""Export every model size to ONNX and check each file against the official PyTorch modules (random weights).

For each model (default all four), in a fresh process: seeded random weights in the official layout, ``export_onnx``
(encoder, SAM decoder, HQ decoder), then :func:`hqsam_nb.onnx.compare_with_official` on a 1024 x 768 image with
point, box and mask-input prompts (single and multimask, HQ token and fused). Prints per model the export time per
part, the file sizes, the largest absolute difference per output, and the process's peak resident memory.
CI exports vit_tiny and vit_b in ``tests/test_onnx.py``; this covers vit_l and vit_h too (vit_h: ~2.5 GB of weights,
its encoder file keeps them as external data; it needs ~10 GB of memory and a few minutes).

Usage::

    python benchmarks/onnx_parity.py                       # vit_tiny vit_b vit_l vit_h
    python benchmarks/onnx_parity.py --models vit_h --keep /data/onnx    # keep the files
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import hqsam_nb

TOLERANCE = 1e-4


def worker(model: str, out_dir: str) -> dict:
    import torch

    from hqsam_nb.models.loading import load_model
    from hqsam_nb.onnx import compare_with_official, export_model

    torch.set_grad_enabled(False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net, info = load_model(model, weights="random", device="cpu")
        image = hqsam_nb.load_sample("astronaut_shuttle").image
    import cv2

    image = cv2.resize(image, (1024, 768), interpolation=cv2.INTER_AREA)
    t0 = time.perf_counter()
    export = export_model(net, info, out_dir)
    export_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    diffs = compare_with_official(export, net, image)
    sizes = {p.name: p.stat().st_size / 2**20 for p in Path(out_dir).iterdir() if p.is_file()}
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    return {"export_s": export.seconds, "export_total_s": export_s, "check_s": time.perf_counter() - t0,
            "diffs": diffs, "sizes_mib": sizes, "peak_rss_gib": peak_gib}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(hqsam_nb.MODEL_NAMES), choices=hqsam_nb.MODEL_NAMES)
    parser.add_argument("--keep", default=None, help="write the files to KEEP/<model> instead of a temporary folder")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print("RESULT " + json.dumps(worker(*args.worker)), flush=True)
        return
    failed = []
    for model in args.models:
        with tempfile.TemporaryDirectory(prefix=f"onnx-{model}-") as tmp:
            out = Path(args.keep) / model if args.keep else Path(tmp)
            done = subprocess.run([sys.executable, __file__, "--worker", model, str(out)], capture_output=True,
                                  text=True, check=False)
            lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
            if done.returncode != 0 or not lines:
                print(f"{model}: FAILED\n{done.stderr[-3000:]}", flush=True)
                failed.append(model)
                continue
            r = json.loads(lines[-1][len("RESULT "):])
        worst = max(r["diffs"].values())
        ok = worst < TOLERANCE
        failed += [] if ok else [model]
        print(f"{model}: {'OK' if ok else 'FAILED'}: largest |ONNX - official| {worst:.2e} (tolerance {TOLERANCE:g}); "
              f"export {r['export_total_s']:.0f} s (" + ", ".join(f"{k} {v:.0f} s" for k, v in r["export_s"].items())
              + f"), check {r['check_s']:.0f} s, peak RSS {r['peak_rss_gib']:.1f} GiB", flush=True)
        print("  files: " + ", ".join(f"{k} {v:.0f} MiB" for k, v in sorted(r["sizes_mib"].items())), flush=True)
        print("  " + ", ".join(f"{k} {v:.1e}" for k, v in r["diffs"].items()), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
