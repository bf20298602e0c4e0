"""ONNX: HQ-SAM's image encoder, SAM decoder and HQ decoder as ONNX files, and an ONNX Runtime backend for the pair.

* :mod:`.graphs` - what is exported (thin modules over the official ones) and each file's inputs / outputs;
* :mod:`.export` - :func:`export_onnx` (any model size, provenance in each file's metadata), :func:`lower_export`
  (int8 / fp16 from float32 files), :func:`read_export`;
* :mod:`.runtime` - ONNX Runtime sessions and the pair's ONNX backend (``load_pair(..., backend="onnx")``);
* :mod:`.check` - :func:`agreement_with_official` / :func:`compare_with_official`: an export against the official
  modules, output by output (largest difference; mask IoU and differing pixels).

Needs the optional extra ``pip install "hqsam-nb[onnx]"`` (``onnx``, ``onnxscript`` to export, ``onnxruntime`` to
run).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_face

if TYPE_CHECKING:
    from .check import Agreement, agreement_with_official, compare_with_official
    from .export import (
        EXPORTER,
        FORMAT,
        ONNX_OPSET,
        PRECISIONS,
        OnnxExport,
        export_model,
        export_onnx,
        lower_export,
        read_export,
    )
    from .graphs import PART_NAMES, SPECS, IoSpec

#: Each public name -> the module that defines it (imported on first use: :mod:`hqsam_nb._lazy`).
_HOMES = {
    "Agreement": "check",
    "EXPORTER": "export",
    "FORMAT": "export",
    "IoSpec": "graphs",
    "ONNX_OPSET": "export",
    "OnnxExport": "export",
    "PART_NAMES": "graphs",
    "PRECISIONS": "export",
    "SPECS": "graphs",
    "agreement_with_official": "check",
    "compare_with_official": "check",
    "export_model": "export",
    "export_onnx": "export",
    "lower_export": "export",
    "read_export": "export",
}
__all__ = ["Agreement", "EXPORTER", "FORMAT", "IoSpec", "ONNX_OPSET", "OnnxExport", "PART_NAMES", "PRECISIONS", "SPECS",
           "agreement_with_official", "compare_with_official", "export_model", "export_onnx", "lower_export",
           "read_export"]
__getattr__, __dir__ = lazy_face(__name__, _HOMES)
