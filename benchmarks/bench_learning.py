"""Real learning, measured: the HQ token's held-out mBIoU before and after training, on a frozen random SAM.

``vit_tiny`` with random SAM weights (seeded; no download), HQ additions freshly initialised, synthetic thin
structures (wires, fences, twigs, window frames, outlined letters) at 256 x 256, box prompts, a fixed seed. The
held-out scenes are drawn with another seed than the training scenes (no scene is in both). Before = the
untrained HQ token (step 0) on the same frozen model; after = the trained one. SAM's branch is shown for
reference: with random weights it is noise, and it does not change (SAM is frozen).

It runs :func:`hqsam_nb.training.train` with :meth:`hqsam_nb.training.Recipe.cpu_demo` (the documented CPU
deviations from the paper's recipe: feature cache, no augmentation, lr 3e-3 with cosine decay, box prompts, balanced
BCE, the early feature's layer trained as if that feature were standardised); the
run folder keeps the state, so an interrupted benchmark continues when run again with the same arguments.

Usage::

    # the README's figure (~55 min on 2 cores); the same command again continues after an interruption
    python benchmarks/bench_learning.py --out runs/learning --train 120 --threads 2 --epochs 60 --validate-every 4
    python benchmarks/bench_learning.py --out runs/learning --restart  # discard the run, start afresh

Prints the before/after table and the per-scene boundary IoU; writes ``curves.png``, ``before_after.png`` and
``summary.json`` into ``--out``.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
import torch

from hqsam_nb.evaluation import tight_box
from hqsam_nb.io.atomic import atomic_write_json
from hqsam_nb.io.exports import save_figure
from hqsam_nb.metrics import boundary_iou, mask_iou
from hqsam_nb.training import Recipe, before_after_figure, synthetic_training_data, train


def _box_fill_scores(mask: np.ndarray) -> tuple[float, float]:
    """IoU and boundary IoU of the mask that fills the prompt (the tight box): what a model that knows only the
    box scores, the yardstick for a thin structure."""
    x0, y0, x1, y1 = (int(round(v)) for v in tight_box(mask))
    filled = np.zeros_like(mask)
    filled[y0:y1 + 1, x0:x1 + 1] = True
    return mask_iou(mask, filled), boundary_iou(mask, filled)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="run folder (state, checkpoint, curves)")
    parser.add_argument("--train", type=int, default=200, help="training scenes")
    parser.add_argument("--val", type=int, default=24, help="held-out scenes (>= 20)")
    parser.add_argument("--size", type=int, default=256, help="scene side in pixels")
    parser.add_argument("--epochs", type=int, default=None, help="default: the cpu_demo recipe's")
    parser.add_argument("--batch", type=int, default=None, help="images per step; default: the recipe's")
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--validate-every", type=int, default=2, help="epochs between validations")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--restart", action="store_true", help="discard a run in --out first")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    changes = {k: v for k, v in (("epochs", args.epochs), ("batch_size", args.batch), ("lr", args.lr)) if v}
    recipe = Recipe.cpu_demo(seed=args.seed, **changes)
    size = (args.size, args.size)
    data = synthetic_training_data(args.train, seed=0, size=size)
    held_out = synthetic_training_data(args.val, seed=1, size=size)
    out = Path(args.out)
    t0 = time.perf_counter()
    result = train(data, out, model="vit_tiny", recipe=recipe, validation=held_out, restart=args.restart,
                   validate_every=args.validate_every, cache_dir=out / "features", save_every=25)
    first, last = result.history["validation"][0], result.history["validation"][-1]
    print(f"\nvit_tiny, random frozen SAM (seed {recipe.seed}), {len(data)} training scenes, {len(held_out)} held-out "
          f"scenes {args.size}x{args.size}, box prompts, {result.steps} steps of {recipe.batch_size} objects")
    print(f"{'':24s}{'mIoU':>8s}{'mBIoU':>8s}")
    for label, row in (("HQ token, untrained", first), ("HQ token, trained", last), ("SAM (frozen, random)", last)):
        key = "sam" if label.startswith("SAM") else "hq"
        print(f"{label:24s}{row['miou'][key]:8.3f}{row['mbiou'][key]:8.3f}")
    fill = np.array([_box_fill_scores(ex.mask) for ex in held_out])
    print(f"{'the prompt box, filled':24s}{fill[:, 0].mean():8.3f}{fill[:, 1].mean():8.3f}   (no model: the yardstick)")
    print(f"\n{'held-out scene':16s}{'BIoU before':>12s}{'BIoU after':>12s}")
    before = [e["biou"]["hq"] for e in first["examples"]]
    after = [e["biou"]["hq"] for e in last["examples"]]
    names = [e["name"] for e in last["examples"]]
    for name, b, a in zip(names, before, after, strict=True):
        print(f"{name:16s}{b:12.3f}{a:12.3f}")
    print("\nheld-out HQ-token mBIoU by step (the curve): " + "  ".join(
        f"{v['step']}: {v['mbiou']['hq']:.3f}" for v in result.history["validation"]))
    better = int(np.sum(np.array(after) > np.array(before)))
    print(f"\n{better} of {len(names)} held-out scenes improved; "
          f"this call: {result.steps_run} steps in {time.perf_counter() - t0:.0f} s")
    import matplotlib

    matplotlib.use("Agg")
    fig = before_after_figure(before, after, names, title="HQ token on held-out scenes: untrained vs trained "
                              "(same frozen random SAM)")
    save_figure(out / "before_after.png", fig)
    atomic_write_json(out / "summary.json", {
        "recipe": recipe.to_dict(), "train_scenes": len(data), "held_out_scenes": len(held_out),
        "steps": result.steps, "before": {"miou": first["miou"], "mbiou": first["mbiou"]},
        "after": {"miou": last["miou"], "mbiou": last["mbiou"]},
        "per_scene_biou_hq": {n: [b, a] for n, b, a in zip(names, before, after, strict=True)},
        "curve": [[v["step"], v["mbiou"]["hq"]] for v in result.history["validation"]],
    })


if __name__ == "__main__":
    main()
