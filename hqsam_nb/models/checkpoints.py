"""Official SAM / HQ-SAM checkpoint files: where they come from, how to find them, how to verify them.

Resolution order for a model's checkpoint (see :func:`resolve_checkpoint`):

1. an explicit ``checkpoint=`` path given by the user;
2. a directory named by the environment variable ``HQSAM_NB_CHECKPOINTS`` holding files under their
   official names (``sam_hq_vit_b.pth``, ``sam_vit_b_01ec64.pth``, ...);
3. the Hugging Face Hub cache (HQ-SAM files, repo ``lkeab/hq-sam`` at a pinned commit) or this package's
   cache directory (original SAM files from Meta's public URLs), downloading when missing.

A file that this package downloaded is verified (size first, then SHA-256) before it is ever loaded; a
mismatch is reported and the file fetched again, never loaded. A verified file is remembered (path, size,
mtime) so the hash is computed once, not on every load. Files the user provides (1. and 2.) are hashed too,
only to *tell* whether they are the official weights (:attr:`ResolvedCheckpoint.official`): a fine-tuned
checkpoint of the user's own is a legitimate input.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from ..io.atomic import atomic_write_json

logger = logging.getLogger(__name__)

T = TypeVar("T")

__all__ = [
    "CHECKPOINTS_ENV",
    "HQ_SAM_REPO",
    "HQ_SAM_REVISION",
    "MODEL_NAMES",
    "CheckpointError",
    "CheckpointFile",
    "CheckpointUnavailableError",
    "CacheUnavailableError",
    "ResolvedCheckpoint",
    "cache_dir",
    "call_hub",
    "fetch_checkpoint",
    "file_sha256",
    "official_by_sha256",
    "official_file",
    "resolve_checkpoint",
    "verify_file",
]

CHECKPOINTS_ENV = "HQSAM_NB_CHECKPOINTS"
"""Environment variable naming a directory that holds checkpoints under their official file names."""

CACHE_ENV = "HQSAM_NB_CACHE"
"""Environment variable overriding this package's cache directory (default ``~/.cache/hqsam_nb``)."""

HQ_SAM_REPO = "lkeab/hq-sam"
HQ_SAM_REVISION = "a3a77cd0a2e5e50eaa76faccf61b964732d9b35f"
"""First commit of ``lkeab/hq-sam`` holding all four v1 HQ-SAM files; pinned so a cached file needs no network."""

META_URL = "https://dl.fbaipublicfiles.com/segment_anything/{filename}"

ModelName = Literal["vit_tiny", "vit_b", "vit_l", "vit_h"]
MODEL_NAMES: tuple[str, ...] = ("vit_tiny", "vit_b", "vit_l", "vit_h")


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, corrupt, unsafe, or does not fit the requested model."""


class CheckpointUnavailableError(CheckpointError, FileNotFoundError):
    """A checkpoint could not be found locally and could not be downloaded."""


class CacheUnavailableError(CheckpointError, OSError):
    """This package's cache folder (``$HQSAM_NB_CACHE``) cannot be created or written."""


@dataclass(frozen=True)
class CheckpointFile:
    """One official checkpoint file.

    Attributes:
        filename: the official file name, also the name looked up in ``HQSAM_NB_CHECKPOINTS``.
        size: size in bytes.
        sha256: full SHA-256 hex digest.
        model: the variant it belongs to (``"vit_tiny"``, ``"vit_b"``, ``"vit_l"``, ``"vit_h"``).
        hq: True for an HQ-SAM file, False for an original SAM file.
    """

    filename: str
    size: int
    sha256: str
    model: str
    hq: bool

    @property
    def source(self) -> str:
        """Where the file is downloaded from, in words (for messages)."""
        if self.hq:
            return f"the Hugging Face Hub repo {HQ_SAM_REPO} (revision {HQ_SAM_REVISION[:10]})"
        return META_URL.format(filename=self.filename)


_OFFICIAL: tuple[CheckpointFile, ...] = (
    CheckpointFile("sam_hq_vit_tiny.pth", 42526881,
                   "0f32c075ccdd870ae54db2f7630e7a0878ede5a2b06d05d6fe02c65a82fb7196", "vit_tiny", True),
    CheckpointFile("sam_hq_vit_b.pth", 379335069,
                   "14a9d662cd6f5a9c2dba6d40ab0058d88d287e4a18fd6fdc6ad5fb1a3fdeaa57", "vit_b", True),
    CheckpointFile("sam_hq_vit_l.pth", 1254865805,
                   "e1a6c385d62bf005ded91a54d5ec55c985cfc4103ef89c08d90f39f04934c343", "vit_l", True),
    CheckpointFile("sam_hq_vit_h.pth", 2570940653,
                   "a7ac14a085326d9fa6199c8c698c4f0e7280afdbb974d2c4660ec60877b45e35", "vit_h", True),
    CheckpointFile("sam_vit_b_01ec64.pth", 375042383,
                   "ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912", "vit_b", False),
    CheckpointFile("sam_vit_l_0b3195.pth", 1249524607,
                   "3adcc4315b642a4d2101128f611684e8734c41232a17c648ed1693702a49a622", "vit_l", False),
    CheckpointFile("sam_vit_h_4b8939.pth", 2564550879,
                   "a7bf3b02f3ebf1267aba913ff637d9a2d5c33d3173bb679e46d9f338c26f262e", "vit_h", False),
)
_BY_NAME = {f.filename: f for f in _OFFICIAL}


def official_by_sha256(sha256: str) -> CheckpointFile | None:
    """The official file whose SHA-256 is ``sha256``, or None."""
    return next((f for f in _OFFICIAL if f.sha256 == sha256), None)


def official_file(model: str, *, hq: bool = True) -> CheckpointFile:
    """The official checkpoint file of a variant.

    Args:
        model: ``"vit_tiny"``, ``"vit_b"``, ``"vit_l"`` or ``"vit_h"``.
        hq: True for the HQ-SAM file, False for Meta's original SAM file.

    Raises:
        ValueError: unknown variant, or no original SAM file exists (``vit_tiny``: its SAM baseline is
            MobileSAM, which has no pinned official file; pass its path as ``sam_checkpoint=``).
    """
    check_model_name(model)
    for f in _OFFICIAL:
        if f.model == model and f.hq == hq:
            return f
    raise ValueError(
        f"there is no official original-SAM checkpoint for model={model!r}: its SAM baseline is MobileSAM "
        "(mobile_sam.pt from github.com/ChaoningZhang/MobileSAM). Download it yourself and pass its path, "
        "or leave sam_checkpoint=None to take SAM's weights from the HQ-SAM checkpoint."
    )


def check_model_name(model: object) -> str:
    """Return ``model`` if it names a known variant, else raise a ``ValueError`` listing the accepted ones."""
    if not isinstance(model, str) or model not in MODEL_NAMES:
        raise ValueError(f"model={model!r} is not a known variant; accepted: {', '.join(MODEL_NAMES)}")
    return model


def cache_dir() -> Path:
    """This package's cache directory (``$HQSAM_NB_CACHE`` or ``~/.cache/hqsam_nb``), created on demand.

    Raises:
        CacheUnavailableError: the folder cannot be created (a file is in the way, no permission) or is
            not writable. It is an ``OSError`` too, so callers for whom the cache is optional can ignore it.
    """
    configured = os.environ.get(CACHE_ENV)
    path = Path(configured).expanduser() if configured else Path.home() / ".cache" / "hqsam_nb"
    where = f"${CACHE_ENV}={configured}" if configured else f"the cache folder {path}"
    advice = (f"set {CACHE_ENV} to a writable folder (export {CACHE_ENV}=/path/to/cache)"
              + (" or unset it to use ~/.cache/hqsam_nb" if configured else ""))
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CacheUnavailableError(
            f"{where}: the folder cannot be created ({type(exc).__name__}: {exc.strerror or exc}); {advice}"
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise CacheUnavailableError(f"{where}: the folder is not writable; {advice}")
    return path


# --------------------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------------------

def _sha256(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _ledger_path() -> Path:
    return cache_dir() / "verified.json"


def _read_ledger() -> dict[str, list]:
    try:
        return json.loads(_ledger_path().read_text())
    except (OSError, ValueError):
        return {}


#: This process's hashes by (real path, size, mtime): a file is hashed once even when the cache is not writable.
_HASHED: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file, remembered by (real path, size, mtime) so that each file is hashed once."""
    real = Path(path).resolve()
    stat = real.stat()
    key = str(real)
    known = _HASHED.get((key, stat.st_size, stat.st_mtime_ns))
    if known is not None:
        return known
    ledger = _read_ledger()
    entry = ledger.get(key)
    if entry and entry[0] == stat.st_size and entry[1] == stat.st_mtime_ns:
        _HASHED[(key, stat.st_size, stat.st_mtime_ns)] = entry[2]
        return entry[2]
    logger.info("hashing %s (%.1f MB) once", real.name, stat.st_size / 1e6)
    digest = _sha256(real)
    _HASHED[(key, stat.st_size, stat.st_mtime_ns)] = digest
    ledger = _read_ledger()  # re-read: another process may have added entries meanwhile
    ledger[key] = [stat.st_size, stat.st_mtime_ns, digest]
    try:
        atomic_write_json(_ledger_path(), ledger)
    except OSError as exc:  # a read-only cache only costs a re-hash next time
        logger.debug("could not record the hash of %s: %s", real, exc)
    return digest


def verify_file(path: str | os.PathLike, expected: CheckpointFile) -> str | None:
    """Check a file against an official size and SHA-256.

    Returns:
        None when the file matches, else a one-line reason (``"size 1234 bytes, expected ..."``).
        The size is compared first: a truncated or HTML-error-page download is caught without hashing.
    """
    path = Path(path)
    size = path.stat().st_size
    if size != expected.size:
        return f"size {size} bytes, expected {expected.size} bytes"
    digest = file_sha256(path)
    if digest != expected.sha256:
        return f"SHA-256 {digest[:16]}..., expected {expected.sha256[:16]}..."
    return None


# --------------------------------------------------------------------------------------------------
# Downloads
# --------------------------------------------------------------------------------------------------

def _how_to_provide(spec: CheckpointFile) -> str:
    return (
        f"To provide it: download {spec.filename} from {spec.source} on a machine with network access, then "
        f"either put it in a directory named by the environment variable {CHECKPOINTS_ENV} "
        f"(export {CHECKPOINTS_ENV}=/path/to/dir) or pass its path as checkpoint=... "
        "For offline exploration of structure and speed, weights='random' needs no file."
    )


def _fail_fast_if_unresolvable(what: str, source: str, how_to_provide: str) -> None:
    """Raise at once when the hub's host name does not resolve (offline): the client would retry for ~25 s."""
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return  # the client answers from the cache only, without network calls
    host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    try:
        socket.getaddrinfo(host, 443)
    except OSError as exc:
        raise CheckpointUnavailableError(
            f"Could not find or download {what} from {source}: no network ({host}: {exc}). {how_to_provide}"
        ) from None


def call_hub(call: Callable[[], T], *, what: str, source: str, how_to_provide: str) -> T:
    """Run a Hugging Face Hub client call (a download); any failure becomes one readable error.

    Offline, the hub client retries for about 25 s and logs a line per retry, then raises one of a dozen
    exception types with a multi-line message. Here: an unresolvable host fails at once, the client's logger
    is quiet for the duration of the call, and every failure is a :class:`CheckpointUnavailableError` whose
    one message says what was wanted, from where, why it failed, and how to provide it (no chained traceback).

    Args:
        call: the client call, e.g. ``lambda: hf_hub_download(repo, filename, revision=...)``.
        what: what is fetched, for the message (``"the checkpoint sam_hq_vit_b.pth (379 MB)"``).
        source: where from, in words (``"the Hugging Face Hub repo lkeab/hq-sam (revision a3a77cd0a2)"``).
        how_to_provide: the sentences telling the user how to make it available without a download.
    """
    _fail_fast_if_unresolvable(what, source, how_to_provide)
    hub_logger = logging.getLogger("huggingface_hub")
    previous_level = hub_logger.level
    hub_logger.setLevel(logging.ERROR)
    try:
        return call()
    except Exception as exc:  # the hub client raises a dozen types for "offline"/"not found"
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        raise CheckpointUnavailableError(
            f"Could not find or download {what} from {source} ({reason}). {how_to_provide}"
        ) from None
    finally:
        hub_logger.setLevel(previous_level)


def _download(spec: CheckpointFile, *, force: bool) -> Path:
    """Fetch an official file into its cache; raise :class:`CheckpointUnavailableError` in one readable line."""
    if spec.hq:
        from huggingface_hub import hf_hub_download, try_to_load_from_cache

        cached = try_to_load_from_cache(HQ_SAM_REPO, spec.filename, revision=HQ_SAM_REVISION)
        if isinstance(cached, str) and not force:
            return Path(cached)  # pinned revision + cached file: no network call at all
        logger.info("downloading %s (%.0f MB) from %s", spec.filename, spec.size / 1e6, spec.source)
        return Path(call_hub(
            lambda: hf_hub_download(HQ_SAM_REPO, spec.filename, revision=HQ_SAM_REVISION, force_download=force),
            what=f"the checkpoint {spec.filename} ({spec.size / 1e6:.0f} MB)", source=spec.source,
            how_to_provide=_how_to_provide(spec)))
    import torch.hub

    target = cache_dir() / spec.filename
    if target.exists() and not force:
        return target
    logger.info("downloading %s (%.0f MB) from %s", spec.filename, spec.size / 1e6, spec.source)
    try:
        torch.hub.download_url_to_file(META_URL.format(filename=spec.filename), str(target), progress=True)
    except Exception as exc:
        raise CheckpointUnavailableError(
            f"Could not find or download the checkpoint {spec.filename} ({spec.size / 1e6:.0f} MB) from "
            f"{spec.source} ({type(exc).__name__}: {exc}). {_how_to_provide(spec)}"
        ) from None
    return target


def fetch_checkpoint(spec: CheckpointFile) -> Path:
    """Return the path of a verified copy of an official file, downloading it (again) when needed.

    A cached copy that fails verification is reported (log warning) and fetched again once; if the new copy
    fails too, :class:`CheckpointError` is raised and nothing is loaded.
    """
    path = _download(spec, force=False)
    problem = verify_file(path, spec)
    if problem is None:
        return path
    logger.warning("cached %s is corrupt (%s): fetching it again", spec.filename, problem)
    path = _download(spec, force=True)
    problem = verify_file(path, spec)
    if problem is not None:
        raise CheckpointError(
            f"{spec.filename} from {spec.source} failed verification twice ({problem}); it was not loaded. "
            f"Delete {path} and try again, or {_how_to_provide(spec)}"
        )
    return path


# --------------------------------------------------------------------------------------------------
# Resolution
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ResolvedCheckpoint:
    """Where a checkpoint was found.

    Attributes:
        path: the file to load.
        origin: ``"path"`` (explicit argument), ``"env"`` (``HQSAM_NB_CHECKPOINTS``) or ``"download"``
            (hub / package cache, verified).
        official: True when the file is byte-identical to an official release (SHA-256), False when it is
            not, None when the file has no official counterpart to compare with.
    """

    path: Path
    origin: Literal["path", "env", "download"]
    official: bool | None


def _check_user_file(path: Path, origin: Literal["path", "env"]) -> ResolvedCheckpoint:
    if not path.is_file():
        what = "checkpoint=" if origin == "path" else f"file in ${CHECKPOINTS_ENV}"
        raise CheckpointUnavailableError(f"{what} {str(path)!r} does not exist or is not a file")
    spec = _BY_NAME.get(path.name)
    if spec is None:
        return ResolvedCheckpoint(path, origin, None)
    problem = verify_file(path, spec)
    if problem is not None:
        logger.warning("%s is not the official %s (%s): loading it as a custom checkpoint",
                       path, spec.filename, problem)
    return ResolvedCheckpoint(path, origin, problem is None)


def resolve_checkpoint(model: str, *, hq: bool = True,
                       checkpoint: str | os.PathLike | None = None) -> ResolvedCheckpoint:
    """Find the file to load for a model: explicit path, then ``$HQSAM_NB_CHECKPOINTS``, then download.

    Args:
        model: the variant (``"vit_tiny"``, ``"vit_b"``, ``"vit_l"``, ``"vit_h"``).
        hq: the HQ-SAM file (True) or the original SAM file (False).
        checkpoint: an explicit path; takes precedence over everything else.

    Raises:
        CheckpointUnavailableError: the explicit path does not exist, or nothing was found and the file
            could not be downloaded (the message names the file, its source, and how to provide it).
        CheckpointError: a downloaded file failed verification twice.
    """
    if checkpoint is not None:
        if not isinstance(checkpoint, (str, os.PathLike)):
            raise TypeError(f"checkpoint must be a path (str or os.PathLike) or None, got {type(checkpoint).__name__}")
        return _check_user_file(Path(checkpoint).expanduser(), "path")
    spec = official_file(model, hq=hq)
    env_dir = os.environ.get(CHECKPOINTS_ENV)
    env_note = None
    if env_dir:
        folder = Path(env_dir).expanduser()
        candidate = folder / spec.filename
        if candidate.is_file():
            return _check_user_file(candidate, "env")
        env_note = _env_folder_note(env_dir, folder, spec.filename)
        logger.info("%s; trying the download cache", env_note)
    try:
        return ResolvedCheckpoint(fetch_checkpoint(spec), "download", True)
    except CheckpointUnavailableError as exc:
        if env_note is None:
            raise
        raise CheckpointUnavailableError(f"{env_note}. {exc}") from None


def _env_folder_note(env_dir: str, folder: Path, filename: str) -> str:
    """Why ``$HQSAM_NB_CHECKPOINTS`` did not provide ``filename``, naming the folder (for messages)."""
    if not folder.is_dir():
        return f"{CHECKPOINTS_ENV}={env_dir} is set, but that folder does not exist"
    try:
        held = sorted(p.name for p in folder.iterdir() if p.suffix in (".pth", ".pt"))
    except OSError:
        held = []
    more = f", +{len(held) - 5} more" if len(held) > 5 else ""
    holds = f" (it holds: {', '.join(held[:5])}{more})" if held else " (it holds no .pth/.pt file)"
    return f"{CHECKPOINTS_ENV}={env_dir} has no {filename}{holds}"
