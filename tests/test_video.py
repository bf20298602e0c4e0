"""hqsam_nb.video: reading clips, the DAVIS layout, synthetic clips, prompt sources, per-frame decoding, exports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_masks_match

import hqsam_nb
from hqsam_nb.evaluation.protocols import tight_box
from hqsam_nb.video import (
    DavisDataset,
    DavisError,
    OracleBoxes,
    Propagation,
    davis_palette,
    decode_frame,
    interior_point,
    labels_to_masks,
    load_tracker_boxes,
    masks_to_labels,
    open_video,
    read_label_png,
    save_comparison,
    save_mp4,
    save_tracker_boxes,
    synthetic_clip,
    track_clip,
    write_label_png,
    write_synthetic_davis,
)


@pytest.fixture(scope="module")
def davis_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("davis")
    write_synthetic_davis(root, n_sequences=2, n_frames=4, size=(96, 128), n_objects=2, seed=1)
    return root


# -- reading ----------------------------------------------------------------------------------------------------
def test_frame_folder_is_lazy_and_sized(davis_root: Path) -> None:
    ds = DavisDataset(davis_root)
    clip = open_video(ds.image_dir / ds.names[0])
    assert (clip.size, len(clip), clip.fps) == ((96, 128), 4, 24.0)
    assert clip.names == ("00000", "00001", "00002", "00003")
    it = iter(clip)
    first = next(it)
    assert first.dtype == np.uint8 and first.shape == (96, 128, 3)
    np.testing.assert_array_equal(clip.frame(2), list(clip)[2])


def test_video_file_round_trip(tmp_path: Path) -> None:
    clip = synthetic_clip(n_frames=6, size=(64, 96), seed=2)
    path = save_mp4(tmp_path / "clip.mp4", (image for image, _ in clip), fps=12)
    video = open_video(path)
    assert (video.size, len(video), video.fps) == ((64, 96), 6, 12.0)
    frames = list(video)
    assert len(frames) == 6 and frames[0].shape == (64, 96, 3)
    # lossy, but the same picture
    assert np.abs(frames[3].astype(int) - clip.frame(3)[0].astype(int)).mean() < 12
    np.testing.assert_array_equal(video.frame(4), frames[4])


def test_unreadable_inputs_are_explained(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        open_video(tmp_path / "missing.mp4")
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    with pytest.raises(ValueError, match="not a readable video"):
        open_video(bad)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no frame images"):
        open_video(tmp_path / "empty")
    with pytest.raises(ValueError, match="fps"):
        open_video(tmp_path / "empty", fps=0)


# -- DAVIS layout ------------------------------------------------------------------------------------------------
def test_palette_is_davis() -> None:
    pal = davis_palette()
    assert pal[0].tolist() == [0, 0, 0]
    assert pal[1].tolist() == [128, 0, 0]
    assert pal[2].tolist() == [0, 128, 0]
    assert pal[3].tolist() == [128, 128, 0]
    assert pal[255].tolist() == [224, 224, 192]  # DAVIS's void colour


def test_label_png_round_trip(tmp_path: Path) -> None:
    from PIL import Image

    labels = np.random.default_rng(0).integers(0, 4, (20, 30)).astype(np.uint8)
    write_label_png(tmp_path / "a.png", labels)
    with Image.open(tmp_path / "a.png") as img:
        assert img.mode == "P"
    np.testing.assert_array_equal(read_label_png(tmp_path / "a.png"), labels)
    with pytest.raises(ValueError, match=r"\[0, 255\]"):
        write_label_png(tmp_path / "b.png", np.full((2, 2), 300))
    masks = labels_to_masks(labels, (1, 2, 3))
    assert masks.shape == (3, 20, 30)
    np.testing.assert_array_equal(masks_to_labels(masks, (1, 2, 3)), labels)


def test_davis_loader(davis_root: Path) -> None:
    ds = DavisDataset(davis_root)
    assert len(ds) == 2
    seq = ds.sequence(ds.names[0])
    assert seq.object_ids == (1, 2) and len(seq) == 4 and seq.size == (96, 128)
    masks = seq.masks(1)
    assert masks.shape == (2, 96, 128) and masks.dtype == bool and masks.any(axis=(1, 2)).all()
    only = DavisDataset(davis_root, sequences=[ds.names[1]])
    assert only.names == (ds.names[1],)
    with pytest.raises(DavisError, match="no frames"):
        DavisDataset(davis_root, sequences=["nope"])
    with pytest.raises(DavisError, match="train.txt is missing"):
        DavisDataset(davis_root, subset="train")
    with pytest.raises(DavisError, match="not a folder"):
        DavisDataset(davis_root / "missing")


def test_void_is_background(tmp_path: Path) -> None:
    ds_root = tmp_path / "D"
    write_synthetic_davis(ds_root, n_sequences=1, n_frames=3, size=(64, 64), n_objects=1)
    ds = DavisDataset(ds_root)
    seq = ds.sequence(ds.names[0])
    labels = seq.labels(1)
    labels[:3] = 255
    write_label_png(seq.annotation_files[1], labels)
    assert not seq.masks(1)[:, :3].any()


# -- synthetic clips ---------------------------------------------------------------------------------------------
def test_synthetic_clip_is_deterministic_and_moves() -> None:
    a = synthetic_clip(n_frames=10, size=(96, 128), n_objects=3, seed=4)
    b = synthetic_clip(n_frames=10, size=(96, 128), n_objects=3, seed=4)
    for t in (0, 9):
        np.testing.assert_array_equal(a.frame(t)[0], b.frame(t)[0])
        np.testing.assert_array_equal(a.frame(t)[1], b.frame(t)[1])
    assert a.object_ids == (1, 2, 3)
    first, last = a.frame(0)[1], a.frame(9)[1]
    assert set(np.unique(first)) == {0, 1, 2, 3}
    assert (first != last).any()  # the objects moved
    with pytest.raises(ValueError, match="kinds"):
        synthetic_clip(kinds=("blob",))


def test_synthetic_davis_files_are_exact(davis_root: Path) -> None:
    ds = DavisDataset(davis_root)
    seq = ds.sequence(ds.names[1])
    clip = synthetic_clip(4, (96, 128), 2, seed=1 * 1009 + 1)
    np.testing.assert_array_equal(seq.labels(3), clip.frame(3)[1])


# -- prompts -----------------------------------------------------------------------------------------------------
def test_interior_point_is_on_a_thin_line() -> None:
    m = np.zeros((40, 60), bool)
    m[20, 5:55] = True
    x, y = interior_point(m)
    assert m[int(y), int(x)]
    blob = np.zeros((40, 60), bool)
    blob[10:30, 10:50] = True
    x, y = interior_point(blob)
    assert 19 <= y <= 20 and 19 <= x <= 40  # on the ridge, ten pixels from the edge


def test_oracle_boxes_and_absent_objects() -> None:
    gt = np.zeros((2, 30, 40), bool)
    gt[0, 5:10, 8:20] = True
    src = OracleBoxes()
    src.start((1, 2), gt)
    prompts = src.frame_prompts(0, "00000", ("sam", "fused"), gt, None)
    assert prompts["sam"] is prompts["fused"]  # shared: one decode for all branches
    np.testing.assert_array_equal(prompts["sam"][0].box, tight_box(gt[0]))
    assert prompts["sam"][1] is None


def test_tracker_boxes_file(tmp_path: Path) -> None:
    path = save_tracker_boxes(tmp_path / "boxes.json", {"seq": {"00000": {1: [1, 2, 10, 12], 2: None},
                                                                 "00001": {2: [0, 0, 5, 5]}}})
    data = json.loads(path.read_text())
    assert data["format"] == "hqsam_nb.tracker_boxes" and data["version"] == 1
    tracker = load_tracker_boxes(path)["seq"]
    tracker.start((1, 2), None)
    p0 = tracker.frame_prompts(0, "00000", ("sam",), None, None)["sam"]
    assert p0[0].box.tolist() == [1, 2, 10, 12] and p0[1] is None
    p1 = tracker.frame_prompts(1, "00001", ("sam",), None, None)["sam"]
    assert p1[0] is None and p1[1].box.tolist() == [0, 0, 5, 5]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "hqsam_nb.tracker_boxes", "version": 1,
                               "sequences": {"s": {"00000": {"1": [5, 5, 5, 9]}}}}))
    with pytest.raises(ValueError, match="s/00000/object 1.* zero width"):
        load_tracker_boxes(bad)
    # The one box rule (README "Prompts are pixels"; changed in 0.1): swapped corners are put in order, as for
    # every other box, where tracker boxes used to refuse them.
    bad.write_text(json.dumps({"format": "hqsam_nb.tracker_boxes", "version": 1,
                               "sequences": {"s": {"00000": {"1": [5, 5, 2, 9]}}}}))
    assert load_tracker_boxes(bad)["s"].boxes["00000"][1].tolist() == [2, 5, 5, 9]
    bad.write_text(json.dumps({"s": {}}))
    with pytest.raises(ValueError, match="expected"):
        load_tracker_boxes(bad)


def test_propagation_follows_each_branch_and_keeps_lost_objects() -> None:
    gt = np.zeros((2, 30, 40), bool)
    gt[0, 5:10, 8:20] = True
    gt[1, 15:25, 20:30] = True
    src = Propagation(init="mask")
    src.start((1, 2), gt)
    p0 = src.frame_prompts(0, "00000", ("sam", "hq"), None, None)
    np.testing.assert_array_equal(p0["sam"][0].box, tight_box(gt[0]))
    assert p0["sam"][0].points.shape == (1, 2) and p0["sam"][0].labels.tolist() == [1]
    sam_prev = gt.copy()
    sam_prev[0] = False  # SAM lost object 1
    hq_prev = np.zeros_like(gt)
    hq_prev[0, 6:12, 10:22] = True
    hq_prev[1] = gt[1]
    p1 = src.frame_prompts(1, "00001", ("sam", "hq"), None, {"sam": sam_prev, "hq": hq_prev})
    assert p1["sam"] is not p1["hq"]
    np.testing.assert_array_equal(p1["sam"][0].box, p0["sam"][0].box)  # lost: keeps its last prompt
    np.testing.assert_array_equal(p1["hq"][0].box, tight_box(hq_prev[0]))  # follows its own mask
    clicks = Propagation(init="clicks")
    clicks.start((1, 2), gt)
    c0 = clicks.frame_prompts(0, "00000", ("sam",), None, None)["sam"]
    assert c0[0].box is None and c0[0].points.shape == (1, 2)
    with pytest.raises(ValueError, match="init"):
        Propagation(init="guess")  # type: ignore[arg-type]


# -- decoding: one encoder pass per frame ----------------------------------------------------------------------
def test_one_encoder_pass_per_frame_serves_every_object_and_branch(tiny_pair, monkeypatch) -> None:
    clip = synthetic_clip(n_frames=2, size=(96, 128), n_objects=2, seed=5)
    ids = clip.object_ids
    calls = []
    original = type(tiny_pair).predict_batch

    def counting(self, *args, **kwargs):
        calls.append(kwargs.get("only"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(tiny_pair), "predict_batch", counting)
    tiny_pair.clear_cache()
    before = tiny_pair.encoder_passes
    gt = [labels_to_masks(clip.frame(t)[1], ids) for t in range(2)]
    frames = [(f"{t:05d}", clip.frame(t)[0]) for t in range(2)]
    oracle = list(track_clip(tiny_pair, frames, OracleBoxes(), ids, ground_truth=lambda t: gt[t]))
    assert tiny_pair.encoder_passes - before == 2
    assert calls == [None, None]  # one batched call per frame: all objects, both decoders
    # each object's row is that object's mask from the batched call on the ground-truth boxes
    tiny_pair.set_image(frames[1][1])
    direct = original(tiny_pair, boxes=np.stack([tight_box(m) for m in gt[1]]))
    for key in ("sam", "hq", "fused"):
        np.testing.assert_array_equal(oracle[1].masks[key], getattr(direct, key).masks)

    calls.clear()
    tiny_pair.clear_cache()
    before = tiny_pair.encoder_passes
    prop = list(track_clip(tiny_pair, frames, Propagation(), ids, first_masks=gt[0]))
    assert tiny_pair.encoder_passes - before == 2
    assert sorted(calls, key=str) == ["hq", "hq", "sam", "sam"]  # per frame: SAM's decoder once, HQ's once
    assert set(prop[1].masks) == {"sam", "hq", "fused"}
    assert prop[1].masks["hq"].shape == (2, 96, 128)


def test_decode_frame_without_prompts_gives_empty_masks(tiny_pair) -> None:
    image = synthetic_clip(1, (64, 64), 1).frame(0)[0]
    empty = [None]
    out = decode_frame(tiny_pair, image, {"sam": empty, "fused": empty}, ("sam", "fused"))
    assert out["sam"].shape == (1, 64, 64) and not out["sam"].any() and not out["fused"].any()
    # a tracker box overhanging the frame is clipped to it; one wholly outside gives no prompt
    from hqsam_nb.video.prompts import ObjectPrompt

    boxes = [ObjectPrompt(box=np.array([-10.0, 5, 40, 80])), ObjectPrompt(box=np.array([70.0, 70, 90, 90]))]
    out = decode_frame(tiny_pair, image, {"sam": boxes}, ("sam",))
    tiny_pair.set_image(image)
    assert_masks_match(out["sam"][0], tiny_pair.predict(box=[0, 5, 40, 64]).sam.mask)
    assert not out["sam"][1].any()


# -- exports -----------------------------------------------------------------------------------------------------
def test_comparison_mp4_and_gif(tmp_path: Path) -> None:
    clip = synthetic_clip(n_frames=3, size=(64, 96), n_objects=2, seed=6)
    triples = []
    for image, labels in clip:
        sam = labels_to_masks(labels, clip.object_ids)
        hq = sam.copy()
        hq[:, :, ::5] = False
        triples.append((image, sam, hq))
    mp4 = save_comparison(tmp_path / "cmp.mp4", triples, fps=4)
    gif = save_comparison(tmp_path / "cmp.gif", triples, fps=4, notes=["a", "b", "c"])
    video = open_video(mp4)
    assert len(video) == 3 and video.size[1] > 3 * 96  # three panels side by side
    assert len(open_video(gif)) == 3
    with pytest.raises(ValueError, match=".mp4 or .gif"):
        save_comparison(tmp_path / "cmp.avi", triples)


def test_public_api() -> None:
    assert hqsam_nb.video.open_video is open_video
    assert callable(hqsam_nb.open_video) and callable(hqsam_nb.track_clip)


# -- what a hostile but realistic file holds (reliability round 2) -------------------------------------------
def _tracker_file(path: Path, sequences, **top) -> Path:
    path.write_text(json.dumps({"format": "hqsam_nb.tracker_boxes", "version": 1, "sequences": sequences, **top}))
    return path


@pytest.mark.parametrize(("sequences", "top", "message"), [
    ({"s": {"00000": {"1": [1, 1, 5, 5]}}}, {"version": 2}, "version 2 is not accepted; .* reads version 1"),
    ([1, 2], {}, "'sequences' must map sequence names"),
    ({"s": {"00000": {"1": {"x": 1}}}}, {}, r"s/00000/object 1: a box must be \[x0, y0, x1, y1\]"),
    ({"s": {"00000": {"1": "abc"}}}, {}, r"s/00000/object 1: a box must be"),
    ({"s": {"00000": {"1": [1, 1, 5, 5], "01": [2, 2, 6, 6]}}}, {}, "'1' and '01' are the same object 1"),
])
def test_hostile_tracker_files_are_refused_by_name(tmp_path: Path, sequences, top, message) -> None:
    with pytest.raises(ValueError, match=message):
        load_tracker_boxes(_tracker_file(tmp_path / "boxes.json", sequences, **top))


def test_tracker_boxes_keyed_by_anything_but_frame_names_are_refused(davis_root: Path, tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    """Keys "0", "1" instead of "00000", "00001" once gave empty masks and J&F 0 after an encoder pass per frame."""
    from hqsam_nb.video.runner import PromptSpec, prompt_sources

    ds = DavisDataset(davis_root)
    seqs = list(ds)
    by_index = {s.name: {str(t): {"1": [1, 1, 20, 20]} for t in range(len(s))} for s in seqs}
    spec = PromptSpec("boxes", boxes_file=str(_tracker_file(tmp_path / "index.json", by_index)))
    with pytest.raises(ValueError, match=r"keyed '0', '1', .* no frame of it has such a name \(its frames: '00000'"):
        prompt_sources(spec, seqs)
    by_name = {s.name: {n: {"1": [1, 1, 20, 20]} for n in (*s.frame_names, "99999")} for s in seqs}
    spec = PromptSpec("boxes", boxes_file=str(_tracker_file(tmp_path / "names.json", by_name)))
    assert set(prompt_sources(spec, seqs)) == set(ds.names)
    assert "name frames '99999' that the sequence does not have" in caplog.text
    deep = tmp_path / "deep.json"
    deep.write_text("{" * 100_000)
    with pytest.raises(ValueError, match=r"tracker-box file .*deep\.json' is (JSON nested too deeply|not valid JSON)"):
        load_tracker_boxes(deep)


def test_a_truncated_or_damaged_video_file_says_so(tmp_path: Path) -> None:
    """A cut MP4 whose index announces 30 frames once raised a bare StopIteration from frame(29); damaged data
    raised av.error.InvalidDataError. Both are now a ValueError naming the file and the frame."""
    import av

    path = tmp_path / "clip.mp4"
    with av.open(str(path), mode="w", options={"movflags": "faststart"}) as container:  # index first, as streamed
        stream = container.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for image, _ in synthetic_clip(n_frames=30, size=(64, 96), seed=2):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    data = path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    video = open_video(cut)
    assert len(video) == 30
    with pytest.raises(ValueError, match=r"cut\.mp4' announces 30 frames but holds only \d+ \(a truncated file\?\)"):
        video.frame(29)
    damaged = bytearray(data)
    start = data.find(b"mdat") + (len(data) - data.find(b"mdat")) // 3
    damaged[start:start + 4000] = bytes(range(256)) * 15 + bytes(160)
    (tmp_path / "damaged.mp4").write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match=r"damaged\.mp4': frame \d+ of 30 could not be decoded"):
        list(open_video(tmp_path / "damaged.mp4"))
