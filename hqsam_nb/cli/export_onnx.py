"""Export an HQ-SAM checkpoint to ONNX: the image encoder, the SAM decoder and the HQ decoder (HQ token and fused),
any model size (vit_tiny too), dynamic numbers of objects and points, opset 18. Each file records the model, the
checkpoint's SHA-256, the opset and the hqsam-nb version in its metadata; plain onnxruntime runs them (README).

Examples: ``hqsam-nb export-onnx --model vit_b --out onnx/vit_b``;
``hqsam-nb export-onnx --model vit_tiny --checkpoint my.pth --out onnx/tiny --precision int8 --check``.
Use the files with ``load_pair(..., backend="onnx", onnx_dir="onnx/vit_b")`` or ``--backend onnx`` (the runners).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ._errors import CommandFailedError
from ._options import ModelOptions, add_model_options

HELP = "export a checkpoint to ONNX: image encoder, SAM decoder, HQ decoder"

logger = logging.getLogger("hqsam_nb.cli")

#: Parts and precisions, spelled as the library spells them (tests/test_cli.py checks they match).
PARTS = ("encoder", "sam_decoder", "hq_decoder")
PRECISIONS = ("fp32", "int8", "fp16")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_options(parser)
    parser.add_argument("--out", required=True, help="folder for the files (created; files there are replaced)")
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS, help="default: all three")
    parser.add_argument("--precision", default="fp32", choices=PRECISIONS,
                        help="fp32 (default, the official arithmetic); int8: dynamic quantization for CPUs; "
                             "fp16: for GPUs (onnxruntime-gpu)")
    parser.add_argument("--opset", type=int, default=18, help="ONNX opset (>= 18)")
    parser.add_argument("--check", action="store_true",
                        help="compare every file with the official PyTorch modules afterwards (largest difference "
                             "per output; exit 1 above 1e-4 for fp32)")


def export_command(model: ModelOptions, out: Path, *, parts: list[str], precision: str, opset: int,
                   check: bool) -> None:
    """Load the checkpoint, export it, log the files (and, with ``check``, their largest differences)."""
    if model.encoder_dtype is not None or model.backend != "torch" or model.device not in (None, "cpu"):
        raise ValueError("export-onnx exports on the CPU from the float32 checkpoint: --bf16, --backend and "
                         "--device do not apply (see --precision)")
    from ..models.loading import load_model
    from ..onnx import compare_with_official, export_model

    net, info = load_model(model.model, checkpoint=model.checkpoint, device="cpu", weights=model.weights)  # type: ignore[arg-type]
    export = export_model(net, info, out, parts=parts, opset=opset, precision=precision)
    for part, path in export.files.items():
        logger.info("%s: %s (%.0f MB)", part, path, path.stat().st_size / 1e6)
    logger.info("%s, checkpoint %s (SHA-256 %s), opset %s, %s", info.describe(), export.metadata["checkpoint"] or "-",
                export.checkpoint_sha256[:12] or "-", export.metadata["opset"], precision)
    if check:
        from ..io.samples import load_sample

        diffs = compare_with_official(export, net, load_sample("astronaut_shuttle").image)
        for key, value in diffs.items():
            logger.info("largest |ONNX - official| %s: %.2e", key, value)
        if precision == "fp32" and max(diffs.values()) >= 1e-4:
            raise CommandFailedError(f"the files differ from the official modules by up to {max(diffs.values()):.2e}"
                                     " (more than 1e-4): report it with the log above")


def run(args: argparse.Namespace) -> int:
    if args.opset < 18:
        raise ValueError(f"--opset {args.opset} is not accepted; use 18 or more (the exporter's own opset)")
    export_command(ModelOptions.from_args(args), Path(args.out), parts=list(args.parts), precision=args.precision,
                   opset=args.opset, check=args.check)
    return 0
