"""ONNX: HQ-SAM's image encoder, SAM decoder and HQ decoder as ONNX files, and an ONNX Runtime backend for the pair.

* :mod:`.graphs` - what is exported (thin modules over the official ones) and each file's inputs / outputs;
* :mod:`.export` - :func:`export_onnx` (any model size, provenance in each file's metadata), :func:`read_export`;
* :mod:`.runtime` - ONNX Runtime sessions and the pair's ONNX backend (``load_pair(..., backend="onnx")``);
* :mod:`.check` - :func:`compare_with_official`: an export against the official modules, output by output.

Needs the optional extra ``pip install "hqsam-nb[onnx]"`` (``onnx``, ``onnxscript`` to export, ``onnxruntime`` to
run).
"""

from .check import compare_with_official
from .export import EXPORTER, FORMAT, ONNX_OPSET, PRECISIONS, OnnxExport, export_model, export_onnx, read_export
from .graphs import PART_NAMES, SPECS, IoSpec

__all__ = ["EXPORTER", "FORMAT", "ONNX_OPSET", "PART_NAMES", "PRECISIONS", "SPECS", "IoSpec", "OnnxExport",
           "compare_with_official", "export_model", "export_onnx", "read_export"]
