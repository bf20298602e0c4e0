"""Exports round-trip (PNG, COCO RLE, polygons, GIF) with their prompts, and writes are atomic."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from helpers import make_image

from hqsam_nb import Prompt, make_prompt
from hqsam_nb.io import exports as ex
from hqsam_nb.io.atomic import atomic_write_bytes
from hqsam_nb.io.exports import (
    MaskRecord,
    load_coco_json,
    load_mask_png,
    load_polygons_json,
    mask_to_polygons,
    mask_to_rle,
    polygons_to_mask,
    rle_to_mask,
    save_coco_json,
    save_gif,
    save_mask_png,
    save_polygons_json,
)
from hqsam_nb.pair import records_from_prediction


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return np.count_nonzero(a & b) / max(1, np.count_nonzero(a | b))


def thin_mask(seed: int, h: int = 90, w: int = 120) -> np.ndarray:
    """Lines 1-3 px wide, a ring with a hole, an island inside the hole, random blobs: what HQ-SAM outputs."""
    import cv2

    rng = np.random.default_rng(seed)
    m = np.zeros((h, w), np.uint8)
    for _ in range(4):
        p, q = rng.integers(0, (w, h), size=(2, 2))
        cv2.line(m, tuple(int(v) for v in p), tuple(int(v) for v in q), 1, int(rng.integers(1, 4)))
    cv2.circle(m, (60, 45), 25, 1, 6)  # ring: a hole inside
    cv2.circle(m, (60, 45), 5, 1, -1)  # island inside the hole
    m[rng.random((h, w)) < 0.01] = 1  # isolated pixels
    return m.astype(bool)


@pytest.fixture
def prompt() -> Prompt:
    return make_prompt([[10, 20], [50, 40]], [1, 0], [5, 5, 100, 80], image_size=(90, 120))


def test_png_round_trip_with_prompt(tmp_path: Path, prompt: Prompt) -> None:
    m = thin_mask(0)
    path = save_mask_png(tmp_path / "sub" / "mask.png", m, prompt=prompt, model="hq", score=0.9)
    assert path.exists()
    back, meta = load_mask_png(path, with_meta=True)
    np.testing.assert_array_equal(back, m)
    assert meta["model"] == "hq" and meta["score"] == 0.9 and meta["size"] == [90, 120]
    again = Prompt.from_dict(meta["prompt"], (90, 120))
    np.testing.assert_array_equal(again.points, prompt.points)
    np.testing.assert_array_equal(again.box, prompt.box)
    # a plain PNG viewer sees black/white
    from PIL import Image

    with Image.open(path) as img:
        assert img.mode == "L" and set(np.unique(np.asarray(img)).tolist()) <= {0, 255}


@pytest.mark.parametrize("seed", range(3))
def test_rle_round_trip(seed: int) -> None:
    m = thin_mask(seed)
    rle = mask_to_rle(m)
    assert rle["size"] == [90, 120] and isinstance(rle["counts"], str)
    json.dumps(rle)
    np.testing.assert_array_equal(rle_to_mask(rle), m)


def test_rle_uncompressed_counts() -> None:
    m = np.zeros((3, 4), bool)
    m[1, 2] = True
    # column-major runs: 7 zeros, 1 one, 4 zeros
    np.testing.assert_array_equal(rle_to_mask({"size": [3, 4], "counts": [7, 1, 4]}), m)


# pycocotools' own annToMask with numpy 2 (not our code path: rle_to_mask filters it)
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_coco_json_round_trip_and_pycocotools_reads_it(tmp_path: Path, prompt: Prompt) -> None:
    masks = [thin_mask(s) for s in range(3)]
    records = [MaskRecord(m, prompt, name=f"obj{i}", model="hq", score=0.5 + i / 10)
               for i, m in enumerate(masks)]
    path = save_coco_json(tmp_path / "masks.json", records, file_name="scene.png")
    back = load_coco_json(path)
    assert len(back) == 3
    for rec, m in zip(back, masks, strict=True):
        np.testing.assert_array_equal(rec.mask, m)
        assert rec.prompt == prompt.to_dict() and rec.model == "hq"
    from pycocotools.coco import COCO

    coco = COCO(str(path))
    ann = coco.loadAnns(coco.getAnnIds(imgIds=[1]))[0]
    np.testing.assert_array_equal(coco.annToMask(ann).astype(bool), masks[0])
    assert ann["area"] == int(masks[0].sum())
    ys, xs = np.nonzero(masks[0])
    assert ann["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]


@pytest.mark.parametrize("seed", range(4))
def test_polygons_rasterise_back(seed: int) -> None:
    m = thin_mask(seed)
    polys = mask_to_polygons(m)
    assert polys and all(p["exterior"].shape[1] == 2 for p in polys)
    back = polygons_to_mask(polys, m.shape)
    assert iou(back, m) >= 0.98
    # simplified outlines stay close on solid shapes
    solid = np.zeros((90, 120), bool)
    solid[10:70, 15:100] = True
    solid[30:50, 40:60] = False  # a hole
    simple = mask_to_polygons(solid, epsilon=1.0)
    assert len(simple) == 1 and len(simple[0]["holes"]) == 1
    assert iou(polygons_to_mask(simple, solid.shape), solid) >= 0.98


def test_polygons_keep_holes_and_islands() -> None:
    m = np.zeros((50, 50), bool)
    m[5:45, 5:45] = True
    m[15:35, 15:35] = False
    m[22:28, 22:28] = True  # island in the hole
    polys = mask_to_polygons(m)
    assert len(polys) == 2 and len(polys[0]["holes"]) == 1 and not polys[1]["holes"]
    np.testing.assert_array_equal(polygons_to_mask(polys, m.shape), m)
    assert mask_to_polygons(np.zeros((5, 5), bool)) == []


def test_polygons_json_round_trip(tmp_path: Path, prompt: Prompt) -> None:
    records = [MaskRecord(thin_mask(s), prompt, name=f"m{s}", model="sam") for s in range(2)]
    path = save_polygons_json(tmp_path / "poly.json", records)
    doc = json.loads(path.read_text())
    assert doc["size"] == [90, 120] and doc["masks"][0]["prompt"] == prompt.to_dict()
    back = load_polygons_json(path)
    for rec, orig in zip(back, records, strict=True):
        assert iou(rec.mask, orig.mask) >= 0.98 and rec.name == orig.name


def test_records_from_prediction(prompt: Prompt) -> None:
    m = thin_mask(1)
    pred = SimpleNamespace(sam=SimpleNamespace(mask=m, score=0.7), hq=SimpleNamespace(mask=~m, score=0.8),
                           fused=SimpleNamespace(mask=m, score=0.8), prompt=prompt)
    recs = records_from_prediction(pred, "cat", which=("sam", "hq"), sample="chelsea")
    assert [r.model for r in recs] == ["sam", "hq"] and recs[1].score == 0.8
    assert recs[0].prompt == prompt.to_dict() and recs[0].extra == {"branch": "SAM", "sample": "chelsea"}
    assert recs[1].extra["branch"] == "HQ-SAM (HQ token)"
    from hqsam_nb.models.provenance import WeightsProvenance

    stamped = records_from_prediction(pred, weights=WeightsProvenance("random", "vit_tiny"))
    assert all(r.extra["weights_warning"].startswith("RANDOM WEIGHTS") for r in stamped)
    with pytest.raises(ValueError, match="which"):
        records_from_prediction(pred, which=("best",))


def test_gif(tmp_path: Path) -> None:
    frames = [make_image(40, 60, s) for s in range(3)] + [make_image(30, 50, 9)]
    path = save_gif(tmp_path / "anim.gif", frames, duration_ms=200)
    from PIL import Image

    with Image.open(path) as img:
        assert img.n_frames == 4 and img.size == (60, 40)
        assert img.info.get("loop") == 0
    with pytest.raises(ValueError, match="frames"):
        save_gif(tmp_path / "x.gif", [])


def test_atomic_write_replaces_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    atomic_write_bytes(path, b"first")
    atomic_write_bytes(path, b"second version")
    assert path.read_bytes() == b"second version"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin"]  # no temp files left


def test_crash_mid_write_keeps_old_file_and_leaves_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    path = tmp_path / "mask.png"
    save_mask_png(path, thin_mask(0))
    old = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        save_mask_png(path, thin_mask(1))
    assert path.read_bytes() == old
    with pytest.raises(OSError, match="disk full"):
        save_coco_json(tmp_path / "new.json", [MaskRecord(thin_mask(2))])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mask.png"]


def test_interrupted_before_rename_leaves_target_absent(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(ex.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        save_polygons_json(tmp_path / "p.json", [MaskRecord(thin_mask(0))])
    assert list(tmp_path.iterdir()) == []


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="empty"):
        save_coco_json(tmp_path / "x.json", [])
    with pytest.raises(TypeError, match="MaskRecord"):
        save_coco_json(tmp_path / "x.json", [np.zeros((3, 3), bool)])
    with pytest.raises(ValueError, match="shape"):
        save_coco_json(tmp_path / "x.json",
                       [MaskRecord(np.zeros((3, 3), bool)), MaskRecord(np.zeros((4, 3), bool))])
    with pytest.raises(TypeError, match="prompt"):
        MaskRecord(np.zeros((3, 3), bool), prompt=[1, 2])
    with pytest.raises(IsADirectoryError):
        atomic_write_bytes(tmp_path, b"x")
    with pytest.raises(ValueError, match="RLE"):
        rle_to_mask({"counts": "x"})


def test_records_from_an_only_prediction_skip_the_branch_that_was_not_run(prompt: Prompt) -> None:
    m = thin_mask(1)
    pred = SimpleNamespace(sam=None, hq=SimpleNamespace(mask=m, score=np.float32(0.8)),
                           fused=SimpleNamespace(mask=m, score=np.float32(0.8)), prompt=prompt)  # only="hq"
    assert [r.model for r in records_from_prediction(pred)] == ["hq", "fused"]
    with pytest.raises(ValueError, match=r"'sam'.*only="):
        records_from_prediction(pred, which=("sam", "hq"))


def test_polygons_json_refuses_bare_masks_like_coco(tmp_path: Path) -> None:
    for save in (save_polygons_json, save_coco_json):
        with pytest.raises(TypeError, match=r"record 0 is a ndarray.*MaskRecord\(mask"):
            save(tmp_path / "x.json", [np.zeros((3, 3), bool)])


def test_numpy_scores_are_json_serialisable(tmp_path: Path, prompt: Prompt) -> None:
    rec = MaskRecord(thin_mask(0), prompt, score=np.float32(0.75))
    assert type(rec.score) is float and rec.score == 0.75
    json.dumps(rec.meta())
    for save in (save_polygons_json, save_coco_json):
        save(tmp_path / f"{save.__name__}.json", [rec])
    save_mask_png(tmp_path / "m.png", rec)
    with pytest.raises(TypeError, match="score"):
        MaskRecord(thin_mask(0), score="high")
