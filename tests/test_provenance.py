"""The one weights rule (hqsam_nb.models.provenance): the loader's decision order, the fine-tuned sidecar, and every
stamp, banner and note reading the same kind."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

import pytest

from hqsam_nb.models import checkpoints
from hqsam_nb.models.provenance import (
    KINDS,
    WeightsProvenance,
    mark_fine_tuned,
    provenance_of,
    read_provenance,
    sidecar_path,
    write_sidecar,
)

BASE = "ab" * 32


def _file(tmp_path: Path, data: bytes = b"weights") -> Path:
    path = tmp_path / "mine.pth"
    path.write_bytes(data)
    return path


def _pretend_official(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    spec = checkpoints.CheckpointFile("sam_hq_vit_tiny.pth", len(data), hashlib.sha256(data).hexdigest(),
                                      "vit_tiny", True)
    monkeypatch.setattr(checkpoints, "_OFFICIAL", (spec,))


def test_decision_order_official_then_fine_tuned_then_random_then_unknown(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = _file(tmp_path)
    sha = hashlib.sha256(b"weights").hexdigest()
    assert read_provenance(path, model="vit_tiny") == WeightsProvenance("unknown", "vit_tiny", True, path, sha)
    write_sidecar(path, "random", model="vit_tiny", details={"seed": 4})
    got = read_provenance(path, model="vit_tiny")
    assert (got.kind, got.details, got.sha256) == ("random", {"seed": 4}, sha)
    mark_fine_tuned(path, model="vit_tiny", base_sha256=BASE, data="HQSeg-44K", recipe="sam-hq train.py", epochs=3,
                    seed=7)
    got = read_provenance(path, model="vit_tiny")
    assert got.kind == "fine-tuned" and got.details == {"base_sha256": BASE, "data": "HQSeg-44K",
                                                        "recipe": "sam-hq train.py", "epochs": 3, "seed": 7}
    _pretend_official(monkeypatch, b"weights")  # the official hash wins over any sidecar
    assert read_provenance(path, model="vit_tiny").kind == "official"
    assert read_provenance(path, model="vit_tiny", hq=False).kind == "fine-tuned"  # official for HQ-SAM only


def test_a_checkpoint_overwritten_after_marking_is_unknown(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _file(tmp_path)
    mark_fine_tuned(path, model="vit_tiny", base_sha256=BASE, data="d", recipe="r", epochs=1)
    path.write_bytes(b"other weights, saved later")
    with caplog.at_level(logging.WARNING):
        assert read_provenance(path, model="vit_tiny").kind == "unknown"
    assert "overwritten after it was marked" in caplog.text
    sidecar_path(path).write_text("{not json")
    assert read_provenance(path, model="vit_tiny").kind == "unknown"


def test_sidecar_format_and_refusals(tmp_path: Path) -> None:
    path = _file(tmp_path)
    mark_fine_tuned(path, model="vit_b", base_sha256=BASE, data="d", recipe="r", epochs=0)
    stored = json.loads(sidecar_path(path).read_text())
    assert sidecar_path(path).name == "mine.pth.provenance.json"
    assert stored["kind"] == "fine-tuned" and stored["sha256"] == hashlib.sha256(b"weights").hexdigest()
    for bad in ({"base_sha256": "abc"}, {"epochs": -1}, {"epochs": 1.5}, {"data": ""}):
        kwargs = {"base_sha256": BASE, "data": "d", "recipe": "r", "epochs": 1, **bad}
        with pytest.raises(ValueError, match=next(iter(bad))):
            mark_fine_tuned(path, model="vit_b", **kwargs)
    with pytest.raises(FileNotFoundError, match="save the checkpoint first"):
        mark_fine_tuned(tmp_path / "missing.pth", model="vit_b", base_sha256=BASE, data="d", recipe="r", epochs=1)
    with pytest.raises(ValueError, match="JSON"):
        mark_fine_tuned(path, model="vit_b", base_sha256=BASE, data="d", recipe="r", epochs=1, loss=object())


def test_every_surface_reads_the_same_kind() -> None:
    from hqsam_nb.notebook import weights_banner_html, weights_warning
    from hqsam_nb.text.segment import weights_note as text_note
    from hqsam_nb.video.plots import weights_note as video_note

    seen = {}
    for kind in KINDS:
        p = WeightsProvenance(kind, "vit_b", details={"base_sha256": BASE, "recipe": "r", "epochs": 2})
        seen[kind] = (weights_warning(p), video_note(p), text_note(None, p), p.official, p.weights)
        assert kind.upper().replace("-", "-") in p.describe().upper() or kind in ("unknown", "official")
        assert (weights_warning(p) is None) == (kind == "official") == (video_note(p) is None)
        assert ("RANDOM" in (weights_warning(p) or "")) == ("RANDOM" in (video_note(p) or "")) == (kind == "random")
        assert weights_banner_html(p).count("<div") == 1
    assert seen["official"] == (None, None, "", True, "pretrained")
    assert seen["random"][3:] == (False, "random") and seen["fine-tuned"][4] == "pretrained"
    assert "FINE-TUNED" in seen["fine-tuned"][0] and "fine-tuned" in seen["fine-tuned"][2]
    # A provenance without a file is not "random" unless it says so (video/plots.py used to say RANDOM).
    assert "RANDOM" not in video_note(WeightsProvenance("unknown", "vit_b"))


def test_provenance_of_is_strict() -> None:
    p = WeightsProvenance("random", "vit_tiny")

    class Carrier:
        info = p

    assert provenance_of(p) is p and provenance_of(Carrier()) is p and provenance_of(None) is None
    with pytest.raises(TypeError, match="WeightsProvenance, a pair predictor"):
        provenance_of("random")
    with pytest.raises(ValueError, match="kind='pretrained' is not accepted"):
        WeightsProvenance("pretrained", "vit_tiny")  # type: ignore[arg-type]
    assert WeightsProvenance.from_dict(json.loads(json.dumps(p.to_dict()))) == p


def test_a_fine_tuned_checkpoint_loads_as_fine_tuned(tiny_pair, checkpoint_dir: Path, tmp_path: Path) -> None:
    """Through the real loader, the pair and a run record: the sidecar's details reach run.json."""
    import hqsam_nb
    from hqsam_nb.evaluation.datasets import synthetic_dataset
    from hqsam_nb.evaluation.runner import run_evaluation

    ckpt = tmp_path / "epoch_003.pth"
    shutil.copyfile(checkpoint_dir / "sam_hq_vit_tiny.pth", ckpt)
    base = tiny_pair.info
    assert base.kind == "random"  # the session's synthetic checkpoint carries a random sidecar
    mark_fine_tuned(ckpt, model="vit_tiny", base_sha256=base.sha256, data="synthetic", recipe="test", epochs=3)
    pair = hqsam_nb.load_pair("vit_tiny", checkpoint=ckpt, device="cpu")
    assert pair.info.kind == "fine-tuned" and pair.sam_info.kind == "fine-tuned" and not pair.sam_info.hq
    assert pair.info.details["base_sha256"] == base.sha256 and pair.info.sha256 == base.sha256  # a copy
    run_evaluation(synthetic_dataset(n=1, sizes=((64, 64),)), pair, tmp_path / "run", progress=False, plots=False)
    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    assert meta["provenance"]["kind"] == "fine-tuned" and meta["provenance"]["details"]["epochs"] == 3
    assert meta["official_weights"] is False and meta["weights"] == "pretrained"
