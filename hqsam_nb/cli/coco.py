"""The paper's COCO protocol: every detected object of an image, SAM vs HQ-SAM, mask AP and boundary AP;
resumable (rerun the same command to continue).

Examples::

    hqsam-nb coco --annotations instances_val2017.json --images val2017 \\
        --detections focalnet_dino_val2017.json --model vit_l --out runs/coco-vit_l
    hqsam-nb coco --synthetic --model vit_tiny --weights random --out runs/coco-syn

``--synthetic`` writes the built-in multi-object set (``-n`` images, default 6, 256 x 256) into
``OUT/synthetic_coco`` and prompts with its simulated detections. The library functions are
:func:`hqsam_nb.evaluation.coco.open_coco` and :func:`~hqsam_nb.evaluation.coco.run_coco_evaluation`.
"""

from __future__ import annotations

import argparse
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

HELP = "SAM vs HQ-SAM on COCO-format instances (mask AP, boundary AP), resumable"

#: ``--score`` choices (:data:`hqsam_nb.evaluation.coco.SCORE_MODES`, spelled here to keep --help light).
SCORE_MODES = ("det_x_iou", "det")


def add_coco_options(group: argparse._ActionsContainer) -> None:
    """``--annotations``, ``--images``, ``--detections``, ``--score`` (also offered by ``hqsam-nb evaluate
    --data coco``)."""
    group.add_argument("--annotations", help="COCO instances JSON (polygon or RLE segmentations)")
    group.add_argument("--images", help="folder the annotations' file_name values are relative to")
    group.add_argument("--detections", default=None,
                       help="detector boxes, COCO results format (default: the ground-truth boxes, an oracle)")
    group.add_argument("--score", default="det_x_iou", choices=SCORE_MODES,
                       help="result score: detector score x predicted IoU (default, the released protocol) "
                            "or the detector score alone")


@dataclass(frozen=True)
class CocoOptions:
    """The inputs and protocol of a COCO run, as typed on the command line."""

    synthetic: bool
    annotations: str | None
    images: str | None
    detections: str | None
    score: str
    box_jitter: float
    seed: int
    limit: int | None

    @classmethod
    def from_args(cls, args: argparse.Namespace, *, synthetic: bool) -> CocoOptions:
        return cls(synthetic, args.annotations, args.images, args.detections, args.score, args.box_jitter,
                   args.seed, args.limit)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--synthetic", action="store_true",
                        help="the built-in multi-object set with simulated detections (no download)")
    add_coco_options(parser.add_argument_group("inputs"))
    parser.add_argument("--box-jitter", type=float, default=0.0,
                        help="ground-truth boxes only: jitter as a fraction of the box's size")
    parser.add_argument("--seed", type=int, default=0, help="seeds the jitter and the synthetic set")
    parser.add_argument("-n", "--limit", type=positive_int, default=None,
                        help="only the first N images (--synthetic: how many to draw, default 6)")
    add_model_options(parser)
    add_output_options(parser)
    add_engine_options(parser)


def evaluate_coco(options: CocoOptions, *, model: ModelOptions, engine: EngineOptions,
                  output: OutputOptions) -> int:
    """Open the set (checked before the model loads), run the protocol, log the table."""
    from ..evaluation.coco import CocoConfig, open_coco, run_coco_evaluation

    config = CocoConfig(box_jitter=options.box_jitter, seed=options.seed, score=options.score)
    if options.synthetic:
        if options.annotations or options.images or options.detections:
            raise ValueError("the synthetic COCO set makes its own annotations, images and detections; "
                             "give --annotations / --images / --detections without it (--data coco)")
        from ..io.synthetic_coco import write_synthetic_coco

        paths = write_synthetic_coco(output.out / "synthetic_coco", n_images=options.limit or 6, seed=options.seed)
        dataset = open_coco(paths["annotations"], paths["images"], paths["detections"], config)
    else:
        if not options.annotations or not options.images:
            raise ValueError("the COCO protocol needs --annotations A.json and --images DIR")
        dataset = open_coco(options.annotations, options.images, options.detections, config, limit=options.limit)
    return run_protocol(run_coco_evaluation, dataset, model=model, engine=engine, output=output, unit="images")


def run(args: argparse.Namespace) -> int:
    return evaluate_coco(CocoOptions.from_args(args, synthetic=args.synthetic), model=ModelOptions.from_args(args),
                         engine=EngineOptions.from_args(args), output=OutputOptions.from_args(args))
