"""Result plots: the pure overlay, and the figures build from real records and gallery items."""

from __future__ import annotations

import numpy as np

from hqsam_nb.evaluation.datasets import synthetic_dataset
from hqsam_nb.evaluation.plots import (
    ERROR_COLOURS,
    error_overlay,
    plot_point_curves,
    show_boundary_gallery,
)
from hqsam_nb.evaluation.runner import EvalConfig, gallery_items
from hqsam_nb.io.exports import save_figure
from hqsam_nb.metrics import ERROR_FN, ERROR_FP, ERROR_TP, boundary_errors


def test_error_overlay_colours_band_pixels_only() -> None:
    image = np.full((40, 40, 3), 200, np.uint8)
    gt = np.zeros((40, 40), bool)
    gt[5:25, 5:25] = True
    pred = np.zeros((40, 40), bool)
    pred[5:25, 10:30] = True
    errors = boundary_errors(gt, pred)
    out = error_overlay(image, errors)
    assert out.dtype == np.uint8 and out.shape == image.shape
    for label in (ERROR_TP, ERROR_FP, ERROR_FN):
        assert (errors == label).any()
        assert (out[errors == label] == ERROR_COLOURS[label]).all()
    assert (out[errors == 0] == 90).all()  # 200 dimmed to 45 %


def test_gallery_and_curves(tiny_pair, tmp_path) -> None:
    data = synthetic_dataset(n=2, sizes=((96, 128),))
    items = gallery_items(tiny_pair, data, ["001_fence"], EvalConfig())
    (item,) = items
    assert item["gt"].shape == (96, 128) and set(item["errors"]) == {"sam", "hq", "fused"}
    assert item["box"] is not None
    fig = show_boundary_gallery(items, title="wins")
    assert len(fig.axes) == 3
    assert save_figure(tmp_path / "gallery.png", fig).stat().st_size > 1000
    table = [{"setting": s, "n_images": 2, "sam": {"mBIoU": 50.0, "mIoU": 60.0},
              "hq": {"mBIoU": 52.0, "mIoU": 61.0}, "fused": {"mBIoU": 55.0, "mIoU": 62.0}}
             for s in ("1", "3", "5", "5+5neg", "10", "10+5neg")]
    fig = plot_point_curves({"COIFT": table, "synthetic": table})
    assert len(fig.axes) == 2
    assert all(ax.get_ylim() == (0, 100) for ax in fig.axes)  # no zoom onto the data
    assert all(ax.get_legend() is None for ax in fig.axes) and fig.legends  # the legend beside, not on, curves
    # the paper's HQ-SAM curve is labelled with the branch the paper measured (the HQ token)
    assert "HQ-SAM (HQ token) (paper)" in [t.get_text() for t in fig.legends[0].get_texts()]
    # The paper's COIFT curves are drawn beside ours; the synthetic panel has none.
    assert len(fig.axes[0].lines) == 5 and len(fig.axes[1].lines) == 3
