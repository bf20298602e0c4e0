"""ONNX Runtime sessions over an export, and the pair predictor's ONNX backend (``load_pair(..., backend="onnx")``).

:class:`OnnxSessions` opens an export's files with ``onnxruntime`` (CPU, or CUDA when the model's device is a GPU and
``onnxruntime-gpu`` provides it). :class:`OnnxPairBackend` is what the pair predictor calls instead of the PyTorch
modules: the encoder (image embeddings and HQ features, once per image) and the two decoders (every token), whose
outputs the official token selection turns into masks (:func:`~hqsam_nb.models.decoders.select_sam`,
:func:`~hqsam_nb.models.decoders.select_hq`). Everything else (preprocessing, prompt transforms, upsampling to the
image, results) stays the pair's own code, so the two backends differ only in the models' arithmetic.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ..models.decoders import select_hq, select_sam
from .export import FORMAT, OnnxExport, check_parts

logger = logging.getLogger(__name__)

__all__ = ["OnnxPairBackend", "OnnxSessions", "decoder_prompt", "import_onnxruntime"]

_INSTALL = 'pip install "hqsam-nb[onnx]"'


def import_onnxruntime() -> Any:
    """``onnxruntime``, or an ImportError that says how to install it."""
    try:
        import onnxruntime
    except ImportError:
        raise ImportError(f"the ONNX backend needs onnxruntime, which is not installed: {_INSTALL} "
                          "(or pip install onnxruntime; onnxruntime-gpu for CUDA)") from None
    return onnxruntime


def _providers(device: torch.device, available: Sequence[str]) -> list[str]:
    if device.type == "cpu":
        return ["CPUExecutionProvider"]
    if device.type == "cuda" and "CUDAExecutionProvider" in available:
        return [("CUDAExecutionProvider", {"device_id": device.index or 0}), "CPUExecutionProvider"]
    raise ValueError(f"the ONNX backend runs on 'cpu', or on 'cuda' with onnxruntime-gpu installed; device "
                     f"{device} was requested and onnxruntime offers {', '.join(available)}")


class OnnxSessions:
    """One ``onnxruntime.InferenceSession`` per exported part.

    Args:
        export: an :class:`~hqsam_nb.onnx.export.OnnxExport` (:func:`~hqsam_nb.onnx.export.read_export`).
        device: ``cpu`` or ``cuda`` (CUDA needs ``onnxruntime-gpu``).
        threads: intra-op threads; default ``torch.get_num_threads()`` (so ``OMP_NUM_THREADS`` and
            ``torch.set_num_threads`` bound both backends alike).
        parts: which parts to open (default: all in the export).
    """

    def __init__(self, export: OnnxExport, *, device: str | torch.device = "cpu", threads: int | None = None,
                 parts: Sequence[str] | None = None) -> None:
        ort = import_onnxruntime()
        self.export = export
        self.device = torch.device(device)
        if export.metadata.get("format") != str(FORMAT):
            raise ValueError(f"{export.directory} has layout {export.metadata.get('format')!r}; this hqsam-nb reads "
                             f"layout {FORMAT}: export again")
        parts = check_parts(parts if parts is not None else tuple(export.files))
        missing = [p for p in parts if p not in export.files]
        if missing:
            raise ValueError(f"{export.directory} lacks {', '.join(missing)}: export them with "
                             f"export_onnx(..., parts={list(parts)!r})")
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads or torch.get_num_threads())
        options.inter_op_num_threads = 1
        # No busy-waiting between runs: the pair alternates ONNX Runtime with PyTorch work (upsampling, filters)
        # on the same cores, which spinning threads would slow down.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        providers = _providers(self.device, ort.get_available_providers())
        self.sessions = {part: ort.InferenceSession(str(export.files[part]), options, providers=providers)
                         for part in parts}

    def run(self, part: str, feeds: Mapping[str, np.ndarray],
            outputs: Sequence[str] | None = None) -> list[np.ndarray]:
        """The ``outputs`` of ``part`` (default: all, in the order of ``SPECS``) for ``feeds`` (float32 arrays by
        input name)."""
        return self.sessions[part].run(None if outputs is None else list(outputs), dict(feeds))


def decoder_prompt(points: tuple[torch.Tensor, torch.Tensor] | None,
                   boxes: torch.Tensor | None) -> tuple[np.ndarray, np.ndarray]:
    """The official prompt encoder's inputs as the ONNX decoders take them.

    ``points`` ``(coords (K, N, 2), labels (K, N))`` and ``boxes`` ``(K, 4)``, in the model's input frame (as
    :func:`~hqsam_nb.pair.preprocess.prompt_tensors` gives them) -> ``point_coords`` float32 ``(K, N', 2)`` and
    ``point_labels`` float32 ``(K, N')``: the points, then the box's two corners (labels 2 and 3) or, without a box,
    one padding point ``(0, 0)`` with label -1, which is what ``PromptEncoder.forward`` embeds.
    """
    coords: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    if points is not None:
        coords.append(points[0].detach().cpu().numpy().astype(np.float32, copy=False))
        labels.append(points[1].detach().cpu().numpy().astype(np.float32))
    k = len(coords[0]) if coords else len(boxes)
    if boxes is not None:
        coords.append(boxes.detach().cpu().numpy().astype(np.float32, copy=False).reshape(k, 2, 2))
        labels.append(np.tile(np.array([[2.0, 3.0]], np.float32), (k, 1)))
    else:
        coords.append(np.zeros((k, 1, 2), np.float32))
        labels.append(np.full((k, 1), -1.0, np.float32))
    return np.ascontiguousarray(np.concatenate(coords, axis=1)), np.ascontiguousarray(np.concatenate(labels, axis=1))


class OnnxPairBackend:
    """The pair predictor's models on ONNX Runtime: :meth:`encode` per image, :meth:`decoders` per chunk of prompts.

    Returns torch tensors on the pair's device, in the shapes and order of the PyTorch path.
    """

    def __init__(self, sessions: OnnxSessions) -> None:
        self.sessions = sessions
        self.export = sessions.export

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array).to(self.sessions.device)

    def encode(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``image`` float ``1 x 3 x 1024 x 1024`` (normalised, padded) -> ``image_embeddings``, ``hq_features``."""
        x = image.detach().float().cpu().numpy()
        features, _early, hq_features = self.sessions.run("encoder", {"image": x})
        return self._tensor(features), self._tensor(hq_features)

    def decoders(self, features: torch.Tensor, hq_features: torch.Tensor,
                 points: tuple[torch.Tensor, torch.Tensor] | None, boxes: torch.Tensor | None,
                 mask_input: torch.Tensor | None, multimask: bool,
                 only: str | None) -> tuple[torch.Tensor | None, ...]:
        """SAM logits and scores, HQ-token logits, fused logits and fused score, as the PyTorch path's
        ``_decoders`` (None for a decoder that ``only`` skips)."""
        coords, labels = decoder_prompt(points, boxes)
        k = len(coords)
        feeds = {"image_embeddings": features.detach().cpu().numpy(), "point_coords": coords, "point_labels": labels,
                 "mask_input": (np.zeros((k, 1, 256, 256), np.float32) if mask_input is None
                                else np.ascontiguousarray(mask_input.detach().float().cpu().numpy())),
                 "has_mask_input": np.array([0.0 if mask_input is None else 1.0], np.float32)}
        sam_low = sam_iou = hq_low = fused_low = fused_iou = None
        if only != "sam":
            feeds_hq = {**feeds, "hq_features": hq_features.detach().cpu().numpy()}
            masks, iou = self.sessions.run("hq_decoder", feeds_hq, ("low_res_masks", "iou_predictions"))
            hq_low, fused_low, fused_iou = select_hq(self._tensor(masks), self._tensor(iou), multimask)
        if only != "hq":
            masks, iou = self.sessions.run("sam_decoder", feeds)
            sam_low, sam_iou = select_sam(self._tensor(masks), self._tensor(iou), multimask)
        return sam_low, sam_iou, hq_low, fused_low, fused_iou
