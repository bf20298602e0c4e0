"""Small generic helpers every part of the package shares: the one timing method and the one markdown table.

Ground floor: nothing here knows about models, masks or branches (``tests/test_import_graph.py``).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Timing", "markdown_table", "time_call"]


@dataclass(frozen=True)
class Timing:
    """What :func:`time_call` measured: the median and the fastest of ``repeats`` timed calls (ms)."""

    median_ms: float
    min_ms: float
    repeats: int
    warmup: int


def time_call(fn: Callable[[], Any], device: Any = None, *, repeats: int = 5, warmup: int = 1) -> Timing:
    """Time ``fn()``: ``warmup`` untimed calls, then ``repeats`` timed ones; CUDA is synchronised around each.

    The first call of a PyTorch model pays one-off costs (allocations, kernel selection, lazy initialisation):
    without a warm-up a cheap stage can look hundreds of milliseconds slow. This is the package's one timing
    method; notebooks 01 and 04 both report its median.

    Args:
        fn: the work to time (no arguments; its result is discarded).
        device: the device ``fn`` runs on (a ``torch.device`` or its name; only CUDA needs synchronising); None
            for the CPU.
        repeats: timed calls (>= 1). warmup: untimed calls first (>= 0).
    """
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be an int >= 1, got {repeats!r}")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be an int >= 0, got {warmup!r}")
    sync = _synchronizer(device)
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    return Timing(statistics.median(times), min(times), repeats, warmup)


def _synchronizer(device: Any) -> Callable[[], None]:
    """A function that waits for the device's queued work (CUDA), or does nothing (CPU, MPS, None)."""
    if device is None or str(device).split(":")[0] != "cuda":
        return lambda: None
    import torch

    dev = torch.device(device)
    return lambda: torch.cuda.synchronize(dev)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]], digits: int = 1,
                   align: str | None = None) -> str:
    """A GitHub-markdown table; floats rounded to ``digits``, NaN shown as ``-``, anything else as ``str``.

    Args:
        header: the column titles.
        rows: one sequence of cells per row.
        digits: decimals of float cells (format numbers yourself for per-column precision).
        align: one letter per column, ``"l"`` (left, the default) or ``"r"`` (right: numbers).

    Example:
        >>> print(markdown_table(["model", "ms"], [["vit_b", 12.345]], align="lr"))
        | model | ms |
        |---|---:|
        | vit_b | 12.3 |
    """
    align = align or "l" * len(header)
    if len(align) != len(header) or set(align) - {"l", "r"}:
        raise ValueError(f"align must be one 'l' or 'r' per column ({len(header)}), got {align!r}")

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return "-" if math.isnan(v) else f"{v:.{digits}f}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
