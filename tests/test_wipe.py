"""The wipe widget: its picture follows the slider; SAM left of the line, HQ-SAM right of it."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import make_image

from hqsam_nb.drawing import MASK_COLORS, label_panels, overlay_mask
from hqsam_nb.io.images import encode_png
from hqsam_nb.widgets.wipe import wipe_widget


def decode(png: bytes) -> np.ndarray:
    import cv2

    return cv2.cvtColor(cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def test_encode_png_round_trip() -> None:
    img = make_image(20, 30, 1)
    np.testing.assert_array_equal(decode(encode_png(img)), img)


def test_wipe_widget_follows_the_slider() -> None:
    image = make_image(40, 60, 2)
    sam = np.zeros((40, 60), bool)
    sam[5:35, 5:55] = True
    hq = np.zeros((40, 60), bool)
    hq[10:30, 10:50] = True
    w = wipe_widget(image, sam, hq, position=0.5)
    left = overlay_mask(image, sam, MASK_COLORS[0])
    right = overlay_mask(image, hq, MASK_COLORS[1])
    shown = decode(w.image.value)
    np.testing.assert_array_equal(shown[:, :28], left[:, :28])
    np.testing.assert_array_equal(shown[:, 32:], right[:, 32:])
    w.slider.value = 1.0  # all SAM
    np.testing.assert_array_equal(decode(w.image.value), left)
    w.slider.value = 0.0
    np.testing.assert_array_equal(decode(w.image.value), right)


def test_wipe_widget_shrinks_large_images_and_checks_shapes() -> None:
    image = make_image(200, 400, 3)
    m = np.zeros((200, 400), bool)
    w = wipe_widget(image, m, m, max_size=100)
    assert decode(w.image.value).shape == (50, 100, 3)
    with pytest.raises(ValueError, match="hq_mask"):
        wipe_widget(image, m, m[:10])


def test_wipe_widget_leaves_a_png_still_for_static_views() -> None:
    import base64

    from IPython.core.interactiveshell import InteractiveShell
    from IPython.display import display
    from IPython.utils.capture import capture_output

    InteractiveShell.instance()
    image = make_image(40, 60, 4)
    m = np.zeros((40, 60), bool)
    m[5:30, 5:40] = True
    w = wipe_widget(image, m, ~m, position=0.3)
    with capture_output() as out:
        display(w)
    view, still = out.outputs
    assert "application/vnd.jupyter.widget-view+json" in view.data
    # the still is the live picture under a title bar naming both sides (HQ-SAM's branch)
    expected = label_panels([w.render(0.3)], ["<- SAM | HQ-SAM (HQ token) ->"])
    np.testing.assert_array_equal(decode(base64.b64decode(still.data["image/png"])), expected)
    assert "hqsam-live" in w.still.hider.value  # the live view shows the same picture: the still is hidden there


def test_wipe_widget_says_random_weights_live_and_on_the_still(tiny_pair) -> None:
    image = make_image(40, 60, 4)
    m = np.zeros((40, 60), bool)
    m[5:30, 5:40] = True
    w = wipe_widget(image, m, ~m, other="fused", weights=tiny_pair)
    assert "RANDOM" in w.children[0].value and "HQ-SAM (fused)" in w.children[0].value
    with_note = label_panels([label_panels([w.render(0.5)], ["RANDOM WEIGHTS"])],
                             ["<- SAM | HQ-SAM (fused) ->"])
    np.testing.assert_array_equal(w.still.render(), with_note)
