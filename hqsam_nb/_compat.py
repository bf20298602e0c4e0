"""Every reach into another package's internals, in one place, each with a test (``tests/test_compat.py``).

* :func:`import_official` - ``segment_anything_hq`` imported once, its import-time warnings filtered narrowly:
  0.3 imports ``timm.models.layers`` / ``timm.models.registry`` (deprecated in timm: FutureWarning) and
  re-registers TinyViT names in timm's registry (UserWarning "Overwriting tiny_vit_..."). Those two, and only
  those, are silenced; every module of this package calls it before importing from ``segment_anything_hq``.
* :func:`separate_heads` - ``segment_anything_hq``'s private ``Attention._separate_heads`` (the decoder's
  attention maps are rebuilt from the captured q/k projections with the module's own head split).
* :func:`held_canvas` - ipycanvas' private ``_CANVAS_MANAGER``: nested holds and a hold that an exception leaves.
* :func:`traceable_prompt_embedder` - ``segment_anything_hq.utils.onnx.SamOnnxModel``'s private ``_embed_points``
  / ``_embed_masks``: the official prompt embedding written with arithmetic masks instead of boolean indexing, so
  that it exports to ONNX with a dynamic number of points (the ONNX decoders, :mod:`hqsam_nb.onnx`).
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

__all__ = ["held_canvas", "import_official", "ray_loopback_only", "separate_heads", "traceable_prompt_embedder"]


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
