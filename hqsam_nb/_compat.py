"""Every reach into another package's internals, in one place, each with a test (``tests/test_compat.py``).

* :func:`import_official` - ``segment_anything_hq`` imported once, its import-time warnings filtered narrowly:
  0.3 imports ``timm.models.layers`` / ``timm.models.registry`` (deprecated in timm: FutureWarning) and
  re-registers TinyViT names in timm's registry (UserWarning "Overwriting tiny_vit_..."). Those two, and only
  those, are silenced; every module of this package calls it before importing from ``segment_anything_hq``.
* :func:`separate_heads` - ``segment_anything_hq``'s private ``Attention._separate_heads`` (the decoder's
  attention maps are rebuilt from the captured q/k projections with the module's own head split).
* :func:`held_canvas` - ipycanvas' private ``_CANVAS_MANAGER``: nested holds and a hold that an exception leaves.
* :func:`ray_loopback_only` - Ray's ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER`` switch (and its private
  ``ray._private.ray_constants.ENABLE_RAY_CLUSTER`` once Ray is imported): a Ray instance started here binds to
  127.0.0.1, as Ray does on macOS, instead of the machine's network address.
* :func:`ray_start_wait` - Ray's private ``ray._private.services.get_node``, which ``ray.init`` polls for a fixed
  30 s while a new local instance's raylet registers (and ``RAY_gcs_server_port_wait_time_s``, Ray's switch for its
  GCS's start-up wait): a local instance on a loaded machine gets the time the caller gives it.
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

__all__ = ["held_canvas", "import_official", "ray_loopback_only", "ray_start_wait", "separate_heads"]


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


@contextlib.contextmanager
def ray_start_wait(timeout_s: float) -> Iterator[None]:
    """Within the block, a local Ray instance that ``ray.init`` starts may take ``timeout_s`` to come up.

    ``ray.init`` starts the GCS (waiting ``$RAY_gcs_server_port_wait_time_s``, 30 s by default, for it to listen)
    and the raylet, then polls its private ``ray._private.services.get_node`` until the raylet has registered,
    giving up after a fixed 30 s with "The current node timed out during startup". On a loaded 2-core machine the
    raylet can take longer (it waits for its Python agent processes). Here ``get_node`` itself keeps asking, every
    half second, until ``timeout_s`` has passed since its first call, so Ray's 30 s loop sees one slow answer; the
    GCS wait is set to ``timeout_s`` too. Both are restored on exit.
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

    saved = os.environ.get(RAY_GCS_WAIT_ENV)
    os.environ[RAY_GCS_WAIT_ENV] = str(max(1, math.ceil(timeout_s)))
    services.get_node = get_node
    try:
        yield
    finally:
        services.get_node = real
        if saved is None:
            os.environ.pop(RAY_GCS_WAIT_ENV, None)
        else:
            os.environ[RAY_GCS_WAIT_ENV] = saved
