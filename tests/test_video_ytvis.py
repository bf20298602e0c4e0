"""The YouTube-VIS set opened for prompting: prompt boxes per frame (the model's boxes or its masks' boxes, none
where a track is absent or empty), ground-truth prompts without crowd tracks, what a worker's copy carries, and
errors that name the file, video and field."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from hqsam_nb.io.coco_format import segmentation_to_mask
from hqsam_nb.io.ytvis_format import YtvisFormatError
from hqsam_nb.video import open_ytvis, write_synthetic_ytvis

SIZE = (96, 128)


@pytest.fixture(scope="module")
def syn(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_synthetic_ytvis(tmp_path_factory.mktemp("ytvis"), n_videos=3, n_frames=5, size=SIZE, seed=3)


def test_open_ytvis_prompts_and_checks(syn, tmp_path: Path) -> None:
    ds = open_ytvis(syn["annotations"], syn["frames"], syn["results"])
    results = json.loads(syn["results"].read_text())
    assert ds.names == ("synthetic-00", "synthetic-01", "synthetic-02") and ds.n_tracks() == len(results)
    assert [tr.index for v in ds for tr in v.tracks] == list(range(len(results)))
    for v in ds:
        for tr in v.tracks:
            r = results[tr.index]
            for t in range(len(v)):
                seg = r["segmentations"][t]
                empty = seg is None or not segmentation_to_mask(seg, v.height, v.width).any()
                assert tr.present(t) != empty  # absent or empty mask: no prompt
                if tr.present(t) and r.get("bboxes"):  # the model's box, XYXY
                    x, y, bw, bh = r["bboxes"][t]
                    np.testing.assert_allclose(tr.boxes[t], [x, y, x + bw, y + bh])
                elif tr.present(t):  # the box of its mask
                    ys, xs = np.nonzero(segmentation_to_mask(seg, v.height, v.width))
                    np.testing.assert_allclose(tr.boxes[t], [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    assert any(np.isnan(tr.boxes[:, 0]).any() for v in ds for tr in v.tracks)
    assert ds[0].frame(0).shape == (*SIZE, 3)
    oracle = open_ytvis(syn["annotations"], syn["frames"], videos=["synthetic-01"])
    gt = json.loads(syn["annotations"].read_text())["annotations"]
    assert [tr.index for tr in oracle[0].tracks] == [i for i, a in enumerate(gt) if a["video_id"] == 2
                                                     and not a["iscrowd"]]  # crowd tracks do not prompt
    assert len(open_ytvis(syn["annotations"], syn["frames"], syn["results"], limit=1)) == 1
    worker = pickle.loads(pickle.dumps(ds))  # what a Ray worker gets: frames and prompts, no ground truth
    np.testing.assert_array_equal(worker[1].tracks[0].boxes, ds[1].tracks[0].boxes)
    with pytest.raises(RuntimeError, match="without its ground truth"):
        _ = worker.annotations
    with pytest.raises(ValueError, match="not in the annotations"):
        open_ytvis(syn["annotations"], syn["frames"], videos=["nope"])
    with pytest.raises(FileNotFoundError, match="frames folder"):
        open_ytvis(syn["annotations"], tmp_path / "missing")
    (tmp_path / "JPEGImages" / "synthetic-00").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"frame file\(s\) named in the annotations"):
        open_ytvis(syn["annotations"], tmp_path / "JPEGImages")
    bad = json.loads(syn["results"].read_text())
    bad[2]["bboxes"] = [[0, 0, 1]] + [None] * 4
    with pytest.raises(YtvisFormatError, match=r"result 2 \(video 1 'synthetic-00'\): bboxes\[0\]"):
        open_ytvis(syn["annotations"], syn["frames"], bad)
