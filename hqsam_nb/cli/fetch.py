"""Download (or find in the cache) official checkpoints and verify them (size, SHA-256), so that a container
build, a Binder ``postBuild`` or a lab machine can pre-fetch weights before going offline.

Example: ``hqsam-nb fetch vit_tiny vit_b --sam``. Exit status 1 when a download or its verification fails.
"""

from __future__ import annotations

import argparse
import logging

from ..models.checkpoints import MODEL_NAMES, CheckpointError, fetch_checkpoint, official_file
from ._errors import CommandFailedError

HELP = "download and verify official checkpoints"

logger = logging.getLogger("hqsam_nb.cli")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("models", nargs="+", choices=MODEL_NAMES, help="variants to fetch")
    parser.add_argument("--sam", action="store_true", help="also fetch Meta's original SAM file (not for vit_tiny)")


def fetch(models: list[str], *, sam: bool = False) -> None:
    """Fetch and verify each model's HQ-SAM file (and Meta's SAM file with ``sam=True``), logging each path.

    Raises:
        CommandFailedError: a download or a verification failed (the message says which and how to provide it).
    """
    try:
        for model in models:
            specs = [official_file(model)]
            if sam and model != "vit_tiny":
                specs.append(official_file(model, hq=False))
            for spec in specs:
                logger.info("%s: %s (verified)", spec.filename, fetch_checkpoint(spec))
    except CheckpointError as exc:
        raise CommandFailedError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    fetch(list(args.models), sam=args.sam)
    return 0
