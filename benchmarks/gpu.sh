#!/usr/bin/env bash
# Every GPU row of the README in one run, with the card's name (benchmarks/bench_gpu.py says what each row is).
#
#   bash benchmarks/gpu.sh              on the GPU machine: encoder images/s (fp32 / bf16 / compiled) for each size,
#                                       click latency, predict_batch K=64 and K=512, segment everything 32x32 points,
#                                       COCO images/s, training steps/s (when benchmarks/bench_training.py is there)
#   bash benchmarks/gpu.sh --smoke      on a CPU (what CI runs): each measurement once at toy size, GPU rows skipped
#
# Extra arguments go to bench_gpu.py (--models vit_b vit_h, --reps 20, --batch 8). PYTHON picks the interpreter.
# The output is a Markdown table, printed row by row: paste it into the README's Performance section.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python_bin="${PYTHON:-python}"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/# nvidia-smi: /'
fi
exec "$python_bin" benchmarks/bench_gpu.py "$@"
