"""``python -m hqsam_nb COMMAND ...``: the same as ``hqsam-nb COMMAND ...`` (:mod:`hqsam_nb.cli`), e.g.
``python -m hqsam_nb fetch vit_tiny``."""

import sys

from .cli import main as _main


def main(argv: list[str] | None = None) -> int:
    return _main(argv, prog="python -m hqsam_nb")


if __name__ == "__main__":
    sys.exit(main())
