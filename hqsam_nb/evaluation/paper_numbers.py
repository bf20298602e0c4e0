"""The paper's published numbers, to set beside ours (HQ-SAM, NeurIPS 2023, and the official README).

mIoU / mBIoU are averaged over DIS5K-VD, COIFT, HRSOD and ThinObject5K-TE with the tight ground-truth box as
the prompt (single-mask output, ``hq_token_only=False``), images stretched to 1024 x 1024. FPS and memory as
reported (GPU not stated; an A100-class card). The paper's "params" columns are megabytes of fp32 weights.
"""

from __future__ import annotations

__all__ = ["PAPER_COCO", "PAPER_POINT_MBIOU", "PAPER_TABLE"]

#: Box-prompt table: model -> mIoU, mBIoU (percent), total / learnable MB, FPS, memory (GB).
PAPER_TABLE: dict[str, dict[str, float]] = {
    "SAM-B": {"mIoU": 70.6, "mBIoU": 62.3, "total_mb": 358.0, "learnable_mb": 358.0, "fps": 10.1,
              "memory_gb": 5.1},
    "HQ-SAM-B": {"mIoU": 86.3, "mBIoU": 78.1, "total_mb": 362.1, "learnable_mb": 4.1, "fps": 9.8,
                 "memory_gb": 5.1},
    "SAM-L": {"mIoU": 79.5, "mBIoU": 71.1, "total_mb": 1191.0, "learnable_mb": 1191.0, "fps": 5.0,
              "memory_gb": 7.6},
    "HQ-SAM-L": {"mIoU": 89.1, "mBIoU": 81.8, "total_mb": 1196.1, "learnable_mb": 5.1, "fps": 4.8,
                 "memory_gb": 7.6},
    "SAM-H": {"mIoU": 75.6, "mBIoU": 68.3, "total_mb": 2446.0, "learnable_mb": 2446.0, "fps": 3.5,
              "memory_gb": 10.3},
    "HQ-SAM-H": {"mIoU": 89.3, "mBIoU": 81.5, "total_mb": 2452.1, "learnable_mb": 6.1, "fps": 3.4,
                 "memory_gb": 10.3},
}

#: Point prompts, mBIoU (percent) from the paper's figure: dataset -> setting -> (SAM, HQ-SAM).
PAPER_POINT_MBIOU: dict[str, dict[str, tuple[float, float]]] = {
    "COIFT": {"1": (61.8, 62.8), "3": (81.3, 83.5), "5": (83.9, 86.5), "5+5neg": (83.6, 86.7),
              "10": (86.3, 88.6), "10+5neg": (86.4, 88.4)},
    "DIS5K-VD": {"1": (17.9, 18.1), "3": (50.4, 58.3), "5": (55.3, 66.0), "5+5neg": (55.1, 66.2),
                 "10": (56.8, 69.3), "10+5neg": (59.6, 70.0)},
}

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
