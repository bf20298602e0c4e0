"""Download HQSeg-44K, the paper's training data (DIS5K-TR, ThinObject5K-TR, FSS, DUTS-TR/TE, ECSSD, MSRA10K; about
8 GB from the Hugging Face Hub), into a folder that ``hqsam-nb train --data`` then reads.

Example: ``hqsam-nb fetch-hqseg44k ~/data/sam-hq`` (then unpack its archives there, keeping their folders). Exit
status 1 when the download fails. Needs network access; nothing in this package downloads it by itself.
"""

from __future__ import annotations

import argparse
import logging

from ._errors import CommandFailedError

HELP = "download HQSeg-44K (the paper's training data) for hqsam-nb train"

logger = logging.getLogger("hqsam_nb.cli")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dest", help="folder to download into")


def run(args: argparse.Namespace) -> int:
    from ..training.data import download_hqseg44k

    try:
        logger.info("HQSeg-44K downloaded to %s", download_hqseg44k(args.dest))
    except OSError as exc:
        raise CommandFailedError(f"the download of HQSeg-44K failed: {exc}") from None
    return 0
