"""Evaluation throughput on Ray: images per second with 1, 2, ... workers, against the local engine, and the two
costs that bound scaling out (reading an image, the driver's write of one record).

Each configuration evaluates the same folder of synthetic images (vit_tiny, random weights, box prompt) into a
fresh output folder; the Ray figure counts from the first task sent to the last record written (worker start-up
and model loading are reported apart: a long run pays them once).

Usage::

    python benchmarks/bench_ray.py                         # 1 and 2 CPU workers on a local Ray, 16 images
    python benchmarks/bench_ray.py --workers 1 2 4 --images 64 --gpus-per-worker 1 --model vit_b
    python benchmarks/bench_ray.py --address HEAD:6379 --workers 8 16 --gpus-per-worker 1

The weights are random unless --checkpoint is given; speed does not depend on weight values.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from hqsam_nb.evaluation.datasets import image_mask_folder, synthetic_dataset
from hqsam_nb.evaluation.engines import ModelSpec, RayEngine, connect_ray
from hqsam_nb.evaluation.runner import run_evaluation
from hqsam_nb.io.images import load_image
from hqsam_nb.runs.records import append_record


def write_folder(root: Path, n: int, size: tuple[int, int]) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for ex in synthetic_dataset(n=n, sizes=(size,)):
        Image.fromarray(ex.image).save(root / "images" / f"{ex.name}.png")
        Image.fromarray(ex.mask.astype(np.uint8) * 255).save(root / "masks" / f"{ex.name}.png")
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--size", type=int, nargs=2, default=(480, 640), metavar=("H", "W"))
    parser.add_argument("--model", default="vit_tiny")
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--gpus-per-worker", type=float, default=0.0)
    parser.add_argument("--address", default=None)
    parser.add_argument("--local", action="store_true", help="also time the local engine (this process)")
    parser.add_argument("--json", default=None, help="write the figures to this file too")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    spec = ModelSpec(args.model, args.checkpoint, "pretrained" if args.checkpoint else "random")

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = write_folder(Path(tmp) / "data", args.images, tuple(args.size))
        data = image_mask_folder(data_dir)
        rows = []
        if args.local:
            import hqsam_nb

            pair = hqsam_nb.load_pair(args.model, checkpoint=args.checkpoint, weights=spec.weights, device="cpu")
            t0 = time.perf_counter()
            run_evaluation(data, pair, Path(tmp) / "local", progress=False, plots=False)
            rows.append({"engine": "local", "workers": 1, "images_per_s": len(data) / (time.perf_counter() - t0),
                         "start_s": 0.0})
        connect_ray(args.address)
        for k, n in enumerate(args.workers):  # a fresh output folder for each (repeated) configuration
            engine = RayEngine(spec, workers=n, gpus_per_worker=args.gpus_per_worker)
            run_evaluation(data, None, Path(tmp) / f"ray{k}", progress=False, plots=False, engine=engine)
            rows.append({"engine": "ray", "workers": n, "images_per_s": len(data) / engine.timings["run_s"],
                         "start_s": engine.timings["start_s"]})

        # What bounds it: one image read (PNG decode) and one record written by the driver (append + fsync).
        reads = []
        for i in range(min(len(data), 8)):
            path = next((data_dir / "images").glob(f"{data.names[i]}.*"))
            t0 = time.perf_counter()
            load_image(path)
            reads.append((time.perf_counter() - t0) * 1e3)
        record = json.loads((Path(tmp) / "ray0" / "results.jsonl").read_text().splitlines()[0])
        writes = []
        sink = Path(tmp) / "writes.jsonl"
        for _ in range(50):
            t0 = time.perf_counter()
            append_record(sink, record)
            writes.append((time.perf_counter() - t0) * 1e3)

    cpus = os.cpu_count()
    print(f"{args.images} images {args.size[1]}x{args.size[0]}, {args.model}, box prompt, "
          f"{args.gpus_per_worker:g} GPU/worker, {cpus} CPUs here")
    print("| engine | workers | images/s | speed-up | worker start-up (s) |")
    print("|---|---|---|---|---|")
    base = next(r["images_per_s"] for r in rows if r["engine"] == "ray")
    for r in rows:
        print(f"| {r['engine']} | {r['workers']} | {r['images_per_s']:.2f} | {r['images_per_s'] / base:.2f} | "
              f"{r['start_s']:.1f} |")
    print(f"image read (PNG decode, median): {statistics.median(reads):.1f} ms; "
          f"driver record write (append + fsync, median): {statistics.median(writes):.2f} ms")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "read_ms": statistics.median(reads),
                                               "write_ms": statistics.median(writes)}, indent=2))


if __name__ == "__main__":
    main()
