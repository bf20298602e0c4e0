"""nbval runs of the notebooks: CPU, vit_tiny, a synthetic (random-weight) checkpoint, no network.

The checkpoint is written once per session under its official name into a temporary directory named by
``$HQSAM_NB_CHECKPOINTS``; kernels inherit the environment, so the notebooks load it through the real
resolution code and show their "not the official weights" banner.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def pytest_configure(config) -> None:
    if os.environ.get("HQSAM_NB_CHECKPOINTS"):
        return
    root = Path(tempfile.mkdtemp(prefix="hqsam_nb_ckpt_"))
    from hqsam_nb import save_random_checkpoint

    save_random_checkpoint(root / "sam_hq_vit_tiny.pth", "vit_tiny", seed=1)
    os.environ["HQSAM_NB_CHECKPOINTS"] = str(root)
    os.environ["HQSAM_NB_CACHE"] = str(root / "cache")
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("HQSAM_NB_CI", "1")
