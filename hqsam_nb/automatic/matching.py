"""Which of SAM's automatic masks is which of HQ-SAM's: a one-to-one matching by mask IoU.

The two generators propose different numbers of masks (SAM three candidates per point, HQ-SAM one), in different
orders, so object ``i`` of one list is not object ``i`` of the other. :func:`match_masks` pairs them so that the
sum of IoUs is largest (the Hungarian algorithm, ``scipy.optimize.linear_sum_assignment``); pairs below
``min_iou`` do not count as the same object and both masks are listed as unmatched. IoUs come from COCO RLEs
(``pycocotools.mask.iou``), so a hundred masks of a megapixel image need no ``N x M x H x W`` array.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..validation import check_mask

__all__ = ["MaskMatching", "MatchedPair", "iou_matrix", "match_branches", "match_masks"]


@dataclass(frozen=True)
class MatchedPair:
    """Mask ``a`` of the first list and mask ``b`` of the second are the same object, with this ``iou``."""

    a: int
    b: int
    iou: float


@dataclass(frozen=True)
class MaskMatching:
    """A one-to-one matching between two lists of masks.

    Attributes:
        pairs: the matched pairs, in order of the first list's index.
        unmatched_a, unmatched_b: indices (into each list) of masks with no partner of IoU ``>= min_iou``.
        iou: ``float64`` ``(N_a, N_b)`` IoU of every mask of the first list with every mask of the second.
        min_iou: the threshold used.
        names: what the two lists are, e.g. ``("sam", "hq")`` (branch keys).
    """

    pairs: tuple[MatchedPair, ...]
    unmatched_a: tuple[int, ...]
    unmatched_b: tuple[int, ...]
    iou: np.ndarray
    min_iou: float
    names: tuple[str, str] = ("a", "b")

    def most_changed(self, n: int | None = None) -> list[MatchedPair]:
        """Matched pairs from the lowest IoU (the object whose mask changed most) up; the first ``n`` if given."""
        order = sorted(self.pairs, key=lambda p: (p.iou, p.a))
        return order if n is None else order[: max(0, int(n))]

    def summary(self) -> dict[str, Any]:
        """Counts and the mean IoU of the matched pairs, JSON-ready."""
        a, b = self.names
        ious = [p.iou for p in self.pairs]
        return {f"{a} masks": self.iou.shape[0], f"{b} masks": self.iou.shape[1], "matched": len(self.pairs),
                f"only {a}": len(self.unmatched_a), f"only {b}": len(self.unmatched_b),
                "mean IoU of matched": float(np.mean(ious)) if ious else float("nan")}


    def markdown(self, limit: int = 10) -> str:
        """The matched pairs, most changed first (at most ``limit`` rows), and the unmatched masks."""
        from ..util import markdown_table

        a, b = self.names
        rows = [[p.a, p.b, p.iou] for p in self.most_changed(limit)]
        table = markdown_table([f"{a} mask", f"{b} mask", "IoU"], rows, digits=3) if rows else "(no matched pair)"
        more = f" ({len(self.pairs) - limit} more)" if len(self.pairs) > limit else ""
        return (f"{len(self.pairs)} matched at IoU >= {self.min_iou:g}{more}, most changed first:\n\n{table}\n\n"
                f"only {a}: {list(self.unmatched_a) or 'none'}; only {b}: {list(self.unmatched_b) or 'none'}")


def _coco_rles(masks: Any, name: str) -> tuple[list[dict[str, Any]], tuple[int, int] | None]:
    """COCO RLEs (pycocotools' own objects) of records, ``bool`` masks or an ``(N, H, W)`` array."""
    from pycocotools import mask as mask_utils

    from .generator import record_mask

    if isinstance(masks, np.ndarray):
        if masks.ndim != 3:
            raise ValueError(f"{name} as an array must be bool (N, H, W), got shape {masks.shape}")
        masks = list(masks)
    rles, shape = [], None
    for i, item in enumerate(masks):
        seg = item.get("segmentation") if isinstance(item, dict) else None
        if isinstance(seg, dict) and isinstance(seg.get("counts"), str):  # output_mode="coco_rle": as is
            rle = {"size": list(seg["size"]), "counts": seg["counts"].encode("ascii")}
        else:
            m = record_mask(item) if isinstance(item, dict) else check_mask(item, name=f"{name}[{i}]")
            rle = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
        size = (int(rle["size"][0]), int(rle["size"][1]))
        if shape is not None and size != shape:
            raise ValueError(f"{name}[{i}] has size {size}, the first mask has {shape}")
        shape = size
        rles.append(rle)
    return rles, shape


def iou_matrix(a: Sequence[Any] | np.ndarray, b: Sequence[Any] | np.ndarray) -> np.ndarray:
    """IoU of every mask of ``a`` with every mask of ``b``: ``float64`` ``(len(a), len(b))``.

    ``a`` and ``b``: generator records (any ``output_mode``), ``bool`` ``H x W`` masks, or ``(N, H, W)`` arrays,
    all of one image size. An empty mask has IoU 0 with everything.
    """
    from pycocotools import mask as mask_utils

    ra, sa = _coco_rles(a, "a")
    rb, sb = _coco_rles(b, "b")
    if sa is not None and sb is not None and sa != sb:
        raise ValueError(f"a's masks are {sa}, b's are {sb}: masks of different images cannot be matched")
    if not ra or not rb:
        return np.zeros((len(ra), len(rb)))
    return np.asarray(mask_utils.iou(ra, rb, [0] * len(rb)), dtype=np.float64).reshape(len(ra), len(rb))


def match_masks(a: Sequence[Any] | np.ndarray, b: Sequence[Any] | np.ndarray, *, min_iou: float = 0.5,
                names: tuple[str, str] = ("a", "b")) -> MaskMatching:
    """Match two lists of masks one to one, maximising the total IoU; pairs below ``min_iou`` stay unmatched.

    Args:
        a, b: as :func:`iou_matrix` takes them (e.g. ``result.sam`` and ``result.hq``).
        min_iou: in ``(0, 1]``; the smallest IoU at which two masks count as the same object. 0.5 is the usual
            "same object" criterion (COCO's AP50); lower it to follow objects whose boundary changes a lot.
        names: labels of the two lists for :meth:`MaskMatching.summary`.

    Returns:
        A :class:`MaskMatching`.
    """
    from scipy.optimize import linear_sum_assignment

    if isinstance(min_iou, bool) or not isinstance(min_iou, (int, float)) or not 0 < min_iou <= 1:
        raise ValueError(f"min_iou must be a number in (0, 1], got {min_iou!r}")
    iou = iou_matrix(a, b)
    pairs: list[MatchedPair] = []
    if iou.size:
        # pairs below min_iou count as nothing, so they never displace a valid pair from the optimum
        rows, cols = linear_sum_assignment(np.where(iou >= min_iou, iou, 0.0), maximize=True)
        pairs = [MatchedPair(int(i), int(j), float(iou[i, j])) for i, j in zip(rows, cols, strict=True)
                 if iou[i, j] >= min_iou]
    used_a = {p.a for p in pairs}
    used_b = {p.b for p in pairs}
    return MaskMatching(
        pairs=tuple(sorted(pairs, key=lambda p: p.a)),
        unmatched_a=tuple(i for i in range(iou.shape[0]) if i not in used_a),
        unmatched_b=tuple(j for j in range(iou.shape[1]) if j not in used_b),
        iou=iou, min_iou=float(min_iou), names=(str(names[0]), str(names[1])),
    )


def match_branches(result: Any, a: str = "sam", b: str = "hq", *, min_iou: float = 0.5) -> MaskMatching:
    """:func:`match_masks` of two branches of an :class:`~hqsam_nb.automatic.generator.EverythingResult`."""
    return match_masks(result.branch(a), result.branch(b), min_iou=min_iou, names=(a, b))
