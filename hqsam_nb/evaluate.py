"""``python -m hqsam_nb.evaluate``: SAM vs HQ-SAM on a dataset, resumable. The runner is
:mod:`hqsam_nb.evaluation.runner`; ``--help`` lists the options."""

import sys

from .evaluation.runner import main

if __name__ == "__main__":
    sys.exit(main())
