"""Text prompts: the detector wrapper against transformers' own pipeline, loading, bad input, segment_text.

The detector is the tiny random GroundingDINO of :mod:`hqsam_nb.text.tiny` (built from a config, saved with
``save_pretrained`` and loaded through the real :func:`hqsam_nb.text.load_detector` path): no download.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import make_image

import hqsam_nb
from hqsam_nb.models.checkpoints import CheckpointUnavailableError
from hqsam_nb.text import (
    DEFAULT_DETECTOR,
    PINNED_REVISIONS,
    Detections,
    load_detector,
    normalize_caption,
    save_tiny_random_detector,
)

CAPTION = "a cat. a dog."


@pytest.fixture(scope="session")
def tiny_detector_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_random_detector(tmp_path_factory.mktemp("detectors") / "tiny", seed=0)


@pytest.fixture(scope="session")
def detector(tiny_detector_dir: Path) -> hqsam_nb.text.GroundingDinoDetector:
    return load_detector(tiny_detector_dir, device="cpu")


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return make_image(120, 180, seed=3)  # not square: catches an (H, W) / (W, H) mix-up


def _reference(folder: Path, image: np.ndarray, caption: str, box_threshold: float, text_threshold: float):
    """transformers' documented pipeline: processor -> model -> post_process_grounded_object_detection."""
    import torch
    from PIL import Image
    from transformers import AutoModelForZeroShotObjectDetection, AutoProcessor

    processor = AutoProcessor.from_pretrained(folder)
    model = AutoModelForZeroShotObjectDetection.from_pretrained(folder).eval()
    inputs = processor(images=Image.fromarray(image), text=caption, return_tensors="pt")
    with torch.no_grad():
        outputs = model(**inputs)
    res = processor.post_process_grounded_object_detection(
        outputs, inputs["input_ids"], threshold=box_threshold, text_threshold=text_threshold,
        target_sizes=[image.shape[:2]])[0]
    return res["boxes"].numpy(), res["scores"].numpy(), list(res["text_labels"])


def test_tiny_detector_follows_the_recipe(detector) -> None:
    config = detector.model.config
    assert config.backbone_config.embed_dim == 8 and list(config.backbone_config.depths) == [1, 1, 1, 1]
    assert list(config.backbone_config.out_indices) == [2, 3, 4]
    assert config.text_config.hidden_size == 8 and config.d_model == 32 and config.decoder_layers >= 2
    ids = detector.processor.tokenizer.convert_tokens_to_ids(["[CLS]", "[SEP]", ".", "?"])
    assert ids == [101, 102, 1012, 1029]  # the ids GroundingDINO hard-codes
    assert detector.random_weights and "RANDOM" in repr(detector)
    assert detector.max_text_tokens == 256


@pytest.mark.parametrize(("box_threshold", "text_threshold"), [(0.35, 0.25), (0.6, 0.5)])
def test_detect_equals_transformers_pipeline(detector, tiny_detector_dir: Path, image: np.ndarray,
                                             box_threshold: float, text_threshold: float) -> None:
    found = detector.detect(image, CAPTION, box_threshold=box_threshold, text_threshold=text_threshold)
    boxes, scores, labels = _reference(tiny_detector_dir, image, CAPTION, box_threshold, text_threshold)
    assert 0 < len(found) < 16  # some boxes pass, some do not: the threshold is applied
    h, w = image.shape[:2]
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, w)  # ours are clipped to the image (a valid SAM box prompt)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, h)
    order = np.argsort(-scores, kind="stable")  # ours are sorted best first
    np.testing.assert_allclose(found.boxes, boxes[order], atol=1e-4)
    np.testing.assert_allclose(found.scores, scores[order], atol=1e-6)
    for ours, theirs in zip(found.labels, (labels[i] for i in order), strict=True):
        # transformers' label is every token above text_threshold ("a cat. a dog. [SEP]"); ours is the words of
        # one phrase among them
        assert set(ours.split()) <= set(theirs.replace(".", " ").split()) - {"[SEP]", "[CLS]"}
        assert ours in ("", "a", "cat", "dog", "a cat", "a dog"), ours
    assert any("[SEP]" in theirs or "." in theirs for theirs in labels)  # what CaptionPhrases exists to fix
    assert found.boxes.dtype == np.float32 and found.boxes.shape == (len(found), 4)
    assert (found.scores > box_threshold).all() and (np.diff(found.scores) <= 0).all()
    assert found.caption == CAPTION and found.image_size == (h, w)


def test_detect_takes_every_image_form_and_normalises_the_caption(detector, image: np.ndarray,
                                                                  tmp_path: Path) -> None:
    from PIL import Image

    ref = detector.detect(image, CAPTION, box_threshold=0.5)
    path = tmp_path / "im.png"
    Image.fromarray(image).save(path)
    for form in (Image.fromarray(image), path, image.astype(np.float32) / 255, ["A cat", "a  DOG"], "a cat. a dog"):
        got = detector.detect(form if not isinstance(form, (list, str)) else image,
                              form if isinstance(form, (list, str)) else CAPTION, box_threshold=0.5)
        np.testing.assert_allclose(got.boxes, ref.boxes, atol=1e-4)
        assert got.labels == ref.labels


def test_no_detection_is_an_empty_result_and_a_message(detector, image: np.ndarray,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="hqsam_nb.text"):
        found = detector.detect(image, CAPTION, box_threshold=1.0)
    assert len(found) == 0 and found.boxes.shape == (0, 4) and found.scores.shape == (0,) and found.labels == ()
    assert "no object above box_threshold=1.00" in caplog.text and "best score" in caplog.text


@pytest.mark.parametrize(("text", "kwargs", "error", "match"), [
    ("", {}, ValueError, "names nothing"),
    (" . . ", {}, ValueError, "names nothing"),
    ([], {}, ValueError, "names nothing"),
    (42, {}, TypeError, "text must be a string"),
    ("cat " * 300, {}, ValueError, "tokens long.*at most 256"),
    (CAPTION, {"box_threshold": 1.5}, ValueError, r"box_threshold=1.5 is outside \[0, 1\]"),
    (CAPTION, {"box_threshold": -0.1}, ValueError, "outside"),
    (CAPTION, {"text_threshold": float("nan")}, ValueError, "text_threshold=nan"),
    (CAPTION, {"box_threshold": "0.3"}, TypeError, "must be a number"),
])
def test_bad_input_is_a_clear_error(detector, image: np.ndarray, text, kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        detector.detect(image, text, **kwargs)


def test_normalize_caption() -> None:
    assert normalize_caption("A Cat.  a dog") == "a cat. a dog."
    assert normalize_caption(["a cat", "a dog."]) == "a cat. a dog."
    assert normalize_caption("bicycle") == "bicycle."


def test_detections_clip_drop_sort_select() -> None:
    raw = [[-5, 10, 50, 60], [10, 10, 20, 20], [200, 0, 250, 40], [90, 80, 130, 120]]  # 3rd: outside entirely
    d = Detections.from_raw(raw, [0.5, 0.9, 0.99, 0.7], ["a", "b", "c", "d"], caption="a. b.", image_size=(100, 120),
                            box_threshold=0.3, text_threshold=0.25)
    assert d.labels == ("b", "d", "a") and d.dropped == 1
    np.testing.assert_array_equal(d.boxes, [[10, 10, 20, 20], [90, 80, 120, 100], [0, 10, 50, 60]])
    assert d.top(2).labels == ("b", "d") and d.top(0).boxes.shape == (0, 4) and d.select(2).labels == ("a",)
    assert d.summary()[0].startswith("1. b  0.90")


def test_load_detector_offline_is_one_readable_message(no_network, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants as hub_constants

    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)  # a user without the offline flag: fails fast
    with pytest.raises(CheckpointUnavailableError) as info:
        load_detector()
    msg = str(info.value)
    assert DEFAULT_DETECTOR in msg and PINNED_REVISIONS[DEFAULT_DETECTOR][:10] in msg
    assert "no network" in msg and "tiny_random_detector" in msg and "load_detector('DIR')" in msg
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_load_detector_offline_mode_without_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import huggingface_hub.constants as hub_constants

    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(CheckpointUnavailableError, match="Could not find or download the detector") as info:
        load_detector(DEFAULT_DETECTOR)
    assert "\n" not in str(info.value) and "hf download" in str(info.value)


def test_load_detector_uses_a_cached_pinned_snapshot_without_network(no_network, monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path, tiny_detector_dir: Path) -> None:
    import huggingface_hub.constants as hub_constants

    revision = PINNED_REVISIONS[DEFAULT_DETECTOR]
    snapshot = tmp_path / "hub" / "models--IDEA-Research--grounding-dino-tiny" / "snapshots" / revision
    shutil.copytree(tiny_detector_dir, snapshot)
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    detector = load_detector(device="cpu")
    assert detector.revision == revision and detector.name == DEFAULT_DETECTOR
    assert detector.model.config.d_model == 32


def test_load_detector_rejects_what_is_not_a_detector(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="neither a folder"):
        load_detector(tmp_path / "missing" / "folder")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no config.json"):
        load_detector(tmp_path / "empty")
    from transformers import BertConfig

    BertConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=1, intermediate_size=8).save_pretrained(
        tmp_path / "bert")
    with pytest.raises(ValueError, match="'bert' model; accepted: GroundingDINO"):
        load_detector(tmp_path / "bert")
    with pytest.raises(TypeError, match="name_or_path"):
        load_detector(3)


def test_a_detector_folder_that_asks_to_run_its_own_code_is_refused_without_a_prompt(
        tiny_detector_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """config.json's auto_map beside a .py once made transformers ask "Do you wish to run the custom code? [y/N]"
    on stdin; a folder without processor files raised transformers' own OSError."""
    import builtins
    import json

    def no_prompt(*args, **kwargs):
        raise AssertionError("load_detector must never ask on stdin")

    monkeypatch.setattr(builtins, "input", no_prompt)
    remote = tmp_path / "remote"
    shutil.copytree(tiny_detector_dir, remote)
    config = json.loads((remote / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "custom.CustomConfig"}
    (remote / "config.json").write_text(json.dumps(config))
    marker = tmp_path / "ran.txt"
    (remote / "custom.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    with pytest.raises(ValueError, match=r"asks to run its own code \(config.json 'auto_map': \['AutoConfig'\], "
                                         r"files custom.py\); refused"):
        load_detector(remote, device="cpu")
    assert not marker.exists()
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(tiny_detector_dir / name, bare / name)
    with pytest.raises(FileNotFoundError, match="has no usable processor files"):
        load_detector(bare, device="cpu")


def test_a_very_elongated_image_is_a_clear_error(detector) -> None:
    """A 1 x 2000 image once raised transformers' "Size must contain 'height' and 'width' keys"."""
    with pytest.raises(ValueError, match=r"2000 x 1 px \(W x H\): too elongated .* at least \d+ px"):
        detector.detect(np.zeros((1, 2000, 3), np.uint8), CAPTION)
    found = detector.detect(np.zeros((16, 2000, 3), np.uint8), CAPTION, box_threshold=0.0)  # elongated, but fine
    assert len(found) > 0 and found.boxes[:, 3].max() <= 16


def test_owlv2_detect_equals_transformers_pipeline(tmp_path: Path, image: np.ndarray) -> None:
    import torch
    from PIL import Image
    from transformers import AutoModelForZeroShotObjectDetection, AutoProcessor

    folder = save_tiny_random_detector(tmp_path / "owl", family="owlv2")
    detector = load_detector(folder, device="cpu")
    assert isinstance(detector, hqsam_nb.text.Owlv2Detector) and detector.random_weights
    found = detector.detect(image, "a cat. a dog", box_threshold=0.0)  # random OWLv2 scores are tiny
    processor = AutoProcessor.from_pretrained(folder)
    model = AutoModelForZeroShotObjectDetection.from_pretrained(folder).eval()
    inputs = processor(text=[["a cat", "a dog"]], images=Image.fromarray(image), return_tensors="pt")
    with torch.no_grad():
        outputs = model(**inputs)
    side = max(image.shape[:2])  # OWLv2 pads to a square at the bottom / right
    res = processor.post_process_grounded_object_detection(outputs, threshold=0.0, target_sizes=[(side, side)],
                                                           text_labels=[["a cat", "a dog"]])[0]
    ref = Detections.from_raw(res["boxes"].numpy(), res["scores"].numpy(), res["text_labels"], caption="",
                              image_size=image.shape[:2], box_threshold=0.0, text_threshold=0.25)
    assert len(found) > 0
    np.testing.assert_allclose(found.boxes, ref.boxes, atol=1e-4)
    np.testing.assert_allclose(found.scores, ref.scores, atol=1e-6)
    assert found.labels == ref.labels and set(found.labels) <= {"a cat", "a dog"}
    with pytest.raises(ValueError, match="tokens long"):
        detector.detect(image, "a very long phrase about a cat")


# --- segment_text ----------------------------------------------------------------------------------


def test_segment_text_equals_predict_batch_on_the_boxes(tiny_pair, detector, image: np.ndarray) -> None:
    from hqsam_nb.text import segment_text

    tiny_pair.clear_cache()
    before = tiny_pair.encoder_passes
    seg = segment_text(tiny_pair, detector, image, CAPTION, box_threshold=0.5, max_objects=5)
    assert tiny_pair.encoder_passes - before == 1  # one encoder pass for every object
    assert len(seg) == len(seg.prediction) == 5 and seg.prediction.sam.masks.shape == (5, *image.shape[:2])
    np.testing.assert_array_equal(seg.detections.boxes, detector.detect(image, CAPTION, box_threshold=0.5).boxes[:5])
    ref = tiny_pair.predict_batch(boxes=seg.detections.boxes)
    for key in ("sam", "hq", "fused"):
        np.testing.assert_array_equal(seg.prediction.branch(key).masks, ref.branch(key).masks)
        np.testing.assert_allclose(seg.prediction.branch(key).scores, ref.branch(key).scores, atol=1e-6)
    assert "RANDOM detector weights" in seg.note and "RANDOM SAM/HQ-SAM weights" in seg.note
    assert seg[0].prompt.box.tolist() == seg.detections.boxes[0].astype(np.float64).tolist()


def test_segment_text_without_detections_runs_no_model(tiny_pair, detector, image: np.ndarray,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from hqsam_nb.text import segment_text

    def refuse(*args, **kwargs):
        raise AssertionError("no box: neither the encoder nor a decoder may run")

    monkeypatch.setattr(tiny_pair, "set_image", refuse)
    monkeypatch.setattr(tiny_pair, "predict_batch", refuse)
    seg = segment_text(tiny_pair, detector, image, CAPTION, box_threshold=1.0)
    assert len(seg) == 0 and len(seg.prediction) == 0
    assert seg.prediction.hq.masks.shape == (0, *image.shape[:2]) and seg.prediction.sam.logits.shape == (0, 256, 256)
    seg = segment_text(tiny_pair, detector, image, CAPTION, box_threshold=1.0, only="hq", multimask=True)
    assert seg.prediction.sam is None and seg.prediction.sam_candidates is None and len(seg.prediction.fused) == 0
    seg = segment_text(tiny_pair, detector, image, CAPTION, box_threshold=1.0, multimask=True)
    assert seg.prediction.sam_candidates.masks.shape == (0, 3, *image.shape[:2])


def test_segment_text_bad_input(tiny_pair, detector, image: np.ndarray) -> None:
    from hqsam_nb.text import segment_text

    with pytest.raises(TypeError, match="PairPredictor"):
        segment_text(object(), detector, image, CAPTION)
    with pytest.raises(TypeError, match="detect"):
        segment_text(tiny_pair, object(), image, CAPTION)
    with pytest.raises(ValueError, match="max_objects"):
        segment_text(tiny_pair, detector, image, CAPTION, max_objects=-1)
    with pytest.raises(ValueError, match="names nothing"):
        segment_text(tiny_pair, detector, image, "")


def test_text_figures(tiny_pair, detector, image: np.ndarray) -> None:
    from hqsam_nb.drawing.text_figures import detections_figure, text_masks_figure, text_objects_figure
    from hqsam_nb.text import segment_text

    seg = segment_text(tiny_pair, detector, image, CAPTION, box_threshold=0.5, max_objects=3)
    fig = detections_figure(seg.image, seg.detections, note=seg.note)
    texts = [t.get_text() for t in fig.axes[0].texts]
    det = seg.detections
    assert len(texts) == 3 and all(t.startswith(f"{i + 1} {det.labels[i][:5]}") and t.endswith(f"{det.scores[i]:.2f}")
                                   for i, t in enumerate(texts))
    assert any("RANDOM detector" in t.get_text() for t in fig.texts)
    fig = text_masks_figure(seg)
    assert [ax.get_title().split(":")[0] for ax in fig.axes] == ["SAM", "HQ-SAM (HQ token)"]
    fig = text_objects_figure(seg, max_objects=2)
    assert len(fig.axes) == 8 and fig.axes[3].get_title().startswith("IoU(SAM, HQ)")
    assert "RANDOM DETECTOR WEIGHTS" in fig.get_suptitle()
    assert fig._repr_png_()[:4] == b"\x89PNG"
    empty = segment_text(tiny_pair, detector, image, CAPTION, box_threshold=1.0)
    assert "no box" in detections_figure(image, empty.detections).axes[0].get_title()
    assert "no object" in text_objects_figure(empty).axes[0].get_title()
    text_masks_figure(empty)


def test_box_tags_never_cover_each_other_or_leave_the_image() -> None:
    """Boxes sharing a corner (the random detector's 1 and 7 in notebook 06) or touching the right edge: every
    tag is drawn whole and apart, measured on the rendered figure, in both figures that tag boxes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from hqsam_nb.drawing.text_figures import detections_figure, tag_anchors, threshold_figure

    image = np.full((512, 512, 3), 128, np.uint8)
    raw = [[0, 0, 180, 212], [29, 0, 74, 104], [437, 205, 489, 313], [0, 0, 512, 512], [5, 3, 60, 9]]
    d = Detections.from_raw(raw, [0.75, 0.43, 0.54, 0.3, 0.2], ["a rocket", "a rocket", "a rocket", "a flag",
                                                                "person"],
                            caption="a rocket. a flag. person.", image_size=(512, 512), box_threshold=0.0,
                            text_threshold=0.25)
    for fig in (detections_figure(image, d), threshold_figure(image, d, (0.0, 0.35))):
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        renderer = canvas.get_renderer()
        for ax in fig.axes:
            frame = ax.get_window_extent(renderer)
            tags = [t.get_bbox_patch().get_window_extent(renderer) for t in ax.texts]
            assert tags
            for i, a in enumerate(tags):
                assert frame.x0 - 1 <= a.x0 and a.x1 <= frame.x1 + 1 and frame.y0 - 1 <= a.y0 and a.y1 <= frame.y1 + 1
                assert not any(a.overlaps(b) for b in tags[i + 1:]), [t.get_text() for t in ax.texts]
    # the pure rule: first tag at its corner, a second at the same corner one height down, a wide one moved left
    xy = tag_anchors(np.array([[0, 0, 100, 100], [0, 0, 50, 50], [90, 20, 100, 30]]),
                     np.array([[40, 10], [40, 10], [30, 10]]), (100, 100))
    np.testing.assert_allclose(xy, [[0, 0], [0, 10], [70, 20]])


def test_load_detector_or_random_falls_back_with_a_warning(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    import huggingface_hub.constants as hub_constants

    from hqsam_nb.notebook import detector_banner_html
    from hqsam_nb.text import load_detector_or_random

    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with caplog.at_level(logging.WARNING, logger="hqsam_nb.text"):
        detector = load_detector_or_random(DEFAULT_DETECTOR, device="cpu")
    assert detector.random_weights and "Using the tiny RANDOM detector" in caplog.text
    assert "Not a real detector" in detector_banner_html(detector)
    assert load_detector_or_random("random", device="cpu").random_weights
    real = load_detector_or_random(save_tiny_random_detector(tmp_path / "d"), device="cpu")
    real.random_weights = False  # as a downloaded detector
    assert "Detector" in detector_banner_html(real) and "local folder" in detector_banner_html(real)


def test_detections_above_equals_detect_at_that_threshold(detector, image: np.ndarray) -> None:
    everything = detector.detect(image, CAPTION, box_threshold=0.0)
    for t in (0.35, 0.6):
        at_t, above = detector.detect(image, CAPTION, box_threshold=t), everything.above(t)
        np.testing.assert_array_equal(above.boxes, at_t.boxes)
        assert above.labels == at_t.labels and above.box_threshold == t
    with pytest.raises(ValueError, match="detect again"):
        at_t.above(0.1)


def test_find_field_shows_every_object_until_the_next_click(tiny_pair, detector, image: np.ndarray,
                                                            tmp_path: Path) -> None:
    from hqsam_nb.widgets import PromptCanvas
    from hqsam_nb.widgets.find import add_find_field, objects_rgba

    canvas = PromptCanvas(tiny_pair, image, max_display=(120, 180), export_dir=tmp_path / "exports")
    try:
        field = add_find_field(canvas, detector, box_threshold=0.5, max_objects=3)
        assert field.text.description == "find:"
        canvas.set_box([10, 10, 60, 60])  # a clicked prompt: the search replaces it
        field.text.value = CAPTION  # what Enter does
        seg = field.segmentation
        assert not canvas.errors and field.active and len(seg) == 3 and canvas.state.is_empty
        assert "3 object(s)" in canvas.status.value and "RANDOM detector" in canvas.status.value
        expected = objects_rgba(seg, "fused", canvas.editor.mapping.display_size)
        from hqsam_nb.widgets.layers import _digest

        assert canvas.layers.mask_digest == _digest(expected)
        canvas.view.value = "side"  # the objects follow the view
        assert canvas.layers.mask_digest == _digest(objects_rgba(seg, "side", canvas.editor.mapping.display_size))
        canvas.view.value = "diff"
        assert field.active and canvas.layers.mask_digest is not None
        canvas.view.value = "hq"
        canvas.add_point(90, 60)  # a click: the canvas shows its own prompt again
        canvas.view.value = "sam"
        assert not field.active and canvas.prediction is not None
        field.text.value = "   "  # an empty search changes nothing
        assert not canvas.errors
    finally:
        canvas.close()


def test_labels_are_words_of_one_phrase_never_special_tokens(detector) -> None:
    """A box's label: the words of its best phrase above text_threshold, spelled as in the caption."""
    from hqsam_nb.text import CaptionPhrases

    caption = "a person. a giraffe. a flag."  # "giraffe" is not in the tiny vocabulary: [UNK]
    phrases, ids = CaptionPhrases.from_tokenizer(detector.processor.tokenizer, caption)
    assert ids == [101, ids[1], ids[2], 1012, ids[1], 100, 1012, ids[1], ids[8], 1012, 102]
    assert phrases.phrases == ("a person", "a giraffe", "a flag")
    #          [CLS]  a    person  .    a    giraffe  .    a    flag  .    [SEP] | padding to 256
    scores = [[0.99, 0.9, 0.9, 0.99, 0.9, 0.95, 0.99, 0.9, 0.9, 0.99, 0.99] + [1.0] * 245,
              [0.99, 0.3, 0.2, 0.99, 0.9, 0.95, 0.99, 0.9, 0.9, 0.99, 0.99] + [0.0] * 245,
              [0.99, 0.1, 0.1, 0.99, 0.1, 0.1, 0.99, 0.2, 0.22, 0.99, 0.99] + [0.0] * 245]
    assert phrases.labels(scores, 0.25) == ["a giraffe", "a giraffe", ""]  # never "[UNK]", "[SEP]", "."
    assert phrases.labels(scores, 0.92) == ["giraffe", "giraffe", ""]
    assert phrases.labels(scores, 0.05) == ["a giraffe", "a giraffe", "a flag"]  # not "a person a flag"
    with pytest.raises(ValueError, match="token_scores must be"):
        phrases.labels([[0.5] * 5], 0.25)
    # word pieces and hyphens stay one word; a "?" ends a phrase like a "."
    pieces = CaptionPhrases.from_offsets("a t-shirt? cats.", [(0, 0), (0, 1), (2, 3), (3, 4), (4, 9), (9, 10),
                                                              (11, 14), (14, 15), (15, 16), (0, 0)])
    assert pieces.words == ("a", "t-shirt", "cats") and pieces.phrases == ("a t-shirt", "cats")
    assert pieces.labels([[0, 0.1, 0.3, 0.1, 0.1, 0, 0.2, 0.9, 0, 0]], 0.25) == ["cats"]
    assert pieces.labels([[0, 0.5, 0.3, 0.1, 0.1, 0, 0.2, 0.1, 0, 0]], 0.25) == ["a t-shirt"]


def test_tiny_detector_boxes_differ_and_scores_spread(detector, image: np.ndarray) -> None:
    """CI's random detector must give content: boxes of different places and sizes, scores across the
    thresholds (so a threshold sweep keeps fewer boxes), labels from every phrase: on two unlike images."""
    from hqsam_nb.io.samples import load_sample

    caption = "a person. a rocket. a flag."
    phrases = {"a person", "a rocket", "a flag"}
    seen = set()
    for img in (image, load_sample("astronaut_shuttle").image):
        found = detector.detect(img, caption, box_threshold=0.0)
        h, w = found.image_size
        assert len(found) == 16
        centres = (found.boxes[:, :2] + found.boxes[:, 2:]) / 2 / [w, h]
        sizes = (found.boxes[:, 2:] - found.boxes[:, :2]) / [w, h]
        assert np.ptp(centres[:, 0]) > 0.5 and np.ptp(centres[:, 1]) > 0.2  # spread over the image
        assert sizes.min() < 0.15 and sizes.max() > 0.35  # small and large boxes
        assert len(np.unique(found.boxes.round(), axis=0)) == 16  # no two the same
        assert found.scores.min() < 0.15 and found.scores.max() > 0.7
        kept = [len(found.above(t)) for t in (0.25, 0.35, 0.6)]
        assert kept[0] > kept[1] > kept[2] > 0, kept  # the notebook's sweep keeps visibly fewer
        for label in found.labels:
            assert not any(c in label for c in "[].?") and any(set(label.split()) <= set(p.split()) for p in phrases)
        seen |= {p for label in found.labels for p in phrases
                 if set(label.split()) - {"a"} and set(label.split()) <= set(p.split())}
    assert len(seen) >= 2  # boxes are named after different phrases


def test_tiny_detector_spread_is_drawn_from_its_seed(detector) -> None:
    import copy

    import torch

    from hqsam_nb.text.tiny import _spread_outputs

    models = [copy.deepcopy(detector.model) for _ in range(3)]
    global_rng = torch.get_rng_state()
    for model, seed in zip(models, (5, 5, 6), strict=True):
        _spread_outputs(model, seed)
    assert torch.equal(torch.get_rng_state(), global_rng)  # drawn from its own generator, not the global one
    same = [torch.equal(a, b) for a, b in zip(models[0].state_dict().values(), models[1].state_dict().values(),
                                              strict=True)]
    other = [torch.equal(a, b) for a, b in zip(models[0].state_dict().values(), models[2].state_dict().values(),
                                               strict=True)]
    assert all(same) and not all(other)
