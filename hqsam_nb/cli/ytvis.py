"""The paper's video-instance protocol (YouTube-VIS 2019, HQ-YTVIS): a VIS model's tracks as box prompts, SAM vs
HQ-SAM frame by frame, Tube-Mask AP and Tube-Boundary AP; resumable per video (rerun the same command to continue).

Examples::

    hqsam-nb ytvis --annotations ytvis/annotations/ytvis_hq-test.json --frames ytvis/train/JPEGImages \\
        --results mask2former_hq-test.json --model vit_l --out runs/hq-ytvis
    hqsam-nb ytvis --annotations ytvis2019/valid.json --frames ytvis2019/valid/JPEGImages \\
        --results mask2former_valid.json --model vit_l --out runs/ytvis19
    hqsam-nb ytvis --synthetic --model vit_tiny --weights random --out runs/ytvis-syn

Without ``--results`` the ground truth's tracks prompt (an oracle ceiling). A split whose ground truth is withheld
(YouTube-VIS 2019 valid) gets the result files only: zip one as ``results.json`` for the challenge server.
``--synthetic`` writes the built-in set (``-n`` videos, default 3, ``--synthetic-frames`` each) into
``OUT/synthetic_ytvis`` and prompts with its simulated VIS tracks. The library functions are
:func:`hqsam_nb.video.open_ytvis` and :func:`hqsam_nb.video.run_ytvis_evaluation`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

from ._options import (
    EngineOptions,
    ModelOptions,
    OutputOptions,
    add_engine_options,
    add_model_options,
    add_output_options,
    positive_int,
    run_protocol,
)

HELP = "SAM vs HQ-SAM on YouTube-VIS / HQ-YTVIS with a VIS model's tracks (Tube-Mask AP, Tube-Boundary AP)"


def add_ytvis_options(group: argparse._ActionsContainer, *, annotations: bool = True) -> None:
    """``--annotations`` (unless the parser has it already), ``--frames``, ``--results``, ``--videos`` and
    ``--synthetic-frames`` (also offered by ``hqsam-nb evaluate --data ytvis``)."""
    if annotations:
        group.add_argument("--annotations", help="YouTube-VIS annotation JSON (2019, 2021 or HQ-YTVIS layout)")
    group.add_argument("--frames", help="folder the annotations' file_names are relative to (.../JPEGImages)")
    group.add_argument("--results", default=None,
                       help="a VIS model's results (YouTube-VIS format) whose tracks prompt (default: the "
                            "ground-truth tracks, an oracle)")
    group.add_argument("--videos", nargs="+", default=None, metavar="NAME", help="only these videos (frame folders)")
    group.add_argument("--synthetic-frames", type=positive_int, default=6,
                       help="the synthetic set: frames per video (default 6)")


@dataclass(frozen=True)
class YtvisOptions:
    """The inputs of a YouTube-VIS run, as typed on the command line."""

    synthetic: bool
    annotations: str | None
    frames: str | None
    results: str | None
    videos: tuple[str, ...] | None
    limit: int | None
    synthetic_frames: int
    seed: int

    @classmethod
    def from_args(cls, args: argparse.Namespace, *, synthetic: bool) -> YtvisOptions:
        videos: Sequence[str] | None = args.videos
        return cls(synthetic, args.annotations, args.frames, args.results, None if videos is None else tuple(videos),
                   args.limit, args.synthetic_frames, args.seed)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--synthetic", action="store_true",
                        help="the built-in set of moving thin and solid objects with simulated VIS tracks (no "
                             "download)")
    add_ytvis_options(parser.add_argument_group("inputs"))
    parser.add_argument("--seed", type=int, default=0, help="seeds the synthetic set")
    parser.add_argument("-n", "--limit", type=positive_int, default=None,
                        help="only the first N videos (--synthetic: how many to draw, default 3)")
    add_model_options(parser)
    add_output_options(parser)
    add_engine_options(parser)


def evaluate_ytvis(options: YtvisOptions, *, model: ModelOptions, engine: EngineOptions,
                   output: OutputOptions) -> int:
    """Open the set (checked before the model loads), run the protocol, log the table."""
    from ..video.ytvis import open_ytvis
    from ..video.ytvis_protocol import run_ytvis_evaluation

    if options.synthetic:
        if options.annotations or options.frames or options.results:
            raise ValueError("the synthetic YouTube-VIS set makes its own annotations, frames and VIS tracks; give "
                             "--annotations / --frames / --results without --synthetic")
        from ..video.synthetic_ytvis import write_synthetic_ytvis

        paths = write_synthetic_ytvis(output.out / "synthetic_ytvis", n_videos=options.limit or 3,
                                      n_frames=options.synthetic_frames, seed=options.seed)
        dataset = open_ytvis(paths["annotations"], paths["frames"], paths["results"], videos=options.videos)
    else:
        if not options.annotations or not options.frames:
            raise ValueError("the YouTube-VIS protocol needs --annotations A.json and --frames DIR (or --synthetic)")
        dataset = open_ytvis(options.annotations, options.frames, options.results, limit=options.limit,
                             videos=options.videos)
    return run_protocol(run_ytvis_evaluation, dataset, model=model, engine=engine, output=output, unit="videos")


def run(args: argparse.Namespace) -> int:
    return evaluate_ytvis(YtvisOptions.from_args(args, synthetic=args.synthetic), model=ModelOptions.from_args(args),
                          engine=EngineOptions.from_args(args), output=OutputOptions.from_args(args))
