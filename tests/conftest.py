"""Shared fixtures: synthetic checkpoints in the official layout, and no network, ever.

The official checkpoints are plain ``state_dict``s of the registry models. Tests save seeded random
state dicts under the official file names once per run and load them through the real resolution and
loading code (``$HQSAM_NB_CHECKPOINTS``), so with the real files our outputs are the official ones.
"""

from __future__ import annotations

import os
import socket
import warnings
from pathlib import Path

import pytest

import hqsam_nb

# Hub client: never reach out, use a private empty cache.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


@pytest.fixture(scope="session")
def checkpoint_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with synthetic HQ-SAM checkpoints under their official names (vit_tiny, vit_b)."""
    root = tmp_path_factory.mktemp("checkpoints")
    hqsam_nb.save_random_checkpoint(root / "sam_hq_vit_tiny.pth", "vit_tiny", seed=1)
    return root


@pytest.fixture(scope="session")
def vit_b_checkpoint(checkpoint_dir: Path) -> Path:
    path = checkpoint_dir / "sam_hq_vit_b.pth"
    if not path.exists():
        hqsam_nb.save_random_checkpoint(path, "vit_b", seed=2)
    return path


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, checkpoint_dir: Path) -> None:
    """Every test: checkpoints from the synthetic dir, private caches, no network."""
    monkeypatch.setenv("HQSAM_NB_CHECKPOINTS", str(checkpoint_dir))
    monkeypatch.setenv("HQSAM_NB_CACHE", str(tmp_path / "hqsam_cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any attempt to open a network connection fail loudly."""

    def refuse(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


@pytest.fixture(scope="session")
def tiny_pair(checkpoint_dir: Path) -> hqsam_nb.PairPredictor:
    """A vit_tiny pair loaded from the synthetic checkpoint (through $HQSAM_NB_CHECKPOINTS)."""
    os.environ["HQSAM_NB_CHECKPOINTS"] = str(checkpoint_dir)
    return hqsam_nb.load_pair("vit_tiny", device="cpu")


@pytest.fixture(scope="session")
def tiny_official(checkpoint_dir: Path):
    """The official predictors on the same synthetic weights: (HQ SamPredictor, baseline SAM SamPredictor)."""
    import torch
    from segment_anything_hq import SamPredictor

    state = torch.load(checkpoint_dir / "sam_hq_vit_tiny.pth", map_location="cpu", weights_only=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from segment_anything_hq import sam_model_registry, sam_model_registry_baseline
    hq = sam_model_registry["vit_tiny"](checkpoint=None)
    hq.load_state_dict(state)
    hq.eval()
    sam = sam_model_registry_baseline["vit_tiny"](checkpoint=None)
    sam.load_state_dict({k: v for k, v in state.items() if k in sam.state_dict()})
    sam.eval()
    return SamPredictor(hq), SamPredictor(sam)
