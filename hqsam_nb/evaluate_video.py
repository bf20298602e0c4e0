"""``python -m hqsam_nb.evaluate_video``: SAM vs HQ-SAM through DAVIS-layout clips, J&F, resumable. The runner is
:mod:`hqsam_nb.video.runner`; ``--help`` lists the options."""

import sys

from .video.runner import main

if __name__ == "__main__":
    sys.exit(main())
