"""Pictures of the model: the framework figure redrawn in matplotlib, features as PCA-to-RGB, the tokens' masks."""


from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..io.images import ImageLike, as_rgb_uint8

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..models.provenance import ProvenanceLike

from .trace import FEATURE_NAMES, ForwardRecord

logger = logging.getLogger(__name__)

__all__ = [
    "pca_rgb",
    "plot_features",
    "plot_framework",
    "plot_token_story",
]


def pca_rgb(features: np.ndarray, *, valid: tuple[int, int] | None = None) -> np.ndarray:
    """Project a ``C x H x W`` feature map on its first three principal components and show them as RGB.

    Each pixel's ``C``-vector is centred, projected on the top-3 right singular vectors (signs fixed so each
    component's largest loading is positive, for reproducible colours), and each component is scaled to
    ``0..255`` between its 1st and 99th percentile.

    Args:
        features: float array ``C x H x W`` with ``C >= 3``.
        valid: optional ``(h, w)``: fit the PCA on the top-left ``h x w`` region only (the image, not the
            padding); the whole map is still projected.

    Returns:
        ``uint8`` array ``H x W x 3``.
    """
    feats = np.asarray(features)
    if feats.ndim != 3 or feats.shape[0] < 3 or not np.issubdtype(feats.dtype, np.floating):
        raise ValueError(f"features must be a float C x H x W array with C >= 3, got dtype {feats.dtype} "
                         f"shape {feats.shape}")
    c, h, w = feats.shape
    flat = feats.reshape(c, -1).T.astype(np.float64)
    fit = flat
    if valid is not None:
        vh, vw = (max(1, min(int(valid[0]), h)), max(1, min(int(valid[1]), w)))
        fit = feats[:, :vh, :vw].reshape(c, -1).T.astype(np.float64)
    mean = fit.mean(axis=0)
    _, _, vt = np.linalg.svd(fit - mean, full_matrices=False)
    comps = vt[:3]
    signs = np.sign(comps[np.arange(3), np.abs(comps).argmax(axis=1)])
    comps = comps * np.where(signs == 0, 1, signs)[:, None]
    proj = (flat - mean) @ comps.T
    lo, hi = np.percentile((fit - mean) @ comps.T, [1, 99], axis=0)
    scaled = np.clip((proj - lo) / np.maximum(hi - lo, 1e-12), 0, 1)
    return (scaled.reshape(h, w, 3) * 255).round().astype(np.uint8)


def _valid_grid(record: ForwardRecord, side: int) -> tuple[int, int]:
    """The part of a ``side x side`` map (of the padded 1024 input) that covers the image."""
    # Rounded down: a last row/column that is partly padding is left out.
    return (max(1, record.input_size[0] * side // 1024), max(1, record.input_size[1] * side // 1024))


def plot_features(record: ForwardRecord, names: Sequence[str] = FEATURE_NAMES, *,
                  weights: ProvenanceLike = None) -> Figure:
    """PCA-to-RGB pictures of the recorded features (cropped to the image, padding removed).

    ``weights``: the pair (or its ``WeightsProvenance``) the record came from; random weights stamp the figure so.
    """
    from ..drawing.figures import new_figure
    from ..notebook import stamp_figure

    if not record.features:
        raise RuntimeError("no features were recorded (a meta-device model records shapes only)")
    ncols = min(3, len(names))
    nrows = -(-len(names) // ncols)
    h, w = record.original_size
    fig = new_figure((4.6 * ncols, (4.6 * h / w + 0.8) * nrows + 0.6))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[len(names):]:
        fig.delaxes(ax)
    for ax, name in zip(axes, names, strict=False):
        feat = record.features[name]
        vh, vw = _valid_grid(record, feat.shape[-1])
        ax.imshow(pca_rgb(feat, valid=(vh, vw))[:vh, :vw])
        ax.set_title(f"{name}\n{' x '.join(map(str, feat.shape))}", fontsize=12)
        ax.axis("off")
    return stamp_figure(fig, weights)


def plot_token_story(record: ForwardRecord, image: ImageLike, *, weights: ProvenanceLike = None) -> Figure:
    """The token story in eight panels, cropped to the image (padding removed), on the model's own grids.

    Top row: the image and prompt; SAM's token-0 mask, the HQ token's mask and their sum (the paper's default
    output), each as logits > 0 on the 256 x 256 grid. Bottom row: the HQ token's logits (what it adds to
    SAM's), and the final token-to-image attention (mean over heads, 64 x 64 grid) of SAM's token 0, of the HQ
    token, and their difference. Masks take the branch colours (:mod:`hqsam_nb.pair.branches`); prompts the
    colours of every other figure. ``weights``: the pair the record came from; random weights stamp the figure.
    """
    from matplotlib.patches import Rectangle

    from ..drawing.figures import new_figure
    from ..drawing.palette import BOX_COLOR, NEGATIVE_COLOR, POSITIVE_COLOR
    from ..notebook import stamp_figure
    from ..pair.branches import BRANCHES

    if record.token_logits is None:
        raise RuntimeError("no token masks were recorded (a meta-device model records shapes only)")
    rgb = as_rgb_uint8(image)
    hq = record.hq_token_index - 1  # token_logits has no IoU token
    vh, vw = _valid_grid(record, record.token_logits.shape[-1])
    panels = [("SAM token 0", record.token_logits[0], BRANCHES["sam"].color),
              ("HQ token", record.token_logits[hq], BRANCHES["hq"].color),
              ("SAM + HQ (fused)", record.token_logits[0] + record.token_logits[hq], BRANCHES["fused"].color)]
    fig = new_figure((16, 2 * (4 * vh / vw + 0.9) + 0.8))
    axes = fig.subplots(2, 4)
    resized = torch.nn.functional.interpolate(torch.as_tensor(rgb).permute(2, 0, 1)[None].float(),
                                              size=(vh, vw), mode="bilinear", align_corners=False)
    small = np.asarray(resized[0].permute(1, 2, 0).clamp(0, 255)).astype(np.uint8)
    axes[0, 0].imshow(small)
    p = record.prompt
    scale = (vw / record.original_size[1], vh / record.original_size[0])
    if p.points is not None:
        colours = [np.array(POSITIVE_COLOR if lab == 1 else NEGATIVE_COLOR) / 255 for lab in p.labels]
        axes[0, 0].scatter(p.points[:, 0] * scale[0], p.points[:, 1] * scale[1], c=colours, s=160, marker="*",
                           edgecolors="white")
    if p.box is not None:
        x0, y0, x1, y1 = p.box * np.array([*scale, *scale])
        axes[0, 0].add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec=np.array(BOX_COLOR) / 255,
                                       lw=2.5))
    axes[0, 0].set_title("image + prompt", fontsize=12)
    for ax, (title, logits, colour) in zip(axes[0, 1:], panels, strict=True):
        inside = logits[:vh, :vw] > 0
        overlay = np.zeros((vh, vw, 4))
        overlay[..., :3] = np.array(colour) / 255
        overlay[..., 3] = inside * 0.6
        ax.imshow(small)
        ax.imshow(overlay)
        ax.set_title(f"{title}\n{inside.mean() * 100:.1f}% of pixels", fontsize=12)
    correction = record.token_logits[hq][:vh, :vw]
    lim_logits = float(np.abs(correction).max()) or 1.0
    axes[1, 0].imshow(correction, cmap="coolwarm", vmin=-lim_logits, vmax=lim_logits)
    axes[1, 0].set_title("HQ token logits = the correction\nadded to SAM's (red +, blue -)", fontsize=12)
    ah, aw = _valid_grid(record, 64)
    sam_att, hq_att = record.attention_map("sam_0")[:ah, :aw], record.attention_map("hq")[:ah, :aw]
    top = max(sam_att.max(), hq_att.max())
    att_panels = (("attention: SAM token 0", sam_att), ("attention: HQ token", hq_att))
    for ax, (title, att) in zip(axes[1, 1:3], att_panels, strict=True):
        ax.imshow(att, cmap="magma", vmin=0, vmax=top)
        ax.set_title(f"{title}\n(final layer)", fontsize=12)
    diff = hq_att - sam_att
    lim = float(np.abs(diff).max()) or 1.0
    axes[1, 3].imshow(diff, cmap="coolwarm", vmin=-lim, vmax=lim)
    axes[1, 3].set_title("HQ - SAM attention\n(red: HQ looks more)", fontsize=12)
    for ax in axes.ravel():
        ax.axis("off")
    return stamp_figure(fig, weights)


def plot_framework() -> Figure:
    """HQ-SAM's framework figure redrawn with matplotlib: frozen SAM in blue, HQ-SAM's additions in orange.

    Left to right: image -> ViT encoder (early feature tapped after the first global-attention block) ->
    image embedding; prompt -> prompt encoder -> tokens; SAM's output tokens plus the HQ output token go
    through SAM's (frozen) two-way decoder; global-local fusion builds the HQ features; the HQ token's MLP
    times the HQ features gives the HQ mask, added to SAM's mask (error correction).
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    from ..drawing.figures import new_figure

    frozen, learn, data = "#cfe2f3", "#f9cb9c", "#eeeeee"
    fig = new_figure((13, 6.2), layout=None)
    ax = fig.subplots()
    ax.set_xlim(0, 13)
    ax.set_ylim(0, 6.6)
    ax.axis("off")
    boxes = {
        "image": (0.1, 4.6, 1.3, 0.9, "input image\n1024 x 1024", data),
        "vit": (1.8, 4.4, 2.2, 1.3, "ViT image encoder\n(frozen)", frozen),
        "early": (1.8, 2.9, 2.2, 0.8, "early-layer feature\n(1st global attn block)", data),
        "emb": (4.5, 4.6, 1.7, 0.9, "image embedding\n256 x 64 x 64", data),
        "prompt": (0.1, 0.5, 1.3, 0.9, "prompt\npoints / box", data),
        "penc": (1.8, 0.4, 2.2, 1.1, "prompt encoder\n(frozen)", frozen),
        "tokens": (4.5, 0.2, 1.9, 1.5, "output tokens (frozen)\n+ HQ output token\n(learnable)", learn),
        "dec": (6.8, 0.2, 2.0, 1.5, "SAM mask decoder\ntwo-way transformer\n(frozen)", frozen),
        "fuse": (6.8, 3.0, 2.0, 2.2, "global-local fusion\n(learnable)\ncompress_vit_feat\n"
                                    "embedding_encoder\nembedding_maskfeature", learn),
        "hqfeat": (9.3, 3.5, 1.6, 1.0, "HQ features\n32 x 256 x 256", data),
        "mlp": (9.3, 1.9, 1.6, 1.0, "HQ token MLP\nhf_mlp (learnable)", learn),
        "prod": (11.3, 3.5, 1.5, 1.0, "point-wise\nproduct\n-> HQ mask", data),
        "sum": (11.3, 0.3, 1.5, 1.2, "SAM mask\n+ HQ mask\n(error correction)", data),
    }
    placed = {}
    for key, (x, y, w, h, text, colour) in boxes.items():
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.04", fc=colour, ec="#333333", lw=1.2))
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=8.5)
        placed[key] = (x, y, w, h)

    def anchor(key: str, where: str) -> tuple[float, float]:
        """A point on a box's side: l/r/t/b, optionally at a fraction along it (``"t.25"``)."""
        x, y, w, h = placed[key]
        f = float("0." + where[2:]) if len(where) > 1 else 0.5
        points = {"l": (x, y + h * f), "r": (x + w, y + h * f), "t": (x + w * f, y + h), "b": (x + w * f, y)}
        return points[where[0]]

    arrows = [("image", "r", "vit", "l", ""), ("vit", "r", "emb", "l", ""),
              ("vit", "b", "early", "t", "early"), ("early", "r", "fuse", "l.2", "local"),
              ("emb", "r", "fuse", "l.8", "global"), ("prompt", "r", "penc", "l", ""),
              ("penc", "r", "tokens", "l", ""), ("tokens", "r", "dec", "l", ""),
              ("emb", "b", "dec", "t.25", ""), ("dec", "t.75", "fuse", "b.75", "mask feature"),
              ("fuse", "r.5", "hqfeat", "l", ""), ("dec", "r.7", "mlp", "l", "HQ token"),
              ("hqfeat", "r", "prod", "l.7", ""), ("mlp", "r", "prod", "l.2", ""),
              ("prod", "b", "sum", "t", "HQ mask"), ("dec", "r.3", "sum", "l.4", "SAM mask")]
    for a, sa, b, sb, label in arrows:
        start, end = anchor(a, sa), anchor(b, sb)
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, lw=1.2, color="#444444",
                                     connectionstyle="arc3,rad=0"))
        if label:
            ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, label, fontsize=7.5, ha="center",
                    va="center", color="#7f3b08",
                    bbox={"fc": "white", "ec": "none", "pad": 0.5, "alpha": 0.9})
    from matplotlib.colors import to_rgb
    from matplotlib.patches import Patch

    from ..drawing.palette import colour_name

    # a real legend (its colours named by the package's one colour naming, as the notebook's prose names them)
    ax.legend(handles=[Patch(fc=fc, ec="#333333", label=f"{text} ({colour_name(to_rgb(fc))})")
                       for fc, text in ((frozen, "frozen SAM"), (learn, "learnable HQ-SAM additions"))],
              loc="upper left", ncols=2, fontsize=9, frameon=False, bbox_to_anchor=(0.0, 1.0))
    ax.set_title("HQ-SAM: SAM kept frozen, plus an HQ output token and global-local feature fusion",
                 fontsize=11)
    fig.tight_layout()
    return fig
