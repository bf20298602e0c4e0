"""Checkpoint resolution, download, verification and the offline message."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

import hqsam_nb
from hqsam_nb.models import checkpoints
from hqsam_nb.models.checkpoints import CheckpointError, CheckpointFile, CheckpointUnavailableError


def _spec_for(data: bytes, filename: str = "sam_hq_vit_tiny.pth") -> CheckpointFile:
    return CheckpointFile(filename, len(data), hashlib.sha256(data).hexdigest(), "vit_tiny", True)


def test_registry_has_every_official_file() -> None:
    names = {hqsam_nb.models.official_file(m).filename for m in hqsam_nb.MODEL_NAMES}
    assert names == {"sam_hq_vit_tiny.pth", "sam_hq_vit_b.pth", "sam_hq_vit_l.pth", "sam_hq_vit_h.pth"}
    assert hqsam_nb.models.official_file("vit_b", hq=False).filename == "sam_vit_b_01ec64.pth"
    for m in hqsam_nb.MODEL_NAMES:
        spec = hqsam_nb.models.official_file(m)
        assert len(spec.sha256) == 64 and spec.size > 40_000_000


def test_unknown_model_and_missing_sam_tiny_are_explained() -> None:
    with pytest.raises(ValueError, match="vit_x.*accepted: vit_tiny, vit_b, vit_l, vit_h"):
        hqsam_nb.models.official_file("vit_x")
    with pytest.raises(ValueError, match="MobileSAM"):
        hqsam_nb.models.official_file("vit_tiny", hq=False)


def test_verify_file_checks_size_then_hash(tmp_path: Path) -> None:
    data = b"weights" * 100
    good = tmp_path / "f.pth"
    good.write_bytes(data)
    spec = _spec_for(data)
    assert hqsam_nb.models.verify_file(good, spec) is None
    truncated = tmp_path / "t.pth"
    truncated.write_bytes(data[:-1])
    assert "size" in hqsam_nb.models.verify_file(truncated, spec)
    flipped = tmp_path / "x.pth"
    flipped.write_bytes(data[:-1] + b"X")
    assert "SHA-256" in hqsam_nb.models.verify_file(flipped, spec)


def test_hash_is_computed_once_per_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"abc" * 1000
    path = tmp_path / "f.pth"
    path.write_bytes(data)
    calls = []
    real = checkpoints._sha256
    monkeypatch.setattr(checkpoints, "_sha256", lambda p: calls.append(p) or real(p))
    spec = _spec_for(data)
    assert hqsam_nb.models.verify_file(path, spec) is None
    assert hqsam_nb.models.verify_file(path, spec) is None
    assert len(calls) == 1
    path.write_bytes(data[::-1])  # same size, new content, new mtime: hashed again
    assert hqsam_nb.models.verify_file(path, spec) is not None
    assert len(calls) == 2


def test_corrupt_download_is_fetched_again_and_never_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"good weights" * 50
    spec = _spec_for(data)
    target = tmp_path / "hub" / spec.filename
    target.parent.mkdir()
    calls = []

    def fake_download(spec_arg, *, force):
        calls.append(force)
        target.write_bytes(data if force else data[: len(data) // 2])  # first copy truncated
        return target

    monkeypatch.setattr(checkpoints, "_download", fake_download)
    assert checkpoints.fetch_checkpoint(spec) == target
    assert calls == [False, True]
    assert target.read_bytes() == data


def test_download_failing_verification_twice_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = _spec_for(b"expected")
    target = tmp_path / spec.filename

    def fake_download(spec_arg, *, force):
        target.write_bytes(b"<html>error page</html>")
        return target

    monkeypatch.setattr(checkpoints, "_download", fake_download)
    with pytest.raises(CheckpointError, match="failed verification twice"):
        checkpoints.fetch_checkpoint(spec)


def test_hub_download_uses_pinned_revision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    data = b"x" * 10
    seen = {}

    def fake_hf_hub_download(repo_id, filename, *, revision, force_download):
        seen.update(repo_id=repo_id, filename=filename, revision=revision)
        path = tmp_path / filename
        path.write_bytes(data)
        return str(path)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_hf_hub_download)
    spec = _spec_for(data)
    assert checkpoints.fetch_checkpoint(spec).read_bytes() == data
    assert seen == {"repo_id": "lkeab/hq-sam", "filename": spec.filename, "revision": checkpoints.HQ_SAM_REVISION}


@pytest.mark.parametrize("hq", [True, False])
def test_offline_error_is_one_readable_message(no_network, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                               hq: bool) -> None:
    monkeypatch.setenv("HQSAM_NB_CHECKPOINTS", str(tmp_path / "empty"))
    with pytest.raises(CheckpointUnavailableError) as info:
        hqsam_nb.models.resolve_checkpoint("vit_b", hq=hq)
    msg = str(info.value)
    filename = "sam_hq_vit_b.pth" if hq else "sam_vit_b_01ec64.pth"
    assert filename in msg
    assert ("lkeab/hq-sam" if hq else "dl.fbaipublicfiles.com") in msg
    assert "HQSAM_NB_CHECKPOINTS" in msg and "checkpoint=" in msg
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no chained hub traceback


def test_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, checkpoint_dir: Path) -> None:
    def no_download(*args, **kwargs):
        raise AssertionError("must not download when a local file exists")

    monkeypatch.setattr(checkpoints, "_download", no_download)
    explicit = tmp_path / "mine.pth"
    explicit.write_bytes(b"custom")
    resolved = hqsam_nb.models.resolve_checkpoint("vit_tiny", checkpoint=explicit)
    assert (resolved.path, resolved.origin, resolved.official) == (explicit, "path", None)
    resolved = hqsam_nb.models.resolve_checkpoint("vit_tiny")
    assert resolved.path == checkpoint_dir / "sam_hq_vit_tiny.pth"
    assert resolved.origin == "env"
    assert resolved.official is False  # the synthetic file is not the official release
    with pytest.raises(CheckpointUnavailableError, match="does not exist"):
        hqsam_nb.models.resolve_checkpoint("vit_tiny", checkpoint=tmp_path / "missing.pth")


def test_env_file_matching_official_hash_is_reported_official(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"pretend these are the official weights"
    (tmp_path / "sam_hq_vit_tiny.pth").write_bytes(data)
    monkeypatch.setitem(checkpoints._BY_NAME, "sam_hq_vit_tiny.pth", _spec_for(data))
    monkeypatch.setenv("HQSAM_NB_CHECKPOINTS", str(tmp_path))
    monkeypatch.setattr(checkpoints, "official_file", lambda model, hq=True: _spec_for(data))
    assert hqsam_nb.models.resolve_checkpoint("vit_tiny").official is True


def test_fetch_cli_reports_failure_offline(no_network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           caplog: pytest.LogCaptureFixture) -> None:
    from hqsam_nb.__main__ import main

    assert main(["fetch", "vit_tiny"]) == 1
    assert "sam_hq_vit_tiny.pth" in caplog.text


def test_missing_checkpoints_folder_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "no-such-folder"
    monkeypatch.setenv("HQSAM_NB_CHECKPOINTS", str(missing))
    with pytest.raises(CheckpointUnavailableError) as info:
        hqsam_nb.models.resolve_checkpoint("vit_b")
    assert f"HQSAM_NB_CHECKPOINTS={missing} is set, but that folder does not exist" in str(info.value)
    (tmp_path / "ckpts").mkdir()
    (tmp_path / "ckpts" / "sam_hq_vit_l.pth").write_bytes(b"x")
    monkeypatch.setenv("HQSAM_NB_CHECKPOINTS", str(tmp_path / "ckpts"))
    with pytest.raises(CheckpointUnavailableError) as info:
        hqsam_nb.models.resolve_checkpoint("vit_b")
    assert "has no sam_hq_vit_b.pth (it holds: sam_hq_vit_l.pth)" in str(info.value)


@pytest.mark.parametrize("kind", ["under a file", "a file", "read-only"])
def test_unusable_cache_folder_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  kind: str) -> None:
    blocker = tmp_path / "plain-file"
    blocker.write_text("x")
    readonly = tmp_path / "readonly"
    readonly.mkdir()
    readonly.chmod(0o500)
    cache = {"under a file": blocker / "cache", "a file": blocker, "read-only": readonly}[kind]
    monkeypatch.setenv("HQSAM_NB_CACHE", str(cache))
    if kind == "read-only" and os.access(readonly, os.W_OK):
        pytest.skip("running as root: permissions are not enforced")
    with pytest.raises(checkpoints.CacheUnavailableError, match=rf"HQSAM_NB_CACHE={cache}.*writable folder"):
        checkpoints.cache_dir()
    assert issubclass(checkpoints.CacheUnavailableError, hqsam_nb.CheckpointError)
    # Hashing a user's file still works: the verified-hash ledger is only an optimisation.
    (tmp_path / "f.bin").write_bytes(b"abc")
    assert checkpoints.file_sha256(tmp_path / "f.bin") == hashlib.sha256(b"abc").hexdigest()
