"""Tube-Mask AP and Tube-Boundary AP against an implementation written here from the definitions (dense numpy
masks, scipy's erosion for the boundary bands, matching and precision from the YouTube-VIS / COCO rules), on
random cases with absent frames, crowd tracks and empty results, and on the synthetic set; the readers' errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from hqsam_nb.io.coco_format import segmentation_to_mask
from hqsam_nb.io.ytvis_format import YtvisFormatError, load_ytvis_annotations, load_ytvis_results
from hqsam_nb.metrics.ytvis import YTVIS_METRIC_KEYS, tube_iou, tube_iou_matrix, ytvis_metrics
from hqsam_nb.video.synthetic_ytvis import synthetic_ytvis

# -- the independent implementation ---------------------------------------------------------------------------
IOU_THRS = np.linspace(0.5, 0.95, 10)
REC_THRS = np.linspace(0, 1, 101)
AREAS = {"all": (0, 1e10), "small": (0, 128**2), "medium": (128**2, 256**2), "large": (256**2, 1e10)}


def _dense(track: dict, h: int, w: int) -> np.ndarray:
    """``bool (T, H, W)``: absent frames all False."""
    return np.stack([np.zeros((h, w), bool) if s is None else segmentation_to_mask(s, h, w)
                     for s in track["segmentations"]])


def _band(mask: np.ndarray) -> np.ndarray:
    """Mask minus its erosion by a 3 x 3 square, round(0.02 * diagonal) times, outside the frame counting as
    background (scipy, not OpenCV)."""
    h, w = mask.shape
    d = max(1, int(round(0.02 * math.hypot(h, w))))
    padded = np.pad(mask, 1)
    eroded = ndimage.binary_erosion(padded, np.ones((3, 3), bool), iterations=d)[1:-1, 1:-1]
    return mask & ~eroded


def _tube(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


def _pair_iou(d: np.ndarray, g: np.ndarray, crowd: int, boundary: bool) -> float:
    iou = _tube(d, g)
    if boundary and not crowd:
        iou = min(iou, _tube(np.stack([_band(m) for m in d]), np.stack([_band(m) for m in g])))
    return iou


def _size(areas) -> float:
    present = [a for a in areas if a]
    return float(np.mean(present)) if present else 0.0


def brute_force(gt: dict, results: list, boundary: bool) -> dict[str, float]:
    """The 12 YouTube-VIS numbers from the definitions (percent, NaN where no ground truth of that size)."""
    videos = {v["id"]: v for v in gt["videos"]}
    gts, dts = [], []
    for a in gt["annotations"]:
        v = videos[a["video_id"]]
        m = _dense(a, v["height"], v["width"])
        areas = a.get("areas") or [float(x.sum()) if s is not None else None
                                   for x, s in zip(m, a["segmentations"], strict=True)]
        gts.append({"v": a["video_id"], "c": a["category_id"], "m": m, "crowd": a.get("iscrowd", 0),
                    "size": _size(areas)})
    for i, r in enumerate(results):
        v = videos[r["video_id"]]
        m = _dense(r, v["height"], v["width"])
        dts.append({"i": i, "v": r["video_id"], "c": r["category_id"], "m": m, "score": r["score"],
                    "size": _size([float(x.sum()) for x in m])})
    cats = sorted(c["id"] for c in gt["categories"])

    def evaluate(area: tuple[float, float], max_det: int) -> tuple[np.ndarray, np.ndarray]:
        """precision (T, R, K) and recall (T, K), -1 where a category has no ground truth in ``area``."""
        precision = -np.ones((len(IOU_THRS), len(REC_THRS), len(cats)))
        recall = -np.ones((len(IOU_THRS), len(cats)))
        lo, hi = area
        for k, c in enumerate(cats):
            found = []  # (score, order, matched, ignored) per kept result, per threshold
            n_pos = 0
            for vid in sorted(videos):
                g = [x for x in gts if x["v"] == vid and x["c"] == c]
                d = sorted((x for x in dts if x["v"] == vid and x["c"] == c), key=lambda x: -x["score"])[:max_det]
                ign = [x["crowd"] or not lo <= x["size"] <= hi for x in g]
                n_pos += sum(not i for i in ign)
                g_order = sorted(range(len(g)), key=lambda j: ign[j])  # regular tracks first
                ious = [[_pair_iou(x["m"], g[j]["m"], g[j]["crowd"], boundary) for j in g_order] for x in d]
                per_t = []
                for t in IOU_THRS:
                    taken = [False] * len(g_order)
                    row = []
                    for di, x in enumerate(d):
                        best, best_iou = None, min(t, 1 - 1e-10)
                        for pos, j in enumerate(g_order):
                            if taken[pos] and not g[j]["crowd"]:
                                continue
                            if best is not None and not ign[g_order[best]] and ign[j]:
                                break
                            if ious[di][pos] >= best_iou:
                                best, best_iou = pos, ious[di][pos]
                        if best is None:
                            row.append((False, not lo <= x["size"] <= hi))
                        else:
                            taken[best] = True
                            row.append((True, ign[g_order[best]]))
                    per_t.append(row)
                for di, x in enumerate(d):
                    found.append((x["score"], [per_t[ti][di] for ti in range(len(IOU_THRS))]))
            if n_pos == 0:
                continue
            found.sort(key=lambda f: -f[0])  # stable: videos in id order, then by score
            for ti in range(len(IOU_THRS)):
                flags = [f[1][ti] for f in found if not f[1][ti][1]]
                tp = np.cumsum([m for m, _ in flags]) if flags else np.zeros(0)
                fp = np.cumsum([not m for m, _ in flags]) if flags else np.zeros(0)
                rc = tp / n_pos
                pr = tp / np.maximum(tp + fp, np.spacing(1))
                recall[ti, k] = rc[-1] if len(rc) else 0
                env = np.maximum.accumulate(pr[::-1])[::-1] if len(pr) else pr
                q = np.zeros(len(REC_THRS))
                for ri, r in enumerate(REC_THRS):
                    hit = np.flatnonzero(rc >= r)
                    if len(hit):
                        q[ri] = env[hit[0]]
                precision[ti, :, k] = q
        return precision, recall

    def mean(s: np.ndarray) -> float:
        return 100 * float(np.mean(s[s > -1])) if (s > -1).any() else math.nan

    out = {}
    full = {name: evaluate(area, 100) for name, area in AREAS.items()}
    p, r = full["all"]
    out["AP"], out["AP50"], out["AP75"] = mean(p), mean(p[0]), mean(p[5])
    out["AP_S"], out["AP_M"], out["AP_L"] = (mean(full[a][0]) for a in ("small", "medium", "large"))
    out["AR1"], out["AR10"] = mean(evaluate(AREAS["all"], 1)[1]), mean(evaluate(AREAS["all"], 10)[1])
    out["AR100"] = mean(r)
    out["AR_S"], out["AR_M"], out["AR_L"] = (mean(full[a][1]) for a in ("small", "medium", "large"))
    return out


# -- random cases -----------------------------------------------------------------------------------------------
def _rle(m: np.ndarray) -> dict:
    from pycocotools import mask as mask_utils

    r = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
    return {"size": [int(s) for s in r["size"]], "counts": r["counts"].decode("ascii")}


def _blob(rng, h, w, scale) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    cy, cx = rng.uniform(0, h), rng.uniform(0, w)
    m = ((yy - cy) / (rng.uniform(0.3, 1) * scale * h)) ** 2 + ((xx - cx) / (rng.uniform(0.3, 1) * scale * w)) ** 2 < 1
    if rng.random() < 0.3:
        m[:, int(cx)::5] = False  # thin gaps: the boundary band matters
    return m


def random_case(seed: int) -> tuple[dict, list]:
    """Videos of 1-4 frames up to 400 x 300 (small and medium tracks), tracks absent on some frames, crowd
    tracks, results that are shifted copies (some with another category, some frames None or empty) and false
    positives."""
    rng = np.random.default_rng(seed)
    videos, anns, res = [], [], []
    for v in range(1, 4):
        lo = 200 if v == 1 else 24  # the first video large enough for medium tracks
        h, w = int(rng.integers(lo, 400)), int(rng.integers(lo, 300))
        n = int(rng.integers(1, 5))
        videos.append({"id": v, "height": h, "width": w, "file_names": [f"v{v}/{t}.jpg" for t in range(n)]})
        for _ in range(int(rng.integers(0, 4))):
            cat, masks = int(rng.integers(1, 4)), []
            for _t in range(n):
                masks.append(None if rng.random() < 0.25 else _blob(rng, h, w, float(rng.choice([0.1, 0.3, 0.6]))))
            anns.append({"id": len(anns) + 1, "video_id": v, "category_id": cat, "iscrowd": int(rng.random() < 0.15),
                         "segmentations": [None if m is None else _rle(m) for m in masks]})
            for _ in range(int(rng.integers(0, 3))):
                segs = []
                for m in masks:
                    if m is None or rng.random() < 0.15:
                        segs.append(None if rng.random() < 0.5 else _rle(np.zeros((h, w), bool)))
                    else:
                        segs.append(_rle(np.roll(m, tuple(int(s) for s in rng.integers(-3, 4, 2)), (0, 1))))
                res.append({"video_id": v, "category_id": cat if rng.random() < 0.85 else int(rng.integers(1, 4)),
                            "score": float(np.round(rng.random(), 2)), "segmentations": segs})
        for _ in range(int(rng.integers(0, 2))):
            res.append({"video_id": v, "category_id": int(rng.integers(1, 4)),
                        "score": float(np.round(rng.random(), 2)),
                        "segmentations": [None if rng.random() < 0.3 else _rle(_blob(rng, h, w, 0.3))
                                          for _ in range(n)]})
    gt = {"videos": videos, "categories": [{"id": c, "name": f"c{c}"} for c in (1, 2, 3)], "annotations": anns}
    return gt, res


def _assert_close(ours: dict, ref: dict, tol: float = 0.1) -> None:
    for key in YTVIS_METRIC_KEYS:
        a, b = ours[key], ref[key]
        assert (math.isnan(a) and math.isnan(b)) or abs(a - b) <= tol, (key, a, b)


@pytest.mark.parametrize("seed", range(6))
def test_random_cases_match_the_definition(seed: int) -> None:
    gt, res = random_case(seed)
    ours = ytvis_metrics(gt, res)
    for iou_type in ("mask", "boundary"):
        _assert_close(ours[iou_type], brute_force(gt, res, boundary=iou_type == "boundary"))


def test_cases_cover_what_they_claim() -> None:
    """The random cases above hold absent frames, crowd tracks, empty masks, false positives and medium tracks."""
    cases = [random_case(s) for s in range(6)]
    anns = [a for gt, _ in cases for a in gt["annotations"]]
    res = [r for _, rs in cases for r in rs]
    assert any(a["iscrowd"] for a in anns) and any(s is None for a in anns for s in a["segmentations"])
    assert any(s is None for r in res for s in r["segmentations"])
    assert sum(not math.isnan(ytvis_metrics(gt, rs, iou_types=("mask",))["mask"]["AP_M"]) for gt, rs in cases) >= 1


def test_synthetic_set_matches_the_definition() -> None:
    s = synthetic_ytvis(n_videos=3, n_frames=4, size=(96, 128), seed=2)
    ours = ytvis_metrics(s.annotations, s.results)
    for iou_type in ("mask", "boundary"):
        _assert_close(ours[iou_type], brute_force(s.annotations, s.results, boundary=iou_type == "boundary"))
    assert ours["boundary"]["AP"] < ours["mask"]["AP"] < 100  # coarse VIS masks: the boundaries suffer most


def test_empty_results_perfect_results_and_crowd() -> None:
    gt, _ = random_case(3)
    gt["annotations"].append({"id": 99, "video_id": 1, "category_id": 1, "iscrowd": 1,
                              "segmentations": [_rle(np.ones((gt["videos"][0]["height"], gt["videos"][0]["width"]),
                                                         bool))] * len(gt["videos"][0]["file_names"])})
    empty = ytvis_metrics(gt, [])
    for iou_type in ("mask", "boundary"):
        assert empty[iou_type]["AP"] == 0 and empty[iou_type]["AR100"] == 0
        _assert_close(empty[iou_type], brute_force(gt, [], boundary=iou_type == "boundary"))
    perfect = [{"video_id": a["video_id"], "category_id": a["category_id"], "score": 0.9,
                "segmentations": a["segmentations"]} for a in gt["annotations"] if not a["iscrowd"]]
    assert all(v["AP"] == pytest.approx(100) for v in ytvis_metrics(gt, perfect).values())
    # a result that covers only the crowd track is neither right nor wrong
    on_crowd = perfect + [{"video_id": 1, "category_id": 1, "score": 0.95,
                           "segmentations": gt["annotations"][-1]["segmentations"]}]
    assert all(v["AP"] == pytest.approx(100) for v in ytvis_metrics(gt, on_crowd).values())


def test_tube_iou_sums_over_frames() -> None:
    a, b = np.zeros((4, 4), bool), np.zeros((4, 4), bool)
    a[0, :4], b[0, 2:4], b[1, 2:4] = True, True, True  # frame 0: |a & b| = 2, |a | b| = 6
    c = np.zeros((4, 4), bool)
    c[3, :3] = True  # frame 1: only the ground truth, 3 pixels
    assert tube_iou([a, None, None], [b, c, None], 4, 4) == pytest.approx(2 / 9)
    assert tube_iou([None, None], [None, None], 4, 4) == 0.0
    # boundary: min(mask, band); against a crowd track the plain tube IoU
    big = np.zeros((64, 64), bool)
    big[8:56, 8:56] = True
    shifted = np.roll(big, 3, axis=1)
    m = tube_iou_matrix([{"segmentations": [shifted]}], [{"segmentations": [big]}, {"segmentations": [big],
                                                                                    "iscrowd": 1}],
                        64, 64, iou_type="boundary")
    assert m[0, 1] == pytest.approx(tube_iou([shifted], [big], 64, 64))
    assert m[0, 1] > m[0, 0] > 0


def test_results_files_rescore(tmp_path: Path) -> None:
    s = synthetic_ytvis(n_videos=2, n_frames=3, size=(96, 128), seed=5)
    (tmp_path / "gt.json").write_text(json.dumps(s.annotations))
    (tmp_path / "res.json").write_text(json.dumps(s.results))
    assert ytvis_metrics(tmp_path / "gt.json", tmp_path / "res.json") == ytvis_metrics(s.annotations, s.results)
    one = ytvis_metrics(s.annotations, s.results, video_ids=[1], iou_types=("mask",))
    only = [r for r in s.results if r["video_id"] == 1]
    sub = {**s.annotations, "videos": s.annotations["videos"][:1],
           "annotations": [a for a in s.annotations["annotations"] if a["video_id"] == 1]}
    _assert_close(one["mask"], brute_force(sub, only, boundary=False))


def test_bad_files_are_named(tmp_path: Path) -> None:
    s = synthetic_ytvis(n_videos=1, n_frames=3, size=(64, 96), seed=1)
    ann = load_ytvis_annotations(s.annotations)
    assert all(a["areas"] and a["bboxes"] for a in ann["annotations"])
    bad = json.loads(json.dumps(s.results))
    bad[0]["segmentations"] = bad[0]["segmentations"][:2]
    with pytest.raises(YtvisFormatError, match=r"result 0 \(video 1 'synthetic-00'\): 'segmentations' has 2 entries"):
        load_ytvis_results(bad, ann)
    bad = json.loads(json.dumps(s.results))
    bad[0]["segmentations"][0] = {"size": [10, 10], "counts": "abc"}
    with pytest.raises(YtvisFormatError, match=r"segmentations\[0\] \(frame 'synthetic-00/00000.jpg'\): RLE size"):
        load_ytvis_results(bad, ann)
    with pytest.raises(YtvisFormatError, match="video_id 7, not a video"):
        load_ytvis_results([{**s.results[0], "video_id": 7}], ann)
    with pytest.raises(YtvisFormatError, match="score"):
        load_ytvis_results([{**s.results[0], "score": float("nan")}], ann)
    broken = {**s.annotations, "videos": [{**s.annotations["videos"][0], "file_names": ["../x.jpg"]}]}
    with pytest.raises(YtvisFormatError, match="relative paths"):
        load_ytvis_annotations(broken)
    (tmp_path / "a.json").write_text("{not json")
    with pytest.raises(YtvisFormatError, match="a.json.*not valid JSON"):
        load_ytvis_annotations(tmp_path / "a.json")
    no_gt = {k: v for k, v in s.annotations.items() if k != "annotations"}
    assert load_ytvis_annotations(no_gt)["annotations"] == []
    with pytest.raises(ValueError, match="no ground-truth track"):
        ytvis_metrics(no_gt, [])
