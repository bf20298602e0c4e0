"""Every GPU row of the README in one run, with the card's name: ``bash benchmarks/gpu.sh`` runs this.

Rows (random weights: speed does not depend on weight values):

* image encoder images/s per model size, batch 8: float32, bfloat16 (autocast), bfloat16 + ``torch.compile``;
* click -> all three masks (``pair.predict``), ms, per model size (bfloat16 encoder, float32 decoders);
  the ONNX backend too when ``onnxruntime-gpu`` offers CUDA;
* ``predict_batch`` K = 64 and K = 512 boxes, ms;
* segment everything, 32 x 32 points, three branches, s per image (1024 x 768 image);
* COCO protocol images/s (``run_coco_evaluation`` on synthetic COCO images with simulated detections);
* training steps/s: runs ``benchmarks/bench_training.py`` (the training benchmark) when it is there.

Without a GPU (``--smoke``, or no CUDA device) every measurement runs once at toy size on the CPU (vit_tiny,
K = 4, 2 x 2 points, 2 COCO images), its row marked ``CPU smoke``, and every GPU row is printed as skipped, so that
CI keeps the script from rotting (``tests/test_gpu_script.py``).

Usage::

    bash benchmarks/gpu.sh                      # on the GPU machine: the README's GPU table
    bash benchmarks/gpu.sh --models vit_b vit_h --reps 20
    bash benchmarks/gpu.sh --smoke              # what CI runs (CPU)
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

import hqsam_nb
from hqsam_nb.util import time_call

HERE = Path(__file__).resolve().parent
#: The training benchmark (issue 25), run for the training row when present.
TRAINING_BENCH = HERE / "bench_training.py"
IMAGE_SIZE = (768, 1024)


class Table:
    """Rows of ``| row | value | unit | setting |``, printed as they come (a crash keeps what was measured)."""

    def __init__(self, smoke: bool) -> None:
        self.smoke = smoke
        print("| row | value | unit | setting |\n|---|---|---|---|", flush=True)

    def add(self, row: str, value: float | str, unit: str, setting: str = "") -> None:
        text = f"{value:.3g}" if isinstance(value, float) else str(value)
        if self.smoke and isinstance(value, float):
            setting = f"CPU smoke, not a GPU figure; {setting}".rstrip("; ")
        print(f"| {row} | {text} | {unit} | {setting} |", flush=True)

    def skipped(self, row: str, why: str) -> None:
        print(f"| {row} | skipped | | {why} |", flush=True)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _median_s(fn: Callable[[], object], reps: int, device: torch.device, warmup: int = 1) -> float:
    """Median seconds of ``reps`` calls (the library's timer, notebook 04's: CUDA synchronised)."""
    return time_call(fn, device, repeats=reps, warmup=warmup).median_ms / 1e3


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _image() -> np.ndarray:
    import cv2

    sample = hqsam_nb.load_sample("astronaut_shuttle")
    return cv2.resize(sample.image, IMAGE_SIZE[::-1], interpolation=cv2.INTER_AREA)


def _boxes(k: int, seed: int = 1) -> np.ndarray:
    h, w = IMAGE_SIZE
    rng = np.random.default_rng(seed)
    xy = rng.random((k, 2)) * [w * 0.8, h * 0.8]
    return np.concatenate([xy, np.minimum(xy + 20 + rng.random((k, 2)) * [w * 0.3, h * 0.3], [w, h])], axis=1)


def encoder_rows(table: Table, model: str, device: torch.device, batch: int, reps: int, smoke: bool) -> None:
    with _quiet():
        net = hqsam_nb.build_model(model).to(device).eval()
    encoder = net.image_encoder
    x = torch.randn(batch, 3, 1024, 1024, device=device)
    modes = {"float32": (None, False)}
    if not smoke:
        modes.update({"bfloat16": (torch.bfloat16, False), "bfloat16 + torch.compile": (torch.bfloat16, True)})
    for label, (dtype, compiled) in modes.items():
        fn = torch.compile(encoder) if compiled else encoder

        def run(fn: Callable = fn, dtype: torch.dtype | None = dtype) -> None:
            with torch.inference_mode(), torch.autocast(device.type, dtype=dtype or torch.float32,
                                                        enabled=dtype is not None):
                fn(x)

        seconds = _median_s(run, reps, device, warmup=3 if compiled else 1)
        table.add(f"{model} image encoder, {label}", batch / seconds, "images/s", f"batch {batch}")
    del net, encoder


def pair_rows(table: Table, model: str, device: torch.device, reps: int, smoke: bool, image: np.ndarray) -> None:
    dtype = None if device.type == "cpu" else "bfloat16"
    with _quiet():
        pair = hqsam_nb.load_pair(model, device=device, weights="random", encoder_dtype=dtype)
    pair.set_image(image)
    point, label = np.array([[500.0, 380.0]]), np.array([1])
    ms = _median_s(lambda: pair.predict(point, label), reps, device) * 1e3
    table.add(f"{model} click -> all three masks", ms, "ms", f"encoder {dtype or 'float32'}, torch backend")
    for k in (4,) if smoke else (64, 512):
        boxes = _boxes(k)
        ms = _median_s(lambda boxes=boxes: pair.predict_batch(boxes=boxes), max(1, reps // 4), device) * 1e3
        table.add(f"{model} predict_batch K={k}", ms, "ms", "three branches")
    points = 2 if smoke else 32
    gen = hqsam_nb.PairMaskGenerator(pair, points_per_side=points)
    seconds = _median_s(lambda: gen.generate(image), 1 if smoke else 3, device)
    table.add(f"{model} segment everything", seconds, "s / image", f"{points}x{points} points, three branches, "
              f"{IMAGE_SIZE[1]}x{IMAGE_SIZE[0]}")
    _onnx_click(table, model, device, reps, smoke, image)


def _onnx_click(table: Table, model: str, device: torch.device, reps: int, smoke: bool, image: np.ndarray) -> None:
    row = f"{model} click -> all three masks, ONNX backend"
    try:
        import onnxruntime
    except ImportError:
        table.skipped(row, 'onnxruntime not installed (pip install "hqsam-nb[onnx]")')
        return
    if device.type == "cuda" and "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        table.skipped(row, "onnxruntime offers no CUDA here (pip install onnxruntime-gpu)")
        return
    if smoke:
        table.skipped(row, "exporting takes minutes; tests/test_onnx.py covers the backend")
        return
    with _quiet():
        pair = hqsam_nb.load_pair(model, device=device, weights="random", backend="onnx")
    pair.set_image(image)
    point, label = np.array([[500.0, 380.0]]), np.array([1])
    table.add(row, _median_s(lambda: pair.predict(point, label), reps, device) * 1e3, "ms", "float32")


def coco_row(table: Table, model: str, device: torch.device, smoke: bool) -> None:
    n = 2 if smoke else 50
    with tempfile.TemporaryDirectory() as tmp, _quiet():
        files = hqsam_nb.io.write_synthetic_coco(Path(tmp) / "coco", n_images=n, size=(480, 640))
        dataset = hqsam_nb.evaluation.open_coco(files["annotations"], files["images"], files["detections"])
        pair = hqsam_nb.load_pair(model, device=device, weights="random")
        t0 = time.perf_counter()
        hqsam_nb.evaluation.run_coco_evaluation(dataset, pair, Path(tmp) / "run", progress=False)
        _sync(device)
        seconds = time.perf_counter() - t0
    table.add(f"{model} COCO protocol", n / seconds, "images/s", f"{n} synthetic 640x480 images, detector boxes, "
              "three branches, reports written")


def training_row(table: Table, device: torch.device, smoke: bool, models: list[str]) -> None:
    # --- Hook for the training benchmark (issue 25): runs benchmarks/bench_training.py when it exists. ---
    row = "training steps/s"
    if not TRAINING_BENCH.exists():
        table.skipped(row, f"{TRAINING_BENCH.name} not found (training not merged yet)")
        return
    if smoke or device.type != "cuda":
        # CI: check that the options passed below still exist, without training on a CPU.
        done = subprocess.run([sys.executable, str(TRAINING_BENCH), "--help"], capture_output=True, text=True,
                              timeout=300, check=False)
        missing = [opt for opt in ("--models", "--device", "--encoder-dtype") if opt not in done.stdout]
        if done.returncode != 0 or missing:
            raise RuntimeError(f"{TRAINING_BENCH.name} --help failed or lacks {missing}: {done.stderr[-500:]}")
        table.skipped(row, f"GPU row; {TRAINING_BENCH.name} is there and takes the options used on a GPU")
        return
    cmd = [sys.executable, str(TRAINING_BENCH), "--models", *models, "--device", "cuda", "--encoder-dtype",
           "bfloat16"]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    for line in done.stdout.strip().splitlines()[-2 * len(models) - 2:]:
        table.add(row, line.strip(), "", "benchmarks/bench_training.py output")
    if done.returncode != 0:
        table.add(row, "failed", "", done.stderr.strip().splitlines()[-1][:200] if done.stderr.strip() else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(hqsam_nb.MODEL_NAMES), choices=hqsam_nb.MODEL_NAMES)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=8, help="images per encoder call")
    parser.add_argument("--smoke", action="store_true", help="toy sizes on the CPU (what CI runs)")
    args = parser.parse_args(argv)
    cuda = torch.cuda.is_available() and not args.smoke
    device = torch.device("cuda" if cuda else "cpu")
    smoke = not cuda
    models = args.models if cuda else ["vit_tiny"]
    reps = args.reps if cuda else 1
    if cuda:
        props = torch.cuda.get_device_properties(device)
        card = f"{props.name}, {props.total_memory / 2**30:.0f} GiB, CUDA {torch.version.cuda}"
    else:
        card = f"no GPU: CPU smoke run ({platform.machine()}, {torch.get_num_threads()} threads)"
    print(f"# hqsam-nb {hqsam_nb.__version__}, torch {torch.__version__}, {card}", flush=True)
    table = Table(smoke)
    if smoke:
        table.skipped("GPU rows (encoder bf16 / compiled, click, K=64 / 512, everything 32x32, COCO, training)",
                      "no GPU on this machine")
    image = _image()
    for model in models:
        encoder_rows(table, model, device, 1 if smoke else args.batch, reps, smoke)
        pair_rows(table, model, device, reps, smoke, image)
    coco_row(table, models[0] if smoke else "vit_h" if "vit_h" in models else models[-1], device, smoke)
    training_row(table, device, smoke, models)
    return 0


if __name__ == "__main__":
    sys.exit(main())
