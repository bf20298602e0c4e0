"""``python -m hqsam_nb.evaluate``: the same as ``hqsam-nb evaluate`` (:mod:`hqsam_nb.cli.evaluate`)."""

import sys

from .cli import run_command


def main(argv: list[str] | None = None) -> int:
    return run_command("evaluate", argv, prog="python -m hqsam_nb.evaluate")


if __name__ == "__main__":
    sys.exit(main())
