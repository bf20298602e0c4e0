"""Video evaluation on CPU: memory flat in the number of frames, and frames per second (vit_tiny, random weights).

Two measurements on a synthetic DAVIS-layout clip (``hqsam_nb.video.write_synthetic_davis``, small frames):

* **memory**: one sequence of ``--frames`` frames (default 200) through :func:`~hqsam_nb.video.evaluate_sequence`
  (lazy frame reading, prompts, both decoders, atomic PNG writes) and :func:`~hqsam_nb.video.score_sequence`;
  peak RSS (``ru_maxrss``) after ``--check-at`` frames (default 20) and after all of them. Flat means the second is
  within a few MB of the first. So that 200 frames take minutes on a shared CPU, the image-encoder pass is by
  default replaced by the first frame's cached result (``--real-encoder`` runs it every frame): the encoder holds
  nothing from one frame to the next beyond the pair's fixed-size LRU cache, which stays in place either way.
* **speed**: ``--fps-frames`` frames (default 10) with the real encoder: frames per second for every object and
  branch of a frame (one encoder pass, SAM's decoder and the HQ decoder), for oracle and propagation prompts.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_video.py
    python benchmarks/bench_video.py --frames 200 --check-at 20 --fps-frames 20 --model vit_tiny
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import warnings
from pathlib import Path

import hqsam_nb
from hqsam_nb import video


def rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stub_encoder(pair: hqsam_nb.PairPredictor) -> None:
    """Replace the encoder pass by the first frame's result (the frames of a clip share one size, so the state's
    shapes and sizes are right for every frame; no compute)."""
    real = pair._encode
    first: list = []

    def cached(rgb):
        if not first:
            first.append(real(rgb))
        else:
            pair.encoder_passes += 1
        return first[0]

    pair._encode = cached  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="vit_tiny")
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--check-at", type=int, default=20)
    parser.add_argument("--fps-frames", type=int, default=10)
    parser.add_argument("--size", type=int, nargs=2, default=(96, 128), metavar=("H", "W"))
    parser.add_argument("--objects", type=int, default=2)
    parser.add_argument("--real-encoder", action="store_true", help="run the encoder on every frame of the memory run")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    size = (int(args.size[0]), int(args.size[1]))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        ds = video.write_synthetic_davis(root / "davis", n_sequences=1, n_frames=args.frames, size=size,
                                         n_objects=args.objects)
        seq = ds.sequence(ds.names[0])
        print(f"synthetic clip: {args.frames} frames of {size[1]} x {size[0]}, {args.objects} objects, written in "
              f"{time.perf_counter() - t0:.1f} s")

        pair = hqsam_nb.load_pair(args.model, weights="random", device="cpu")
        if not args.real_encoder:
            stub_encoder(pair)
        marks: dict[str, float] = {"after loading": rss_mb()}

        def on_frame(t: int, _computed: bool) -> None:
            if t + 1 == args.check_at:
                marks[f"after {args.check_at} frames"] = rss_mb()

        t0 = time.perf_counter()
        timing = video.evaluate_sequence(pair, seq, root / "memory", video.Propagation(), on_frame=on_frame)
        marks[f"after {args.frames} frames"] = rss_mb()
        for b in ("sam", "hq", "fused"):
            video.score_sequence(seq, root / "memory" / b)
        marks[f"after {args.frames} frames + scoring"] = rss_mb()
        encoder = "real encoder" if args.real_encoder else "encoder pass cached"
        print(f"\nmemory run ({encoder}, propagation, 3 branches): {timing['computed']} frames in "
              f"{time.perf_counter() - t0:.1f} s")
        for name, mb in marks.items():
            print(f"  peak RSS {name:>32}: {mb:7.1f} MB")
        growth = marks[f"after {args.frames} frames + scoring"] - marks[f"after {args.check_at} frames"]
        print(f"  growth from frame {args.check_at} to {args.frames} (scoring included): {growth:+.1f} MB")

        print(f"\nspeed ({args.model}, CPU, {args.fps_frames} frames of {size[1]} x {size[0]}, {args.objects} objects, "
              "all three branches, real encoder every frame):")
        speed_root = root / "speed"
        sds = video.write_synthetic_davis(speed_root / "davis", n_sequences=1, n_frames=args.fps_frames, size=size,
                                          n_objects=args.objects, seed=11)
        sseq = sds.sequence(sds.names[0])
        pair = hqsam_nb.load_pair(args.model, weights="random", device="cpu")
        for name, source in (("oracle boxes", video.OracleBoxes()), ("propagation", video.Propagation())):
            pair.clear_cache()
            timing = video.evaluate_sequence(pair, sseq, speed_root / name.replace(" ", "_"), source)
            print(f"  {name:>13}: {timing['computed'] / timing['seconds']:.2f} frames/s "
                  f"({1e3 * timing['seconds'] / timing['computed']:.0f} ms per frame)")


if __name__ == "__main__":
    main()
