"""``python -m hqsam_nb.evaluate_video``: the same as ``hqsam-nb video`` (:mod:`hqsam_nb.cli.video`)."""

import sys

from .cli import run_command


def main(argv: list[str] | None = None) -> int:
    return run_command("video", argv, prog="python -m hqsam_nb.evaluate_video")


if __name__ == "__main__":
    sys.exit(main())
