"""SAM vs HQ-SAM through a clip: reading video lazily, DAVIS 2017, per-frame prompts, J&F, exports.

* :mod:`.reading` - :func:`open_video`: a video file (PyAV) or a folder of frames, decoded one frame at a time;
* :mod:`.davis` - the DAVIS layout, palette PNGs of object ids, :class:`DavisDataset`;
* :mod:`.synthetic` - moving thin structures with exact masks, written in the DAVIS layout;
* :mod:`.prompts` - each object's prompt per frame: tracker boxes (JSON), oracle boxes, propagation;
* :mod:`.tracking` - one encoder pass per frame for every object and branch (:func:`track_clip`);
* :mod:`.runner` - the resumable DAVIS evaluation (``hqsam-nb video``);
* :mod:`.exports` - SAM | HQ-SAM | difference clips as MP4 or GIF;
* :mod:`.plots` - J&F per frame, where two branches drift apart, rows of export frames;
* :mod:`.ytvis` - YouTube-VIS / HQ-YTVIS sets: frames and the tracks (a VIS model's or the ground truth's) whose
  boxes prompt; :mod:`.synthetic_ytvis` - a synthetic set with simulated VIS tracks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_face

if TYPE_CHECKING:
    from .davis import (
        DavisDataset,
        DavisError,
        DavisSequence,
        davis_palette,
        labels_to_masks,
        masks_to_labels,
        open_davis,
        read_label_png,
        write_label_png,
    )
    from .exports import comparison_frame, save_comparison, save_mp4
    from .plots import drift_frames, jf_per_frame, plot_jf_per_frame, show_pictures, weights_note
    from .prompts import (
        ObjectPrompt,
        OracleBoxes,
        PromptSource,
        Propagation,
        TrackerBoxes,
        interior_point,
        load_tracker_boxes,
        save_tracker_boxes,
    )
    from .reading import FrameFolder, VideoFile, VideoSource, open_video
    from .runner import (
        METRICS_FILE,
        PromptSpec,
        evaluate_sequence,
        markdown,
        result_masks,
        run_video_evaluation,
        score_sequence,
        summarize_sequences,
        video_run_identity,
    )
    from .synthetic import SyntheticClip, synthetic_clip, write_synthetic_davis
    from .synthetic_ytvis import SyntheticYtvis, write_synthetic_ytvis
    from .tracking import TrackedFrame, decode_frame, exclusive_masks, track_clip
    from .ytvis import YtvisDataset, YtvisTrack, YtvisVideo, open_ytvis
    from .ytvis_plots import show_track_frames, show_ytvis_video
    from .ytvis_protocol import (
        YtvisRun,
        evaluate_ytvis_video,
        run_ytvis_evaluation,
        track_differences,
        track_frames,
        ytvis_markdown,
        ytvis_results,
    )

#: Each public name -> the module that defines it (imported on first use: :mod:`hqsam_nb._lazy`).
_HOMES = {
    "DavisDataset": "davis",
    "DavisError": "davis",
    "DavisSequence": "davis",
    "FrameFolder": "reading",
    "METRICS_FILE": "runner",
    "ObjectPrompt": "prompts",
    "OracleBoxes": "prompts",
    "PromptSource": "prompts",
    "PromptSpec": "runner",
    "Propagation": "prompts",
    "SyntheticClip": "synthetic",
    "SyntheticYtvis": "synthetic_ytvis",
    "TrackedFrame": "tracking",
    "TrackerBoxes": "prompts",
    "VideoFile": "reading",
    "VideoSource": "reading",
    "YtvisDataset": "ytvis",
    "YtvisRun": "ytvis_protocol",
    "YtvisTrack": "ytvis",
    "YtvisVideo": "ytvis",
    "comparison_frame": "exports",
    "davis_palette": "davis",
    "decode_frame": "tracking",
    "drift_frames": "plots",
    "evaluate_sequence": "runner",
    "evaluate_ytvis_video": "ytvis_protocol",
    "exclusive_masks": "tracking",
    "interior_point": "prompts",
    "jf_per_frame": "plots",
    "labels_to_masks": "davis",
    "load_tracker_boxes": "prompts",
    "markdown": "runner",
    "masks_to_labels": "davis",
    "open_davis": "davis",
    "open_video": "reading",
    "open_ytvis": "ytvis",
    "plot_jf_per_frame": "plots",
    "read_label_png": "davis",
    "result_masks": "runner",
    "run_video_evaluation": "runner",
    "run_ytvis_evaluation": "ytvis_protocol",
    "save_comparison": "exports",
    "save_mp4": "exports",
    "save_tracker_boxes": "prompts",
    "score_sequence": "runner",
    "show_pictures": "plots",
    "show_track_frames": "ytvis_plots",
    "show_ytvis_video": "ytvis_plots",
    "summarize_sequences": "runner",
    "synthetic_clip": "synthetic",
    "track_clip": "tracking",
    "track_differences": "ytvis_protocol",
    "track_frames": "ytvis_protocol",
    "video_run_identity": "runner",
    "weights_note": "plots",
    "write_label_png": "davis",
    "write_synthetic_davis": "synthetic",
    "write_synthetic_ytvis": "synthetic_ytvis",
    "ytvis_markdown": "ytvis_protocol",
    "ytvis_results": "ytvis_protocol",
}
__all__ = [
    "DavisDataset", "DavisError", "DavisSequence", "FrameFolder", "METRICS_FILE", "ObjectPrompt", "OracleBoxes",
    "PromptSource", "PromptSpec", "Propagation", "SyntheticClip", "SyntheticYtvis", "TrackedFrame", "TrackerBoxes",
    "VideoFile", "VideoSource", "YtvisDataset", "YtvisRun", "YtvisTrack", "YtvisVideo", "comparison_frame",
    "davis_palette", "decode_frame", "drift_frames", "evaluate_sequence", "evaluate_ytvis_video", "exclusive_masks",
    "interior_point", "jf_per_frame", "labels_to_masks", "load_tracker_boxes", "markdown", "masks_to_labels",
    "open_davis", "open_video", "open_ytvis", "plot_jf_per_frame", "read_label_png", "result_masks",
    "run_video_evaluation", "run_ytvis_evaluation", "save_comparison", "save_mp4", "save_tracker_boxes",
    "score_sequence", "show_pictures", "show_track_frames", "show_ytvis_video", "summarize_sequences",
    "synthetic_clip", "track_clip", "track_differences", "track_frames", "video_run_identity", "weights_note",
    "write_label_png", "write_synthetic_davis", "write_synthetic_ytvis", "ytvis_markdown", "ytvis_results",
]
__getattr__, __dir__ = lazy_face(__name__, _HOMES)
