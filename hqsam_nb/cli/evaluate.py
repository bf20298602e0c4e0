"""SAM vs HQ-SAM on an image dataset: mIoU / mBIoU per prompt setting; resumable (rerun the same command to
continue an interrupted run).

Examples::

    hqsam-nb evaluate --data synthetic --model vit_tiny --prompt box --out runs/synthetic-box
    hqsam-nb evaluate --data ~/data/thin_object_detection/COIFT --model vit_l --prompt points --out runs/coift

``--data coco`` / ``coco-synthetic`` run the COCO protocol (the same as ``hqsam-nb coco``); ``--data ytvis`` /
``ytvis-synthetic`` the video-instance protocol (the same as ``hqsam-nb ytvis``). The library function is
:func:`hqsam_nb.evaluation.runner.run_evaluation`.
"""

from __future__ import annotations

import argparse
import logging
import time

from . import coco, ytvis
from ._options import (
    EngineOptions,
    ModelOptions,
    OutputOptions,
    add_engine_options,
    add_model_options,
    add_output_options,
    positive_int,
)

HELP = "SAM vs HQ-SAM on an image dataset (mIoU, mBIoU), resumable"

logger = logging.getLogger("hqsam_nb.cli")

#: ``--resize`` choices (:data:`hqsam_nb.evaluation.runner.RESIZE_MODES`, spelled here to keep --help light).
RESIZE_MODES = ("predictor", "stretch")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True,
                        help="'synthetic' (built-in thin-structure benchmark) or a dataset folder (DIS5K-VD, "
                             "COIFT, HRSOD, ThinObject5K layouts, or images/ + masks/); 'coco' (every object, "
                             "mask AP and boundary AP: --annotations, --images) or 'coco-synthetic' (the "
                             "built-in multi-object set with simulated detections); 'ytvis' (YouTube-VIS / "
                             "HQ-YTVIS with a VIS model's tracks: --annotations, --frames, --results) or "
                             "'ytvis-synthetic'")
    parser.add_argument("--layout", default="auto",
                        help="auto (default), folder, DIS5K-VD, COIFT, HRSOD or ThinObject5K-TE")
    parser.add_argument("--prompt", default="box", choices=("box", "points"))
    parser.add_argument("--resize", default="predictor", choices=RESIZE_MODES,
                        help="predictor: SamPredictor's aspect-preserving resize (default); stretch: the "
                             "paper's 1024 x 1024 resize")
    parser.add_argument("--box-jitter", type=float, default=0.0, help="box jitter as a fraction of its size")
    parser.add_argument("--seed", type=int, default=0, help="seeds point sampling, jitter, the synthetic set")
    parser.add_argument("-n", "--limit", type=positive_int, default=None,
                        help="only the first N images (synthetic: how many to draw, default 50)")
    add_model_options(parser)
    add_output_options(parser, plots=True)
    add_engine_options(parser)
    coco.add_coco_options(parser.add_argument_group(
        "COCO protocol (--data coco / coco-synthetic; see hqsam-nb coco)"))
    ytvis.add_ytvis_options(parser.add_argument_group(
        "video-instance protocol (--data ytvis / ytvis-synthetic, with --annotations; see hqsam-nb ytvis)"),
        annotations=False)


def evaluate(data: str, *, layout: str, prompt: str, resize: str, box_jitter: float, seed: int, limit: int | None,
             model: ModelOptions, engine: EngineOptions, output: OutputOptions) -> int:
    """Open the dataset, load the model (or start the engine), run :func:`~hqsam_nb.evaluation.runner.
    run_evaluation` and log the table."""
    from ..evaluation.datasets import open_dataset
    from ..evaluation.runner import EvalConfig, run_evaluation

    config = EvalConfig(prompt=prompt, resize=resize, box_jitter=box_jitter, seed=seed)
    dataset = open_dataset(data, layout=layout, n=limit, seed=seed)
    ray = engine.start(model)  # None: this process computes, with the pair loaded here
    pair = None if ray else model.load_pair()
    t0 = time.perf_counter()
    run = run_evaluation(dataset, pair, output.out, config, progress=output.progress, plots=output.plots,
                         restart=output.restart, engine=ray)
    logger.info("%s\n\nimages/s (encoder + all prompts, median): %.2f\n\n%d images (%d computed now) in %.1f s; "
                "encoder %.0f ms, decode %.0f ms per prompt; reports in %s", run.markdown(),
                run.speed["images_per_s"], len(run.records), len(run.computed), time.perf_counter() - t0,
                run.speed["encoder_ms"], run.speed["decode_ms"], run.out_dir)
    return 0


def run(args: argparse.Namespace) -> int:
    if args.data in ("coco", "coco-synthetic"):
        return coco.evaluate_coco(coco.CocoOptions.from_args(args, synthetic=args.data == "coco-synthetic"),
                                  model=ModelOptions.from_args(args), engine=EngineOptions.from_args(args),
                                  output=OutputOptions.from_args(args))
    if args.data in ("ytvis", "ytvis-synthetic"):
        if args.images or args.detections:
            raise ValueError("--images / --detections belong to the COCO protocol; --data ytvis takes --frames and "
                             "--results")
        return ytvis.evaluate_ytvis(ytvis.YtvisOptions.from_args(args, synthetic=args.data == "ytvis-synthetic"),
                                    model=ModelOptions.from_args(args), engine=EngineOptions.from_args(args),
                                    output=OutputOptions.from_args(args))
    if args.annotations or args.images or args.detections or args.frames or args.results or args.videos:
        raise ValueError("--annotations / --images / --detections belong to the COCO protocol (--data coco), "
                         "--frames / --results / --videos to the video-instance one (--data ytvis)")
    return evaluate(args.data, layout=args.layout, prompt=args.prompt, resize=args.resize,
                    box_jitter=args.box_jitter, seed=args.seed, limit=args.limit,
                    model=ModelOptions.from_args(args), engine=EngineOptions.from_args(args),
                    output=OutputOptions.from_args(args))
