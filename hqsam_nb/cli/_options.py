"""Options several commands share, declared once: the model (``--model``, ``--checkpoint``, ``--weights``,
``--device``, ``--bf16``, ``--backend``), where the work runs (``--engine`` and Ray's options) and the output folder
(``--out``, ``--restart``, ``-q``, ``--no-plots``).

Each group is a pair: ``add_*_options(parser)`` declares it, ``*Options.from_args(args)`` turns the parsed
values into a typed, frozen object that the command hands to library functions. Nothing here imports torch.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..models.checkpoints import MODEL_NAMES

if TYPE_CHECKING:
    from ..evaluation.engines import RayEngine
    from ..pair.predictor import PairPredictor

__all__ = [
    "EngineOptions",
    "ModelOptions",
    "OutputOptions",
    "add_engine_options",
    "add_model_options",
    "add_output_options",
    "positive_int",
    "run_protocol",
]

logger = logging.getLogger("hqsam_nb.cli")


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1 (argparse turns the error into its one-line message, exit 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of images >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of images >= 1, got {value}")
    return value


# -- the model ----------------------------------------------------------------------------------------------
def add_model_options(parser: argparse.ArgumentParser) -> None:
    """``--model``, ``--checkpoint``, ``--weights``, ``--device``, ``--bf16``, ``--backend``."""
    group = parser.add_argument_group("model")
    group.add_argument("--model", default="vit_tiny", choices=MODEL_NAMES)
    group.add_argument("--checkpoint", default=None,
                       help="HQ-SAM checkpoint file (default: $HQSAM_NB_CHECKPOINTS, then the official one)")
    group.add_argument("--weights", default="pretrained", choices=("pretrained", "random"),
                       help="random: seeded random weights (offline smoke test; numbers meaningless)")
    group.add_argument("--device", default=None, help="cuda, cpu, mps (default: the best available)")
    group.add_argument("--bf16", action="store_true", help="run the image encoder in bfloat16 (GPU)")
    group.add_argument("--backend", default="torch", choices=("torch", "onnx"),
                       help="onnx: the same checkpoint exported to ONNX (once, into the cache) and run by ONNX "
                            "Runtime, faster on a CPU (pip install 'hqsam-nb[onnx]'); default torch")


@dataclass(frozen=True)
class ModelOptions:
    """The model a command loads (:func:`~hqsam_nb.pair.load_pair`'s arguments)."""

    model: str = "vit_tiny"
    checkpoint: str | None = None
    weights: str = "pretrained"
    device: str | None = None
    encoder_dtype: str | None = None
    backend: str = "torch"

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ModelOptions:
        return cls(args.model, args.checkpoint, args.weights, args.device, "bfloat16" if args.bf16 else None,
                   args.backend)

    def load_pair(self) -> PairPredictor:
        """Load the pair (imports torch)."""
        from ..pair.predictor import load_pair

        return load_pair(self.model, checkpoint=self.checkpoint, device=self.device, weights=self.weights,  # type: ignore[arg-type]
                         encoder_dtype=self.encoder_dtype, backend=self.backend)  # type: ignore[arg-type]


# -- where it runs ------------------------------------------------------------------------------------------
def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """``--engine``, ``--address``, ``--workers`` and ``--gpus-per-worker``."""
    from ..evaluation.engines import ENGINES

    group = parser.add_argument_group("where it runs")
    group.add_argument("--engine", default="local", choices=ENGINES,
                       help="local: this process (default); ray: Ray actors, one model each (pip install "
                            "'hqsam-nb[ray]')")
    group.add_argument("--address", default=None,
                       help="ray: the cluster to join (HEAD:6379; default $RAY_ADDRESS, else a local instance "
                            "sized to this machine)")
    group.add_argument("--workers", type=int, default=None,
                       help="ray: how many workers (default: one per GPU share, on CPU one per node)")
    group.add_argument("--gpus-per-worker", type=float, default=0.0,
                       help="ray: GPUs per worker (default 0: CPU workers; 0.5 puts two on a GPU)")


@dataclass(frozen=True)
class EngineOptions:
    """Where the per-image work runs: ``engine`` ``"local"`` (this process) or ``"ray"`` with its options."""

    engine: str = "local"
    address: str | None = None
    workers: int | None = None
    gpus_per_worker: float = 0.0

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> EngineOptions:
        return cls(args.engine, args.address, args.workers, args.gpus_per_worker)

    def start(self, model: ModelOptions) -> RayEngine | None:
        """The engine; None for the local one (the caller loads the pair itself).

        Raises:
            ValueError: Ray options without ``--engine ray``, a ``--device`` that contradicts
                ``--gpus-per-worker``, bad values, or Ray not installed (the message says how to install it).
            CheckpointError: the checkpoint cannot be found or verified.
            ValueError: nothing answers at ``--address`` (or ``$RAY_ADDRESS``).
        """
        if self.engine != "ray":
            given = [f for f, v in (("--address", self.address), ("--workers", self.workers),
                                    ("--gpus-per-worker", self.gpus_per_worker or None)) if v is not None]
            if given:
                raise ValueError(f"{', '.join(given)} only apply with --engine ray")
            return None
        if model.backend != "torch":
            raise ValueError(f"--backend {model.backend} runs in this process only; with --engine ray the workers "
                             "run the PyTorch modules (leave --backend out)")
        from ..evaluation.engines import ModelSpec, RayEngine

        device = "cuda" if self.gpus_per_worker > 0 else "cpu"
        if model.device is not None and model.device.split(":")[0] != device:
            raise ValueError(f"--device {model.device} with --engine ray: Ray workers run on {device} "
                             f"(--gpus-per-worker {self.gpus_per_worker:g}); use --gpus-per-worker 1 for GPU "
                             "workers, or leave --device out")
        spec = ModelSpec(model.model, model.checkpoint, model.weights, model.encoder_dtype)
        try:
            engine = RayEngine(spec, address=self.address, workers=self.workers,
                               gpus_per_worker=self.gpus_per_worker)
        except ImportError as exc:
            raise ValueError(str(exc)) from None
        engine.describe()  # the checkpoint resolved (and checked) now, before any worker starts
        address = self.address or os.environ.get("RAY_ADDRESS")
        if address:  # a wrong address fails now, in one line, not after minutes of Ray's silent retries
            from ..evaluation.engines import RayUnavailableError, check_reachable

            try:
                check_reachable(address)
            except RayUnavailableError as exc:  # what the user typed: bad input (exit 2)
                raise ValueError(str(exc)) from None
        return engine


# -- the output folder --------------------------------------------------------------------------------------
def add_output_options(parser: argparse.ArgumentParser, *, plots: bool = False) -> None:
    """``--out`` (required), ``--restart``, ``-q``; with ``plots=True`` also ``--no-plots``."""
    group = parser.add_argument_group("output")
    group.add_argument("--out", required=True, help="output folder (created; a previous run there is resumed)")
    group.add_argument("--restart", action="store_true", help="discard a previous run in --out first")
    group.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    if plots:
        group.add_argument("--no-plots", action="store_true", help="skip the PNG plots")


@dataclass(frozen=True)
class OutputOptions:
    """The run folder and how the run treats it."""

    out: Path
    restart: bool = False
    progress: bool = True
    plots: bool = True

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> OutputOptions:
        return cls(Path(args.out).expanduser(), args.restart, not args.quiet, not getattr(args, "no_plots", False))


# -- one resumable protocol run -----------------------------------------------------------------------------
def run_protocol(runner: Callable[..., Any], dataset: Any, *, model: ModelOptions, engine: EngineOptions,
                 output: OutputOptions, unit: str) -> int:
    """Run ``runner(dataset, pair, out, progress=, restart=, engine=)`` (``run_coco_evaluation``,
    ``run_ytvis_evaluation``) as every protocol command does: the engine started (or the pair loaded here),
    the dataset and, at the end, the run's table, how many ``unit`` s were computed now and the time logged.
    Returns 0 (the exit status)."""
    ray = engine.start(model)  # None: this process computes, with the pair loaded here
    pair = None if ray else model.load_pair()
    logger.info("%r", dataset)
    t0 = time.perf_counter()
    run = runner(dataset, pair, output.out, progress=output.progress, restart=output.restart, engine=ray)
    logger.info("%s\n%d %s (%d computed now) in %.1f s; reports in %s", run.markdown(), len(run.records), unit,
                len(run.computed), time.perf_counter() - t0, run.out_dir)
    return 0
