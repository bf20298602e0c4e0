"""Small helpers shared by the tests (imported as ``from helpers import ...``; conftest modules are not importable
by name once the notebooks' conftest is collected in the same session)."""

from __future__ import annotations

import numpy as np


def make_image(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth synthetic RGB image with an object-like blob, uint8 H x W x 3."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([xx / w * 200, yy / h * 200, np.full((h, w), 80.0)], axis=-1)
    cy, cx, r = h * 0.5, w * 0.45, min(h, w) * 0.25
    blob = (yy - cy) ** 2 + (xx - cx) ** 2 < r**2
    img[blob] = [230, 40, 40]
    img += rng.normal(0, 8, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)
