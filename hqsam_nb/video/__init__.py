"""SAM vs HQ-SAM through a clip: reading video lazily, DAVIS 2017, per-frame prompts, J&F, exports.

* :mod:`.reading` - :func:`open_video`: a video file (PyAV) or a folder of frames, decoded one frame at a time;
* :mod:`.davis` - the DAVIS layout, palette PNGs of object ids, :class:`DavisDataset`;
* :mod:`.synthetic` - moving thin structures with exact masks, written in the DAVIS layout;
* :mod:`.prompts` - each object's prompt per frame: tracker boxes (JSON), oracle boxes, propagation;
* :mod:`.tracking` - one encoder pass per frame for every object and branch (:func:`track_clip`);
* :mod:`.runner` - the resumable DAVIS evaluation (``python -m hqsam_nb.evaluate_video``);
* :mod:`.exports` - SAM | HQ-SAM | difference clips as MP4 or GIF;
* :mod:`.plots` - J&F per frame, where two branches drift apart, rows of export frames;
* :mod:`.ytvis` - YouTube-VIS / HQ-YTVIS sets: frames and the tracks (a VIS model's or the ground truth's) whose
  boxes prompt; :mod:`.synthetic_ytvis` - a synthetic set with simulated VIS tracks;
* :mod:`.ytvis_protocol` - the paper's video-instance protocol, resumable, Tube-Mask AP and Tube-Boundary AP;
  :mod:`.ytvis_plots` - its figures.
"""

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
    PromptSpec,
    evaluate_sequence,
    result_masks,
    run_video_evaluation,
    score_sequence,
    summarize_sequences,
)
from .synthetic import SyntheticClip, synthetic_clip, write_synthetic_davis
from .synthetic_ytvis import SyntheticYtvis, synthetic_ytvis, write_synthetic_ytvis
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

__all__ = ["DavisDataset", "DavisError", "DavisSequence", "FrameFolder", "ObjectPrompt", "OracleBoxes", "PromptSource",
           "PromptSpec", "Propagation", "SyntheticClip", "SyntheticYtvis", "TrackedFrame", "TrackerBoxes", "VideoFile",
           "VideoSource", "YtvisDataset", "YtvisRun", "YtvisTrack", "YtvisVideo", "comparison_frame", "davis_palette",
           "decode_frame", "drift_frames", "evaluate_sequence", "evaluate_ytvis_video", "exclusive_masks",
           "interior_point", "jf_per_frame", "labels_to_masks", "load_tracker_boxes", "masks_to_labels", "open_davis",
           "open_video", "open_ytvis", "plot_jf_per_frame", "read_label_png", "result_masks", "run_video_evaluation",
           "run_ytvis_evaluation", "save_comparison", "save_mp4", "save_tracker_boxes", "score_sequence",
           "show_pictures", "show_track_frames", "show_ytvis_video", "summarize_sequences", "synthetic_clip",
           "synthetic_ytvis", "track_clip", "track_differences", "track_frames", "weights_note", "write_label_png",
           "write_synthetic_davis", "write_synthetic_ytvis", "ytvis_markdown", "ytvis_results"]
