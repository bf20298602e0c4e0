"""What a training run keeps on disk: its resumable state, and the HQ-SAM checkpoint it produces.

* ``state.pt`` (:func:`save_state` / :func:`load_state`) - the step reached, the HQ additions' weights, Adam's
  state and the history (losses, validations), written atomically (a crash leaves the previous state whole).
  Everything random in a run is a function of the seed and the step (:mod:`hqsam_nb.training.loop`), and the
  learning rate a function of the step, so these are all a resumed run needs to continue exactly as if it had
  not stopped.
* the exported checkpoint (:func:`export_checkpoint`) - the whole model's ``state_dict`` in the official layout:
  SAM's frozen weights unchanged plus the trained HQ additions, i.e. an ordinary HQ-SAM checkpoint that
  ``sam_model_registry[model](checkpoint=...)`` and :func:`hqsam_nb.load_pair` load.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import torch

from ..io.atomic import atomic_torch_save
from ..models.checkpoints import CheckpointError

logger = logging.getLogger(__name__)

__all__ = ["STATE_FILE", "STATE_FORMAT", "checkpoint_name", "export_checkpoint", "load_state", "save_state"]

#: The resumable state's file name in a run folder.
STATE_FILE = "state.pt"
#: Bumped when the state's layout changes (an older state is refused with a message, not misread).
STATE_FORMAT = 1


def checkpoint_name(model: str) -> str:
    """The exported checkpoint's file name, e.g. ``sam_hq_vit_tiny_trained.pth``."""
    return f"sam_hq_{model}_trained.pth"


def save_state(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Write a training state atomically (:func:`~hqsam_nb.io.atomic.atomic_torch_save`)."""
    atomic_torch_save({"format": STATE_FORMAT, **state}, path)
    return Path(path)


def load_state(path: str | os.PathLike) -> dict[str, Any]:
    """Read a training state (tensors and plain containers only: ``weights_only=True``).

    Raises:
        CheckpointError: unreadable, or written by another version of this format.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path} is not a readable training state ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0][:200] if str(exc) else ''}); start the run afresh "
                              "in a new folder") from None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise CheckpointError(f"{path} is a training state of another format ({state.get('format')!r}, this "
                              f"version reads {STATE_FORMAT}); start the run afresh in a new folder")
    return state


def export_checkpoint(model: torch.nn.Module, path: str | os.PathLike) -> Path:
    """Save ``model``'s whole ``state_dict`` (CPU tensors, official key names) atomically: an HQ-SAM checkpoint."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_torch_save(state, path)
    logger.info("HQ-SAM checkpoint written: %s", path)
    return Path(path)
