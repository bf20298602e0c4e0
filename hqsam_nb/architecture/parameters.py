"""Parameters per component of SAM and HQ-SAM, counted from the official model (``meta`` device: no memory).

Megabytes: the paper's "params" columns are megabytes of fp32 weights with ``1 MB = 2**20`` bytes (SAM-B:
93.7 M parameters x 4 bytes = 357.6 MB, printed as 358). :attr:`ParamRow.mb` uses the same unit.
"""


from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from ..models.checkpoints import MODEL_NAMES, check_model_name
from ..models.loading import HQ_PARAM_PREFIXES, build_model, describe_state_dict, hq_module_of
from ..util import markdown_table

if TYPE_CHECKING:
    from segment_anything_hq.modeling import Sam


logger = logging.getLogger(__name__)

__all__ = [
    "COMPONENTS",
    "ParamRow",
    "ParameterTable",
    "component_of",
    "format_parameter_summary",
    "hq_parameter_names",
    "meta_model",
    "parameter_table",
]

#: The rows of :func:`parameter_table`: SAM's three components, then HQ-SAM's five additions.
COMPONENTS: tuple[str, ...] = ("image_encoder", "prompt_encoder", "mask_decoder (SAM)", *HQ_PARAM_PREFIXES)
#: Bytes per fp32 weight and the paper's megabyte (2**20 bytes).
_FP32_BYTES = 4
_MB = 2**20


def component_of(name: str) -> str:
    """The :data:`COMPONENTS` entry a parameter name of a SAM/HQ-SAM model belongs to.

    Example:
        >>> component_of("mask_decoder.hf_token.weight")
        'hf_token'
        >>> component_of("mask_decoder.transformer.layers.0.mlp.lin1.weight")
        'mask_decoder (SAM)'
    """
    top = name.partition(".")[0]
    if top == "mask_decoder":
        return hq_module_of(name) or "mask_decoder (SAM)"
    if top in ("image_encoder", "prompt_encoder"):
        return top
    raise ValueError(f"{name!r} is not a parameter of a SAM/HQ-SAM model (expected image_encoder., "
                     "prompt_encoder. or mask_decoder.)")


def hq_parameter_names(model: torch.nn.Module) -> tuple[str, ...]:
    """Names of the parameters HQ-SAM adds (its five modules inside ``mask_decoder``), in model order."""
    return tuple(n for n, _ in model.named_parameters() if component_of(n) in HQ_PARAM_PREFIXES)


def meta_model(model: str = "vit_tiny", *, hq: bool = True) -> Sam:
    """Build an official model on PyTorch's ``meta`` device: real structure and shapes, no weights, no memory.

    ViT variants are built directly under ``with torch.device("meta")`` (ViT-H in well under a second). The
    TinyViT builder calls ``.item()`` on a tensor while it builds (its drop-path schedule), which the meta
    device cannot answer, so ``vit_tiny`` (10 M parameters) is built on the CPU and moved to ``meta``.
    Requires-grad flags are the official builder's (SAM frozen, HQ additions trainable).
    """
    check_model_name(model)
    if model == "vit_tiny":
        net = build_model(model, hq=hq)
    else:
        with torch.device("meta"):
            net = build_model(model, hq=hq)
    # A few tensors are made with legacy constructors (torch.Tensor(list)) that ignore the device context.
    return net.to("meta").eval()


@dataclass(frozen=True)
class ParamRow:
    """Parameter count of one component.

    Attributes:
        component: a :data:`COMPONENTS` entry, or ``"total"``.
        params: number of scalar parameters.
        trainable: how many of them have ``requires_grad`` (the official HQ builder freezes all of SAM).
    """

    component: str
    params: int
    trainable: int

    @property
    def frozen(self) -> int:
        return self.params - self.trainable

    @property
    def millions(self) -> float:
        """Parameters in millions (1e6)."""
        return self.params / 1e6

    @property
    def mb(self) -> float:
        """Megabytes of fp32 weights, 1 MB = 2**20 bytes (the paper's unit)."""
        return self.params * _FP32_BYTES / _MB

    @property
    def trainable_mb(self) -> float:
        return self.trainable * _FP32_BYTES / _MB


@dataclass(frozen=True)
class ParameterTable:
    """Per-component parameter counts of one model (see :func:`parameter_table`)."""

    model: str
    hq: bool
    rows: tuple[ParamRow, ...]

    def __getitem__(self, component: str) -> ParamRow:
        for row in self.rows:
            if row.component == component:
                return row
        raise KeyError(f"{component!r} is not a row; rows: {', '.join(r.component for r in self.rows)}")

    @property
    def total(self) -> ParamRow:
        return ParamRow("total", sum(r.params for r in self.rows), sum(r.trainable for r in self.rows))

    @property
    def hq_additions(self) -> ParamRow:
        """The five HQ modules together (zero for an original SAM model)."""
        rows = [r for r in self.rows if r.component in HQ_PARAM_PREFIXES]
        return ParamRow("HQ additions", sum(r.params for r in rows), sum(r.trainable for r in rows))

    @property
    def sam_part(self) -> ParamRow:
        """Everything but the HQ additions: SAM's own (frozen) parameters."""
        t, h = self.total, self.hq_additions
        return ParamRow("SAM part", t.params - h.params, t.trainable - h.trainable)

    def to_markdown(self) -> str:
        """A markdown table: component, M params, MB fp32, trainable, frozen, share of the total."""
        total = self.total
        rows = [[f"**{row.component}**" if row.component in ("total", "HQ additions") else f"`{row.component}`",
                 f"{row.millions:.4f}", f"{row.mb:.2f}", f"{row.trainable:,}", f"{row.frozen:,}",
                 f"{100 * row.params / total.params:.2f}"] for row in (*self.rows, self.hq_additions, total)]
        table = markdown_table(["component", "M params", "MB (fp32)", "trainable", "frozen", "% of total"], rows,
                               align="lrrrrr")
        return f"**{'HQ-SAM' if self.hq else 'SAM'} {self.model}**\n\n{table}"


def parameter_table(model: str | torch.nn.Module = "vit_tiny", *, hq: bool = True) -> ParameterTable:
    """Count parameters per component from the model's own ``named_parameters``.

    Args:
        model: a variant name (then built with :func:`meta_model`, no weights allocated) or a built
            ``Sam`` model (any device; its current ``requires_grad`` flags are counted).
        hq: with a variant name, HQ-SAM (True) or the original SAM (False). Ignored for a model.

    Returns:
        A :class:`ParameterTable` with one row per :data:`COMPONENTS` entry (the HQ rows are zero for SAM).
    """
    if isinstance(model, str):
        name = check_model_name(model)
        model = meta_model(name, hq=hq)
    elif isinstance(model, torch.nn.Module):
        info = describe_state_dict(model.state_dict())
        name, hq = info.model or type(model.image_encoder).__name__, info.hq
    else:
        raise TypeError(f"model must be a variant name ({', '.join(MODEL_NAMES)}) or a Sam model, "
                        f"got {type(model).__name__}")
    counts = {c: [0, 0] for c in COMPONENTS}
    for pname, param in model.named_parameters():
        entry = counts[component_of(pname)]
        entry[0] += param.numel()
        entry[1] += param.numel() if param.requires_grad else 0
    return ParameterTable(name, hq, tuple(ParamRow(c, p, t) for c, (p, t) in counts.items()))


def format_parameter_summary(models: Sequence[str] = MODEL_NAMES,
                             paper: Mapping[str, Mapping[str, float]] | None = None) -> str:
    """A markdown table, one row per variant: SAM total, HQ-SAM total and learnable, measured vs ``paper``.

    Args:
        models: variant names (counted on the meta device).
        paper: optional published numbers per variant, keys ``"sam_mb"``, ``"hq_mb"``, ``"learnable_mb"``
            (the notebook passes the paper's table; this library holds no published numbers).
    """
    paper = paper or {}
    def cell(value: float, key: str, published: Mapping[str, float], fmt: str) -> str:
        ref = published.get(key)
        return f"{value:{fmt}}" + (f" (paper {ref:g})" if ref is not None else "")

    rows = []
    for name in models:
        table = parameter_table(name, hq=True)
        sam, hqa, total = table.sam_part, table.hq_additions, table.total
        pub = paper.get(name, {})
        rows.append([name, f"{sam.millions:.2f}", cell(sam.mb, "sam_mb", pub, ".2f"), f"{total.millions:.2f}",
                     cell(total.mb, "hq_mb", pub, ".2f"), f"{hqa.millions:.3f}",
                     cell(hqa.mb, "learnable_mb", pub, ".3f"), f"{100 * hqa.params / sam.params:.2f}"])
    return markdown_table(["variant", "SAM M params", "SAM MB", "HQ-SAM M params", "HQ-SAM MB", "learnable M",
                           "learnable MB", "learnable % of SAM"], rows, align="lrrrrrrr")


