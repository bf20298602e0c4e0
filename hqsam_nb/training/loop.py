"""The training loop: SAM frozen, the HQ additions learn; resumable; one process or many (DDP).

:func:`train` is the whole run: check the data (refused before anything trains), build the model from its
start point, validate (step 0), then for every step: the global batch's examples, their views, the frozen
encoder's outputs (cached per view when the recipe allows), per object a prompt, the HQ token's logits, the loss,
one Adam step; at each epoch's end a validation; every ``save_every`` steps and at each epoch's end the state
(atomically). At the end the HQ-SAM checkpoint, ``history.json`` and ``curves.png``.

Reproducibility: all randomness is drawn from generators seeded by ``(recipe.seed, purpose, epoch, example)``
(:func:`sample_rng`), never from a global stream. So a sample gets the same view, prompt and loss points whatever
process or batch position it lands in: a two-process run equals a one-process run with the same global batch,
and a run resumed from its saved state ends with the weights of one that never stopped (on the same machine).

Global batch: ``recipe.batch_size`` images per process, ``batch_size * world`` per step. Epoch ``e`` visits the
examples in the order ``sample_rng(seed, "order", e).permutation(n)``; step ``s`` of it takes positions
``s * G ... (s + 1) * G - 1`` and rank ``r`` the ``r``-th block of ``batch_size`` of them. The last incomplete
global batch of an epoch is dropped (as the official ``DataLoader(drop_last=True)``).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..evaluation.datasets import Example
from ..io.atomic import atomic_write_json
from ..models.checkpoints import file_sha256
from ..models.provenance import WeightsProvenance, mark_fine_tuned, sidecar_path, write_sidecar
from ..runs import RunIdentity, open_run
from .augment import IDENTITY, apply_view, draw_view
from .data import DataSummary, check_training_data
from .distributed import Distributed, init_distributed
from .features import EncoderFeatures, FeatureCache, encode
from .loss import hq_loss
from .prompts import draw_prompt
from .recipe import Recipe, learning_rate
from .state import STATE_FILE, checkpoint_name, export_checkpoint, load_state, save_state
from .trainee import HQDecoderPass, StartPoint, start_model, trainable_state
from .validation import Validator, summarise

logger = logging.getLogger(__name__)

__all__ = ["CURVES_FILE", "HISTORY_FILE", "PURPOSES", "TrainResult", "run_identity", "sample_rng", "train"]

#: The run folder's history (losses, validations, run identity) and curves.
HISTORY_FILE = "history.json"
CURVES_FILE = "curves.png"
#: The parameter :attr:`Recipe.standardise_early` trains as if its input had unit scale: the weight of the
#: transposed convolution that reads the image encoder's early feature.
EARLY_LAYER = "mask_decoder.compress_vit_feat.0.weight"
#: Training images whose early feature sets that scale.
EARLY_RMS_IMAGES = 4

#: What each seeded generator is for (its index is part of the seed).
PURPOSES = ("order", "view", "fresh_view", "prompt", "loss")


def sample_rng(seed: int, purpose: str, *keys: int) -> np.random.Generator:
    """The generator for one purpose (:data:`PURPOSES`) and keys (epoch, example index, view ...)."""
    return np.random.default_rng([int(seed), PURPOSES.index(purpose), *(int(k) for k in keys)])


@dataclass
class TrainResult:
    """What :func:`train` produced.

    Attributes:
        checkpoint: the exported HQ-SAM checkpoint (None on ranks other than 0).
        out: the run folder.
        start: where the weights started.
        steps: global steps done in total; ``steps_run``: of them in this call (0 when it only re-exported).
        history: ``{"loss": [[step, loss, bce, dice, lr], ...], "validation": [{"step", "epoch", "miou", "mbiou",
            "examples"}, ...]}`` (loss: the weighted sum minimised; metrics as fractions; ``examples``: per-example
            scores of that validation).
        seconds: wall time of this call's steps; ``encoder_passes``, ``cache_hits``: of this call.
        peak_memory_mb: peak resident memory of this process (CPU) or peak CUDA memory allocated, in MiB.
        summary: what the data check found (sizes, content fingerprint).
        provenance: the exported checkpoint's provenance (``fine-tuned``, with its base, data and recipe; None on
            ranks other than 0).
        start_checkpoint: an HQ-SAM checkpoint holding the starting weights, untrained: the file given (an HQ-SAM
            start) or the one the run saved (a random start); None when the run started from an original SAM file
            (its fresh HQ additions were never saved).
    """

    checkpoint: Path | None
    out: Path
    start: StartPoint
    steps: int
    steps_run: int
    history: dict[str, Any]
    seconds: float
    encoder_passes: int
    cache_hits: int
    peak_memory_mb: float = 0.0
    summary: DataSummary | None = field(default=None, repr=False)
    provenance: WeightsProvenance | None = None
    start_checkpoint: Path | None = None

    @property
    def steps_per_second(self) -> float:
        return self.steps_run / self.seconds if self.seconds > 0 else float("nan")


class _Batcher:
    """Examples, views, encoder features and prompts of one step (this process's share)."""

    def __init__(self, data: Sequence[Example], recipe: Recipe, model: Any, cache: FeatureCache | None,
                 autocast_dtype: torch.dtype | None) -> None:
        self.data = data
        self.recipe = recipe
        self.model = model
        self.cache = cache
        self.autocast_dtype = autocast_dtype
        self.size = model.image_encoder.img_size
        self.encoder_passes = 0
        self.encoder_seconds = 0.0

    def view_of(self, epoch: int, index: int, mask: np.ndarray):
        r = self.recipe
        if r.jitter is None and not r.hflip:
            return 0, IDENTITY
        if r.cache_views is None:
            return None, draw_view(sample_rng(r.seed, "fresh_view", epoch, index), mask, hflip=r.hflip,
                                   jitter=r.jitter, img_size=self.size)
        v = epoch % r.cache_views
        return v, draw_view(sample_rng(r.seed, "view", index, v), mask, hflip=r.hflip, jitter=r.jitter,
                            img_size=self.size)

    def features(self, key: tuple[int, int] | None, image: np.ndarray) -> EncoderFeatures:
        found = self.cache.get(key) if (self.cache is not None and key is not None) else None
        if found is not None:
            return found.to(self.model.device)
        t0 = time.perf_counter()
        feats = encode(self.model, image, autocast_dtype=self.autocast_dtype)
        self.encoder_seconds += time.perf_counter() - t0
        self.encoder_passes += 1
        if self.cache is not None and key is not None:
            self.cache.put(key, feats)
        return feats

    def early_rms(self, count: int = EARLY_RMS_IMAGES) -> float:
        """The root mean square of the early feature over the first ``count`` training examples (their epoch-0
        views; cached like any step's features)."""
        squares = []
        for index in range(min(count, len(self.data))):
            ex = self.data[index]
            v, view = self.view_of(0, index, ex.mask)
            image, _ = apply_view(ex.image, ex.mask, view, self.size)
            squares.append(float(self.features(None if v is None else (index, v), image).early.double().pow(2).mean()))
        return float(np.sqrt(np.mean(squares)))

    def batch(self, epoch: int, indices: Sequence[int]):
        r = self.recipe
        feats, prompts, targets, seeds = [], [], [], []
        for index in indices:
            ex = self.data[int(index)]
            v, view = self.view_of(epoch, int(index), ex.mask)
            image, target = apply_view(ex.image, ex.mask, view, self.size)
            key = None if v is None else (int(index), v)
            feats.append(self.features(key, image))
            rng = sample_rng(r.seed, "prompt", epoch, index)
            prompts.append([draw_prompt(target, r.prompt_kinds, rng, n_points=r.n_points)
                            for _ in range(r.prompts_per_image)])
            t = torch.from_numpy(target)[None]
            targets += [t] * r.prompts_per_image
            seeds += [int(s) for s in sample_rng(r.seed, "loss", epoch, index).integers(0, 2**62,
                                                                                         r.prompts_per_image)]
        return feats, prompts, torch.stack(targets).to(self.model.device), seeds


def _optimizer(net: torch.nn.Module, recipe: Recipe, early_rms: float | None, *, fresh: bool) -> torch.optim.Adam:
    """Adam over the HQ additions: one parameter group, or with ``recipe.standardise_early`` two - the weight of
    :data:`EARLY_LAYER` with ``lr_scale = 1 / s`` and Adam's ``eps`` times ``s`` (kept in the optimizer's state,
    so a resumed run has them), and the rest. ``early_rms`` (``s``) is given on a fresh run only: then a freshly
    initialised weight is divided by it (see :attr:`Recipe.standardise_early`)."""
    trainable = [(n, p) for n, p in net.named_parameters() if p.requires_grad]
    adam = {"lr": recipe.lr, "betas": recipe.betas, "eps": 1e-8, "weight_decay": 0.0}
    if not recipe.standardise_early:
        return torch.optim.Adam([p for _, p in trainable], **adam)
    early = [p for n, p in trainable if n == EARLY_LAYER]
    if len(early) != 1:
        raise RuntimeError(f"standardise_early: the model has no trainable {EARLY_LAYER}")
    scale = 1.0
    if early_rms is not None:
        if not (np.isfinite(early_rms) and early_rms > 0):
            raise ValueError(f"standardise_early: the early feature's root mean square is {early_rms}; it must be "
                             f"a positive number (are the training images blank?)")
        scale = 1.0 / early_rms
        if fresh:
            with torch.no_grad():
                early[0].mul_(scale)
        logger.info("standardise_early: early feature RMS %.3g, %s lr x %.3g", early_rms, EARLY_LAYER, scale)
    rest = [p for n, p in trainable if n != EARLY_LAYER]
    # eps scaled too: Adam's step m / (sqrt(v) + eps) is then the same number for the weight as for the weight
    # of a standardised input (whose gradients are 1 / scale times larger), so the equivalence is exact
    groups = [{"params": early, "lr_scale": scale, "eps": adam["eps"] / scale}, {"params": rest, "lr_scale": 1.0}]
    return torch.optim.Adam(groups, **adam)


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    except ImportError:  # pragma: no cover - Windows
        return float("nan")


def run_identity(model: str, checkpoint: str | os.PathLike | None, recipe: Recipe, data: DataSummary,
                 validation: DataSummary | None, *, world: int, encoder_dtype: str | None,
                 data_name: str = "") -> RunIdentity:
    """A training run's identity (``run.json``): what a resumed run must share (the start's content by SHA-256, or
    the seed of random weights; the data's content; the recipe; the global batch; the encoder dtype) and what is
    only recorded (the start's path, the data's name, the number of processes)."""
    path = None if checkpoint is None else Path(checkpoint).expanduser().resolve()
    if path is not None and not path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist; pass an original SAM or HQ-SAM checkpoint "
                                f"of {model}")
    same = {"model": model, "start_sha256": None if path is None else file_sha256(path),
            "data_sha256": data.sha256, "examples": data.count,
            "validation_sha256": None if validation is None else validation.sha256,
            "recipe": recipe.to_dict(), "global_batch": recipe.batch_size * world, "encoder_dtype": encoder_dtype}
    recorded = {"start_checkpoint": None if path is None else str(path), "data": data_name, "processes": world}
    return RunIdentity("train", same=same, recorded=recorded)


def _fine_tuned_details(start: StartPoint, recipe: Recipe, summary: DataSummary, data_name: str,
                        history: dict[str, Any], steps: int, steps_per_epoch: int) -> dict[str, Any]:
    how = (f"hqsam_nb.training: HQ additions only, Adam lr {recipe.lr:g} ({recipe.lr_schedule}), "
           f"{'/'.join(recipe.prompt_kinds)} prompts")
    if start.kind == "random":
        how += f"; trained on RANDOM frozen SAM weights (seed {start.seed}): SAM's masks are noise"
    if recipe.standardise_early:
        how += f"; early layer trained as if its input had unit scale (RMS {history.get('early_feature_rms', 0):.3g})"
    last = history["validation"][-1] if history["validation"] else None
    return {"data": f"{data_name or 'training data'} ({summary.count} examples, content {summary.sha256[:12]})",
            "recipe": how, "epochs": steps // steps_per_epoch, "steps": steps, "seed": recipe.seed,
            "start_kind": start.kind, "recipe_settings": recipe.to_dict(),
            "validation_mbiou_hq": None if last is None else last["mbiou"]["hq"]}


def train(data: Sequence[Example], out: str | os.PathLike, *, model: str = "vit_tiny",
          checkpoint: str | os.PathLike | None = None, recipe: Recipe | None = None,
          validation: Sequence[Example] | None = None, restart: bool = False, device: str | None = None,
          save_every: int = 50, validate_every: int = 1, cache_bytes: int | None = None,
          cache_dir: str | os.PathLike | None = None, encoder_dtype: str | None = None, progress: bool = True,
          plots: bool = True, distributed: Distributed | None = None,
          on_step: Callable[[int, float], None] | None = None) -> TrainResult:
    """Train HQ-SAM's HQ additions on ``data``; SAM stays frozen.

    A run folder holding a run with the same settings is resumed from its last saved step (run the same call or
    command again after an interruption); one with other settings is refused (:mod:`hqsam_nb.runs`).

    Args:
        data: training examples (``name``, RGB ``uint8`` image, ``bool`` mask): :func:`open_training_data`.
        out: the run folder: ``run.json``, ``state.pt``, the checkpoint and its provenance sidecar,
            ``history.json``, ``curves.png`` (and for a random start the starting weights, so that the
            checkpoint's provenance can name its base by SHA-256).
        model: ``"vit_tiny"`` (Light HQ-SAM), ``"vit_b"``, ``"vit_l"`` or ``"vit_h"``.
        checkpoint: the start: an original SAM checkpoint (fresh HQ additions), an HQ-SAM checkpoint
            (fine-tuning), or None for random SAM weights (:func:`~hqsam_nb.training.trainee.start_model`).
        recipe: the settings (default: :meth:`Recipe.official`).
        validation: held-out examples scored at step 0 and after every ``validate_every`` epochs, or None.
        restart: discard a previous run in ``out`` first.
        device: None (CUDA if available, else CPU; under torchrun ``cuda:LOCAL_RANK``) or a device.
        save_every: save the state every this many steps (and at every epoch's end).
        validate_every: validate after every this many epochs (and after the last).
        cache_bytes: memory budget of the feature cache (None: unlimited); only with ``recipe.cache_views``.
        cache_dir: also keep the cached features on disk there (reused by later runs with the same weights,
            data and views; with several processes only rank 0 writes there, the others read).
        encoder_dtype: None or ``"bfloat16"`` (GPU): autocast for the frozen image encoder.
        progress: a progress bar (rank 0).
        plots: write ``curves.png``.
        distributed: the process group (default: :func:`init_distributed`, joining torchrun's if there is one).
        on_step: called on rank 0 after every step with ``(step, loss)``.

    Raises:
        TrainingDataError / DatasetError: bad data, before anything is built or trained.
        ValueError: ``out`` holds a run with other settings (named); fewer examples than one global batch.
        CheckpointError, FileNotFoundError: the start checkpoint.
    """
    recipe = recipe or Recipe.official()
    if encoder_dtype not in (None, "bfloat16"):
        raise ValueError(f"encoder_dtype={encoder_dtype!r} is not accepted; use None or 'bfloat16'")
    for name, value in (("save_every", save_every), ("validate_every", validate_every)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    dist_ = distributed or init_distributed(device)
    out = Path(out).expanduser()
    global_batch = recipe.batch_size * dist_.world
    if len(data) < global_batch:
        raise ValueError(f"{len(data)} training examples are fewer than one global batch ({recipe.batch_size} "
                         f"per process x {dist_.world} processes)")
    summary = check_training_data(data)
    val_summary = check_training_data(validation) if validation is not None else None
    data_name = str(getattr(data, "name", ""))
    identity = run_identity(model, checkpoint, recipe, summary, val_summary, world=dist_.world,
                            encoder_dtype=encoder_dtype, data_name=data_name)
    ckpt_path = out / checkpoint_name(model)
    start_path = out / f"start_{model}_random_seed{recipe.seed}.pth"
    results = (STATE_FILE, ckpt_path.name, sidecar_path(ckpt_path).name, HISTORY_FILE, CURVES_FILE,
               start_path.name, sidecar_path(start_path).name)
    dist_.on_main(lambda: open_run(out, identity, results=results, restart=restart))
    autocast_dtype = None if encoder_dtype is None else torch.bfloat16

    net, start = start_model(model, checkpoint=checkpoint, seed=recipe.seed, device=dist_.device)
    base_sha256 = start.sha256
    if start.kind == "random":  # keep the starting weights, so that the result's provenance names its base
        base_sha256 = dist_.on_main(lambda: _save_start(net, start_path, start), share=True)
    steps_per_epoch = len(data) // global_batch
    total_steps = recipe.epochs * steps_per_epoch
    decoder_pass = HQDecoderPass(net)

    cache = None
    if recipe.cache_views is not None:
        fingerprint = json.dumps({k: identity.same[k] for k in ("model", "start_sha256", "data_sha256",
                                                                "encoder_dtype")}, sort_keys=True)
        fingerprint += json.dumps({k: recipe.to_dict()[k] for k in ("hflip", "jitter", "cache_views", "seed")})
        cache = FeatureCache(max_bytes=cache_bytes, folder=cache_dir, fingerprint=fingerprint,
                             writable=dist_.is_main)
    batcher = _Batcher(data, recipe, net, cache, autocast_dtype)

    history: dict[str, Any] = {"loss": [], "validation": []}
    step = 0
    state_path = out / STATE_FILE
    resuming = state_path.exists()
    early_rms = None
    if recipe.standardise_early and not resuming:
        early_rms = dist_.on_main(batcher.early_rms, share=True)
        history["early_feature_rms"] = early_rms
    optimizer = _optimizer(net, recipe, early_rms, fresh=start.kind != "hq-sam")
    if resuming:
        saved = load_state(state_path)
        _, unexpected = net.load_state_dict(saved["trainable"], strict=False)
        if unexpected or set(saved["trainable"]) != set(trainable_state(net)):
            raise ValueError(f"{state_path} does not hold this model's HQ additions; restart the run")
        optimizer.load_state_dict(saved["optimizer"])
        history, step = saved["history"], int(saved["step"])
        logger.info("resuming %s at step %d of %d", out, step, total_steps)
    runner: torch.nn.Module = decoder_pass
    if dist_.active:
        from torch.nn.parallel import DistributedDataParallel

        runner = DistributedDataParallel(decoder_pass, device_ids=[dist_.device] if dist_.device.type == "cuda"
                                         else None)

    validator = None
    if validation is not None:
        validator = Validator(net, validation, rank=dist_.rank, world=dist_.world)

    def validate(epoch: int) -> None:
        if validator is None or any(v["step"] == step for v in history["validation"]):
            return
        rows = dist_.gather(validator(decoder_pass))
        record = {"step": step, "epoch": epoch, **summarise(rows), "examples": [r.to_dict() for r in rows]}
        history["validation"].append(record)
        logger.info("validation at step %d (epoch %d): HQ token mIoU %.3f mBIoU %.3f", step, epoch,
                    record["miou"]["hq"], record["mbiou"]["hq"])

    def save() -> None:
        if dist_.is_main:
            save_state(state_path, {"step": step, "trainable": trainable_state(net),
                                    "optimizer": optimizer.state_dict(), "history": history})

    if step == 0 and not history["validation"]:
        validate(0)
    bar = None
    if progress and dist_.is_main and step < total_steps:
        from tqdm.auto import tqdm

        bar = tqdm(total=total_steps, initial=step, desc=f"training {model}", unit="step")
    start_step, t0 = step, time.perf_counter()
    orders: dict[int, np.ndarray] = {}
    while step < total_steps:
        epoch, pos = divmod(step, steps_per_epoch)
        if epoch not in orders:
            orders = {epoch: sample_rng(recipe.seed, "order", epoch).permutation(len(data))}
        block = orders[epoch][pos * global_batch:(pos + 1) * global_batch]
        mine = block[dist_.rank * recipe.batch_size:(dist_.rank + 1) * recipe.batch_size]
        lr = learning_rate(recipe, step, steps_per_epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)
        feats, prompts, targets, seeds = batcher.batch(epoch, mine)
        logits = runner(feats, prompts)
        parts = hq_loss(logits, targets, seeds, n_points=recipe.loss_points,
                        oversample_ratio=recipe.oversample_ratio, importance_ratio=recipe.importance_ratio,
                        balanced=recipe.balanced_bce)
        loss = recipe.loss_weights[0] * parts.bce + recipe.loss_weights[1] * parts.dice
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        values = [dist_.all_mean(float(x.detach())) for x in (loss, parts.bce, parts.dice)]
        history["loss"].append([step, *values, lr])
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{values[0]:.3f}")
        if on_step is not None and dist_.is_main:
            on_step(step, values[0])
        epoch_end = step % steps_per_epoch == 0
        if epoch_end and ((step // steps_per_epoch) % validate_every == 0 or step == total_steps):
            validate(step // steps_per_epoch)
        if epoch_end or step % save_every == 0 or step == total_steps:
            save()
    seconds = time.perf_counter() - t0
    if bar is not None:
        bar.close()

    def finish() -> WeightsProvenance:
        export_checkpoint(net, ckpt_path)
        details = _fine_tuned_details(start, recipe, summary, data_name, history, step, steps_per_epoch)
        provenance = mark_fine_tuned(ckpt_path, model=model, base_sha256=str(base_sha256), **details)
        atomic_write_json(out / HISTORY_FILE, {**identity.to_json(), "start_description": start.describe(),
                                               **history})
        if plots:
            from .plots import save_curves

            save_curves(history, out / CURVES_FILE, title=f"HQ-SAM {model}: HQ additions trained, SAM frozen")
        return provenance

    provenance = dist_.on_main(finish)
    start_file = {"random": start_path, "hq-sam": start.path}.get(start.kind)
    return TrainResult(ckpt_path if dist_.is_main else None, out, start, step, step - start_step, history, seconds,
                       batcher.encoder_passes, cache.hits if cache is not None else 0,
                       _peak_memory_mb(dist_.device), summary, provenance, start_file)


def _save_start(net: torch.nn.Module, path: Path, start: StartPoint) -> str:
    """Save the random starting weights (once) with a ``random`` provenance sidecar; their SHA-256."""
    if not path.exists():
        export_checkpoint(net, path)
        write_sidecar(path, "random", model=start.model, details={"seed": start.seed, "hq_additions": "fresh"})
    return file_sha256(path)
