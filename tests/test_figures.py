"""Matplotlib wrappers: the right panels, titles with scores, legends, zoom boxes; a real pair prediction."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from helpers import make_image

from hqsam_nb import make_prompt
from hqsam_nb.drawing import DIFF_LABELS, disagreement_boxes
from hqsam_nb.drawing.figures import (
    boundary_zoom_figure,
    compare_figure,
    difference_counts,
    difference_figure,
    gallery_figure,
)
from hqsam_nb.metrics import mask_iou


def fake_prediction(h: int = 64, w: int = 96) -> SimpleNamespace:
    sam = np.zeros((h, w), bool)
    sam[10:50, 20:70] = True
    hq = sam.copy()
    hq[30:34, 20:70] = False  # HQ-SAM finds a thin gap SAM filled
    hq[50:55, 40:42] = True  # and a thin leg SAM missed
    res = lambda m, s: SimpleNamespace(mask=m, score=s, logits=None)  # noqa: E731
    prompt = make_prompt([[30, 20]], [1], [15, 5, 75, 58], image_size=(h, w))
    return SimpleNamespace(sam=res(sam, 0.81), hq=res(hq, 0.93), fused=res(hq | sam, 0.9), prompt=prompt)


def titles(fig) -> list[str]:
    return [ax.get_title() for ax in fig.axes]


def test_compare_figure_panels_and_scores() -> None:
    image, pred = make_image(64, 96, 0), fake_prediction()
    fig = compare_figure(image, pred, title="demo")
    assert len(fig.axes) == 3
    assert titles(fig) == ["image + prompt", "SAM\npredicted IoU 0.81", "HQ-SAM (HQ token)\npredicted IoU 0.93"]
    assert fig._suptitle.get_text() == "demo"
    # the prompt is drawn on every panel: 1 box patch and one star marker each
    assert all(len(ax.patches) == 1 and len(ax.collections) == 1 for ax in fig.axes)
    fig4 = compare_figure(image, pred, fused=True, show_prompts=False)
    assert len(fig4.axes) == 4 and titles(fig4)[3].startswith("HQ-SAM (fused)")
    assert all(not ax.patches for ax in fig4.axes)


def test_difference_figure_legend_counts_and_iou() -> None:
    image, pred = make_image(64, 96, 1), fake_prediction()
    fig = difference_figure(image, pred.sam.mask, pred.hq.mask, prompt=pred.prompt)
    ax = fig.axes[0]
    counts = difference_counts(pred.sam.mask, pred.hq.mask)
    assert counts == {"hq_only": 10, "sam_only": 200, "both": 1800}
    assert ax.get_legend() is None  # the legend sits under the image, not on it
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == [f"{DIFF_LABELS[k]} ({counts[k]:,} px)" for k in ("hq_only", "sam_only", "both")]
    assert f"IoU {mask_iou(pred.sam.mask, pred.hq.mask):.3f}" in ax.get_title()
    assert mask_iou(pred.sam.mask, pred.hq.mask) == pytest.approx(1800 / 2010)


def test_boundary_zoom_figure_rows_follow_disagreement() -> None:
    image, pred = make_image(64, 96, 2), fake_prediction()
    fig = boundary_zoom_figure(image, pred.sam.mask, pred.hq.mask, n=2, size=24)
    boxes = disagreement_boxes(pred.sam.mask, pred.hq.mask, n=2, size=24)
    assert len(fig.axes) == 4 * len(boxes) == 8
    x0, y0, x1, y1 = boxes[0]
    assert fig.axes[0].get_title() == f"region x {x0}-{x1}, y {y0}-{y1}"
    legend_texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend_texts == [DIFF_LABELS[k] for k in ("hq_only", "sam_only", "both")]
    same = boundary_zoom_figure(image, pred.sam.mask, pred.sam.mask)
    assert len(same.axes) == 1 and "agree" in same.axes[0].get_title()
    explicit = boundary_zoom_figure(image, pred.sam.mask, pred.hq.mask, boxes=[(0, 0, 32, 32)])
    assert len(explicit.axes) == 4


def test_gallery_figure_shape() -> None:
    pred = fake_prediction()
    items = [("a", make_image(64, 96, 3), pred), ("b", make_image(64, 96, 4), pred)]
    fig = gallery_figure(items)
    assert len(fig.axes) == 6 and fig.axes[0].texts[0].get_text() == "a"
    assert len(gallery_figure(items, fused=True).axes) == 8
    with pytest.raises(ValueError, match="empty"):
        gallery_figure([])


def test_figures_with_a_real_pair_prediction(tiny_pair, tmp_path) -> None:
    from hqsam_nb.io.exports import save_figure

    image = make_image(96, 128, 5)
    tiny_pair.set_image(image)
    pred = tiny_pair.predict(points=[[60, 40]], labels=[1], box=[20, 10, 110, 90])
    fig = compare_figure(image, pred, fused=True)
    assert titles(fig)[1] == f"SAM\npredicted IoU {pred.sam.score:.2f}"
    path = save_figure(tmp_path / "cmp.png", fig)
    from PIL import Image

    with Image.open(path) as img:
        assert img.size[0] > 300
    boundary_zoom_figure(image, pred.sam.mask, pred.hq.mask)


def test_figures_render_as_png_in_notebooks_without_pyplot() -> None:
    fig = compare_figure(make_image(64, 96, 6), fake_prediction())
    png = fig._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_boundary_zoom_stays_inside_the_prompt_box() -> None:
    image = make_image(96, 128, 7)
    sam = np.zeros((96, 128), bool)
    sam[20:60, 20:60] = True
    hq = sam.copy()
    hq[24:56, 36:40] = False           # small disagreement inside the box
    hq[70:96, 90:128] = True           # large disagreement outside it
    prompt = make_prompt(box=[16, 16, 64, 64], image_size=(96, 128))
    anywhere = disagreement_boxes(sam, hq, n=1, size=24)
    assert anywhere[0][0] >= 80         # unconstrained: the noise outside the box wins
    fig = boundary_zoom_figure(image, sam, hq, n=1, size=24, prompt=prompt)
    title = fig.axes[0].get_title()
    x0, x1 = (int(v) for v in title.split("x ")[1].split(",")[0].split("-"))
    assert x0 >= 16 - 24 and x1 <= 64 + 24  # the zoom looks where the prompt asked


def test_random_weights_stamp_figures() -> None:
    from hqsam_nb.models.provenance import WeightsProvenance

    image, pred = make_image(64, 96, 8), fake_prediction()
    random = WeightsProvenance("random", "vit_tiny")
    official = WeightsProvenance("official", "vit_tiny")
    for make in (lambda w: compare_figure(image, pred, weights=w),
                 lambda w: difference_figure(image, pred.sam.mask, pred.hq.mask, weights=w),
                 lambda w: boundary_zoom_figure(image, pred.sam.mask, pred.hq.mask, weights=w),
                 lambda w: gallery_figure([("a", image, pred)], weights=w)):
        stamped = [t.get_text() for t in make(random).texts]
        assert any("RANDOM WEIGHTS" in t for t in stamped), stamped
        assert not any("WEIGHTS" in t for t in (x.get_text() for x in make(official).texts))
