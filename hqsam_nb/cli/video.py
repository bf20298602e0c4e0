"""SAM vs HQ-SAM through video clips: DAVIS-layout result PNGs per branch and J&F (DAVIS 2017 definitions);
resumable (rerun the same command to continue).

Examples::

    hqsam-nb video --data davis --root DAVIS --prompt boxes xmem_boxes.json --model vit_l --out runs/davis-xmem
    hqsam-nb video --data davis --root DAVIS --sequences bike-packing --prompt propagate --out runs/p
    hqsam-nb video --data synthetic --root data/synthetic-davis --weights random --out runs/synthetic

The library function is :func:`hqsam_nb.video.runner.run_video_evaluation`.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence

from ._options import ModelOptions, OutputOptions, add_model_options, add_output_options

HELP = "SAM vs HQ-SAM through DAVIS-layout clips (J&F), resumable"

logger = logging.getLogger("hqsam_nb.cli")

#: ``--branches`` choices: :data:`hqsam_nb.pair.branches.BRANCH_KEYS`, spelled here so that ``--help`` does not import
#: the model code (tests/test_cli.py keeps the two equal).
BRANCH_KEYS = ("sam", "hq", "fused")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default="davis", choices=("davis", "synthetic"),
                        help="davis: a DAVIS 2017 folder at --root; synthetic: write synthetic clips of moving thin "
                             "structures to --root (if not there yet) and evaluate them")
    parser.add_argument("--root", required=True, help="the DAVIS folder (JPEGImages/, Annotations/, ImageSets/)")
    parser.add_argument("--subset", default="val", help="ImageSets/2017/<subset>.txt (default val)")
    parser.add_argument("--sequences", nargs="+", default=None, help="only these sequences")
    parser.add_argument("--prompt", nargs="+", default=["oracle"], metavar="KIND",
                        help="oracle (ground-truth boxes, default) | propagate (each model follows its own masks) | "
                             "boxes FILE (tracker boxes, JSON: see hqsam_nb.video.prompts)")
    parser.add_argument("--init", default="mask", choices=("mask", "box", "clicks"),
                        help="with --prompt propagate: how frame 0 is prompted from its annotation")
    parser.add_argument("--branches", nargs="+", default=list(BRANCH_KEYS), choices=BRANCH_KEYS)
    parser.add_argument("--synthetic-sequences", type=int, default=3, help="with --data synthetic: how many clips")
    parser.add_argument("--synthetic-frames", type=int, default=24, help="with --data synthetic: frames per clip")
    add_model_options(parser)
    add_output_options(parser)


def evaluate_video(data: str, root: str, *, subset: str, sequences: Sequence[str] | None, prompt: Sequence[str],
                   init: str, branches: Sequence[str], synthetic_sequences: int, synthetic_frames: int,
                   model: ModelOptions, output: OutputOptions) -> int:
    """Check the clips and the prompts (before the model loads), run the evaluation, log the table."""
    from ..video.davis import DavisDataset
    from ..video.runner import PromptSpec, markdown, prompt_sources, run_video_evaluation

    kind, *rest = prompt
    if (kind == "boxes") != (len(rest) == 1) or len(rest) > 1:
        raise ValueError(f"--prompt {' '.join(prompt)} is not accepted; use --prompt oracle, --prompt propagate or "
                         "--prompt boxes FILE")
    spec = PromptSpec(kind, init, rest[0] if rest else None)
    if data == "synthetic":
        from ..video.synthetic import write_synthetic_davis

        write_synthetic_davis(root, n_sequences=synthetic_sequences, n_frames=synthetic_frames, subset=subset)
    dataset = DavisDataset(root, subset=subset, sequences=sequences)
    prompt_sources(spec, list(dataset))  # a bad tracker-box file fails now, not after the model has loaded
    pair = model.load_pair()
    t0 = time.perf_counter()
    metrics = run_video_evaluation(dataset, pair, output.out, spec, branches=branches, progress=output.progress,
                                   restart=output.restart)
    note = pair.info.warning() or f"{pair.info.model}, {kind} prompts"
    logger.info("%s\n\n%d sequences in %.1f s (J&F in percent; %s); results in %s", markdown(metrics), len(dataset),
                time.perf_counter() - t0, note, output.out)
    return 0


def run(args: argparse.Namespace) -> int:
    return evaluate_video(args.data, args.root, subset=args.subset, sequences=args.sequences, prompt=args.prompt,
                          init=args.init, branches=args.branches, synthetic_sequences=args.synthetic_sequences,
                          synthetic_frames=args.synthetic_frames, model=ModelOptions.from_args(args),
                          output=OutputOptions.from_args(args))
