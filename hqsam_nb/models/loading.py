"""Safe, strict loading of SAM and HQ-SAM models from ``segment_anything_hq``.

The official builders (``sam_model_registry[...]``) take a ``checkpoint`` path, but they ``torch.load`` it
without ``map_location`` (a GPU-saved file crashes on a CPU-only machine), with full pickle (a checkpoint can
run code), non-strictly (a wrong file loads silently, leaving layers random), they ``print`` the result, and
they call ``.eval()`` *before* loading, which leaves TinyViT's cached attention biases stale. Here the model
is built with ``checkpoint=None`` and the state dict is loaded by :func:`load_state_dict` /
:func:`load_weights`, which fix each of those.
"""

from __future__ import annotations

import codecs
import logging
import os
import pickle
import re
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import torch

from .._compat import import_official
from ..io.atomic import atomic_torch_save
from .checkpoints import (
    CheckpointError,
    check_model_name,
    official_file,
    resolve_checkpoint,
)
from .provenance import WeightsProvenance, read_provenance, write_sidecar

if TYPE_CHECKING:
    from segment_anything_hq import SamPredictor
    from segment_anything_hq.modeling import Sam

logger = logging.getLogger(__name__)

__all__ = [
    "RandomWeightsWarning",
    "StateDictInfo",
    "build_model",
    "check_state_dict",
    "checkpoint_limit",
    "describe_state_dict",
    "hq_module_of",
    "load_model",
    "load_predictor",
    "load_state_dict",
    "load_weights",
    "pick_device",
    "random_state_dict",
    "save_random_checkpoint",
    "state_dict_bytes",
]

#: Image-encoder widths of the ViT variants (``image_encoder.pos_embed`` is ``1 x 64 x 64 x width``).
_VIT_WIDTH_TO_MODEL = {768: "vit_b", 1024: "vit_l", 1280: "vit_h"}
#: A key only TinyViT (``vit_tiny``, Light HQ-SAM / MobileSAM) has.
_TINYVIT_KEY = "image_encoder.patch_embed.seq.0.c.weight"
#: Prefixes of the parameters HQ-SAM adds to SAM's mask decoder (everything else is SAM's, frozen).
HQ_PARAM_PREFIXES = ("hf_token", "hf_mlp", "compress_vit_feat", "embedding_encoder", "embedding_maskfeature")


def hq_module_of(name: str) -> str | None:
    """The HQ-SAM addition (one of :data:`HQ_PARAM_PREFIXES`) a parameter/state-dict key belongs to, or None
    for SAM's own (frozen) weights.

    Example:
        >>> hq_module_of("mask_decoder.hf_mlp.layers.0.weight"), hq_module_of("image_encoder.neck.0.weight")
        ('hf_mlp', None)
    """
    top, _, rest = name.partition(".")
    sub = rest.split(".", 1)[0]
    return sub if top == "mask_decoder" and sub in HQ_PARAM_PREFIXES else None

Weights = Literal["pretrained", "random"]


class RandomWeightsWarning(UserWarning):
    """Emitted when a model is built with random weights: its masks are meaningless."""


def _registries() -> tuple[dict, dict]:
    """The official builders: ``sam_model_registry`` (HQ-SAM) and ``sam_model_registry_baseline`` (SAM)."""
    official = import_official()
    return official.sam_model_registry, official.sam_model_registry_baseline


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """Resolve a device: ``None`` picks ``cuda``, then ``mps``, then ``cpu``.

    Raises:
        ValueError: the device string is not understood, or names an accelerator that is not available.
    """
    if device is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device={device!r} is not a device; accepted: None, 'cpu', 'cuda', 'cuda:N', 'mps'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but CUDA is not available here; use device=None or 'cpu'")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError(f"device={device!r} was requested but MPS is not available here; use device=None or 'cpu'")
    return dev


def build_model(model: str = "vit_tiny", *, hq: bool = True) -> Sam:
    """Build an official model with its random initialisation (no file read, nothing printed).

    Args:
        model: ``"vit_tiny"``, ``"vit_b"``, ``"vit_l"`` or ``"vit_h"``.
        hq: True for HQ-SAM (``sam_model_registry``), False for the original SAM
            (``sam_model_registry_baseline``).
    """
    check_model_name(model)
    hq_registry, sam_registry = _registries()
    return (hq_registry if hq else sam_registry)[model](checkpoint=None)


# --------------------------------------------------------------------------------------------------
# Reading and checking state dicts
# --------------------------------------------------------------------------------------------------

def state_dict_bytes(module: torch.nn.Module) -> int:
    """Bytes of ``module``'s state dict (parameters and buffers): what its checkpoint holds, give or take."""
    return sum(t.numel() * t.element_size() for t in module.state_dict().values())


def _check_unpacked_size(path: Path, max_bytes: int) -> None:
    """Refuse a zip checkpoint whose entries unpack to more than ``max_bytes``, before ``torch.load`` inflates
    them (``torch.save`` stores entries uncompressed; a deflated one can unpack to any size)."""
    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint (a damaged zip archive: {exc}); it may "
                              "be truncated or corrupt. Delete it and fetch it again.") from None
    if total > max_bytes:
        raise CheckpointError(f"{path} unpacks to {total / 2**20:.0f} MiB ({path.stat().st_size / 2**20:.1f} MiB on "
                              f"disk), more than the model's weights need ({max_bytes / 2**20:.0f} MiB at most): not "
                              "a checkpoint of this model. Nothing was unpacked.")


def load_state_dict(path: str | os.PathLike, *, max_bytes: int | None = None) -> dict[str, torch.Tensor]:
    """Read a checkpoint file safely: tensors only, mapped to CPU.

    ``torch.load(..., map_location="cpu", weights_only=True)``: a file that carries pickled code (any object
    but tensors and plain containers) is refused before anything in it runs. A checkpoint wrapped as
    ``{"model": state_dict}`` or ``{"state_dict": ...}`` is unwrapped, and a ``module.`` prefix (saved from
    ``DistributedDataParallel``) is stripped.

    Args:
        max_bytes: refuse a (zip) checkpoint whose entries unpack to more than this, before unpacking any
            (:func:`load_model` passes the model's size with a margin).

    Raises:
        CheckpointError: unsafe, truncated, empty, an HTML page or Git-LFS pointer, larger than ``max_bytes``
            unpacked, or not a state dict.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        head = fh.read(256)
    if not head:
        raise CheckpointError(f"{path} is empty (0 bytes): an interrupted download? Delete it and fetch it again.")
    if head.startswith(b"version https://git-lfs"):
        raise CheckpointError(f"{path} is a Git-LFS pointer, not the weights: fetch the real file (git lfs pull).")
    if head.lstrip()[:1] == b"<":
        raise CheckpointError(f"{path} is an HTML/XML page, not a checkpoint: the download returned an error page.")
    text = _as_text(head)
    if text is not None:
        raise CheckpointError(
            f"{path} is a text file, not a checkpoint (it begins: {text[:60]!r}). A checkpoint is a binary "
            "PyTorch file (.pth), e.g. sam_hq_vit_tiny.pth; pass the path of the weights themselves."
        )
    if max_bytes is not None:
        _check_unpacked_size(path, max_bytes)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch's wording: "Unsupported global: GLOBAL os.system" (older), "unsupported GLOBAL posix.system whose
        # module posix is blocked" (newer); any "Weights only load failed" is the safe unpickler refusing.
        # An invalid opcode ("Unsupported operand 255") is a damaged file, not pickled objects.
        found = re.search(r"unsupported global:? (?:GLOBAL )?([\w.]+)", str(exc), re.IGNORECASE)
        invalid_byte = re.search(r"unsupported operand \d+", str(exc), re.IGNORECASE)
        if found or ("Weights only load failed" in str(exc) and not invalid_byte):
            what = f"pickled code ({found.group(1)}), not only tensors" if found else "pickled objects, not tensors"
            raise CheckpointError(
                f"{path} was refused: it holds {what}. Nothing in it was run. Official "
                "checkpoints are plain state dicts; do not load this file unless you trust its origin."
            ) from None
        raise CheckpointError(
            f"{path} is not a readable PyTorch checkpoint (the unpickler stopped at an invalid byte); it may be "
            f"truncated or corrupt ({path.stat().st_size} bytes). Delete it and fetch it again."
        ) from None
    except MemoryError:
        raise
    except Exception as exc:  # on garbage the unpickler raises IndexError, KeyError, EOFError, RuntimeError...
        raise CheckpointError(
            f"{path} is not a readable PyTorch checkpoint ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}); "
            f"it may be truncated or corrupt ({path.stat().st_size} bytes). Delete it and fetch it again."
        ) from None
    for wrapper in ("model", "state_dict"):
        if isinstance(obj, Mapping) and isinstance(obj.get(wrapper), Mapping):
            logger.info("%s: using the state dict under key %r", path.name, wrapper)
            obj = obj[wrapper]
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path} holds a {type(obj).__name__}, not a state dict of tensors.")
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in obj.items()}


def checkpoint_limit(module: torch.nn.Module) -> int:
    """The most a checkpoint of ``module`` may unpack to: three times its state dict's bytes (a training
    checkpoint with Adam's two moments beside the weights) plus 16 MiB of metadata."""
    return 3 * state_dict_bytes(module) + 16 * 2**20


def _as_text(head: bytes) -> str | None:
    """The decoded start of a file when it is printable UTF-8 text (a README, YAML, notes), else None.

    Checkpoints never are: ``torch.save`` writes a zip archive (``PK\\x03\\x04``) or a pickle with a binary
    magic number first.
    """
    if b"\x00" in head:
        return None
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)  # head may cut a character
    except UnicodeDecodeError:
        return None
    return text if text and all(c.isprintable() or c in "\t\n\r\f\v" for c in text) else None


@dataclass(frozen=True)
class StateDictInfo:
    """What a state dict looks like, read from its tensor shapes.

    Attributes:
        model: the variant (``"vit_tiny"``, ``"vit_b"``, ``"vit_l"``, ``"vit_h"``) or None if unrecognised.
        hq: True when it holds any of HQ-SAM's additions (the HQ output token ``mask_decoder.hf_token``, its
            MLP, the feature fusion layers: :data:`HQ_PARAM_PREFIXES`), so that a file with one of them
            renamed or missing is still recognised as HQ-SAM (and the key is named as missing).
    """

    model: str | None
    hq: bool

    def describe(self) -> str:
        kind = "an HQ-SAM" if self.hq else "an original SAM"
        return f"{kind} checkpoint of {self.model}" if self.model else f"{kind}-like checkpoint of an unknown variant"


def describe_state_dict(state_dict: Mapping[str, torch.Tensor]) -> StateDictInfo:
    """Detect the variant (from the image encoder's tensor shapes) and whether it is HQ-SAM or SAM."""
    model = None
    if _TINYVIT_KEY in state_dict:
        model = "vit_tiny"
    elif "image_encoder.pos_embed" in state_dict:
        model = _VIT_WIDTH_TO_MODEL.get(int(state_dict["image_encoder.pos_embed"].shape[-1]))
    return StateDictInfo(model=model, hq=any(hq_module_of(k) is not None for k in state_dict))


def _mismatch_message(model: str, hq: bool, state_dict: Mapping[str, torch.Tensor], source: str,
                      missing: list[str], unexpected: list[str], wrong_shape: list[str]) -> str:
    info = describe_state_dict(state_dict)
    wanted = StateDictInfo(model=model, hq=hq).describe()
    lines = [f"{source} does not fit the requested model: {wanted} was expected, the file looks like "
             f"{info.describe()}."]
    if info.model is not None and info.model != model:
        lines.append(f"It is a {info.model} checkpoint: pass model={info.model!r}, or the {model} file.")
    if info.hq != hq:
        if hq:
            lines.append(
                "It is an original SAM checkpoint (no HQ output token mask_decoder.hf_token). HQ-SAM needs "
                f"{official_file(model).filename}; to compare against this SAM, pass it as sam_checkpoint= to "
                "load_pair."
            )
        else:
            lines.append(
                "It is an HQ-SAM checkpoint, but an original SAM one was expected here. Leave "
                "sam_checkpoint=None to take SAM's (frozen) weights from the HQ-SAM checkpoint."
            )
    for label, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatches", wrong_shape)):
        if keys:
            more = f" (+{len(keys) - 4} more)" if len(keys) > 4 else ""
            lines.append(f"{label}: {', '.join(keys[:4])}{more}")
    return "\n".join(lines)


def check_state_dict(expected: Mapping[str, torch.Tensor], state_dict: Mapping[str, torch.Tensor], *,
                     model: str, hq: bool, source: str = "the checkpoint") -> None:
    """Raise :class:`CheckpointError` unless ``state_dict`` has exactly ``expected``'s keys and shapes.

    The message says which variant the file looks like and whether it is an original SAM checkpoint given
    where an HQ-SAM one is expected, or the other way round.
    """
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    wrong_shape = sorted(
        f"{k} {tuple(state_dict[k].shape)} vs {tuple(expected[k].shape)}"
        for k in set(expected) & set(state_dict)
        if tuple(state_dict[k].shape) != tuple(expected[k].shape)
    )
    if missing or unexpected or wrong_shape:
        raise CheckpointError(_mismatch_message(model, hq, state_dict, source, missing, unexpected, wrong_shape))


def load_weights(module: torch.nn.Module, state_dict: Mapping[str, torch.Tensor], *, model: str, hq: bool,
                 source: str = "the checkpoint") -> None:
    """Load ``state_dict`` into ``module`` strictly (:func:`check_state_dict`), then call ``module.eval()``.

    ``eval()`` after loading matters: TinyViT caches its attention biases in ``eval()``; the official builder
    calls it before loading, which leaves the cache holding the random initial biases.
    """
    check_state_dict(module.state_dict(), state_dict, model=model, hq=hq, source=source)
    module.load_state_dict(state_dict, strict=True)
    module.eval()


# --------------------------------------------------------------------------------------------------
# Models and predictors
# --------------------------------------------------------------------------------------------------

def random_state_dict(model: str = "vit_tiny", *, hq: bool = True, seed: int = 0) -> dict[str, torch.Tensor]:
    """A seeded random state dict in the official checkpoint layout (no file, no network).

    The official initialisation, plus N(0, 0.02) noise on every parameter so that none is a constant (TinyViT's
    attention biases start at zero; with noise, loading them into a stale cache would show). Used for offline
    exploration (``weights="random"``) and, saved with ``torch.save``, as a synthetic checkpoint in tests and CI.
    """
    check_model_name(model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build_model(model, hq=hq)
        with torch.no_grad():
            for param in net.parameters():
                param.add_(torch.randn_like(param) * 0.02)
        return net.state_dict()


def save_random_checkpoint(path: str | os.PathLike, model: str = "vit_tiny", *, hq: bool = True,
                           seed: int = 0) -> Path:
    """Write :func:`random_state_dict` to ``path`` (atomically), as an official checkpoint file would be laid out.

    Example:
        >>> save_random_checkpoint(tmp / "sam_hq_vit_tiny.pth", "vit_tiny")  # doctest: +SKIP
    """
    atomic_torch_save(random_state_dict(model, hq=hq, seed=seed), path)
    # the sidecar (hqsam_nb.models.provenance), so that whatever loads it later says "random weights", not "unknown"
    write_sidecar(path, "random", model=model, hq=hq, details={"seed": seed})
    return Path(path)


def load_model(model: str = "vit_tiny", *, checkpoint: str | os.PathLike | None = None,
               device: str | torch.device | None = None, weights: Weights = "pretrained",
               hq: bool = True, seed: int = 0) -> tuple[Sam, WeightsProvenance]:
    """Build an official SAM/HQ-SAM model and load its weights safely and strictly.

    Args:
        model: ``"vit_tiny"`` (Light HQ-SAM), ``"vit_b"``, ``"vit_l"`` or ``"vit_h"``.
        checkpoint: a file to load instead of the official one
            (see :func:`~hqsam_nb.models.checkpoints.resolve_checkpoint`).
        device: ``None`` (cuda, then mps, then cpu), or a torch device.
        weights: ``"pretrained"`` (load a checkpoint) or ``"random"`` (seeded random init, no file; a
            :class:`RandomWeightsWarning` says the masks are meaningless).
        hq: True for HQ-SAM, False for the original SAM architecture.
        seed: the seed of ``weights="random"``.

    Returns:
        The model in eval mode on ``device``, and its :class:`~hqsam_nb.models.provenance.WeightsProvenance`
        (official, fine-tuned, random or unknown: :func:`~hqsam_nb.models.provenance.read_provenance`).
    """
    check_model_name(model)
    if weights not in ("pretrained", "random"):
        raise ValueError(f"weights={weights!r} is not accepted; use 'pretrained' or 'random'")
    dev = pick_device(device)
    net = build_model(model, hq=hq)
    if weights == "random":
        if checkpoint is not None:
            raise ValueError("weights='random' builds a random model: do not pass checkpoint= with it")
        msg = (f"{'HQ-SAM' if hq else 'SAM'} {model} has RANDOM weights (seed {seed}): shapes, parameter counts "
               "and timings are real, masks are meaningless")
        logger.warning(msg)
        warnings.warn(msg, RandomWeightsWarning, stacklevel=2)
        load_weights(net, random_state_dict(model, hq=hq, seed=seed), model=model, hq=hq, source="random init")
        info = WeightsProvenance("random", model, hq, details={"seed": seed})
    else:
        resolved = resolve_checkpoint(model, hq=hq, checkpoint=checkpoint)
        state_dict = load_state_dict(resolved.path, max_bytes=checkpoint_limit(net))
        load_weights(net, state_dict, model=model, hq=hq, source=str(resolved.path))
        info = read_provenance(resolved.path, model=model, hq=hq)
    net.to(dev)
    net.eval()
    return net, info


def load_predictor(model: str = "vit_tiny", *, checkpoint: str | os.PathLike | None = None,
                   device: str | torch.device | None = None, weights: Weights = "pretrained",
                   hq: bool = True) -> SamPredictor:
    """Load an official :class:`segment_anything_hq.SamPredictor`, ready on the device.

    Same arguments as :func:`load_model`. The returned predictor is the official class, unchanged:
    ``predictor.set_image(rgb_uint8_hwc)`` then ``predictor.predict(point_coords=..., point_labels=...,
    box=..., multimask_output=False, hq_token_only=...)``. Its
    :class:`~hqsam_nb.models.provenance.WeightsProvenance` is attached as ``predictor.weights_info``.

    Example:
        >>> predictor = load_predictor("vit_tiny", weights="random")  # doctest: +SKIP
        >>> predictor.set_image(image)                                   # doctest: +SKIP
    """
    net, info = load_model(model, checkpoint=checkpoint, device=device, weights=weights, hq=hq)
    predictor = import_official().SamPredictor(net)
    predictor.weights_info = info
    return predictor
