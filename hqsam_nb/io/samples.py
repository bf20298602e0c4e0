"""Sample images that need no download, each with a suggested prompt.

Two kinds:

* photographs bundled with scikit-image (:mod:`skimage.data`): an astronaut beside a model space shuttle,
  a cat, an espresso cup, a rocket between two lattice launch towers, and a cameraman on a tripod;
* thin-structure scenes drawn in code by :mod:`hqsam_nb.io.synthetic` (wires, a chain-link fence, branching
  twigs, a window frame, outlined letters) over skimage textures, *with their exact ground-truth masks*: the
  kind of object the HQ-SAM paper is about.

Suggested prompts are in original-image pixels: a box ``(x0, y0, x1, y1)`` and a few ``(x, y)`` points with
labels (1 = positive, 0 = negative). For generated scenes the box is the ground truth's tight box (the paper's
box-prompt protocol) and the points lie deep inside the object.

Your own images work everywhere by path: ``hqsam_nb.load_image("photo.jpg")``.

Example:
    >>> s = load_sample("camera_tripod")
    >>> s.image.shape, s.box
    ((512, 512, 3), (228, 280, 410, 512))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..util import markdown_table

__all__ = ["SAMPLE_NAMES", "Sample", "list_samples", "load_sample", "samples_markdown", "suggest_prompt"]


@dataclass(frozen=True)
class Sample:
    """An image with a suggested prompt.

    Attributes:
        name: the key for :func:`load_sample`.
        description: one line on what is in it and what the prompt selects.
        source: ``"skimage.data.<name>"`` or ``"hqsam_nb.io.synthetic.<kind>"``.
        image: RGB ``uint8`` ``H x W x 3``.
        box: suggested box ``(x0, y0, x1, y1)`` in pixels, or None.
        points: suggested ``(x, y)`` points, or None.
        labels: 1 / 0 per point, or None.
        gt_mask: the exact ground truth (``bool`` ``H x W``) for generated scenes, None for photographs.
    """

    name: str
    description: str
    source: str
    image: np.ndarray = field(repr=False)
    box: tuple[int, int, int, int] | None = None
    points: tuple[tuple[int, int], ...] | None = None
    labels: tuple[int, ...] | None = None
    gt_mask: np.ndarray | None = field(default=None, repr=False)

    def prompt_kwargs(self, use_box: bool = True, use_points: bool = True) -> dict[str, Any]:
        """The suggested prompt as keyword arguments for ``PairPredictor.predict`` / ``make_prompt``."""
        out: dict[str, Any] = {}
        if use_points and self.points is not None:
            out["points"] = [list(p) for p in self.points]
            out["labels"] = list(self.labels) if self.labels is not None else [1] * len(self.points)
        if use_box and self.box is not None:
            out["box"] = list(self.box)
        if not out:
            raise ValueError(f"sample {self.name!r} has no {'box' if use_box else 'points'} prompt to give")
        return out


@dataclass(frozen=True)
class _PhotoSpec:
    skimage_name: str
    description: str
    box: tuple[int, int, int, int]
    points: tuple[tuple[int, int], ...]
    labels: tuple[int, ...]


# Prompts chosen by looking at each image on a pixel grid.
_PHOTOS: dict[str, _PhotoSpec] = {
    "astronaut_shuttle": _PhotoSpec(
        "astronaut", "Eileen Collins beside a model space shuttle: the shuttle, with its thin fins and tank",
        (355, 0, 470, 245), ((405, 175), (418, 60)), (1, 1)),
    "chelsea": _PhotoSpec(
        "chelsea", "Chelsea the cat: the head, with whiskers and ear tufts at the boundary",
        (40, 0, 451, 300), ((250, 150), (150, 60)), (1, 1)),
    "coffee": _PhotoSpec(
        "coffee", "An espresso cup on a saucer with a spoon; a negative point on the table",
        (60, 20, 480, 395), ((300, 60), (150, 300), (540, 350)), (1, 1, 0)),
    "rocket_tower": _PhotoSpec(
        "rocket", "A rocket on its pad: the right-hand lattice launch tower, a mesh of thin girders",
        (540, 0, 640, 427), ((590, 120), (585, 320)), (1, 1)),
    "camera_tripod": _PhotoSpec(
        "camera", "The cameraman: his tripod's thin legs and column (negative point on his coat)",
        (228, 280, 410, 512), ((290, 330), (250, 470), (200, 300)), (1, 1, 0)),
}

_SCENES: dict[str, tuple[str, int, str]] = {
    "wires": ("wires", 3, "Poles and sagging cables one to three pixels wide"),
    "fence": ("fence", 1, "A chain-link fence: a lattice that is mostly holes"),
    "branches": ("branches", 2, "A leafless twig forking down to one-pixel tips"),
    "frame": ("frame", 0, "A window frame in perspective: thin bars around large holes"),
    "text": ("text", 4, "Outlined letters: strokes with holes"),
}

#: Every sample name, photographs first.
SAMPLE_NAMES: tuple[str, ...] = (*_PHOTOS, *_SCENES)


def _skimage_rgb(name: str) -> np.ndarray:
    import skimage.data

    from .images import as_rgb_uint8

    return as_rgb_uint8(np.asarray(getattr(skimage.data, name)()))


def suggest_prompt(gt_mask: np.ndarray, n_points: int = 2, margin: int = 0
                   ) -> tuple[tuple[int, int, int, int], tuple[tuple[int, int], ...]]:
    """A box and positive points for an object with a known mask.

    The box is the mask's tight bounding box ``(x0, y0, x1, y1)`` (``x1``, ``y1`` exclusive, as the paper's
    box-prompt evaluation uses it) grown by ``margin`` pixels and clipped to the image. The points are the
    mask pixels farthest from its boundary (distance transform), each at least a quarter of the box's
    diagonal from the ones before when possible, so they land on the thickest parts of the object.

    Args:
        gt_mask: ``bool`` ``H x W``, not empty.

    Returns:
        ``(box, points)`` with ints.
    """
    import cv2

    gt = np.asarray(gt_mask, dtype=bool)
    if gt.ndim != 2 or not gt.any():
        raise ValueError(f"gt_mask must be a non-empty bool H x W mask, got shape {gt.shape}, "
                         f"{int(gt.sum())} pixels")
    h, w = gt.shape
    ys, xs = np.nonzero(gt)
    box = (max(0, int(xs.min()) - margin), max(0, int(ys.min()) - margin),
           min(w, int(xs.max()) + 1 + margin), min(h, int(ys.max()) + 1 + margin))
    dist = cv2.distanceTransform(np.pad(gt, 1).astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]
    spread = 0.25 * float(np.hypot(box[2] - box[0], box[3] - box[1]))
    order = np.argsort(dist[ys, xs], kind="stable")[::-1]
    points: list[tuple[int, int]] = []
    for idx in order:
        p = (int(xs[idx]), int(ys[idx]))
        if all(np.hypot(p[0] - q[0], p[1] - q[1]) >= spread for q in points):
            points.append(p)
            if len(points) == n_points:
                break
    if not points:
        points.append((int(xs[order[0]]), int(ys[order[0]])))
    return box, tuple(points)


def _scene(kind: str, size: tuple[int, int], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The one place generated scenes come from: :func:`hqsam_nb.io.synthetic.thin_structure_scene`."""
    from .synthetic import thin_structure_scene

    return thin_structure_scene(kind, size=size, seed=seed)


def load_sample(name: str, *, size: tuple[int, int] = (512, 512), seed: int | None = None) -> Sample:
    """Load one sample by name (see :data:`SAMPLE_NAMES` / :func:`list_samples`).

    Args:
        name: a sample name.
        size: ``(H, W)`` of generated scenes (photographs keep their own size).
        seed: the generated scene's seed; default the sample's own.

    Raises:
        ValueError: unknown name.
    """
    if name in _PHOTOS:
        spec = _PHOTOS[name]
        return Sample(name, spec.description, f"skimage.data.{spec.skimage_name}",
                      _skimage_rgb(spec.skimage_name), spec.box, spec.points, spec.labels)
    if name in _SCENES:
        kind, default_seed, description = _SCENES[name]
        image, gt = _scene(kind, tuple(size), default_seed if seed is None else seed)
        box, points = suggest_prompt(gt)
        return Sample(name, description, f"hqsam_nb.io.synthetic.{kind}", image, box, points,
                      (1,) * len(points), gt)
    raise ValueError(f"no sample named {name!r}; choose one of {', '.join(SAMPLE_NAMES)} "
                     "(or load your own image with hqsam_nb.load_image(path))")


def list_samples(kind: str = "all") -> list[dict[str, str]]:
    """The samples as rows (``name``, ``source``, ``description``), cheap: no image is loaded.

    Args:
        kind: ``"all"``, ``"photo"`` (skimage.data) or ``"generated"``.
    """
    rows: dict[str, Callable[[], list[dict[str, str]]]] = {
        "photo": lambda: [{"name": n, "source": f"skimage.data.{s.skimage_name}",
                           "description": s.description} for n, s in _PHOTOS.items()],
        "generated": lambda: [{"name": n, "source": f"hqsam_nb.io.synthetic.{k}", "description": d}
                              for n, (k, _, d) in _SCENES.items()],
    }
    if kind == "all":
        return rows["photo"]() + rows["generated"]()
    if kind not in rows:
        raise ValueError(f"kind must be 'all', 'photo' or 'generated', got {kind!r}")
    return rows[kind]()


def samples_markdown(kind: str = "all") -> str:
    """:func:`list_samples` as a Markdown table, for ``IPython.display.Markdown`` in a notebook."""
    return markdown_table(["name", "source", "what is in it"],
                          [[f"`{r['name']}`", r["source"], r["description"]] for r in list_samples(kind)])
