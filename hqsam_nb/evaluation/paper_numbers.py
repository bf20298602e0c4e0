"""The paper's published numbers, to set beside ours (HQ-SAM, NeurIPS 2023, and the official README), and the
table that sets them beside a run's.

mIoU / mBIoU are averaged over DIS5K-VD, COIFT, HRSOD and ThinObject5K-TE with the tight ground-truth box as the
prompt (single-mask output), images stretched to 1024 x 1024. The official evaluation (sam-hq ``train/train.py``)
scores ``masks_hq``, **the HQ token's mask alone** (``hq_token_only=True``): so a table beside these numbers shows
our ``hq`` branch (:data:`~hqsam_nb.pair.branches.PAPER_BRANCH`). COCO AP uses the predictor's default, the fused
mask. FPS and memory as reported (GPU not stated; an A100-class card). The paper's "params" columns are
megabytes of fp32 weights (MiB).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..pair.branches import BRANCHES, PAPER_BRANCH

__all__ = ["PAPER_COCO", "PAPER_POINT_MBIOU", "PAPER_TABLE", "PAPER_VIS", "paper_comparison_rows"]

_NAN = math.nan

#: Box-prompt table: model -> mIoU, mBIoU (percent; the HQ rows are the HQ token's masks), COCO AP (fused),
#: total / learnable MB, FPS, memory (GB). Light HQ-SAM / MobileSAM (TinyViT, our ``vit_tiny``) have COCO
#: numbers only.
PAPER_TABLE: dict[str, dict[str, float]] = {
    "SAM-B": {"mIoU": 70.6, "mBIoU": 62.3, "coco_ap": 44.4, "total_mb": 358.0, "learnable_mb": 358.0,
              "fps": 10.1, "memory_gb": 5.1},
    "HQ-SAM-B": {"mIoU": 86.3, "mBIoU": 78.1, "coco_ap": 46.7, "total_mb": 362.1, "learnable_mb": 4.1,
                 "fps": 9.8, "memory_gb": 5.1},
    "SAM-L": {"mIoU": 79.5, "mBIoU": 71.1, "coco_ap": 48.5, "total_mb": 1191.0, "learnable_mb": 1191.0,
              "fps": 5.0, "memory_gb": 7.6},
    "HQ-SAM-L": {"mIoU": 89.1, "mBIoU": 81.8, "coco_ap": 49.5, "total_mb": 1196.1, "learnable_mb": 5.1,
                 "fps": 4.8, "memory_gb": 7.6},
    "SAM-H": {"mIoU": 75.6, "mBIoU": 68.3, "coco_ap": 48.9, "total_mb": 2446.0, "learnable_mb": 2446.0,
              "fps": 3.5, "memory_gb": 10.3},
    "HQ-SAM-H": {"mIoU": 89.3, "mBIoU": 81.5, "coco_ap": 49.9, "total_mb": 2452.1, "learnable_mb": 6.1,
                 "fps": 3.4, "memory_gb": 10.3},
    "MobileSAM": {"mIoU": _NAN, "mBIoU": _NAN, "coco_ap": 44.3, "total_mb": 38.6, "learnable_mb": 38.6,
                  "fps": 44.8, "memory_gb": 3.7},
    "Light HQ-SAM": {"mIoU": _NAN, "mBIoU": _NAN, "coco_ap": 45.0, "total_mb": 40.3, "learnable_mb": _NAN,
                     "fps": 41.2, "memory_gb": 3.7},
}

#: Which of our variants each paper row is.
PAPER_VARIANT: dict[str, str] = {"SAM-B": "vit_b", "HQ-SAM-B": "vit_b", "SAM-L": "vit_l", "HQ-SAM-L": "vit_l",
                                 "SAM-H": "vit_h", "HQ-SAM-H": "vit_h", "MobileSAM": "vit_tiny",
                                 "Light HQ-SAM": "vit_tiny"}

#: Point prompts, mBIoU (percent) from the paper's figure: dataset -> setting -> (SAM, HQ-SAM (HQ token)).
PAPER_POINT_MBIOU: dict[str, dict[str, tuple[float, float]]] = {
    "COIFT": {"1": (61.8, 62.8), "3": (81.3, 83.5), "5": (83.9, 86.5), "5+5neg": (83.6, 86.7),
              "10": (86.3, 88.6), "10+5neg": (86.4, 88.4)},
    "DIS5K-VD": {"1": (17.9, 18.1), "3": (50.4, 58.3), "5": (55.3, 66.0), "5+5neg": (55.1, 66.2),
                 "10": (56.8, 69.3), "10+5neg": (59.6, 70.0)},
}


def paper_comparison_rows(tables: Mapping[str, Sequence[Mapping[str, Any]]], speed: Sequence[Any], model: str,
                          *, setting: str = "box") -> tuple[list[str], list[list[Any]]]:
    """The paper's box-prompt table with our measured rows above its published ones.

    Our rows: SAM and the HQ-SAM branch the paper scored (:data:`PAPER_BRANCH` ``["hq_datasets"]``, the HQ
    token), plus the fused mask for reference, each with mIoU / mBIoU per dataset of ``tables`` and the size,
    speed and memory measured by :func:`~hqsam_nb.evaluation.speed.measure_speed` (the fused mask comes from the
    same HQ decoder pass, so it costs what the HQ token costs). The paper's rows follow, with their four-dataset
    mean in the first dataset's columns (its mIoU / mBIoU are the HQ token's; Light HQ-SAM / MobileSAM were
    published with COCO AP only), the paper rows of ``model``'s variant first.

    Args:
        tables: dataset name -> :func:`~hqsam_nb.evaluation.runner.summarize` output of a box run.
        speed: :func:`~hqsam_nb.evaluation.speed.measure_speed` results (float32 rows are used).
        model: our variant, e.g. ``"vit_tiny"``.

    Returns:
        ``(header, rows)`` for :func:`~hqsam_nb.evaluation.runner.markdown_table` (NaN shows as ``-``).
    """
    by = {r.branch: r for r in speed if r.dtype == "float32"}
    if set(by) != {"SAM", "HQ-SAM"}:
        raise ValueError(f"speed must hold float32 rows for 'SAM' and 'HQ-SAM', got {sorted(by)}")
    names = list(tables)
    header = (["model", "branch"] + [f"{n} {m}" for n in names for m in ("mIoU", "mBIoU")]
              + ["paper's 4-dataset mean mIoU", "paper's 4-dataset mean mBIoU"]
              + ["total (MB)", "learnable (MB)", "FPS", "memory (MB)", "measured on"])
    paper_branch = PAPER_BRANCH["hq_datasets"]
    rows: list[list[Any]] = []
    for key in ("sam", paper_branch, "fused" if paper_branch != "fused" else "hq"):
        s = by["SAM" if key == "sam" else "HQ-SAM"]
        scores = []
        for n in names:
            row = next((t for t in tables[n] if t["setting"] == setting), None)
            scores += [row[key][m] if row else _NAN for m in ("mIoU", "mBIoU")]
        note = " (the paper's branch)" if key == paper_branch else ""
        rows.append([f"**{s.label} (ours)**", BRANCHES[key].label + note, *scores, _NAN, _NAN, s.total_mb,
                     s.learnable_mb, s.images_per_s, s.peak_memory_mb, f"{s.device}; {s.memory_kind}"])
    order = sorted(PAPER_TABLE, key=lambda k: PAPER_VARIANT[k] != model)
    for name in order:
        p = PAPER_TABLE[name]
        has_hq_datasets = not math.isnan(p["mIoU"])
        if name == "MobileSAM" or name.startswith("SAM-"):
            key = "sam"
        else:  # the HQ-dataset numbers are the HQ token's; Light HQ-SAM's (COCO only) the fused mask's
            key = paper_branch if has_hq_datasets else PAPER_BRANCH["coco"]
        means = [_NAN] * (2 * len(names)) + [p["mIoU"], p["mBIoU"]]  # never under our datasets' headers
        where = "4-dataset mean" if has_hq_datasets else f"COCO AP {p['coco_ap']} only"
        rows.append([f"{name} (paper)", BRANCHES[key].label, *means, p["total_mb"], p["learnable_mb"], p["fps"],
                     p["memory_gb"] * 1024, f"{where}; A100-class GPU"])
    return header, rows


#: COCO instance segmentation with FocalNet-DINO boxes as prompts, one mask per box, the fused branch (the
#: paper's per-backbone figure; percent). Light HQ-SAM vs MobileSAM (TinyViT encoder): AP only.
PAPER_COCO: dict[str, dict[str, float]] = {
    "SAM-B": {"AP_B": 28.2, "AP": 44.4, "AP_L": 57.7, "AP_M": 48.7, "AP_S": 32.1},
    "HQ-SAM-B": {"AP_B": 31.3, "AP": 46.7, "AP_L": 62.9, "AP_M": 50.5, "AP_S": 32.0},
    "SAM-L": {"AP_B": 33.3, "AP": 48.5, "AP_L": 63.9, "AP_M": 53.1, "AP_S": 34.1},
    "HQ-SAM-L": {"AP_B": 34.4, "AP": 49.5, "AP_L": 66.2, "AP_M": 53.8, "AP_S": 33.9},
    "SAM-H": {"AP_B": 34.0, "AP": 48.9, "AP_L": 64.5, "AP_M": 53.3, "AP_S": 34.4},
    "HQ-SAM-H": {"AP_B": 34.9, "AP": 49.9, "AP_L": 66.5, "AP_M": 54.0, "AP_S": 34.2},
    "MobileSAM": {"AP": 44.3},
    "Light HQ-SAM": {"AP": 45.0},
}


#: Video instance segmentation with Mask2Former's boxes and association as prompts (ViT-L; the HQ-SAM rows are
#: the predictor's default, the fused mask: PAPER_BRANCH["video"]; percent): HQ-YTVIS test Tube-Boundary AP
#: (AP^B) and Tube-Mask AP (AP^M), YouTube-VIS 2019 valid (mask) AP.
PAPER_VIS: dict[str, dict[str, float]] = {
    "SAM-L": {"HQ-YTVIS AP^B": 30.2, "HQ-YTVIS AP^M": 60.7, "YTVIS-2019 AP": 51.8},
    "HQ-SAM-L": {"HQ-YTVIS AP^B": 34.0, "HQ-YTVIS AP^M": 63.6, "YTVIS-2019 AP": 53.2},
}
