"""The three masks a :class:`~hqsam_nb.pair.PairPredictor` serves, defined once: key, label, colour.

Every table, figure, export and widget view names a branch by these labels, so that "HQ-SAM" never means two
different masks:

* ``sam``   - **SAM**: the original SAM mask decoder (SAM's weights, frozen inside HQ-SAM).
* ``hq``    - **HQ-SAM (HQ token)**: the HQ output token's mask alone (``hq_token_only=True`` in the official
  API). This is what sam-hq's own evaluation scores on the four high-quality datasets (DIS5K, COIFT, HRSOD,
  ThinObject-5K: ``train/train.py`` scores ``masks_hq``), and what the authors' demo recommends for one object.
* ``fused`` - **HQ-SAM (fused)**: SAM's mask token + the HQ token (``hq_token_only=False``): what the official
  predictor returns by default and what the COCO protocol (every detector box of an image) uses.

:data:`PAPER_BRANCH` says which branch a table beside the paper's numbers must use.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["BRANCHES", "BRANCH_KEYS", "HQ_BRANCHES", "PAPER_BRANCH", "Branch", "branch", "check_branches", "hq_branch"]

Color = tuple[int, int, int]


@dataclass(frozen=True)
class Branch:
    """One of the pair's masks.

    Attributes:
        key: ``"sam"``, ``"hq"`` or ``"fused"`` (the attribute name on predictions).
        label: how tables, legends and titles name it, e.g. ``"HQ-SAM (HQ token)"``.
        short: a short name for tight spaces (``"SAM"``, ``"HQ token"``, ``"fused"``).
        color: RGB ``uint8`` triple used for its masks and lines everywhere.
        official: the official API call that gives the same mask.
    """

    key: str
    label: str
    short: str
    color: Color
    official: str

    @property
    def hex(self) -> str:
        """The colour as ``#rrggbb`` (for matplotlib and HTML)."""
        return "#{:02x}{:02x}{:02x}".format(*self.color)


# Okabe-Ito colours (colour-blind safe), distinct from the prompt markers' green / red.
BRANCHES: dict[str, Branch] = {
    "sam": Branch("sam", "SAM", "SAM", (0, 114, 178), "baseline SamPredictor.predict()"),
    "hq": Branch("hq", "HQ-SAM (HQ token)", "HQ token", (230, 159, 0), "SamPredictor.predict(hq_token_only=True)"),
    "fused": Branch("fused", "HQ-SAM (fused)", "fused", (204, 121, 167),
                    "SamPredictor.predict(hq_token_only=False)"),
}
#: The keys in display order.
BRANCH_KEYS: tuple[str, ...] = tuple(BRANCHES)
#: The HQ-SAM branch the paper's numbers were measured with, per benchmark.
PAPER_BRANCH: dict[str, str] = {
    "hq_datasets": "hq",  # DIS5K / COIFT / HRSOD / ThinObject-5K mIoU and mBIoU (train/train.py: masks_hq)
    "points": "hq",       # the point-prompt curves come from the same evaluation
    "coco": "fused",      # COCO AP with detector boxes (the predictor's default)
    "video": "fused",     # DAVIS / YouTube-VIS with tracker boxes: the predictor default (code never released)
}


def branch(key: str) -> Branch:
    """The :class:`Branch` for ``key``; a ``ValueError`` naming the accepted keys otherwise."""
    try:
        return BRANCHES[key]
    except (KeyError, TypeError):
        raise ValueError(f"unknown branch {key!r}; use one of {', '.join(BRANCH_KEYS)}") from None


#: The two HQ-SAM branches (what is compared with SAM).
HQ_BRANCHES: tuple[str, ...] = ("hq", "fused")


def check_branches(branches: str | Iterable[str] | None, *, what: str = "branches") -> tuple[str, ...]:
    """Branch keys, checked, without repeats, in display order (``sam``, ``hq``, ``fused``); at least one.

    Args:
        branches: keys; one key as a string; None for every branch.
        what: how messages name the argument.

    Raises:
        ValueError: an unknown key (the accepted ones are named), or none at all.
    """
    if branches is None:
        return BRANCH_KEYS
    keys = (branches,) if isinstance(branches, str) else tuple(branches)
    for key in keys:
        if key not in BRANCHES:
            raise ValueError(f"{what}: unknown branch {key!r}; use one of {', '.join(BRANCH_KEYS)}")
    if not keys:
        raise ValueError(f"{what} is empty; give at least one of {', '.join(BRANCH_KEYS)}")
    return tuple(k for k in BRANCH_KEYS if k in keys)


def hq_branch(key: Any, what: str = "branch") -> str:
    """``key`` when it names an HQ-SAM branch (``"hq"`` or ``"fused"``), else a ``ValueError`` naming ``what``."""
    if key not in HQ_BRANCHES:
        raise ValueError(f"{what} must be 'hq' or 'fused', got {key!r}")
    return str(key)
