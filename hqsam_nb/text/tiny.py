"""A tiny GroundingDINO with random weights, built from a config: the detector of the tests and of CI.

No weights can be downloaded in CI (nor on a laptop without network), yet the text-prompt notebook and the
tests must run the real code path: this module builds a GroundingDINO with a Swin backbone of embed_dim 8, a
BERT text encoder of hidden size 8 and d_model 32 (about 0.2 M parameters), a small BERT vocabulary that keeps
the token ids GroundingDINO hard-codes (``[CLS]`` = 101, ``[SEP]`` = 102, ``"."`` = 1012, ``"?"`` = 1029), saves
it with ``save_pretrained`` and loads it through :func:`~hqsam_nb.text.load_detector`, as a downloaded model
would be. Its boxes and scores are **random**: they show the plumbing, never what a detector finds.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..models.checkpoints import CheckpointUnavailableError, cache_dir
from .detectors import RANDOM_MARKER, TextDetector, _quiet_transformers, load_detector

logger = logging.getLogger(__name__)

__all__ = ["TINY_WORDS", "build_tiny_vocab", "load_detector_or_random", "save_tiny_random_detector",
           "tiny_random_detector"]

#: Words the tiny vocabulary knows (anything else reads as ``[UNK]``): COCO-like names and the package's samples.
TINY_WORDS: tuple[str, ...] = (
    "a", "an", "the", "and", "of", "on", "in", "with", "left", "right", "small", "big", "red", "white", "black",
    "person", "man", "woman", "astronaut", "face", "hand", "helmet", "flag", "rocket", "cup", "coffee", "mug",
    "camera", "cameraman", "tripod", "coin", "coins", "cat", "dog", "horse", "bird", "bicycle", "car", "bus",
    "tree", "flower", "building", "window", "door", "chair", "table", "plate", "bottle", "clock", "book",
    "ball", "box", "circle", "square", "disk", "ring", "stripe", "fence", "wire", "leaf", "object", "thing",
    "rice", "grain", "moon", "rocks", "text", "page", "street", "sign", "sky", "grass", "water",
)
_SPECIAL_IDS = {"[PAD]": 0, "[UNK]": 100, "[CLS]": 101, "[SEP]": 102, "[MASK]": 103, ".": 1012, "?": 1029}
_VERSION = "3"  # bump when the recipe changes: cached folders of another version are rebuilt


def build_tiny_vocab() -> dict[str, int]:
    """A WordPiece vocabulary with BERT's special ids (and ``.`` = 1012, ``?`` = 1029) plus :data:`TINY_WORDS`."""
    by_id = {i: t for t, i in _SPECIAL_IDS.items()}
    size = 1030 + len(TINY_WORDS)
    tokens = [by_id.get(i, f"[unused{i}]") for i in range(1030)] + list(TINY_WORDS)
    assert len(tokens) == size
    return {t: i for i, t in enumerate(tokens)}


#: Scales of the tiny GroundingDINO's output heads (see :func:`_spread_outputs`), chosen so that on any image
#: the 16 queries' scores spread over about (0.05, 0.95) around 0.5 and the boxes over about 5-60 % of the
#: image's side, anywhere in it.
_SPREAD = {"text_norm_gain": 0.3, "text_offset": 2.0, "decoder_norm_gain": 0.5, "score_offset": -1.5,
           "proposal_xy": 0.5, "proposal_wh": 1.0, "proposal_wh_bias": 0.7, "refine_xy": 0.1, "refine_wh": 0.1,
           "refine_wh_bias": 0.3}


def _spread_outputs(model: Any, seed: int) -> None:
    """Give the random GroundingDINO a detector's *spread* of outputs (the values stay random), from ``seed``.

    With ``transformers``' initialisation the tiny model's outputs teach nothing: the box heads' last layers
    start at zero (DETR's recipe), so every box is its grid proposal and all have one of four sizes; the score
    is a dot product of random 32-d features, max over the caption's tokens, so every box scores 0.9 or more.
    Three changes, drawn from a generator seeded with ``seed``:

    * text features = a direction ``u`` shared by every token + a little token noise (the text encoder's last
      layer norm), so that a query's score depends on the *query* (its decoder feature along ``u``) more than
      on the max over tokens; the decoder's last layer norm sets the spread and centres it (``score_offset``);
    * the proposal box head (two-stage query selection) gets random last-layer weights: proposals move and
      change size with the image's features;
    * the decoder's box refinement gets small random weights: boxes move a little more per layer.

    Boxes and scores remain the output of random weights run through the real model; only their spread is set.
    """
    import torch

    gen = torch.Generator().manual_seed(int(seed) + 1)
    p = _SPREAD
    d_model = model.config.d_model
    with torch.no_grad():
        u = torch.randn(d_model, generator=gen)
        u = (u - u.mean()) / (u - u.mean()).norm()  # zero mean: a layer norm's output keeps its projection on u
        text_norm = model.model.encoder.layers[-1].text_enhancer_layer.layer_norm_after
        text_norm.weight.mul_(p["text_norm_gain"])
        text_norm.bias.copy_(p["text_offset"] * u)
        decoder_norm = model.model.decoder.layer_norm
        decoder_norm.weight.mul_(p["decoder_norm_gain"])
        decoder_norm.bias.copy_(p["score_offset"] / p["text_offset"] * u)  # adds score_offset to every logit

        def spread(mlp: Any, xy: float, wh: float, wh_bias: float) -> None:
            for layer in mlp.layers:  # unit-scale hidden features, then the last layer's scales per coordinate
                layer.weight.normal_(0.0, layer.in_features ** -0.5, generator=gen)
                layer.bias.zero_()
            last = mlp.layers[-1]
            last.weight[:2].mul_(xy)
            last.weight[2:].mul_(wh)
            last.bias[2:] = wh_bias  # larger boxes than the proposals' 5 % of the side

        spread(model.model.encoder_output_bbox_embed, p["proposal_xy"], p["proposal_wh"], p["proposal_wh_bias"])
        spread(model.bbox_embed[0], p["refine_xy"], p["refine_wh"], p["refine_wh_bias"])  # shared by every level


def _build_owlv2(folder: Path, seed: int) -> None:
    """A tiny OWLv2: ViT and text transformer of width 8, 64 px input, a character-level CLIP BPE vocabulary."""
    import string

    import torch
    from transformers import CLIPTokenizer, Owlv2Config, Owlv2ForObjectDetection, Owlv2ImageProcessor, Owlv2Processor

    vocab = {c: i for i, c in enumerate(string.ascii_lowercase)}
    vocab.update({c + "</w>": len(vocab) + i for i, c in enumerate(string.ascii_lowercase)})
    eot, sot = len(vocab), len(vocab) + 1  # OWLv2 treats a query whose first id is 0 as padding: no 0 for sot
    vocab.update({"<|endoftext|>": eot, "<|startoftext|>": sot})
    width = {"hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 1}
    config = Owlv2Config(
        text_config={**width, "vocab_size": len(vocab), "max_position_embeddings": 16, "bos_token_id": sot,
                     "eos_token_id": eot, "pad_token_id": eot},
        vision_config={**width, "image_size": 64, "patch_size": 16}, projection_dim=8)
    setattr(config, RANDOM_MARKER, True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Owlv2ForObjectDetection(config).eval()
    processor = Owlv2Processor(image_processor=Owlv2ImageProcessor(size={"height": 64, "width": 64}),
                               tokenizer=CLIPTokenizer(vocab=vocab, merges=[]))
    with _quiet_transformers():
        model.save_pretrained(folder)
        processor.save_pretrained(folder)


def _build(folder: Path, seed: int) -> None:
    import torch
    from transformers import (
        BertConfig,
        BertTokenizer,
        GroundingDinoConfig,
        GroundingDinoForObjectDetection,
        GroundingDinoImageProcessor,
        GroundingDinoProcessor,
        SwinConfig,
    )

    vocab = build_tiny_vocab()
    backbone = SwinConfig(embed_dim=8, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1], window_size=7,
                          out_indices=[2, 3, 4])
    text = BertConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=1, intermediate_size=16,
                      vocab_size=len(vocab), max_position_embeddings=256)
    config = GroundingDinoConfig(
        backbone_config=backbone.to_dict(), text_config=text.to_dict(), d_model=32, num_queries=16,
        encoder_layers=1, decoder_layers=2,  # decoder_layers=1 fails in post_init
        encoder_ffn_dim=32, decoder_ffn_dim=32, encoder_attention_heads=2, decoder_attention_heads=2,
        max_text_len=256)
    setattr(config, RANDOM_MARKER, True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = GroundingDinoForObjectDetection(config).eval()
    _spread_outputs(model, seed)
    processor = GroundingDinoProcessor(
        image_processor=GroundingDinoImageProcessor(size={"shortest_edge": 256, "longest_edge": 384}),
        tokenizer=BertTokenizer(vocab=vocab, do_lower_case=True))
    with _quiet_transformers():
        model.save_pretrained(folder)
        processor.save_pretrained(folder)


def save_tiny_random_detector(folder: str | os.PathLike | None = None, *, seed: int = 0,
                              family: str = "grounding-dino") -> Path:
    """Build the tiny random GroundingDINO (or OWLv2) and save it (``save_pretrained``) into ``folder``.

    Args:
        folder: where to write it; None: ``<hqsam_nb cache>/detectors/tiny-random-<family>-seed<seed>``,
            reused when already there.
        seed: the ``torch`` seed of its weights (the global RNG is left as it was).
        family: ``"grounding-dino"`` or ``"owlv2"`` (a ~9 k-parameter OWLv2 with a character-level vocabulary).

    Returns:
        The folder (``config.json``, ``model.safetensors``, processor and tokenizer files).
    """
    builders = {"grounding-dino": _build, "owlv2": _build_owlv2}
    if family not in builders:
        raise ValueError(f"family={family!r}; accepted: {', '.join(builders)}")
    if folder is None:
        target = cache_dir() / "detectors" / f"tiny-random-{family}-seed{seed}"
        marker = target / "RANDOM_WEIGHTS.txt"
        if marker.is_file() and f"recipe {_VERSION}," in marker.read_text():
            return target
    else:
        target = Path(folder).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tiny-detector-", dir=target.parent))
    try:  # built aside and moved into place whole: a crash never leaves a half-written folder to be loaded
        builders[family](staging, seed)
        (staging / "RANDOM_WEIGHTS.txt").write_text(
            f"hqsam_nb tiny random {family}, recipe {_VERSION}, seed {seed}: random weights, boxes mean nothing\n")
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except OSError:
        if not (target / "config.json").is_file():  # another process built it at the same moment: use theirs
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("saved a tiny random %s (seed %d) to %s", family, seed, target)
    return target


def tiny_random_detector(*, seed: int = 0, device: str | None = "cpu", family: str = "grounding-dino") -> TextDetector:
    """A tiny GroundingDINO (or OWLv2: ``family="owlv2"``) with **random weights**, loaded through
    :func:`~hqsam_nb.text.load_detector`.

    For tests, CI and offline exploration of the code path: its ``detect`` runs the real processor, model and
    post-processing, but its boxes are random (``detector.random_weights`` is True; figures say so). About
    0.2 M parameters; a detection takes a few tens of milliseconds on a CPU.
    """
    return load_detector(save_tiny_random_detector(seed=seed, family=family), device=device)


def load_detector_or_random(name_or_path: str | os.PathLike = "random", *, revision: str | None = None,
                            device: str | None = None) -> TextDetector:
    """:func:`~hqsam_nb.text.load_detector`, or the tiny random detector when the weights cannot be had.

    For notebooks, which must run in CI (no network, no weights) as on a laptop with the real detector:
    ``"random"`` gives :func:`tiny_random_detector` at once; anything else is loaded, and when it is neither
    cached nor downloadable the one-line reason is logged as a warning and the random detector returned
    (``detector.random_weights`` says which happened; :func:`~hqsam_nb.show_detector_banner` shows it).
    """
    if str(name_or_path) == "random":
        return tiny_random_detector(device=device)
    try:
        return load_detector(name_or_path, revision=revision, device=device)
    except CheckpointUnavailableError as exc:
        logger.warning("%s Using the tiny RANDOM detector instead: boxes are noise.", exc)
        return tiny_random_detector(device=device)
