"""A YouTube-VIS set opened for prompting: the frames of each video and the tracks whose boxes prompt SAM.

Layout (YouTube-VIS 2019 / 2021, HQ-YTVIS, and :func:`~hqsam_nb.video.synthetic_ytvis.write_synthetic_ytvis`)::

    ytvis/
      train/JPEGImages/<video>/00000.jpg ...   frames (``file_names`` in the annotations are relative to
                                               JPEGImages/)
      annotations/ytvis_hq-test.json           videos, categories and (where public) ground-truth tracks

HQ-YTVIS re-annotates YouTube-VIS 2019 *train* videos: its ``ytvis_hq-{train,val,test}.json`` go with the 2019
``train/JPEGImages`` folder.

The tracks that prompt come from a VIS model's results file (the paper: Mask2Former's; its tracks, categories and
scores are kept) or, without one, from the ground truth's non-crowd tracks (an oracle ceiling, score 1). On each
frame a track prompts with its box there: the result's ``bboxes`` entry when it gives one, else the box of its
mask; a frame where the track's mask is missing or empty is not prompted (its output stays ``None``).

``dataset[i]`` is a :class:`YtvisVideo`: the prompt boxes of every track (small arrays) and the frame files,
read one at a time (:meth:`YtvisVideo.frame`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..io.coco_format import segmentation_to_rle, xywh_to_xyxy
from ..io.ytvis_format import YtvisFormatError, load_ytvis_annotations, load_ytvis_results, video_folder
from ..runs.identity import content_sha256, file_identity

__all__ = ["PROMPT_SOURCES", "YtvisDataset", "YtvisTrack", "YtvisVideo", "open_ytvis", "track_boxes"]

#: Where the prompting tracks come from: a VIS model's ``"results"``, or the ``"ground truth"`` (oracle).
PROMPT_SOURCES: tuple[str, ...] = ("results", "ground truth")


def track_boxes(track: Mapping[str, Any], height: int, width: int) -> np.ndarray:
    """One track's prompt box on each frame, ``float64`` ``(T, 4)`` ``XYXY`` pixels; a row of NaN where the
    track's mask is missing or empty. The box is the track's ``bboxes`` entry when it gives one with a positive
    width and height, else the box of its mask (pycocotools ``toBbox``, no decoding)."""
    from pycocotools import mask as mask_utils

    segs = track["segmentations"]
    given = track.get("bboxes") or [None] * len(segs)
    out = np.full((len(segs), 4), np.nan)
    for t, (seg, box) in enumerate(zip(segs, given, strict=True)):
        if seg is None:
            continue
        rle = segmentation_to_rle(seg, height, width)
        if not mask_utils.area(rle):
            continue
        if box is None or box[2] <= 0 or box[3] <= 0:
            box = mask_utils.toBbox(rle)
        out[t] = xywh_to_xyxy([box])[0]
    return out


@dataclass(frozen=True)
class YtvisTrack:
    """One prompting track.

    Attributes:
        index: its position in the results file (or, for ground-truth prompts, in the annotations' list).
        category_id: the category the VIS model gave it (kept in the output). score: its score (kept).
        boxes: ``float64`` ``(T, 4)`` ``XYXY`` pixels per frame of the video, NaN rows where it does not prompt.
    """

    index: int
    category_id: int
    score: float
    boxes: np.ndarray

    def present(self, t: int) -> bool:
        """Whether the track prompts on frame ``t``."""
        return not np.isnan(self.boxes[t, 0])


@dataclass(frozen=True)
class YtvisVideo:
    """One video: its id, folder name (the record's key), frame files and size, and the tracks that prompt."""

    video_id: int
    name: str
    frame_files: tuple[Path, ...]
    height: int
    width: int
    tracks: tuple[YtvisTrack, ...]

    def __len__(self) -> int:
        return len(self.frame_files)

    def frame(self, t: int) -> np.ndarray:
        """Frame ``t``, RGB ``uint8`` ``H x W x 3`` (read now; checked against the annotated size)."""
        from ..io.images import load_image

        image = load_image(self.frame_files[t])
        if image.shape[:2] != (self.height, self.width):
            raise YtvisFormatError(f"frame {str(self.frame_files[t])!r} is {image.shape[1]} x {image.shape[0]} "
                                   f"(W x H) but video {self.video_id} ({self.name!r}) is annotated as "
                                   f"{self.width} x {self.height}")
        return image


class YtvisDataset(Sequence[YtvisVideo]):
    """A YouTube-VIS set with its prompt tracks; build it with :func:`open_ytvis`.

    ``names`` are the videos' frame folders, in the annotations' order. ``annotations`` is the checked ground
    truth (videos, categories, tracks). A copy sent to a worker process (pickled, e.g. to a Ray actor) carries
    the frames and the prompts but not the ground-truth tracks, which can be hundreds of megabytes and which
    only the scoring, here, reads.
    """

    def __init__(self, annotations: dict[str, Any], frames_dir: Path, tracks: dict[int, list[YtvisTrack]],
                 prompts: str, *, source: str, results_source: str | None, source_sha256: str,
                 results_sha256: str | None) -> None:
        self._annotations: dict[str, Any] | None = annotations
        self.frames_dir = frames_dir
        self.prompts = prompts
        self.source = source
        self.results_source = results_source
        #: the inputs' content (SHA-256 of the files, or of the data given in memory), for the run identity
        self.source_sha256 = source_sha256
        self.results_sha256 = results_sha256
        self._videos = list(annotations["videos"])
        self._tracks = tracks

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_annotations"] = None
        return state

    @property
    def annotations(self) -> dict[str, Any]:
        if self._annotations is None:
            raise RuntimeError("this copy of the dataset was sent to a worker without its ground truth")
        return self._annotations

    @property
    def has_ground_truth(self) -> bool:
        """Whether the annotations hold ground-truth tracks (YouTube-VIS 2019 valid withholds them)."""
        return bool(self.annotations["annotations"])

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(video_folder(v) for v in self._videos)

    @property
    def video_ids(self) -> tuple[int, ...]:
        return tuple(v["id"] for v in self._videos)

    def __len__(self) -> int:
        return len(self._videos)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        v = self._videos[index]
        files = tuple(self.frames_dir / name for name in v["file_names"])
        return YtvisVideo(v["id"], video_folder(v), files, v["height"], v["width"], tuple(self._tracks[v["id"]]))

    def __iter__(self) -> Iterator[YtvisVideo]:
        for i in range(len(self)):
            yield self[i]

    def n_tracks(self) -> int:
        """How many tracks prompt, over the whole set."""
        return sum(len(t) for t in self._tracks.values())

    def n_frames(self) -> int:
        return sum(len(v["file_names"]) for v in self._videos)

    def __repr__(self) -> str:
        return (f"YtvisDataset({len(self)} videos, {self.n_frames()} frames, {self.n_tracks()} tracks from "
                f"{self.prompts}, frames in {str(self.frames_dir)!r})")


def open_ytvis(annotations: str | os.PathLike | Mapping[str, Any], frames: str | os.PathLike,
               results: str | os.PathLike | Sequence[Mapping[str, Any]] | None = None, *,
               limit: int | None = None, videos: Sequence[str] | None = None) -> YtvisDataset:
    """Open a YouTube-VIS set: check the annotations, that every frame file is there, and the results.

    Args:
        annotations: a YouTube-VIS annotation JSON path or dict
            (:func:`hqsam_nb.io.ytvis_format.load_ytvis_annotations`).
        frames: the folder ``file_names`` are relative to (``.../JPEGImages``).
        results: a VIS model's results (JSON path or list) whose tracks prompt; None prompts with the
            ground truth's non-crowd tracks (needs ground truth).
        limit: keep only the first ``limit`` videos (in the annotations' order).
        videos: keep only these videos (frame folder names), in the annotations' order.

    Raises:
        FileNotFoundError: the frames folder, or frame files named in the annotations, are missing.
        YtvisFormatError: malformed annotations or results. ValueError: unknown ``videos``, a bad ``limit``,
            ground-truth prompts without ground truth.
    """
    ann = load_ytvis_annotations(annotations)
    folder = Path(frames).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"frames folder {str(folder)!r} does not exist (it holds <video>/<frame>.jpg, "
                                "e.g. ytvis/train/JPEGImages)")
    kept = ann["videos"]
    if videos is not None:
        wanted = [videos] if isinstance(videos, str) else list(videos)
        known = {video_folder(v) for v in kept}
        unknown = [n for n in wanted if n not in known]
        if unknown:
            raise ValueError(f"videos {unknown[:5]} are not in the annotations (e.g. {sorted(known)[:3]})")
        kept = [v for v in kept if video_folder(v) in set(wanted)]
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be a positive int, got {limit!r}")
        kept = kept[:limit]
    missing = [str(Path(n)) for v in kept for n in v["file_names"] if not (folder / n).is_file()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} frame file(s) named in the annotations are not in {str(folder)!r}: "
                                f"{missing[:3]}{' ...' if len(missing) > 3 else ''}")
    sizes = {v["id"]: (v["height"], v["width"]) for v in ann["videos"]}
    if results is None:
        if not ann["annotations"]:
            raise ValueError("the annotations hold no ground-truth track to prompt with; give a VIS model's "
                             "results file")
        entries = [(i, a, 1.0) for i, a in enumerate(ann["annotations"]) if not a["iscrowd"]]
    else:
        entries = [(i, r, r["score"]) for i, r in enumerate(load_ytvis_results(results, ann))]
    keep = {v["id"] for v in kept}
    tracks: dict[int, list[YtvisTrack]] = {v: [] for v in keep}
    for i, entry, score in entries:
        if entry["video_id"] in keep:
            boxes = track_boxes(entry, *sizes[entry["video_id"]])
            tracks[entry["video_id"]].append(YtvisTrack(i, int(entry["category_id"]), float(score), boxes))
    ann = {**ann, "videos": kept, "annotations": [a for a in ann["annotations"] if a["video_id"] in keep]}
    src, src_sha = (file_identity(annotations) if isinstance(annotations, str | os.PathLike)
                    else ("<annotations dict>", content_sha256(annotations)))
    res_src, res_sha = (file_identity(results) if isinstance(results, str | os.PathLike | None)
                        else ("<results list>", content_sha256(list(results))))
    return YtvisDataset(ann, folder.resolve(), tracks, "ground truth" if results is None else "results",
                        source=str(src), results_source=res_src, source_sha256=str(src_sha), results_sha256=res_sha)
