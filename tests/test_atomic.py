"""Atomic writes: all or nothing, with the permissions open() would give."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hqsam_nb.io.atomic import atomic_path, atomic_write_json, atomic_write_text


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "result.json"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]


def test_json_and_permissions(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "data.json"
    atomic_write_json(target, {"b": 1, "a": [1, 2]})
    assert target.read_text().startswith('{\n "a"')
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask


def test_directory_target_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError), atomic_path(tmp_path):
        pass


def _orphan(folder: Path, name: str, age_s: float) -> Path:
    """A temp file as a write killed with kill -9 leaves it (same name pattern as atomic_path's)."""
    path = folder / name
    path.write_text("half-written")
    old = path.stat().st_mtime - age_s
    os.utime(path, (old, old))
    return path


def test_stale_temp_files_of_the_target_are_removed_on_the_next_write(tmp_path: Path) -> None:
    from hqsam_nb.io.atomic import STALE_TEMP_SECONDS

    stale = _orphan(tmp_path, ".result.json.k3j_9xq2.tmp", STALE_TEMP_SECONDS + 60)
    fresh = _orphan(tmp_path, ".result.json.a1b2c3d4.tmp", 5)  # maybe another process writing right now
    other_target = _orphan(tmp_path, ".other.json.k3j_9xq2.tmp", STALE_TEMP_SECONDS + 60)
    not_ours = [_orphan(tmp_path, n, STALE_TEMP_SECONDS + 60)
                for n in (".result.json.tmp", ".result.json.toolong123.tmp", "result.json.k3j_9xq2.tmp",
                          ".result.json.k3j_9xq2.tmp.bak")]
    atomic_write_text(tmp_path / "result.json", "new")
    assert not stale.exists()
    assert fresh.exists() and other_target.exists()
    assert all(p.exists() for p in not_ours)
    assert (tmp_path / "result.json").read_text() == "new"


def test_torch_save_bytes_depend_on_the_content_not_the_file_name(tmp_path: Path) -> None:
    # torch.save to a path names the zip's inner folder after the (random) temp file; a training run's random
    # start then got another SHA-256 in every fresh run with the same seed
    import hashlib

    import torch

    from hqsam_nb.io.atomic import atomic_torch_save

    state = {"w": torch.arange(6.0).reshape(2, 3), "b": torch.zeros(3)}
    a = atomic_torch_save(state, tmp_path / "a.pth")
    b = atomic_torch_save(state, tmp_path / "sub" / "other_name.pth")
    assert hashlib.sha256(a.read_bytes()).hexdigest() == hashlib.sha256(b.read_bytes()).hexdigest()
    loaded = torch.load(b, weights_only=True)
    assert set(loaded) == {"w", "b"} and torch.equal(loaded["w"], state["w"])
    assert not [p for p in tmp_path.rglob("*.tmp")]
