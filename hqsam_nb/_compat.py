"""Every reach into another package's internals, in one place, each with a test (``tests/test_compat.py``).

* :func:`import_official` - ``segment_anything_hq`` imported once, its import-time warnings filtered narrowly:
  0.3 imports ``timm.models.layers`` / ``timm.models.registry`` (deprecated in timm: FutureWarning) and
  re-registers TinyViT names in timm's registry (UserWarning "Overwriting tiny_vit_..."). Those two, and only
  those, are silenced; every module of this package calls it before importing from ``segment_anything_hq``.
* :func:`separate_heads` - ``segment_anything_hq``'s private ``Attention._separate_heads`` (the decoder's
  attention maps are rebuilt from the captured q/k projections with the module's own head split).
* :func:`held_canvas` - ipycanvas' private ``_CANVAS_MANAGER``: nested holds and a hold that an exception leaves.
* :func:`replaying_mask_generator` - ``segment_anything_hq``'s ``SamAutomaticMaskGenerator`` with its private
  ``_process_batch`` overridden: chunks decoded once (for three branches from one decoder pass) are handed back
  to the official ``generate`` instead of being decoded again, so the official NMS and records run on them.
* :func:`meta_nonzero_assumed` - torch's private ``torch.fx.experimental._config`` switch
  ``meta_nonzero_assume_all_nonzero``: boolean indexing on ``meta`` tensors (the prompt encoder's
  ``points[labels == k]``) gets a shape instead of an error;
* :func:`dispatch_mode_tools` - torch's private ``torch.utils._python_dispatch.TorchDispatchMode`` and
  ``torch.utils._pytree.tree_flatten``: every tensor an operator returns, seen as it is made (peak memory);
* :func:`figure_suptitle` - matplotlib's private ``Figure._suptitle`` (the suptitle's ``Text``: its font size has
  no public getter).
* :func:`ray_loopback_only` - Ray's ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER`` switch (and its private
  ``ray._private.ray_constants.ENABLE_RAY_CLUSTER`` once Ray is imported): a Ray instance started here binds to
  127.0.0.1, as Ray does on macOS, instead of the machine's network address.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from types import ModuleType
from typing import Any

__all__ = ["dispatch_mode_tools", "figure_suptitle", "held_canvas", "import_official", "meta_nonzero_assumed",
           "ray_loopback_only", "replaying_mask_generator", "separate_heads"]


def import_official() -> ModuleType:
    """Return the ``segment_anything_hq`` module, imported quietly on the first call."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Importing from timm\.models\.(layers|registry) is deprecated",
                                category=FutureWarning)
        warnings.filterwarnings("ignore", message=r"Overwriting tiny_vit_.* in registry", category=UserWarning)
        import segment_anything_hq
        import segment_anything_hq.modeling
        import segment_anything_hq.utils.transforms  # noqa: F401
    return segment_anything_hq


def separate_heads(attention: Any, x: Any) -> Any:
    """``attention._separate_heads(x, attention.num_heads)``: ``B x N x C`` -> ``B x heads x N x C/heads``, with
    the official ``segment_anything_hq.modeling.transformer.Attention``'s own (private) method."""
    return attention._separate_heads(x, attention.num_heads)


def replaying_mask_generator() -> type:
    """A subclass of the official ``SamAutomaticMaskGenerator`` whose private ``_process_batch`` returns the next
    stored chunk of ``self.replay`` (a deque of what ``_process_batch`` returned before) when ``replay`` is not
    None, and computes the chunk as the official one does otherwise."""
    import_official()  # quietly, first
    from segment_anything_hq.automatic_mask_generator import SamAutomaticMaskGenerator

    class ReplayingMaskGenerator(SamAutomaticMaskGenerator):
        replay: Any = None

        def _process_batch(self, points: Any, im_size: tuple[int, ...], crop_box: list[int],
                           orig_size: tuple[int, ...], multimask_output: bool = True) -> Any:
            if self.replay is not None:
                return self.replay.popleft()
            return super()._process_batch(points, im_size, crop_box, orig_size, multimask_output)

    return ReplayingMaskGenerator


@contextlib.contextmanager
def meta_nonzero_assumed() -> Iterator[None]:
    """Let boolean indexing run on ``meta`` tensors (torch assumes every element is non-zero); a no-op where this
    torch has no such switch."""
    try:
        import torch.fx.experimental._config as fx_config
    except ImportError:  # pragma: no cover - older torch
        yield
        return
    if not hasattr(fx_config, "meta_nonzero_assume_all_nonzero"):  # pragma: no cover
        yield
        return
    with fx_config.patch(meta_nonzero_assume_all_nonzero=True):
        yield


def dispatch_mode_tools() -> tuple[type, Any]:
    """``(TorchDispatchMode, tree_flatten)`` from torch's private modules: subclass the first to see every
    operator call; the second flattens an operator's output into its tensors."""
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten

    return TorchDispatchMode, tree_flatten


def figure_suptitle(fig: Any) -> Any:
    """A matplotlib figure's suptitle ``Text``, or None when it has none."""
    return fig._suptitle


@contextlib.contextmanager
def held_canvas() -> Iterator[None]:
    """``ipycanvas.hold_canvas()`` that nests (an inner hold inside an outer one does not flush early) and that
    an exception does not leave open. Needs ipycanvas' private ``_CANVAS_MANAGER`` (its ``_caching`` flag and
    ``flush()``): ``hold_canvas`` itself flushes on every exit, and an exception inside it would leave ipycanvas
    caching every later command."""
    from ipycanvas import hold_canvas
    from ipycanvas.canvas import _CANVAS_MANAGER

    if _CANVAS_MANAGER._caching:
        yield
        return
    with hold_canvas():
        try:
            yield
        except BaseException:
            _CANVAS_MANAGER.flush()
            _CANVAS_MANAGER._caching = False
            raise


def ray_loopback_only() -> None:
    """Make the Ray instance this process starts (or joins on 127.0.0.1) use the loopback address.

    Ray on Linux advertises and dials the machine's network address even for a one-machine instance, and rewrites
    ``127.0.0.1`` to it; with ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` it keeps to ``127.0.0.1`` (its macOS
    behaviour). The variable is read when Ray is imported, so after the import the constant is set too. Worker
    processes inherit the variable from the instance's processes.
    """
    import sys

    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    constants = sys.modules.get("ray._private.ray_constants")
    if constants is not None:
        constants.ENABLE_RAY_CLUSTER = False
