"""Export HQ-SAM (and the SAM inside it) to ONNX: image encoder, SAM decoder, HQ decoder, for every model size.

:func:`export_onnx` loads a checkpoint (safely, strictly: :func:`~hqsam_nb.models.loading.load_model`) and writes
``encoder.onnx``, ``sam_decoder.onnx``, ``hq_decoder.onnx`` and ``manifest.json`` into a folder. Each file carries
its provenance in the ONNX metadata (``metadata_props``): the model, the checkpoint's file name and SHA-256, the
weights' kind, the opset, the exporter, the hqsam-nb and torch versions, and its inputs and outputs
(:data:`~hqsam_nb.onnx.graphs.SPECS`). Plain ``onnxruntime`` runs the files without hqsam-nb (README example).

Exporter: ``torch.onnx.export(..., dynamo=True)`` (the ``torch.export``-based exporter, the default since PyTorch 2.9;
the TorchScript exporter also worked with PyTorch 2.14 but is deprecated) at opset :data:`ONNX_OPSET`, with dynamic
``num_objects`` and ``num_points``. ``vit_tiny`` exports too: the official script (sam-hq ``export_onnx_model.py``,
issue #75) fails on it because its table of encoder widths lacks TinyViT's 160 channels and its dummy
``interm_embeddings`` stacks the four global-attention outputs of a ViT, where TinyViT gives one early feature. Here
the encoder graph returns the early feature itself and the HQ decoder takes the per-image ``hq_features`` computed
from it, so no width table and no stacking are needed.

Files above 2 GB (the vit_h encoder) keep their weights in ``<file>.data`` beside them (ONNX external data).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ..io.atomic import atomic_write_json
from ..models.decoders import sam_decoder_of
from ..models.loading import Weights, load_model
from .graphs import GRAPHS, PART_NAMES, SPECS

if TYPE_CHECKING:
    from segment_anything_hq.modeling import Sam

    from ..models.provenance import WeightsProvenance

logger = logging.getLogger(__name__)

__all__ = ["EXPORTER", "FORMAT", "MANIFEST", "ONNX_OPSET", "PRECISIONS", "OnnxExport", "check_parts", "example_inputs",
           "export_for", "export_model", "export_onnx", "lower_export", "read_export", "weights_fields"]

#: The ONNX opset the files are written at (the ``torch.export``-based exporter's own, onnxscript's torchlib).
ONNX_OPSET = 18
#: Version of the files' layout (inputs, outputs, metadata keys); a loader refuses another.
FORMAT = 1
#: The exporter the files were written with.
EXPORTER = "torch.onnx.export(dynamo=True)"
#: Precisions a file can be written in (:func:`export_onnx`).
PRECISIONS: tuple[str, ...] = ("fp32", "int8", "fp16")
#: The folder's index: model, provenance, files.
MANIFEST = "manifest.json"
#: Above this many bytes of weights a file keeps them in external data (protobuf's limit is 2 GiB).
_EXTERNAL_DATA_BYTES = 1_800_000_000


@dataclass(frozen=True)
class OnnxExport:
    """A folder of exported files.

    Attributes:
        directory: the folder.
        files: ``{part: path}`` for the parts present (``"encoder"``, ``"sam_decoder"``, ``"hq_decoder"``).
        metadata: what every file's ``metadata_props`` record in common (model, checkpoint SHA-256, opset, ...).
        seconds: export time per part (this run; empty when read from disk).
    """

    directory: Path
    files: dict[str, Path]
    metadata: dict[str, str]
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def model(self) -> str:
        return self.metadata["model"]

    @property
    def checkpoint_sha256(self) -> str:
        """The SHA-256 of the checkpoint the files were exported from (``""`` for weights built without a file)."""
        return self.metadata["checkpoint_sha256"]


def check_parts(parts: Iterable[str] | str | None) -> tuple[str, ...]:
    """``parts`` as a tuple in run order; a ``ValueError`` naming the accepted ones otherwise."""
    if parts is None:
        return PART_NAMES
    if isinstance(parts, str):
        parts = (parts,)
    parts = tuple(parts)
    bad = [p for p in parts if p not in PART_NAMES]
    if bad or not parts:
        raise ValueError(f"parts={list(parts)!r} is not accepted; use some of {', '.join(PART_NAMES)}")
    return tuple(p for p in PART_NAMES if p in parts)


def weights_fields(info: WeightsProvenance) -> dict[str, str]:
    """The loaded weights' provenance as metadata strings: ``model``, ``weights_kind``, ``checkpoint`` (file name),
    ``checkpoint_sha256`` (``""`` without a file), and the provenance as JSON (``provenance``: ``WeightsProvenance
    .to_dict()`` without the local path, which a shared file should not carry)."""
    record = {k: v for k, v in info.to_dict().items() if k != "path"}
    return {"model": info.model, "weights_kind": info.kind, "checkpoint": "" if info.path is None else info.path.name,
            "checkpoint_sha256": info.sha256 or "", "provenance": json.dumps(record, sort_keys=True)}


def example_inputs(part: str, model: Sam, *, num_objects: int = 2, num_points: int = 3,
                   seed: int = 0) -> dict[str, torch.Tensor]:
    """Inputs of one part, by name (random, on the model's device), for tracing and checks."""
    g = torch.Generator().manual_seed(seed)
    dev = model.device
    if part == "encoder":
        return {"image": torch.randn(1, 3, 1024, 1024, generator=g).to(dev)}
    k, n = num_objects, num_points
    labels = torch.randint(0, 2, (k, n), generator=g).float()
    labels[:, -1] = -1.0  # the padding point of a prompt without a box
    inputs = {"image_embeddings": torch.randn(1, 256, 64, 64, generator=g),
              "hq_features": torch.randn(1, 32, 256, 256, generator=g),
              "point_coords": torch.rand(k, n, 2, generator=g) * 1024, "point_labels": labels,
              "mask_input": torch.zeros(k, 1, 256, 256), "has_mask_input": torch.zeros(1)}
    if part == "sam_decoder":
        del inputs["hq_features"]
    return {name: t.to(dev) for name, t in inputs.items()}


def _dynamic_shapes(part: str) -> dict[str, Any] | None:
    if part == "encoder":
        return None
    k = torch.export.Dim("num_objects", min=1)
    n = torch.export.Dim("num_points", min=1)
    shapes: dict[str, Any] = {name: None for name, _ in ((s.name, s) for s in SPECS[part][0])}
    shapes.update(point_coords={0: k, 1: n}, point_labels={0: k, 1: n}, mask_input={0: k})
    return shapes


def _graph(part: str, model: Sam) -> torch.nn.Module:
    if part == "sam_decoder":
        return GRAPHS[part](model, sam_decoder_of(model.mask_decoder)).eval()
    return GRAPHS[part](model).eval()


def _metadata(common: Mapping[str, str], part: str, model: Sam) -> dict[str, str]:
    ins, outs = SPECS[part]
    meta = {**common, "part": part, "inputs": "\n".join(s.line() for s in ins),
            "outputs": "\n".join(s.line() for s in outs)}
    if part == "encoder":
        meta.update(pixel_mean=json.dumps([round(float(v), 6) for v in model.pixel_mean.flatten()]),
                    pixel_std=json.dumps([round(float(v), 6) for v in model.pixel_std.flatten()]),
                    img_size=str(model.image_encoder.img_size))
    else:
        meta["mask_threshold"] = str(float(model.mask_threshold))
    return meta


def _export_part(part: str, model: Sam, target: Path, metadata: Mapping[str, str], opset: int) -> None:
    """Trace one part, stamp its metadata and write it to ``target`` (a temporary folder's file)."""
    graph = _graph(part, model)
    inputs = example_inputs(part, model)
    with torch.no_grad():
        program = torch.onnx.export(
            graph, tuple(inputs.values()), None, input_names=list(inputs),
            output_names=[s.name for s in SPECS[part][1]], opset_version=opset, dynamo=True,
            dynamic_shapes=_dynamic_shapes(part), verbose=False,
        )
    program.model.producer_name = "hqsam-nb"
    program.model.doc_string = (f"HQ-SAM {metadata['model']} {part}, exported by hqsam-nb from "
                                f"{metadata['checkpoint'] or 'weights built without a file'}")
    program.model.metadata_props.update(metadata)
    # The weights the file holds (a decoder graph wraps the whole model but keeps only the decoder's weights).
    n_bytes = sum(v.const_value.nbytes for v in program.model.graph.initializers.values()
                  if v.const_value is not None)
    external = n_bytes > _EXTERNAL_DATA_BYTES
    logger.debug("%s: %.0f MB of weights%s", part, n_bytes / 1e6, " (external data)" if external else "")
    program.save(target, external_data=external)
    del program
    if metadata["precision"] != "fp32":
        _lower_precision(target, metadata["precision"], external)


def _lower_precision(path: Path, precision: str, external: bool) -> None:
    """Rewrite the float32 file at ``path`` in ``precision``: ``int8`` (ONNX Runtime's dynamic quantization of the
    MatMul / Gemm weights, activations quantized on the fly: for CPUs) or ``fp16`` (float16 weights and arithmetic,
    float32 inputs and outputs: for GPUs). The metadata is kept."""
    import onnx

    tmp = path.with_name(path.stem + f".{precision}.onnx")
    if precision == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(path, tmp, op_types_to_quantize=["MatMul", "Gemm"], weight_type=QuantType.QInt8,
                         use_external_data_format=external)
        proto = onnx.load(str(tmp))
        proto.ClearField("metadata_props")
        onnx.helper.set_model_props(proto, {p.key: p.value for p in onnx.load(str(path), load_external_data=False)
                                            .metadata_props})
    else:
        from onnxruntime.transformers.float16 import convert_float_to_float16

        proto = convert_float_to_float16(onnx.load(str(path)), keep_io_types=True)
    onnx.helper.set_model_props(proto, {**{p.key: p.value for p in proto.metadata_props}, "precision": precision})
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()
    for leftover in path.parent.glob(tmp.name + "*"):
        leftover.unlink()
    onnx.save(proto, str(path), save_as_external_data=external, location=path.name + ".data")


def _install(staging: Path, out: Path) -> None:
    """Move the files made in ``staging`` into ``out`` (external data before the model that needs it)."""
    for produced in sorted(staging.iterdir(), key=lambda p: p.suffix == ".onnx"):
        os.replace(produced, out / produced.name)


def lower_export(export: OnnxExport, out_dir: str | os.PathLike, precision: str, *,
                 parts: Iterable[str] | str | None = None) -> OnnxExport:
    """A float32 export's files rewritten in ``precision`` (``"int8"`` or ``"fp16"``, see :func:`export_onnx`) into
    ``out_dir``: what ``export_model(..., precision=precision)`` writes, without tracing the model again. ``parts``:
    which of the export's files (default all).

    Raises:
        ValueError: ``export`` is not float32, or ``precision`` is not a lower one.
    """
    if export.metadata.get("precision") != "fp32":
        raise ValueError(f"{export.directory} holds {export.metadata.get('precision')} files; lower a float32 export")
    if precision not in PRECISIONS or precision == "fp32":
        raise ValueError(f"precision={precision!r} is not accepted; use one of {', '.join(PRECISIONS[1:])}")
    parts = check_parts(parts if parts is not None else tuple(export.files))
    missing = [p for p in parts if p not in export.files]
    if missing:
        raise ValueError(f"{export.directory} lacks {', '.join(missing)}; it holds {', '.join(export.files)}")
    out = Path(out_dir).expanduser()
    if out.resolve() == export.directory.resolve():
        raise ValueError(f"write the {precision} files to another folder than the float32 ones ({out})")
    out.mkdir(parents=True, exist_ok=True)
    common = {**export.metadata, "precision": precision}
    files: dict[str, Path] = {}
    seconds: dict[str, float] = {}
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=out))
    try:
        for part in parts:
            source = export.files[part]
            t0 = time.perf_counter()
            for produced in source.parent.glob(source.name + "*"):  # the file and its external data
                shutil.copyfile(produced, staging / produced.name)
            _lower_precision(staging / source.name, precision, (staging / (source.name + ".data")).exists())
            _install(staging, out)
            files[part] = out / source.name
            seconds[part] = time.perf_counter() - t0
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    atomic_write_json(out / MANIFEST, {"metadata": common, "files": {p: f.name for p, f in files.items()}})
    return OnnxExport(out, files, common, seconds)


def export_model(model: Sam, info: WeightsProvenance, out_dir: str | os.PathLike, *,
                 parts: Iterable[str] | str | None = None, opset: int = ONNX_OPSET,
                 precision: str = "fp32") -> OnnxExport:
    """Export a loaded official model (``Sam`` with an HQ decoder, on the CPU) and its provenance ``info`` (what
    :func:`~hqsam_nb.models.loading.load_model` returned with it) to ``out_dir``.

    Each file is written into a temporary folder inside ``out_dir`` and moved into place when complete, the
    manifest last, so an interrupted export leaves no half-written file under a final name.
    """
    from .._version import __version__

    parts = check_parts(parts)
    if precision not in PRECISIONS:
        raise ValueError(f"precision={precision!r} is not accepted; use one of {', '.join(PRECISIONS)}")
    if not isinstance(opset, int) or isinstance(opset, bool) or opset < ONNX_OPSET:
        raise ValueError(f"opset={opset!r} is not accepted; use an int >= {ONNX_OPSET} (the exporter's own opset)")
    if model.device.type != "cpu":
        raise ValueError(f"export a model on the CPU (it is on {model.device}); the files run on any device")
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    common = {**weights_fields(info), "opset": str(opset), "exporter": EXPORTER, "format": str(FORMAT),
              "hqsam_nb_version": __version__, "torch_version": torch.__version__.split("+")[0], "precision": precision}
    files: dict[str, Path] = {}
    seconds: dict[str, float] = {}
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=out))
    try:
        for part in parts:
            t0 = time.perf_counter()
            logger.info("exporting %s %s to ONNX (opset %d)", common["model"], part, opset)
            _export_part(part, model, staging / f"{part}.onnx", _metadata(common, part, model), opset)
            _install(staging, out)
            files[part] = out / f"{part}.onnx"
            seconds[part] = time.perf_counter() - t0
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    previous = _read_manifest(out)
    if previous is not None and {k: previous["metadata"].get(k) for k in common} == common:
        files = {**{p: out / name for p, name in previous["files"].items() if (out / name).exists()}, **files}
    atomic_write_json(out / MANIFEST, {"metadata": common, "files": {p: f.name for p, f in files.items()}})
    return OnnxExport(out, files, common, seconds)


def export_onnx(model: str = "vit_tiny", out_dir: str | os.PathLike = "onnx", *,
                checkpoint: str | os.PathLike | None = None, weights: Weights = "pretrained",
                parts: Iterable[str] | str | None = None, opset: int = ONNX_OPSET,
                precision: str = "fp32") -> OnnxExport:
    """Export an HQ-SAM checkpoint to ONNX: ``encoder.onnx``, ``sam_decoder.onnx``, ``hq_decoder.onnx``.

    Args:
        model: ``"vit_tiny"``, ``"vit_b"``, ``"vit_l"`` or ``"vit_h"``.
        out_dir: the folder to write (created; files of another checkpoint there are replaced).
        checkpoint: the HQ-SAM file; default: ``$HQSAM_NB_CHECKPOINTS``, then the verified download.
        weights: ``"pretrained"`` or ``"random"`` (seeded; the files' metadata say ``weights_kind=random``).
        parts: which of ``"encoder"``, ``"sam_decoder"``, ``"hq_decoder"`` (default all three).
        opset: ONNX opset, at least :data:`ONNX_OPSET`.
        precision: ``"fp32"`` (default: the official arithmetic, every output within 1e-4 of the official
            modules), ``"int8"`` (ONNX Runtime's dynamic quantization of the MatMul / Gemm weights, for CPUs: files
            about half (encoder) to a third (decoders) the size; masks move slightly) or ``"fp16"`` (float16 weights
            and arithmetic, float32 inputs and outputs, for GPUs with ``onnxruntime-gpu``; CPU ONNX Runtime runs it
            too). Measured on **random weights** (``benchmarks/onnx_parity.py --precisions int8 fp16``, 1024 x 768
            image, points / boxes / mask-input prompts), the fused mask at image resolution against the official
            model's, all three files in that precision: int8 IoU mean 0.992 / worst 0.982, 0.7 % of pixels differ
            (vit_tiny), mean 0.945 / worst 0.907, 1.2 % (vit_b), logits up to 0.15 apart; fp16 IoU mean 0.9997 /
            worst 0.9992, 0.03 % (vit_tiny), 0.998 / 0.996, 0.05 % (vit_b), logits up to 5e-3 apart. A trained
            model's logits have other margins: check your checkpoint with that script or
            :func:`~hqsam_nb.onnx.check.agreement_with_official`. :func:`lower_export` makes int8 / fp16 files from
            float32 ones.

    Returns:
        An :class:`OnnxExport` (the files, their common metadata, seconds per part).

    Example:
        >>> exp = export_onnx("vit_b", "onnx/vit_b")                         # doctest: +SKIP
        >>> sorted(exp.files), exp.metadata["checkpoint_sha256"][:12]        # doctest: +SKIP
    """
    parts = check_parts(parts)
    net, info = load_model(model, checkpoint=checkpoint, device="cpu", weights=weights, hq=True)
    return export_model(net, info, out_dir, parts=parts, opset=opset, precision=precision)


def _read_manifest(directory: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    ok = isinstance(data, dict) and isinstance(data.get("metadata"), dict) and isinstance(data.get("files"), dict)
    return data if ok else None


def read_export(directory: str | os.PathLike) -> OnnxExport:
    """The export in ``directory`` (its ``manifest.json``), each listed file present.

    Raises:
        FileNotFoundError: no manifest, or a listed file is missing. ValueError: an unreadable manifest or
            another layout version (:data:`FORMAT`).
    """
    directory = Path(directory).expanduser()
    if not (directory / MANIFEST).exists():
        raise FileNotFoundError(f"{directory} holds no ONNX export ({MANIFEST} missing): export one with "
                                "hqsam_nb.onnx.export_onnx(model, out_dir)")
    data = _read_manifest(directory)
    if data is None:
        raise ValueError(f"{directory / MANIFEST} is not a readable export manifest; export again")
    if data["metadata"].get("format") != str(FORMAT):
        raise ValueError(f"{directory} was exported in layout {data['metadata'].get('format')!r}, this hqsam-nb "
                         f"reads layout {FORMAT}; export again")
    files = {part: directory / name for part, name in data["files"].items()}
    missing = [str(p) for p in files.values() if not p.exists()]
    if missing:
        raise FileNotFoundError(f"{directory}: listed files are missing: {', '.join(missing)}; export again")
    return OnnxExport(directory, files, dict(data["metadata"]))


def _same_weights(metadata: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    """Whether an export was made from the weights ``wanted`` describes (:func:`weights_fields`): the same model and
    checkpoint SHA-256; weights built without a file (seeded random) also need the same hqsam-nb version."""
    if metadata.get("model") != wanted["model"] or metadata.get("checkpoint_sha256") != wanted["checkpoint_sha256"]:
        return False
    if wanted["checkpoint_sha256"]:
        return True
    from .._version import __version__

    return metadata.get("weights_kind") == wanted["weights_kind"] and metadata.get("hqsam_nb_version") == __version__


def export_for(model: Sam, info: WeightsProvenance, directory: str | os.PathLike | None = None, *,
               parts: Iterable[str] | str | None = None) -> OnnxExport:
    """The export of exactly these weights, exported now if needed.

    Args:
        model, info: a loaded model and its provenance, as :func:`~hqsam_nb.models.loading.load_model` returns.
        directory: a folder of exported files; default: the cache, ``<cache>/onnx/<model>-<SHA-256 prefix>``
            (``$HQSAM_NB_CACHE``), where the first use exports them (minutes for vit_h) and later uses reuse them.
        parts: the parts needed (default all three).

    Raises:
        ValueError: ``directory`` holds files exported from other weights (its manifest names another model or
            checkpoint SHA-256): they are not overwritten.
    """
    from ..models.checkpoints import cache_dir

    parts = check_parts(parts)
    wanted = weights_fields(info)
    if directory is None:
        key = wanted["checkpoint_sha256"][:16] or wanted["weights_kind"]
        directory = cache_dir() / "onnx" / f"{wanted['model']}-{key}"
        overwrite = True
    else:
        overwrite = False
    directory = Path(directory).expanduser()
    manifest = _read_manifest(directory)
    if manifest is not None:
        meta = manifest["metadata"]
        if not _same_weights(meta, wanted) or meta.get("format") != str(FORMAT):
            if not overwrite:
                raise ValueError(
                    f"{directory} holds ONNX files of {meta.get('model')} exported from checkpoint "
                    f"{meta.get('checkpoint') or '(none)'} (SHA-256 {str(meta.get('checkpoint_sha256'))[:12] or '-'}), "
                    f"not from the loaded {wanted['model']} weights {wanted['checkpoint'] or '(none)'} (SHA-256 "
                    f"{wanted['checkpoint_sha256'][:12] or '-'}); pass another folder or remove it")
        else:
            done = read_export(directory) if all((directory / manifest["files"].get(p, "-")).exists()
                                                 for p in parts) else None
            if done is not None:
                return done
    logger.warning("exporting %s to ONNX in %s (once; this takes a while)", wanted["model"], directory)
    return export_model(model, info, directory, parts=parts)
