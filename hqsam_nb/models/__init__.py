"""Checkpoints (official registry, download, verification: :mod:`.checkpoints`), safe and strict loading of SAM and
HQ-SAM (:mod:`.loading`), and which weights a model carries (:mod:`.provenance`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_face

if TYPE_CHECKING:
    from .checkpoints import (
        CHECKPOINTS_ENV,
        HQ_SAM_REPO,
        HQ_SAM_REVISION,
        MODEL_NAMES,
        CacheUnavailableError,
        CheckpointError,
        CheckpointFile,
        CheckpointUnavailableError,
        ResolvedCheckpoint,
        cache_dir,
        call_hub,
        fetch_checkpoint,
        file_sha256,
        official_by_sha256,
        official_file,
        resolve_checkpoint,
        verify_file,
    )
    from .loading import (
        RandomWeightsWarning,
        StateDictInfo,
        build_model,
        check_state_dict,
        describe_state_dict,
        hq_module_of,
        load_model,
        load_predictor,
        load_state_dict,
        load_weights,
        pick_device,
        random_state_dict,
        save_random_checkpoint,
    )
    from .provenance import (
        FINE_TUNED_KEYS,
        KINDS,
        SIDECAR_SUFFIX,
        CarriesProvenance,
        ProvenanceLike,
        WeightsKind,
        WeightsProvenance,
        mark_fine_tuned,
        provenance_of,
        read_provenance,
        sidecar_path,
        write_sidecar,
    )

#: Each public name -> the module that defines it (imported on first use: :mod:`hqsam_nb._lazy`).
_HOMES = {
    "CHECKPOINTS_ENV": "checkpoints",
    "CacheUnavailableError": "checkpoints",
    "CarriesProvenance": "provenance",
    "CheckpointError": "checkpoints",
    "CheckpointFile": "checkpoints",
    "CheckpointUnavailableError": "checkpoints",
    "FINE_TUNED_KEYS": "provenance",
    "HQ_SAM_REPO": "checkpoints",
    "HQ_SAM_REVISION": "checkpoints",
    "KINDS": "provenance",
    "MODEL_NAMES": "checkpoints",
    "ProvenanceLike": "provenance",
    "RandomWeightsWarning": "loading",
    "ResolvedCheckpoint": "checkpoints",
    "SIDECAR_SUFFIX": "provenance",
    "StateDictInfo": "loading",
    "WeightsKind": "provenance",
    "WeightsProvenance": "provenance",
    "build_model": "loading",
    "cache_dir": "checkpoints",
    "call_hub": "checkpoints",
    "check_state_dict": "loading",
    "describe_state_dict": "loading",
    "fetch_checkpoint": "checkpoints",
    "file_sha256": "checkpoints",
    "hq_module_of": "loading",
    "load_model": "loading",
    "load_predictor": "loading",
    "load_state_dict": "loading",
    "load_weights": "loading",
    "mark_fine_tuned": "provenance",
    "official_by_sha256": "checkpoints",
    "official_file": "checkpoints",
    "pick_device": "loading",
    "provenance_of": "provenance",
    "random_state_dict": "loading",
    "read_provenance": "provenance",
    "resolve_checkpoint": "checkpoints",
    "save_random_checkpoint": "loading",
    "sidecar_path": "provenance",
    "verify_file": "checkpoints",
    "write_sidecar": "provenance",
}
__all__ = [
    "CHECKPOINTS_ENV", "CacheUnavailableError", "CarriesProvenance", "CheckpointError", "CheckpointFile",
    "CheckpointUnavailableError", "FINE_TUNED_KEYS", "HQ_SAM_REPO", "HQ_SAM_REVISION", "KINDS", "MODEL_NAMES",
    "ProvenanceLike", "RandomWeightsWarning", "ResolvedCheckpoint", "SIDECAR_SUFFIX", "StateDictInfo", "WeightsKind",
    "WeightsProvenance", "build_model", "cache_dir", "call_hub", "check_state_dict", "describe_state_dict",
    "fetch_checkpoint", "file_sha256", "hq_module_of", "load_model", "load_predictor", "load_state_dict",
    "load_weights", "mark_fine_tuned", "official_by_sha256", "official_file", "pick_device", "provenance_of",
    "random_state_dict", "read_provenance", "resolve_checkpoint", "save_random_checkpoint", "sidecar_path",
    "verify_file", "write_sidecar",
]
__getattr__, __dir__ = lazy_face(__name__, _HOMES)
