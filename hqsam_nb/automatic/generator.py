"""Segment everything with SAM and HQ-SAM at once: the official automatic mask generator, three branches, one
image-encoder pass per crop.

The official ``SamAutomaticMaskGenerator`` prompts the model with a regular grid of single positive points (per
crop of the image, when ``crop_n_layers > 0``), keeps the masks that pass two quality filters, and removes
duplicates with non-maximum suppression (NMS) on their boxes:

1. **grid**: ``points_per_side ** 2`` points per crop (``build_all_layer_point_grids``); crops from
   ``generate_crop_boxes`` (layer 0 is the whole image, layer i has ``(2 ** i) ** 2`` overlapping crops);
2. **decode** ``points_per_batch`` points at a time, with ``multimask_output=True``;
3. **filter**: predicted IoU ``> pred_iou_thresh``, stability score (IoU of the mask thresholded at
   ``+-stability_score_offset`` around 0) ``>= stability_score_thresh``, masks whose box touches a crop edge that
   is not the image's edge dropped;
4. **NMS** of boxes within each crop (``box_nms_thresh``, by predicted IoU), then across crops
   (``crop_nms_thresh``, preferring smaller crops);
5. optional clean-up of small holes and islands (``min_mask_region_area``), then records.

:class:`PairMaskGenerator` runs that pipeline for three branches (:mod:`hqsam_nb.pair.branches`) with one
``pair.set_image(crop)`` per crop and one ``pair.decode_low_res`` per chunk of points, which runs the SAM decoder
and the HQ decoder once each and builds no full-resolution masks. **Candidates per point**, all with
``multimask_output=True`` as in the official generator:

* ``.sam`` - **3**: the original SAM decoder's three multimask candidates (whole, part, sub-part), each filtered
  on its own; this is the official generator on the baseline SAM model (``sam_model_registry_baseline``);
* ``.fused`` - **1**: the official HQ-SAM generator. ``MaskDecoderHQ`` with ``multimask_output=True`` keeps only
  its best-scoring SAM candidate and adds the HQ token's logits to it, so HQ-SAM proposes a third as many masks
  per point (the official HQ generator has no ``hq_token_only`` switch; it always fuses);
* ``.hq`` - **1**: the same pipeline with the HQ token's logits alone (the official code with
  ``predict_torch(..., hq_token_only=True)``). The HQ token has no IoU head: its predicted IoU, used by the
  filter and by NMS, is the score of the best SAM candidate of the HQ decoder, as in the official predictor.

Reuse, not rewrite: each branch is an official ``SamAutomaticMaskGenerator`` (subclassed) whose predictor is an
adapter serving that branch's full-resolution logits (``pair.upsample_logits``, the official
``postprocess_masks``). The official ``_process_batch`` filters each chunk as it is decoded; the official
``generate`` then replays those filtered chunks through its own per-crop NMS, cross-crop NMS, clean-up and
record writing. Only the crop/point loop that feeds the decoder is ours, because one decode serves three
generators, and one reordering: the predicted-IoU filter (which reads only scores) runs before upsampling, so only
the candidates it keeps are upsampled to the image (the official code upsamples all of them first). The tests
check every branch against the official generator on the same weights: same masks, scores within 1e-4, with and
without crops.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from .._compat import import_official, replaying_mask_generator
from ..io.exports import rle_to_mask
from ..io.images import ImageLike, as_rgb_uint8
from ..pair.branches import BRANCH_KEYS, branch, check_branches
from ..pair.prompts import make_prompt_batch
from ..pair.results import LowResBatch
from .params import DEFAULT_PARAMS, check_params

if TYPE_CHECKING:
    from ..pair.predictor import PairPredictor

logger = logging.getLogger(__name__)

__all__ = ["CANDIDATES_PER_POINT", "EverythingResult", "PairMaskGenerator", "record_mask", "suggested_thresholds"]

#: Masks proposed per grid point with ``multimask_output=True`` (see the module docstring for why).
CANDIDATES_PER_POINT: dict[str, int] = {"sam": 3, "hq": 1, "fused": 1}

#: ``progress(done, total)``: called after each decoded chunk of points (``total`` chunks over all crops).
Progress = Callable[[int, int], None]


def _official_amg() -> Any:
    import_official()
    from segment_anything_hq import automatic_mask_generator

    return automatic_mask_generator


def record_mask(record: dict[str, Any]) -> np.ndarray:
    """The ``bool`` ``H x W`` mask of one record, whatever the ``output_mode`` that made it (a ``bool`` array,
    the official uncompressed RLE with list counts, or COCO's compressed RLE)."""
    seg = record["segmentation"] if isinstance(record, dict) and "segmentation" in record else None
    if isinstance(seg, np.ndarray):
        return seg.astype(bool, copy=False)
    if isinstance(seg, dict):
        return rle_to_mask(seg)
    raise ValueError("a record is a dict with a 'segmentation' (bool H x W array or RLE dict), as "
                     f"PairMaskGenerator.generate returns; got {type(record).__name__}")


@dataclass
class EverythingResult:
    """The automatic masks of one image, per branch.

    Attributes:
        sam, hq, fused: lists of records in the official ``SamAutomaticMaskGenerator`` format, one dict per mask:
            ``segmentation`` (``bool`` ``H x W``, or an RLE dict per ``output_mode``), ``area`` (pixels),
            ``bbox`` ``[x, y, w, h]`` (XYWH pixels), ``predicted_iou``, ``point_coords`` ``[[x, y]]`` (the grid
            point, original-image pixels), ``stability_score``, ``crop_box`` ``[x, y, w, h]``. None for a branch
            not generated.
        image_size: ``(H, W)`` of the image.
        params: the generator's parameters (all of them, checked).
        timings: seconds spent in ``encoder`` (one pass per crop), ``decoders`` (``decode_low_res``: both
            decoders), ``upsample`` (full-resolution logits of the candidates that pass the predicted-IoU filter),
            ``filters`` (predicted IoU, stability, crop-edge, RLE), ``merge`` (NMS, clean-up, records) and ``total``.
        n_points: grid points decoded, all crops together. n_crops: crops (1 without crop layers).
        encoder_passes: image-encoder passes this call made (fewer than ``n_crops`` when cached).
        weights_note: ``""`` with the official weights; else the weights' one-line description (random weights:
            "masks are meaningless"), which every figure of these masks shows.
        multimask_output: as passed to ``generate``.
    """

    sam: list[dict[str, Any]] | None
    hq: list[dict[str, Any]] | None
    fused: list[dict[str, Any]] | None
    image_size: tuple[int, int]
    params: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    n_points: int = 0
    n_crops: int = 1
    encoder_passes: int = 0
    weights_note: str = ""
    multimask_output: bool = True

    def branch(self, key: str) -> list[dict[str, Any]]:
        """The records of branch ``key``; a ``ValueError`` for an unknown key or a branch not generated."""
        records = getattr(self, branch(key).key)
        if records is None:
            raise ValueError(f"branch {key!r} was not generated (generate(..., branches=...) left it out)")
        return records

    @property
    def branches(self) -> tuple[str, ...]:
        """The keys of the generated branches, in display order."""
        return tuple(k for k in BRANCH_KEYS if getattr(self, k) is not None)

    def counts(self) -> dict[str, int]:
        """Masks kept per generated branch."""
        return {k: len(getattr(self, k)) for k in self.branches}

    def markdown(self) -> str:
        """A table, one row per generated branch: candidates per point, masks kept, their mean predicted IoU and
        stability, and the median area (pixels)."""
        from ..util import markdown_table

        rows = []
        for key in self.branches:
            recs = self.branch(key)
            stats = [float(f(np.array([r[k] for r in recs]))) if recs else float("nan")
                     for f, k in ((np.mean, "predicted_iou"), (np.mean, "stability_score"), (np.median, "area"))]
            rows.append([branch(key).label, CANDIDATES_PER_POINT[key] if self.multimask_output else 1,
                         len(recs), *stats])
        table = markdown_table(["branch", "candidates per point", "masks kept", "mean predicted IoU",
                                "mean stability", "median area (px)"], rows, digits=3)
        return (f"{table}\n\n{self.n_points} grid points on {self.n_crops} crop(s), "
                f"{self.encoder_passes} encoder pass(es), {self.timings.get('total', float('nan')):.1f} s")

    def timings_markdown(self) -> str:
        """Where the time went, in seconds and as a share of the total."""
        from ..util import markdown_table

        total = self.timings.get("total", float("nan"))
        names = {"encoder": "image encoder (one pass per crop)",
                 "decoders": "SAM + HQ decoders (low-res logits)",
                 "upsample": "full-resolution logits for the filters", "filters": "IoU / stability / edge filters, RLE",
                 "merge": "NMS, clean-up, records (official code)"}
        rows = [[label, self.timings.get(k, float("nan")), 100 * self.timings.get(k, float("nan")) / total]
                for k, label in names.items()]
        return markdown_table(["stage", "seconds", "% of total"], rows, digits=1)

    def masks(self, key: str) -> np.ndarray:
        """Branch ``key``'s masks as one ``bool`` array ``(N, H, W)`` (decoded from RLE if needed)."""
        records = self.branch(key)
        if not records:
            return np.zeros((0, *self.image_size), bool)
        return np.stack([record_mask(r) for r in records])


class _BranchView:
    """What the official generator needs of a ``SamPredictor`` (``transform``, ``device``, ``model``,
    ``set_image``, ``predict_torch``, ``reset_image``), serving one branch's logits of the chunk the pair has just
    decoded. ``set_image`` / ``reset_image`` do nothing: the pair holds the crop."""

    def __init__(self, pair: PairPredictor, key: str) -> None:
        self.key = key
        self.model = pair.model  # .mask_threshold (0.0), the same for SAM and HQ-SAM
        self.transform = pair.transform  # the official ResizeLongestSide
        self._device = pair.device
        self.current: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None

    @property
    def device(self) -> torch.device:
        return self._device

    def set_image(self, image: np.ndarray, image_format: str = "RGB") -> None:
        pass

    def reset_image(self) -> None:
        pass

    def predict_torch(self, point_coords: torch.Tensor, point_labels: torch.Tensor, *args: Any,
                      **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.current is None or self.current[0].shape[0] != point_coords.shape[0]:
            raise RuntimeError("internal error: the official generator asked for masks the pair did not decode")
        logits, scores, low = self.current
        self.current = None
        return logits, scores, low


def _branch_generator_class() -> type:
    class BranchGenerator(replaying_mask_generator()):
        """The official generator, fed by a :class:`_BranchView`; it replays stored chunks when ``replay`` holds
        them (so the official ``generate`` runs its NMS and records on what was decoded once for every branch)."""

        def __init__(self, pair: PairPredictor, key: str, params: dict[str, Any]) -> None:
            super().__init__(pair.model, **params)
            self.predictor = _BranchView(pair, key)
            self.replay: deque[Any] | None = None

    return BranchGenerator


def _weights_note(pair: PairPredictor) -> str:
    return "" if pair.info.official else pair.info.describe()


def suggested_thresholds(pair: PairPredictor) -> dict[str, float]:
    """``pred_iou_thresh`` and ``stability_score_thresh`` for the pair's weights: Meta's defaults (0.88, 0.95) with
    the official weights; 0 and 0 with any other, because random weights predict IoUs around 0 and unstable masks,
    so that nothing would pass the defaults (a fine-tuned checkpoint should pass its own thresholds)."""
    if pair.info.official:
        return {k: DEFAULT_PARAMS[k] for k in ("pred_iou_thresh", "stability_score_thresh")}
    return {"pred_iou_thresh": 0.0, "stability_score_thresh": 0.0}


class PairMaskGenerator:
    """SAM's, HQ-SAM's (HQ token) and HQ-SAM's (fused) automatic masks of an image, from one encoder pass per crop.

    Parameters are the official ``SamAutomaticMaskGenerator``'s, with its defaults (chosen by Meta for ViT-H;
    see :func:`~hqsam_nb.automatic.params.check_params` for the accepted ranges). ``points_per_batch`` is how
    many points go to one ``pair.decode_low_res`` call (memory: ``3 x points_per_batch`` full-resolution float
    logits at a time, at most); the pair splits it further for the decoders (``predict_batch``'s chunks).

    Example:
        >>> pair = hqsam_nb.load_pair("vit_tiny")                              # doctest: +SKIP
        >>> gen = PairMaskGenerator(pair, points_per_side=16)                  # doctest: +SKIP
        >>> res = gen.generate(image)                                          # doctest: +SKIP
        >>> res.counts()                                                       # doctest: +SKIP
        {'sam': 41, 'hq': 23, 'fused': 22}
        >>> res.fused[0]["bbox"], res.fused[0]["predicted_iou"]                # doctest: +SKIP
    """

    def __init__(self, pair: PairPredictor, **params: Any) -> None:
        from ..pair.predictor import PairPredictor

        if not isinstance(pair, PairPredictor):
            raise TypeError(f"pair must be a hqsam_nb.PairPredictor (hqsam_nb.load_pair(...)), got "
                            f"{type(pair).__name__}")
        self.pair = pair
        self.params = check_params(**params)
        cls = _branch_generator_class()
        self._generators = {key: cls(pair, key, self.params) for key in BRANCH_KEYS}

    @property
    def point_grids(self) -> list[np.ndarray]:
        """One ``(N_i, 2)`` grid of ``(x, y)`` fractions of the crop per crop layer (layer 0: the whole image)."""
        return self._generators["sam"].point_grids

    def crop_boxes(self, image_size: tuple[int, int]) -> tuple[list[list[int]], list[int]]:
        """The crops of an image of ``image_size = (H, W)``: XYXY boxes and their layer (official
        ``generate_crop_boxes``)."""
        amg = _official_amg()
        return amg.generate_crop_boxes(tuple(image_size), self.params["crop_n_layers"],
                                       self.params["crop_overlap_ratio"])

    @torch.no_grad()
    def generate(self, image: ImageLike, *, branches: Iterable[str] | str | None = None,
                 multimask_output: bool = True, progress: Progress | bool | None = None) -> EverythingResult:
        """Generate the masks of ``image`` for each branch.

        Args:
            image: RGB ``uint8`` ``H x W x 3`` (or anything :func:`~hqsam_nb.io.images.as_rgb_uint8` accepts).
            branches: which of ``"sam"``, ``"hq"``, ``"fused"`` to generate (default all three). Leaving out
                ``"sam"`` skips the SAM decoder; keeping only ``"sam"`` skips the HQ decoder.
            multimask_output: as the official ``generate``; with False every branch has one candidate per point
                (SAM's single-output token, fused with the HQ token for ``fused``).
            progress: called as ``progress(done, total)`` after each decoded chunk of points; True shows a
                ``tqdm`` progress bar (in a notebook, a widget bar).

        Returns:
            An :class:`EverythingResult` (``.sam``, ``.hq``, ``.fused``: official-format records, largest
            predicted IoU first within each crop's NMS, as the official generator orders them).
        """
        keys = check_branches(branches)
        if not isinstance(multimask_output, bool):
            raise TypeError(f"multimask_output must be True or False, got {multimask_output!r}")
        rgb = as_rgb_uint8(image)
        t_start = time.perf_counter()
        passes0 = self.pair.encoder_passes
        timings = dict.fromkeys(("encoder", "decoders", "upsample", "filters", "merge"), 0.0)
        bar = None
        if progress is True:
            from tqdm.auto import tqdm

            bar = tqdm(desc="segment everything", unit="chunk", leave=False)

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)
        elif progress is False:
            progress = None
        elif progress is not None and not callable(progress):
            raise TypeError(f"progress must be a callable progress(done, total), True or None, got {progress!r}")
        try:
            chunks, n_points, n_crops = self._decode_and_filter(rgb, keys, multimask_output, progress, timings)
        finally:
            if bar is not None:
                bar.close()
        t0 = time.perf_counter()
        out: dict[str, list[dict[str, Any]] | None] = dict.fromkeys(BRANCH_KEYS)
        for key in keys:
            if not any(len(chunk["rles"]) for chunk in chunks[key]):
                out[key] = []  # nothing passed the filters (the official cross-crop NMS fails on no boxes at all)
                continue
            gen = self._generators[key]
            gen.replay = deque(chunks[key])
            try:
                out[key] = gen.generate(rgb, multimask_output)
                if gen.replay:
                    raise RuntimeError("internal error: the official generator did not replay every chunk")
            finally:
                gen.replay = None
        timings["merge"] = time.perf_counter() - t0
        timings["total"] = time.perf_counter() - t_start
        result = EverythingResult(
            sam=out["sam"], hq=out["hq"], fused=out["fused"], image_size=tuple(rgb.shape[:2]),
            params=dict(self.params), timings=timings, n_points=n_points, n_crops=n_crops,
            encoder_passes=self.pair.encoder_passes - passes0,
            weights_note=_weights_note(self.pair), multimask_output=multimask_output,
        )
        logger.info("segment everything: %s masks from %d points on %d crop(s) in %.1f s", result.counts(),
                    n_points, n_crops, timings["total"])
        return result

    def _filter(self, key: str, points: np.ndarray, batch: LowResBatch, crop_size: tuple[int, ...],
                crop_box: list[int], orig_size: tuple[int, ...], multimask: bool, timings: dict[str, float]) -> Any:
        """One branch's candidates of one chunk through the official ``_process_batch`` (filters, boxes, RLE).

        The official code filters by predicted IoU after upsampling every candidate to the image; the filter reads
        only the scores, so here it runs first and only the candidates it keeps are upsampled (the official
        ``postprocess_masks``), then handed to ``_process_batch`` in the official order (point by point, candidates
        in decoder order), one candidate per row. The masks, scores and records are the same; the upsampling of
        the candidates the filter drops is skipped."""
        low, scores = torch.as_tensor(batch.logits), torch.as_tensor(batch.scores)
        if low.ndim == 3:  # one candidate per point
            low, scores = low[:, None], scores[:, None]
        thresh = self.params["pred_iou_thresh"]
        if thresh > 0.0:  # the official filter, `iou_preds > pred_iou_thresh`, on the flattened candidates
            keep = (scores > thresh).flatten()
            points = np.repeat(points, low.shape[1], axis=0)[keep.numpy()]
            low, scores = low.flatten(0, 1)[keep][:, None], scores.flatten()[keep][:, None]
        t0 = time.perf_counter()
        logits = self.pair.upsample_logits(low)
        t1 = time.perf_counter()
        gen = self._generators[key]
        gen.predictor.current = (logits, scores.to(logits.device), low)
        try:
            return gen.process_batch(points, crop_size, crop_box, orig_size, multimask)
        finally:
            gen.predictor.current = None
            timings["upsample"] += t1 - t0
            timings["filters"] += time.perf_counter() - t1

    def _decode_and_filter(self, rgb: np.ndarray, keys: Sequence[str], multimask: bool, progress: Progress | None,
                           timings: dict[str, float]) -> tuple[dict[str, list[Any]], int, int]:
        """Per crop: one ``set_image``; per chunk of points: one ``decode_low_res`` for all branches (both
        decoders, no full-resolution masks), then each branch's :meth:`_filter`. Returns the filtered chunks per
        branch, in the order the official ``generate`` will ask for them, the number of points and of crops.

        The crop and point loop is the official ``_generate_masks`` / ``_process_crop``'s, line for line."""
        amg = _official_amg()
        orig_size = rgb.shape[:2]
        crop_boxes, layer_idxs = self.crop_boxes(orig_size)
        ppb = self.params["points_per_batch"]
        grids = self.point_grids
        total = sum(-(-len(grids[layer]) // ppb) for layer in layer_idxs)
        only = "sam" if tuple(keys) == ("sam",) else ("hq" if "sam" not in keys else None)
        chunks: dict[str, list[Any]] = {key: [] for key in keys}
        done = n_points = 0
        for crop_box, layer_idx in zip(crop_boxes, layer_idxs, strict=True):
            x0, y0, x1, y1 = crop_box
            cropped_im = rgb[y0:y1, x0:x1, :]
            cropped_im_size = cropped_im.shape[:2]
            t0 = time.perf_counter()
            self.pair.set_image(cropped_im)
            timings["encoder"] += time.perf_counter() - t0
            points_scale = np.array(cropped_im_size)[None, ::-1]
            points_for_image = grids[layer_idx] * points_scale
            for (points,) in amg.batch_iterator(ppb, points_for_image):
                t0 = time.perf_counter()
                prompts = make_prompt_batch(points=points[:, None, :], labels=np.ones((len(points), 1), np.int32),
                                            image_size=cropped_im_size)
                res = self.pair.decode_low_res(prompts, multimask=multimask, only=only)
                timings["decoders"] += time.perf_counter() - t0
                for key in keys:
                    batch = res["sam_candidates"] if key == "sam" and multimask else res[key]
                    chunks[key].append(self._filter(key, points, batch, cropped_im_size, crop_box, orig_size,
                                                    multimask, timings))
                done += 1
                n_points += len(points)
                if progress is not None:
                    progress(done, total)
        return chunks, n_points, len(crop_boxes)
