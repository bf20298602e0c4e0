"""The README's speed/memory table: SAM vs HQ-SAM per variant, fp32 and bf16, on this machine's GPU.

    python benchmarks/speed_table.py                       # vit_b vit_l vit_h on the GPU, 20 repeats
    python benchmarks/speed_table.py --models vit_tiny --device cpu --repeats 2   # a CPU smoke run

Speed does not depend on the weights' values, so this uses seeded random weights (no download). Prints a
markdown table with the device's name, beside the paper's FPS (10.1 / 5.0 / 3.5 for SAM-B / L / H on an
A100-class GPU).
"""

from __future__ import annotations

import argparse
import json
import logging
import warnings

import torch

from hqsam_nb import load_pair
from hqsam_nb.evaluation.paper_numbers import PAPER_TABLE
from hqsam_nb.evaluation.speed import measure_speed
from hqsam_nb.models.loading import RandomWeightsWarning
from hqsam_nb.util import markdown_table

PAPER_NAMES = {"vit_b": "B", "vit_l": "L", "vit_h": "H"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["vit_b", "vit_l", "vit_h"])
    parser.add_argument("--device", default=None)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    rows, raw = [], []
    for model in args.models:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RandomWeightsWarning)
            pair = load_pair(model, weights="random", device=args.device)
        for r in measure_speed(pair, repeats=args.repeats, warmup=args.warmup):
            name = f"{'HQ-' if r.branch == 'HQ-SAM' else ''}SAM-{PAPER_NAMES.get(model, '?')}"
            paper = PAPER_TABLE.get(name, {})
            rows.append([f"{r.branch} {model}", r.dtype, r.encoder_ms, r.decoder_ms, r.images_per_s,
                         paper.get("fps", float("nan")), r.peak_memory_mb / 1024, r.total_mb, r.learnable_mb])
            raw.append(r.to_dict())
        del pair
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    header = ["model", "encoder dtype", "encoder ms", "decoder ms", "FPS (ours)", "FPS (paper)",
              "peak memory (GB)", "total (MB)", "learnable (MB)"]
    print(f"Device: {raw[0]['device'] if raw else '?'}; memory: {raw[0]['memory_kind'] if raw else '?'}; "
          f"medians of {args.repeats} runs after {args.warmup} warm-up runs; one image, one box.\n")
    print(markdown_table(header, rows, digits=2))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(raw, f, indent=2)


if __name__ == "__main__":
    main()
