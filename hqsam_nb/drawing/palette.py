"""Every colour the package draws with, in one place: branches, prompts, several masks, and the one
"both / only A / only B" palette every comparison picture uses; and the words that name them.

* the branches' colours come from :mod:`hqsam_nb.pair.branches` (:data:`BRANCH_COLORS`, :data:`FUSED_COLOR`);
  :data:`MASK_COLORS` gives several masks distinct colours, those three first; :data:`POSITIVE_COLOR`,
  :data:`NEGATIVE_COLOR` and :data:`BOX_COLOR` draw prompts in every figure, export and widget view;
  :data:`OBJECT_COLORS` colours *objects* (ground truth, detections, tracks) in none of those colours;

Two masks compared pixel by pixel fall into three classes: pixels both mark, pixels only the first marks, pixels
only the second marks. Every comparison in the package paints them from :func:`overlap_palette`:

* **SAM vs an HQ-SAM branch** (difference maps, the widget's *difference* view, the video comparison): each
  "only" class takes its branch's own colour (:mod:`hqsam_nb.pair.branches`), "both" is grey;
* **a prediction's boundary band vs the ground truth's** (:data:`BAND_PALETTE`, the boundary galleries of
  notebooks 04 and 08): white in both bands, magenta only the prediction's, cyan only the ground truth's.

Prose that names a colour takes the word from here (:func:`colour_name`, :meth:`Overlap.sentence`), so a
sentence read to a room names the colour on the screen; the notebooks' figure check
(``notebooks/conftest.py``) names the colours of each figure's legend with the same :func:`colour_name`.
Colours are ``(R, G, B)`` triples of ints in ``[0, 255]``.
"""

from __future__ import annotations

import colorsys
from collections.abc import Sequence
from dataclasses import dataclass

from ..pair.branches import BRANCHES, hq_branch

__all__ = ["BAND_PALETTE", "BOTH_COLOR", "BOX_COLOR", "BRANCH_COLORS", "COLOUR_WORDS", "DIFF_COLORS", "DIFF_LABELS",
           "FUSED_COLOR", "MASK_COLORS", "NEGATIVE_COLOR", "OBJECT_COLORS", "Overlap", "POSITIVE_COLOR", "colour_name",
           "colour_words_in", "diff_colors", "diff_labels", "overlap_palette"]

Color = tuple[int, int, int]

#: The colour words :func:`colour_name` answers with (and the figure check looks for in prose).
COLOUR_WORDS: tuple[str, ...] = ("red", "orange", "yellow", "green", "cyan", "blue", "purple", "magenta", "pink",
                                 "brown", "white", "grey", "black")
_SYNONYMS = {"gray": "grey", "violet": "purple"}

#: Pixels both masks mark (SAM vs an HQ-SAM branch): light grey, no branch's or prompt's colour.
BOTH_COLOR: Color = (190, 190, 190)

#: One colour per *object* (ground truth, detections, the objects of a clip): purple, cyan, brown, teal, dark
#: purple, magenta in turn. None is a branch's colour (blue, orange, pink), the prompts' green / red / yellow or the
#: grey of "both", so an object's colour is never read as a model (tests/test_branch_colours.py checks the
#: names). The default of :func:`~hqsam_nb.drawing.overlays.masks_rgba` and
#: :func:`~hqsam_nb.drawing.overlays.overlay_masks`.
OBJECT_COLORS: tuple[Color, ...] = (
    (148, 103, 189),  # purple
    (23, 190, 207),   # cyan
    (140, 86, 75),    # brown
    (0, 128, 128),    # teal
    (90, 40, 140),    # dark purple
    (200, 60, 200),   # magenta
)


def colour_name(color: Sequence[float]) -> str:
    """The everyday word for an RGB colour, one of :data:`COLOUR_WORDS`.

    Args:
        color: ``(R, G, B)`` ints in ``[0, 255]``, or floats in ``[0, 1]`` (matplotlib's); a fourth (alpha)
            value is ignored.

    Example:
        >>> colour_name((0, 114, 178)), colour_name((230, 159, 0)), colour_name((204, 121, 167))
        ('blue', 'orange', 'pink')
    """
    vals = [float(v) for v in list(color)[:3]]
    if len(vals) != 3:
        raise ValueError(f"color must be (R, G, B), got {color!r}")
    if all(v <= 1.0 for v in vals) and any(isinstance(v, float) for v in list(color)[:3]):
        r, g, b = vals
    else:
        r, g, b = (v / 255 for v in vals)
    h, s, v = colorsys.rgb_to_hsv(r, g, b)
    hue = h * 360
    if v < 0.2:
        return "black"
    if s < 0.12:
        return "white" if v > 0.9 else "grey"
    if (hue < 45 or hue >= 345) and v < 0.6 and s < 0.7:
        return "brown"
    for upper, word in ((15, "red"), (45, "orange"), (70, "yellow"), (165, "green"), (195, "cyan"),
                        (255, "blue"), (290, "purple")):
        if hue < upper:
            return word
    if hue < 345:
        return "magenta" if s >= 0.6 else "pink"
    return "red"


def colour_words_in(text: str) -> set[str]:
    """The colour words (of :data:`COLOUR_WORDS`, with ``gray`` read as ``grey``) a text names, lower case."""
    import re

    words = {w.lower() for w in re.findall(r"[A-Za-z]+", text)}
    found = {w for w in words if w in COLOUR_WORDS}
    found |= {_SYNONYMS[w] for w in words if w in _SYNONYMS}
    return found


@dataclass(frozen=True)
class Overlap:
    """The colours and legend labels of one "both / only A / only B" comparison.

    Attributes:
        keys: the three classes' keys in legend order, e.g. ``("hq_only", "sam_only", "both")``.
        colors: key -> ``(R, G, B)``.
        labels: key -> legend text (``"only SAM"``).
    """

    keys: tuple[str, str, str]
    colors: dict[str, Color]
    labels: dict[str, str]

    def name(self, key: str) -> str:
        """The colour word of class ``key`` (:func:`colour_name`)."""
        return colour_name(self.colors[key])

    def sentence(self) -> str:
        """The legend as a sentence for prose, e.g. ``"**orange**: only HQ-SAM (HQ token); **blue**: only SAM;
        **grey**: both"``."""
        return "; ".join(f"**{self.name(k)}**: {self.labels[k]}" for k in self.keys)


def overlap_palette(a: str = "sam", b: str = "hq") -> Overlap:
    """SAM (branch ``a``) vs branch ``b``: "only" each branch's colour, "both" :data:`BOTH_COLOR`.

    Keys: ``"hq_only"`` (only ``b``), ``"sam_only"`` (only ``a``), ``"both"`` (the names the difference maps
    have always used, whatever ``a`` and ``b`` are).

    Raises:
        ValueError: ``a`` or ``b`` is not a branch key, or they are the same branch.
    """
    for key in (a, b):
        if key not in BRANCHES:
            raise ValueError(f"unknown branch {key!r}; use one of {', '.join(BRANCHES)}")
    if a == b:
        raise ValueError(f"compare two different branches, got {a!r} twice")
    return Overlap(("hq_only", "sam_only", "both"),
                   {"hq_only": BRANCHES[b].color, "sam_only": BRANCHES[a].color, "both": BOTH_COLOR},
                   {"hq_only": f"only {BRANCHES[b].label}", "sam_only": f"only {BRANCHES[a].label}",
                    "both": "both"})


#: A prediction's boundary band vs the ground truth's (keys ``"tp"``, ``"fp"``, ``"fn"``): white in both bands
#: (counts for the mask), magenta only the prediction's (false boundary), cyan only the ground truth's (missed).
BAND_PALETTE = Overlap(("tp", "fp", "fn"),
                       {"tp": (255, 255, 255), "fp": (255, 0, 255), "fn": (0, 215, 255)},
                       {"tp": "in both bands (counts for the mask)", "fp": "prediction's band only (false)",
                        "fn": "ground truth's band only (missed)"})


# --- the colours of every picture: branches, prompts, several masks, the difference map ---------------------


#: Each branch's colour (:mod:`hqsam_nb.pair.branches`): ``{"sam": ..., "hq": ..., "fused": ...}``.
BRANCH_COLORS: dict[str, Color] = {key: b.color for key, b in BRANCHES.items()}

#: The fused mask's colour (= ``BRANCHES["fused"].color``).
FUSED_COLOR: Color = BRANCH_COLORS["fused"]

#: Distinct colours for several masks on one image: the three branches' colours first (SAM, HQ token, fused),
#: then more, none of them the green / red of the prompt points or the yellow of boxes. A mask that stands for a
#: *model* takes these; one that stands for an *object* takes :data:`OBJECT_COLORS`.
MASK_COLORS: tuple[Color, ...] = (
    BRANCH_COLORS["sam"],
    BRANCH_COLORS["hq"],
    BRANCH_COLORS["fused"],
    (86, 180, 233),   # sky blue
    (148, 103, 189),  # purple
    (23, 190, 207),   # cyan
    (140, 86, 75),    # brown
    (127, 127, 127),  # grey
)

#: Marker colours of positive (foreground) and negative (background) points, as in SAM's notebooks.
POSITIVE_COLOR: Color = (0, 200, 0)
NEGATIVE_COLOR: Color = (230, 0, 0)
#: Box prompts, in every figure, export and widget view.
BOX_COLOR: Color = (255, 212, 0)


def diff_colors(other: str = "hq") -> dict[str, Color]:
    """The difference map's colours when SAM is compared with branch ``other`` (``"hq"`` or ``"fused"``).

    Pixels only SAM marks take SAM's colour, pixels only ``other`` marks take that branch's colour, pixels
    both mark are light grey: the same colours as the masks themselves, and never the prompts' green or red
    (:func:`overlap_palette`, the one "both / only A / only B" palette).
    """
    return dict(overlap_palette("sam", _other(other)).colors)


def diff_labels(other: str = "hq") -> dict[str, str]:
    """Legend text for :func:`diff_colors`: ``"only HQ-SAM (HQ token)"``, ``"only SAM"``, ``"both"``."""
    return dict(overlap_palette("sam", _other(other)).labels)


def _other(other: str) -> str:
    return hq_branch(other, "the branch compared with SAM")


#: Colours of the difference map's three classes (SAM vs the HQ token): pixels only HQ-SAM marks, only SAM
#: marks, and both mark.
DIFF_COLORS: dict[str, Color] = diff_colors("hq")

#: Legend text for :data:`DIFF_COLORS`.
DIFF_LABELS: dict[str, str] = diff_labels("hq")
