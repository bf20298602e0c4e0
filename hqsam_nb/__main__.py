"""Command line: ``python -m hqsam_nb fetch vit_tiny [vit_b ...] [--sam]``.

Downloads (or finds in the cache) the official checkpoints and verifies them (size, SHA-256), so that a
container build, a Binder ``postBuild`` or a lab machine can pre-fetch weights before going offline.
"""

from __future__ import annotations

import argparse
import logging
import sys

from .models.checkpoints import MODEL_NAMES, CheckpointError, fetch_checkpoint, official_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hqsam_nb", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    fetch = sub.add_parser("fetch", help="download and verify official checkpoints")
    fetch.add_argument("models", nargs="+", choices=MODEL_NAMES, help="variants to fetch")
    fetch.add_argument("--sam", action="store_true", help="also fetch Meta's original SAM file (not for vit_tiny)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    log = logging.getLogger("hqsam_nb")
    try:
        for model in args.models:
            specs = [official_file(model)]
            if args.sam and model != "vit_tiny":
                specs.append(official_file(model, hq=False))
            for spec in specs:
                log.info("%s: %s (verified)", spec.filename, fetch_checkpoint(spec))
    except CheckpointError as exc:
        log.error("%s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
