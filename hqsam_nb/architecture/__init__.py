"""Architecture introspection: what HQ-SAM adds to SAM, measured from the official model itself.

Everything here reads the live ``segment_anything_hq`` model; nothing is re-implemented and no number is
hard-coded:

* :func:`parameter_table` - parameters per component (image encoder, prompt encoder, SAM's mask decoder and
  each HQ addition), from the model's own ``named_parameters``; :func:`meta_model` builds any variant on
  PyTorch's ``meta`` device (shapes only, no memory), so counting ViT-H costs nothing;
* :func:`record_forward` - one image and one prompt through the official ``Sam.forward`` with forward hooks:
  each stage's tensor shapes (the trace), the intermediate features (early ViT feature, image embedding,
  global-local HQ features, mask features), every output token's mask logits and the decoder's
  token-to-image attention; on a ``meta`` model it gives the shapes alone;
* :func:`stage_costs` - FLOPs (``torch.utils.flop_counter.FlopCounterMode``) and wall time per stage;
* :func:`pca_rgb` - a ``C x H x W`` feature map to an RGB image by PCA (pure numpy);
* :func:`plot_framework`, :func:`plot_features`, :func:`plot_token_story` - thin matplotlib layers.

Megabytes: the paper's "params" columns are megabytes of fp32 weights with ``1 MB = 2**20`` bytes (SAM-B:
93.7 M parameters x 4 bytes = 357.6 MB, printed as 358). :attr:`ParamRow.mb` uses the same unit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_face

if TYPE_CHECKING:
    from .costs import StageCost, format_costs, stage_costs
    from .parameters import (
        COMPONENTS,
        ParameterTable,
        ParamRow,
        component_of,
        format_parameter_summary,
        hq_parameter_names,
        meta_model,
        parameter_table,
    )
    from .pictures import pca_rgb, plot_features, plot_framework, plot_token_story
    from .trace import FEATURE_NAMES, ForwardRecord, TraceStep, format_trace, record_forward

#: Each public name -> the module that defines it (imported on first use: :mod:`hqsam_nb._lazy`).
_HOMES = {
    "COMPONENTS": "parameters",
    "FEATURE_NAMES": "trace",
    "ForwardRecord": "trace",
    "ParamRow": "parameters",
    "ParameterTable": "parameters",
    "StageCost": "costs",
    "TraceStep": "trace",
    "component_of": "parameters",
    "format_costs": "costs",
    "format_parameter_summary": "parameters",
    "format_trace": "trace",
    "hq_parameter_names": "parameters",
    "meta_model": "parameters",
    "parameter_table": "parameters",
    "pca_rgb": "pictures",
    "plot_features": "pictures",
    "plot_framework": "pictures",
    "plot_token_story": "pictures",
    "record_forward": "trace",
    "stage_costs": "costs",
}
__all__ = [
    "COMPONENTS", "FEATURE_NAMES", "ForwardRecord", "ParamRow", "ParameterTable", "StageCost", "TraceStep",
    "component_of", "format_costs", "format_parameter_summary", "format_trace", "hq_parameter_names", "meta_model",
    "parameter_table", "pca_rgb", "plot_features", "plot_framework", "plot_token_story", "record_forward",
    "stage_costs",
]
__getattr__, __dir__ = lazy_face(__name__, _HOMES)
