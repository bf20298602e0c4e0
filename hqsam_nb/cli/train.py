"""Train HQ-SAM's HQ additions on your own masks (SAM stays frozen): the paper's recipe, resumable, one process or
many (torchrun), an ordinary HQ-SAM checkpoint at the end with its provenance beside it.

Examples::

    hqsam-nb train --data ~/data/mine --model vit_b --checkpoint sam_vit_b_01ec64.pth --out runs/mine
    hqsam-nb train --data ~/data/sam-hq --model vit_l --val ~/data/thin_object_detection/COIFT --out runs/hqseg
    hqsam-nb train --data synthetic -n 60 --weights random --recipe cpu-demo --val synthetic --out runs/demo
    torchrun --nproc-per-node 8 -m hqsam_nb train --data ~/data/sam-hq --model vit_h --out runs/hqseg-h
    hqsam-nb fetch-hqseg44k ~/data/sam-hq        # the paper's training data (needs network)

``--data``: a folder with ``images/`` + ``masks/`` (matched by file stem), HQSeg-44K's root (``cascade_psp/``,
``DIS5K/``, ``thin_object_detection/``), or ``synthetic``. Every example is read once before training starts; a
bad one (unreadable, empty mask, sizes that differ) is named and nothing is trained. ``--checkpoint``: an original
SAM checkpoint (MobileSAM's for vit_tiny: the HQ additions start fresh, as in the paper) or an HQ-SAM checkpoint
(fine-tuned); without it the official HQ-SAM file of ``--model`` is fine-tuned, or with ``--weights random`` random
SAM weights are used. Rerun the same command to continue an interrupted run (``--restart`` discards it). The
library function is :func:`hqsam_nb.training.train`.
"""

from __future__ import annotations

import argparse
import logging

from ._options import ModelOptions, OutputOptions, add_model_options, add_output_options, positive_int

HELP = "train HQ-SAM's HQ additions on your masks (SAM frozen), resumable, on one GPU/CPU or many"

logger = logging.getLogger("hqsam_nb.cli")

#: ``--recipe`` presets (:meth:`hqsam_nb.training.Recipe.official` and ``.cpu_demo``).
RECIPES = ("official", "cpu-demo")
#: ``--prompts`` choices (:data:`hqsam_nb.training.PROMPT_KINDS`, spelled here to keep --help light).
PROMPT_KINDS = ("box", "points", "noisy_mask")


def _kinds(text: str) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    if not kinds or any(k not in PROMPT_KINDS for k in kinds):
        raise argparse.ArgumentTypeError(f"expected a comma-separated subset of {','.join(PROMPT_KINDS)}, got "
                                         f"{text!r}")
    return kinds


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    data = parser.add_argument_group("data")
    data.add_argument("--data", required=True, help="images/ + masks/ folder, HQSeg-44K root, or 'synthetic'")
    data.add_argument("-n", "--limit", type=positive_int, default=None,
                      help="only the first N examples (synthetic: how many scenes to draw, default 60)")
    data.add_argument("--size", type=positive_int, default=256, help="synthetic scenes' side in pixels")
    data.add_argument("--val", default=None,
                      help="held-out data scored per epoch (HQ token, SAM, fused): a folder (a paper dataset such "
                           "as COIFT or DIS5K-VD, or images/ + masks/) or 'synthetic' (scenes never trained on)")
    data.add_argument("--val-limit", type=positive_int, default=None, help="only the first N held-out examples "
                      "(synthetic: how many, default 24)")
    recipe = parser.add_argument_group("recipe (defaults: the paper's, or --recipe cpu-demo's)")
    recipe.add_argument("--recipe", default="official", choices=RECIPES,
                        help="official: sam-hq's train.py; cpu-demo: the documented CPU deviations (feature cache, "
                             "no augmentation, lr 3e-3 cosine, box prompts, batch 8, balanced BCE, the early "
                             "feature's layer trained as if that feature were standardised)")
    recipe.add_argument("--epochs", type=positive_int, default=None)
    recipe.add_argument("--lr", type=_positive_float, default=None)
    recipe.add_argument("--batch", type=positive_int, default=None, help="images per process and step")
    recipe.add_argument("--prompts", type=_kinds, default=None, help="prompt kinds drawn per object, e.g. box,points")
    recipe.add_argument("--lr-schedule", choices=("step", "cosine"), default=None)
    recipe.add_argument("--cache-views", type=positive_int, default=None,
                        help="fixed augmentation views per example, their encoder outputs cached (speed)")
    recipe.add_argument("--seed", type=int, default=None)
    run = parser.add_argument_group("run")
    run.add_argument("--save-every", type=positive_int, default=50, help="steps between saved states")
    run.add_argument("--validate-every", type=positive_int, default=1, help="epochs between validations")
    run.add_argument("--cache-dir", default=None, help="keep cached encoder outputs on disk there")
    add_model_options(parser)
    add_output_options(parser, plots=True)


def _recipe(args: argparse.Namespace):
    from ..training import Recipe

    changes = {name: value for name, value in (
        ("epochs", args.epochs), ("lr", args.lr), ("batch_size", args.batch), ("prompt_kinds", args.prompts),
        ("lr_schedule", args.lr_schedule), ("cache_views", args.cache_views), ("seed", args.seed))
        if value is not None}
    return Recipe.cpu_demo(**changes) if args.recipe == "cpu-demo" else Recipe.official().replace(**changes)


def train_command(data_spec: str, *, limit: int | None, size: int, val_spec: str | None, val_limit: int | None,
                  model: ModelOptions, output: OutputOptions, recipe, save_every: int, validate_every: int,
                  cache_dir: str | None) -> int:
    """Open and check the data, resolve the start checkpoint, train, log where the checkpoint went."""
    from ..models.checkpoints import resolve_checkpoint
    from ..training import open_training_data, train

    if model.backend != "torch":
        raise ValueError(f"--backend {model.backend} serves inference only; training runs on the torch backend")
    square = (size, size)
    data = open_training_data(data_spec, n=limit, size=square, seed=0)
    validation = None
    if val_spec is not None:
        validation = (open_training_data("synthetic", n=val_limit or 24, size=square, seed=1)
                      if val_spec == "synthetic" else open_training_data(val_spec, n=val_limit))
    checkpoint = None
    if model.weights != "random":
        checkpoint = resolve_checkpoint(model.model, checkpoint=model.checkpoint).path
    elif model.checkpoint is not None:
        raise ValueError("--weights random starts from random SAM weights: do not pass --checkpoint with it")
    result = train(data, output.out, model=model.model, checkpoint=checkpoint, recipe=recipe, validation=validation,
                   restart=output.restart, device=model.device, save_every=save_every,
                   validate_every=validate_every, cache_dir=cache_dir, encoder_dtype=model.encoder_dtype,
                   progress=output.progress, plots=output.plots)
    if result.checkpoint is not None:
        val = result.history["validation"]
        scores = (f"; held-out HQ token mBIoU {val[0]['mbiou']['hq']:.3f} -> {val[-1]['mbiou']['hq']:.3f}"
                  if len(val) > 1 else "")
        logger.info("%d steps (%d now, %.2f steps/s, %d encoder passes)%s\nHQ-SAM checkpoint: %s\n%s",
                    result.steps, result.steps_run, result.steps_per_second, result.encoder_passes, scores,
                    result.checkpoint, result.provenance.describe() if result.provenance else "")
    return 0


def run(args: argparse.Namespace) -> int:
    return train_command(args.data, limit=args.limit, size=args.size, val_spec=args.val, val_limit=args.val_limit,
                         model=ModelOptions.from_args(args), output=OutputOptions.from_args(args),
                         recipe=_recipe(args), save_every=args.save_every, validate_every=args.validate_every,
                         cache_dir=args.cache_dir)
