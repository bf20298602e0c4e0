"""Export every model size to ONNX and check each file against the official PyTorch modules (random weights).

For each model (default all four), in a fresh process: seeded random weights in the official layout, ``export_onnx``
(encoder, SAM decoder, HQ decoder), then :func:`hqsam_nb.onnx.agreement_with_official` on a 1024 x 768 image with
point, box and mask-input prompts (single and multimask, HQ token and fused). Prints per model the export time per
part, the file sizes, the largest absolute difference per output, and the process's peak resident memory.
CI exports vit_tiny and vit_b in ``tests/test_onnx.py``; this covers vit_l and vit_h too (vit_h: ~2.5 GB of weights,
its encoder file keeps them as external data; it needs ~10 GB of memory and a few minutes).

``--precisions fp32 int8 fp16`` also writes the int8 and fp16 files (:func:`hqsam_nb.onnx.lower_export`, from the
float32 ones: what ``export_onnx(..., precision=...)`` writes) and prints, per precision and output, the largest
|logit| difference from the official modules and, for masks, the mask agreement at image resolution: IoU with the
official mask (mean and worst over the prompts) and the share of pixels that differ. Each decoder is checked fed the
official encoder's outputs (its own error) and, as ``end_to_end.*``, fed the exported encoder's (what a user of the
files gets). On random weights: a trained model's masks have other margins, so these figures say how the arithmetic
moves logits, not how a trained model's masks will move. A precision ONNX Runtime cannot run on this machine's CPU is
reported in one line with the reason.

Usage::

    python benchmarks/onnx_parity.py                       # vit_tiny vit_b vit_l vit_h, float32
    python benchmarks/onnx_parity.py --models vit_tiny vit_b --precisions fp32 int8 fp16
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


def worker(model: str, out_dir: str, precisions: str) -> dict:
    import cv2
    import torch

    from hqsam_nb.models.loading import load_model
    from hqsam_nb.onnx import PRECISIONS, agreement_with_official, export_model, lower_export

    torch.set_grad_enabled(False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net, info = load_model(model, weights="random", device="cpu")
        image = hqsam_nb.load_sample("astronaut_shuttle").image
    image = cv2.resize(image, (1024, 768), interpolation=cv2.INTER_AREA)
    t0 = time.perf_counter()
    fp32 = export_model(net, info, Path(out_dir) / "fp32")
    fp32_s = time.perf_counter() - t0
    results = {}
    for precision in [p for p in PRECISIONS if p in precisions.split(",")]:
        t0 = time.perf_counter()
        try:
            export = fp32 if precision == "fp32" else lower_export(fp32, Path(out_dir) / precision, precision)
            export_s = fp32_s if precision == "fp32" else time.perf_counter() - t0
            t0 = time.perf_counter()
            found = agreement_with_official(export, net, image, end_to_end=True)
        except Exception as e:  # noqa: BLE001 - a precision ONNX Runtime cannot run here is reported, not fatal
            if precision == "fp32":
                raise
            reason = (str(e).strip().splitlines() or [""])[0][:300]
            results[precision] = {"error": f"{type(e).__name__}: {reason}"}
            continue
        sizes = {p.name: p.stat().st_size / 2**20 for p in export.directory.iterdir() if p.is_file()}
        results[precision] = {
            "export_s": export.seconds, "export_total_s": export_s, "check_s": time.perf_counter() - t0,
            "sizes_mib": sizes, "max_abs": {k: a.max_abs for k, a in found.items()},
            "lines": {k: a.describe() for k, a in found.items()}}
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    return {"precisions": results, "peak_rss_gib": peak_gib}


def report(model: str, precision: str, r: dict, peak_gib: float) -> bool:
    """Print one model's figures for one precision; whether it passed (float32: every part's outputs within
    TOLERANCE; lower precisions have no tolerance, their agreement is the figure)."""
    if "error" in r:
        print(f"{model} {precision}: cannot run with ONNX Runtime on this CPU: {r['error']}", flush=True)
        return True
    times = (f"export {r['export_total_s']:.0f} s (" + ", ".join(f"{k} {v:.0f} s" for k, v in r["export_s"].items())
             + f"), check {r['check_s']:.0f} s, peak RSS {peak_gib:.1f} GiB")
    if precision == "fp32":
        worst = max(v for k, v in r["max_abs"].items() if not k.startswith("end_to_end."))
        ok = worst < TOLERANCE
        print(f"{model}: {'OK' if ok else 'FAILED'}: largest |ONNX - official| {worst:.2e} (tolerance "
              f"{TOLERANCE:g}); {times}", flush=True)
    else:
        ok = True
        print(f"{model} {precision} (lowered from the fp32 files; no tolerance): {times}", flush=True)
    print("  files: " + ", ".join(f"{k} {v:.0f} MiB" for k, v in sorted(r["sizes_mib"].items())), flush=True)
    for key, line in r["lines"].items():
        print(f"  {key}: {line}", flush=True)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(hqsam_nb.MODEL_NAMES), choices=hqsam_nb.MODEL_NAMES)
    parser.add_argument("--precisions", nargs="+", default=["fp32"], choices=("fp32", "int8", "fp16"),
                        help="fp32 (default; checked against the tolerance), int8, fp16 (agreement reported)")
    parser.add_argument("--keep", default=None, help="write the files to KEEP/<model>/<precision> instead of a "
                                                     "temporary folder")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print("RESULT " + json.dumps(worker(*args.worker)), flush=True)
        return
    failed = []
    for model in args.models:
        with tempfile.TemporaryDirectory(prefix=f"onnx-{model}-") as tmp:
            out = Path(args.keep) / model if args.keep else Path(tmp)
            done = subprocess.run([sys.executable, __file__, "--worker", model, str(out), ",".join(args.precisions)],
                                  capture_output=True, text=True, check=False)
            lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
            if done.returncode != 0 or not lines:
                print(f"{model}: FAILED\n{done.stderr[-3000:]}", flush=True)
                failed.append(model)
                continue
            r = json.loads(lines[-1][len("RESULT "):])
        for precision, figures in r["precisions"].items():
            if not report(model, precision, figures, r["peak_rss_gib"]):
                failed.append(f"{model} {precision}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
