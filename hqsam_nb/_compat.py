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
  to the official ``generate`` instead of being decoded again, so the official NMS and records run on them; its
  ``process_batch`` calls the official ``_process_batch`` on a chunk directly.
* :func:`meta_nonzero_assumed` - torch's private ``torch.fx.experimental._config`` switch
  ``meta_nonzero_assume_all_nonzero``: boolean indexing on ``meta`` tensors (the prompt encoder's
  ``points[labels == k]``) gets a shape instead of an error;
* :func:`dispatch_mode_tools` - torch's private ``torch.utils._python_dispatch.TorchDispatchMode`` and
  ``torch.utils._pytree.tree_flatten``: every tensor an operator returns, seen as it is made (peak memory);
* :func:`figure_suptitle` - matplotlib's private ``Figure._suptitle`` (the suptitle's ``Text``: its font size has
  no public getter).
* :func:`traceable_prompt_embedder` - ``segment_anything_hq.utils.onnx.SamOnnxModel``'s private ``_embed_points``
  / ``_embed_masks``: the official prompt embedding written with arithmetic masks instead of boolean indexing, so
  that it exports to ONNX with a dynamic number of points (the ONNX decoders, :mod:`hqsam_nb.onnx`).
* :func:`ray_loopback_only` - Ray's ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER`` switch (and its private
  ``ray._private.ray_constants.ENABLE_RAY_CLUSTER`` once Ray is imported): a Ray instance started here binds to
  127.0.0.1, as Ray does on macOS, instead of the machine's network address.
* :func:`ray_start_wait` - Ray's private ``ray._private.services.get_node``, which ``ray.init`` polls for a fixed
  30 s while a new local instance's raylet registers (and Ray's switches ``RAY_gcs_server_port_wait_time_s`` and
  ``RAY_agent_register_timeout_ms`` for its GCS's and its raylet's start-up waits): a local instance on a loaded
  machine gets the time the caller gives it.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
import warnings
from collections.abc import Iterator
from types import ModuleType
from typing import Any

__all__ = ["dispatch_mode_tools", "figure_suptitle", "held_canvas", "import_official", "meta_nonzero_assumed",
           "ray_loopback_only", "ray_start_wait", "replaying_mask_generator", "separate_heads",
           "traceable_prompt_embedder"]


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

        def process_batch(self, points: Any, im_size: tuple[int, ...], crop_box: list[int],
                          orig_size: tuple[int, ...], multimask_output: bool = True) -> Any:
            """The official private ``_process_batch`` of one chunk (filters, boxes, RLE), never a replay."""
            return SamAutomaticMaskGenerator._process_batch(self, points, im_size, crop_box, orig_size,
                                                            multimask_output)

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


class TraceablePromptEmbedder:
    """The official ONNX prompt embedding of one model (``SamOnnxModel(model)``'s ``_embed_points`` and
    ``_embed_masks``), as two public calls.

    * ``points(coords, labels)``: ``coords`` float ``(K, N, 2)`` ``(x, y)`` in the model's input frame (the image
      resized so that its long side is 1024), ``labels`` float ``(K, N)``: 1 positive, 0 negative, 2 / 3 a box's
      top-left / bottom-right corner, -1 padding -> sparse embeddings ``(K, N, 256)``; the same values as the
      official ``PromptEncoder`` (which pads and embeds boxes as those two corners);
    * ``masks(mask_input, has_mask_input)``: ``(K, 1, 256, 256)`` low-res logits and a ``(1,)`` flag (1: use them,
      0: the learned no-mask embedding) -> dense embeddings ``(K, 256, 64, 64)``.
    """

    def __init__(self, model: Any) -> None:
        import_official()
        from segment_anything_hq.utils.onnx import SamOnnxModel

        self._official = SamOnnxModel(model)

    def points(self, coords: Any, labels: Any) -> Any:
        return self._official._embed_points(coords, labels)

    def masks(self, mask_input: Any, has_mask_input: Any) -> Any:
        return self._official._embed_masks(mask_input, has_mask_input)


def traceable_prompt_embedder(model: Any) -> TraceablePromptEmbedder:
    """A :class:`TraceablePromptEmbedder` over the official ``Sam`` ``model``'s prompt encoder."""
    return TraceablePromptEmbedder(model)


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


#: Ray's environment switch for how long a starting instance waits for its GCS to listen (seconds; Ray: 30).
RAY_GCS_WAIT_ENV = "RAY_gcs_server_port_wait_time_s"
#: Ray's switch for how long a new raylet waits for its runtime-env agent (milliseconds). Its wait for the dashboard
#: agent's ports is a fixed 15 s in this Ray ("Check failed ... WaitForDashboardAgentPorts": the raylet aborts).
RAY_AGENT_WAIT_ENV = "RAY_agent_register_timeout_ms"


def _raylet_child_alive() -> bool | None:
    """Whether a ``raylet`` child process of this process runs (not a zombie); None where that cannot be told
    (no ``/proc``, or no raylet child: Ray may start it another way)."""
    proc = "/proc"
    if not os.path.isdir(proc):
        return None
    me, seen = os.getpid(), False
    for pid in os.listdir(proc):
        if not pid.isdigit():
            continue
        try:
            with open(os.path.join(proc, pid, "stat")) as f:
                stat = f.read()
        except OSError:
            continue
        comm, rest = stat[stat.find("(") + 1:stat.rfind(")")], stat[stat.rfind(")") + 2:].split()
        if comm == "raylet" and len(rest) > 1 and rest[1] == str(me):
            seen = True
            if rest[0] not in ("Z", "X"):
                return True
    return False if seen else None


@contextlib.contextmanager
def ray_start_wait(timeout_s: float) -> Iterator[None]:
    """Within the block, a local Ray instance that ``ray.init`` starts may take ``timeout_s`` to come up.

    ``ray.init`` starts the GCS (waiting ``$RAY_gcs_server_port_wait_time_s``, 30 s by default, for it to listen)
    and the raylet, which waits ``$RAY_agent_register_timeout_ms`` for its Python agent processes and aborts past
    it; then ``ray.init`` polls its private ``ray._private.services.get_node`` until the raylet has registered,
    giving up after a fixed 30 s with "The current node timed out during startup". On a loaded 2-core machine each
    of these can take longer. Here both switches are set to ``timeout_s`` (the raylet inherits them), and
    ``get_node`` itself keeps asking, every half second, until ``timeout_s`` has passed since its first call, so
    Ray's 30 s loop sees one slow answer, unless the raylet it waits for has exited (it aborts when its dashboard
    agent takes more than a fixed 15 s to start): then Ray's own loop ends as it would. All are restored on exit.
    """
    import ray._private.services as services

    real = services.get_node
    first: list[float] = []

    def get_node(gcs_address: Any, node_id: Any) -> Any:
        if not first:
            first.append(time.monotonic())
        while True:
            try:
                return real(gcs_address, node_id)
            except RuntimeError:  # "not registered yet": what Ray's own loop retries on
                if time.monotonic() - first[0] > timeout_s:
                    raise
                time.sleep(0.5)
                if _raylet_child_alive() is False:  # it aborted: no use waiting (Ray's loop ends within its 30 s)
                    raise RuntimeError("the raylet exited during start-up") from None

    waits = {RAY_GCS_WAIT_ENV: str(max(1, math.ceil(timeout_s))), RAY_AGENT_WAIT_ENV: str(math.ceil(timeout_s * 1000))}
    saved = {k: os.environ.get(k) for k in waits}
    os.environ.update(waits)
    services.get_node = get_node
    try:
        yield
    finally:
        services.get_node = real
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
