"""Import the official ``segment_anything_hq`` package once, with its import-time warnings filtered narrowly.

``segment_anything_hq`` 0.3 imports ``timm.models.layers`` / ``timm.models.registry`` (deprecated in timm:
FutureWarning) and re-registers TinyViT names in timm's registry (UserWarning "Overwriting tiny_vit_..."). Those
two, and only those, are silenced; every module of this package calls :func:`import_official` before importing
from ``segment_anything_hq``.
"""

from __future__ import annotations

import warnings
from types import ModuleType


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
