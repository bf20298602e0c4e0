"""Data-parallel training with PyTorch DDP, launched by ``torchrun`` (gloo on CPUs, NCCL on GPUs).

``torchrun --nproc-per-node 8 -m hqsam_nb train ...`` starts one process per GPU; each reads ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK`` from its environment (:func:`init_distributed`). Every wait is bounded: the
process group gets a ``timeout`` (default 10 minutes; a collective that waits longer raises instead of hanging),
and a process that cannot join the group in that time fails with a message saying so.

Only rank 0 writes (training state, checkpoints, curves, run files); every rank reads the state when resuming, so
the output folder must be on a file system all ranks see (one machine, or a shared mount).
"""

from __future__ import annotations

import datetime
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_TIMEOUT_S", "Distributed", "init_distributed"]

#: How long any collective (all-reduce, barrier, gather) may wait for the other processes, in seconds.
DEFAULT_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class Distributed:
    """This process's place in a run.

    Attributes:
        rank: 0 ... ``world - 1`` (0 in a single-process run).
        world: the number of processes.
        local_rank: the rank on this machine (which GPU to use).
        device: this process's device.
    """

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        """True on the one process that writes (rank 0)."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        """True when a process group is running (more than one process)."""
        return self.world > 1 and dist.is_available() and dist.is_initialized()

    def all_mean(self, value: float) -> float:
        """The mean of ``value`` over the processes (itself when alone)."""
        if not self.active:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=self._comm_device())
        dist.all_reduce(t)
        return float(t.item()) / self.world

    def gather(self, items: list[Any]) -> list[Any]:
        """Every process's ``items``, concatenated in rank order (on every process)."""
        if not self.active:
            return list(items)
        out: list[list[Any] | None] = [None] * self.world
        dist.all_gather_object(out, items)
        return [x for part in out for x in (part or [])]

    def on_main(self, fn: Callable[[], Any], *, share: bool = False) -> Any:
        """Run ``fn`` on rank 0 only (the one that writes); every rank waits for it and raises its error if it
        failed. Returns ``fn``'s result on rank 0, and on the others too with ``share=True`` (else None)."""
        result: Any = None
        error: BaseException | None = None
        if self.is_main:
            try:
                result = fn()
            except Exception as exc:  # sent to the other ranks, then raised here too
                error = exc
        if self.active:
            box: list[Any] = [(error, result if share else None)]
            try:
                dist.broadcast_object_list(box, src=0)
            except (TypeError, AttributeError):  # an unpicklable error: its message is enough
                box = [(RuntimeError(f"rank 0 failed: {error}"), None)]
                dist.broadcast_object_list(box, src=0)
            if not self.is_main:
                error, result = box[0]
        if error is not None:
            raise error
        return result

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def close(self) -> None:
        if self.active:
            dist.destroy_process_group()

    def _comm_device(self) -> torch.device:
        return self.device if dist.get_backend() == "nccl" else torch.device("cpu")


def init_distributed(device: str | torch.device | None = None, *,
                     timeout_s: float = DEFAULT_TIMEOUT_S) -> Distributed:
    """Join the process group ``torchrun`` set up, or return a single-process :class:`Distributed`.

    Args:
        device: None picks ``cuda:LOCAL_RANK`` when CUDA is available, else the CPU; a given device is used as
            is in a single process (``"cuda"`` becomes ``cuda:LOCAL_RANK`` under torchrun).
        timeout_s: the bound on every collective wait and on joining the group.

    Raises:
        RuntimeError: the environment says ``WORLD_SIZE > 1`` but the group cannot be joined in time.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device is None:
        dev = torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")
    else:
        dev = torch.device(device)
        if dev.type == "cuda" and dev.index is None and world > 1:
            dev = torch.device(f"cuda:{local_rank}")
    if world <= 1:
        return Distributed(0, 1, 0, dev)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    backend = "nccl" if dev.type == "cuda" else "gloo"
    try:
        dist.init_process_group(backend=backend, timeout=datetime.timedelta(seconds=timeout_s))
    except Exception as exc:
        raise RuntimeError(f"rank {rank} of {world} could not join the {backend} process group within "
                           f"{timeout_s:.0f} s ({type(exc).__name__}: {exc}); were all processes started by "
                           "torchrun with the same --nproc-per-node?") from None
    logger.info("rank %d of %d on %s (%s)", rank, world, dev, backend)
    return Distributed(rank, world, local_rank, dev)
