"""Drawing masks and prompts: pure numpy RGB/RGBA images (:mod:`.overlays`) with thin matplotlib figures on top
(:mod:`.figures`)."""

from .figures import *  # noqa: F403
from .figures import __all__ as _figures_all
from .overlays import *  # noqa: F403
from .overlays import __all__ as _overlays_all

__all__ = [*_overlays_all, *_figures_all]
