"""Open-vocabulary detectors from Hugging Face ``transformers``: a caption in, boxes in image pixels out.

GroundingDINO (``IDEA-Research/grounding-dino-tiny``, ``-base``) is what Grounded-SAM pairs with SAM; the
``transformers`` port needs no compiled operator (the original repository's custom CUDA op is what breaks
Grounded-SAM installs). OWLv2 (``google/owlv2-base-patch16-ensemble``) fits the same interface.

Weights come from the Hugging Face Hub at a pinned commit (:data:`PINNED_REVISIONS`), through
``huggingface_hub``'s cache; a cached snapshot is used without any network call, and a failed download is one
readable :class:`~hqsam_nb.models.checkpoints.CheckpointUnavailableError` (the checkpoints' own message
machinery, :func:`~hqsam_nb.models.checkpoints.call_hub`). A local folder written by ``save_pretrained`` works
too (that is how the tests and the CI notebook load a tiny random detector: :func:`tiny_random_detector`).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..io.images import ImageLike, as_rgb_uint8
from ..models.checkpoints import call_hub
from .detections import Detections, check_threshold, normalize_caption
from .phrases import CaptionPhrases

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_DETECTOR",
    "PINNED_REVISIONS",
    "RANDOM_MARKER",
    "GroundingDinoDetector",
    "Owlv2Detector",
    "TextDetector",
    "load_detector",
    "resolve_detector_folder",
]

DEFAULT_DETECTOR = "IDEA-Research/grounding-dino-tiny"

PINNED_REVISIONS: dict[str, str] = {
    # The commit every public pin of this repo we found names (model.safetensors SHA-256 1a2412ef...).
    "IDEA-Research/grounding-dino-tiny": "a2bb814dd30d776dcf7e30523b00659f4f141c71",
    "google/owlv2-base-patch16-ensemble": "cfd3195ba4ea9592eec887ded089f4c08eff231d",
}
"""Hub commits used when ``load_detector`` is given no ``revision``: a cached snapshot then needs no network,
and the weights cannot change under a notebook."""

RANDOM_MARKER = "hqsam_nb_random_weights"
"""Config attribute that :func:`tiny_random_detector` sets: the detector's weights are random."""

_FILES = ["*.json", "*.txt", "*.safetensors"]  # config, processor, tokenizer, weights (not the .bin duplicate)
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """No per-tensor progress bars ("Loading weights") and no info chatter while a detector is loaded or saved."""
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    verbosity = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def _how_to_provide(repo: str, revision: str) -> str:
    return (
        f"To provide it: on a machine with network access run `hf download {repo} --revision {revision} "
        f"--include '*.json' '*.txt' '*.safetensors' --local-dir DIR`, copy DIR here and pass "
        "load_detector('DIR'); or copy that machine's Hugging Face cache (~/.cache/huggingface/hub). "
        "For offline exploration, hqsam_nb.text.tiny_random_detector() needs no download (random weights)."
    )


def resolve_detector_folder(name_or_path: str | os.PathLike, revision: str | None = None) -> tuple[Path, str | None]:
    """The local folder holding a detector: a ``save_pretrained`` folder as given, or a Hub snapshot.

    Args:
        name_or_path: a folder (with ``config.json``), or a Hub model id such as
            ``"IDEA-Research/grounding-dino-tiny"``.
        revision: the Hub commit (or tag / branch) to use; None takes :data:`PINNED_REVISIONS` for the
            models listed there and ``"main"`` (with a warning: not reproducible) for any other.

    Returns:
        ``(folder, revision)``; revision None for a local folder.

    Raises:
        FileNotFoundError: a path that does not exist, or a folder without ``config.json``.
        CheckpointUnavailableError: not cached and could not be downloaded (one message saying how to provide it).
    """
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise TypeError(f"name_or_path must be a Hub model id or a folder, got {type(name_or_path).__name__}")
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"{str(path)!r} has no config.json: not a folder written by save_pretrained "
                                    "(or downloaded from the Hub)")
        return path, None
    name = str(name_or_path)
    if path.exists() or not _REPO_ID.match(name):
        raise FileNotFoundError(f"detector {name!r} is neither a folder holding config.json nor a Hub model id "
                                f"such as {DEFAULT_DETECTOR!r}")
    if revision is None:
        revision = PINNED_REVISIONS.get(name)
        if revision is None:
            revision = "main"
            logger.warning("no pinned revision for %s: using its 'main' branch (pass revision=<commit> to pin)",
                           name)
    from huggingface_hub import snapshot_download, try_to_load_from_cache

    if _COMMIT.match(revision):  # a pinned commit with a complete cached snapshot: no network call at all
        config = try_to_load_from_cache(name, "config.json", revision=revision)
        if isinstance(config, str) and any(Path(config).parent.glob("*.safetensors")):
            return Path(config).parent, revision
    folder = call_hub(lambda: snapshot_download(name, revision=revision, allow_patterns=_FILES),
                      what=f"the detector {name}",
                      source=f"the Hugging Face Hub (revision {revision[:10]})",
                      how_to_provide=_how_to_provide(name, revision))
    return Path(folder), revision


class TextDetector:
    """A caption -> boxes detector; subclasses wrap one ``transformers`` model family.

    Attributes:
        model: the ``transformers`` model (eval mode, on :attr:`device`).
        processor: its ``transformers`` processor (tokenizer + image processor).
        name: the model id or folder it was loaded from. revision: the Hub commit, None for a folder.
        random_weights: True for a detector built by :func:`tiny_random_detector` (its boxes mean nothing).
    """

    family = ""

    def __init__(self, model: Any, processor: Any, *, name: str, revision: str | None = None) -> None:
        self.model = model
        self.processor = processor
        self.name = name
        self.revision = revision
        self.random_weights = bool(getattr(model.config, RANDOM_MARKER, False))

    @property
    def device(self) -> Any:
        """The ``torch.device`` the model runs on."""
        return next(self.model.parameters()).device

    def __repr__(self) -> str:
        rev = f" @ {self.revision[:10]}" if self.revision else ""
        rnd = ", RANDOM weights" if self.random_weights else ""
        return f"{type(self).__name__}({self.name!r}{rev}, device={self.device}{rnd})"

    def detect(self, image: ImageLike, text: str | Sequence[str], *, box_threshold: float = 0.35,
               text_threshold: float = 0.25) -> Detections:
        """Find the objects a caption names.

        Args:
            image: any image :func:`~hqsam_nb.io.images.as_rgb_uint8` accepts (``uint8`` ``H x W x 3``, PIL, path).
            text: a caption (``"a cat. a remote control."``) or a list of phrases; lower-cased and ended by a
                dot (:func:`~hqsam_nb.text.normalize_caption`).
            box_threshold: keep a box when its best score over the caption's tokens is above this (``[0, 1]``).
                Higher: fewer, surer boxes.
            text_threshold: GroundingDINO: a word of the box's best phrase joins its label when its score is
                above this (``[0, 1]``); it never removes a box. OWLv2 scores whole phrases and does not use it.

        Returns:
            :class:`~hqsam_nb.text.Detections`, best first, boxes in pixels of ``image`` clipped to it. No box
            above the threshold gives an empty result (and an info log line with the best score seen), not an
            error.

        Raises:
            ValueError: empty text, a threshold outside ``[0, 1]``, a caption longer than the model reads.
            TypeError: an image or text of an unsupported type.
        """
        rgb = as_rgb_uint8(image)
        caption = normalize_caption(text)
        box_threshold = check_threshold(box_threshold, "box_threshold")
        text_threshold = check_threshold(text_threshold, "text_threshold")
        boxes, scores, labels, best = self._run(rgb, caption, box_threshold, text_threshold)
        found = Detections.from_raw(boxes, scores, labels, caption=caption, image_size=rgb.shape[:2],
                                    box_threshold=box_threshold, text_threshold=text_threshold, detector=self.name,
                                    random_weights=self.random_weights)
        if found.dropped:
            logger.info("%d box(es) lay outside the image and were dropped", found.dropped)
        if not len(found):
            logger.info("no object above box_threshold=%.2f for %r (best score %.3f): lower box_threshold or "
                        "rephrase the caption", box_threshold, caption, best)
        return found

    def _run(self, rgb: np.ndarray, caption: str, box_threshold: float,
             text_threshold: float) -> tuple[np.ndarray, np.ndarray, list[str], float]:
        """``(boxes (K, 4) XYXY pixels, scores (K,), labels, best score over all queries)``."""
        raise NotImplementedError


def _pil(rgb: np.ndarray) -> Any:
    from PIL import Image

    return Image.fromarray(rgb)


class GroundingDinoDetector(TextDetector):
    """GroundingDINO through ``transformers`` (``GroundingDinoForObjectDetection`` + ``GroundingDinoProcessor``).

    The whole caption is read at once (up to ``config.max_text_len`` tokens, 256 for the released models);
    each of ``num_queries`` (900) boxes gets a score per caption token; a box is kept when its best token score
    exceeds ``box_threshold`` (``transformers``' post-processing), and its label is the words of its best phrase
    scoring above ``text_threshold`` (:class:`~hqsam_nb.text.phrases.CaptionPhrases`: never a special token,
    never words of two phrases).
    """

    family = "grounding-dino"

    @property
    def max_text_tokens(self) -> int:
        """The most caption tokens the model reads, ``[CLS]`` and ``[SEP]`` included."""
        return int(self.model.config.max_text_len)

    def _check_resizable(self, rgb: np.ndarray) -> None:
        """The processor scales the short side to ``shortest_edge`` unless the long side would pass
        ``longest_edge``; a very elongated image (1 x 2000) would be scaled to zero pixels across."""
        size = self.processor.image_processor.size
        shortest, longest = getattr(size, "shortest_edge", None), getattr(size, "longest_edge", None)
        if not shortest or not longest:
            return
        h, w = rgb.shape[:2]
        short, long = min(h, w), max(h, w)
        if short * min(shortest / short, longest / long) < 1:
            raise ValueError(f"the image is {w} x {h} px (W x H): too elongated for this detector, which scales its "
                             f"long side to at most {longest} px and would leave less than one pixel across; crop "
                             f"or pad it so that its short side is at least {math.ceil(long / longest)} px")

    def _run(self, rgb: np.ndarray, caption: str, box_threshold: float,
             text_threshold: float) -> tuple[np.ndarray, np.ndarray, list[str], float]:
        import torch

        self._check_resizable(rgb)
        phrases, ids = CaptionPhrases.from_tokenizer(self.processor.tokenizer, caption)
        if len(ids) > self.max_text_tokens:
            raise ValueError(f"the caption is {len(ids)} tokens long ([CLS] and [SEP] included) but this model reads "
                             f"at most {self.max_text_tokens}: shorten it, or split it over several detect() calls")
        inputs = self.processor(images=_pil(rgb), text=caption, return_tensors="pt").to(self.device)
        if inputs["input_ids"][0].tolist() != ids:  # the processor tokenises as its tokenizer does; say so if not
            raise RuntimeError("the processor and its tokenizer tokenise the caption differently; labels would "
                               "name the wrong words")
        with torch.inference_mode():
            outputs = self.model(**inputs)
        result = self.processor.post_process_grounded_object_detection(
            outputs, inputs["input_ids"], threshold=box_threshold, text_threshold=text_threshold,
            target_sizes=[rgb.shape[:2]])[0]
        # Boxes and scores are transformers' (the official post-processing); labels are ours: the kept boxes'
        # token scores (same rule: best token score above box_threshold, query order) -> words of one phrase.
        probs = torch.sigmoid(outputs.logits[0].float())
        kept = probs[probs.max(dim=-1).values > box_threshold].cpu().numpy()
        labels = phrases.labels(kept, text_threshold)
        best = float(probs.max()) if probs.numel() else 0.0
        return result["boxes"].float().cpu().numpy(), result["scores"].float().cpu().numpy(), labels, best


class Owlv2Detector(TextDetector):
    """OWLv2 through ``transformers`` (``Owlv2ForObjectDetection`` + ``Owlv2Processor``).

    The caption is split at its dots into phrases, each read as its own query (up to the text model's
    position limit, 16 tokens each); a box's label is its best phrase, its score that phrase's probability.
    OWLv2 pads the image to a square at the bottom / right, so boxes are scaled by the longer side.
    ``text_threshold`` has no role (a box matches one whole phrase).
    """

    family = "owlv2"

    @property
    def max_text_tokens(self) -> int:
        """The most tokens of one phrase the model reads, start and end tokens included."""
        return int(self.model.config.text_config.max_position_embeddings)

    def _run(self, rgb: np.ndarray, caption: str, box_threshold: float,
             text_threshold: float) -> tuple[np.ndarray, np.ndarray, list[str], float]:
        import torch

        phrases = [p.strip() for p in caption.split(".") if p.strip()]
        for phrase in phrases:
            n_tokens = len(self.processor.tokenizer(phrase)["input_ids"])
            if n_tokens > self.max_text_tokens:
                raise ValueError(f"the phrase {phrase!r} is {n_tokens} tokens long but this model reads at most "
                                 f"{self.max_text_tokens} per phrase: shorten it")
        inputs = self.processor(text=[phrases], images=_pil(rgb), return_tensors="pt").to(self.device)
        with torch.inference_mode():
            outputs = self.model(**inputs)
        side = max(rgb.shape[:2])
        result = self.processor.post_process_grounded_object_detection(
            outputs, threshold=box_threshold, target_sizes=[(side, side)], text_labels=[phrases])[0]
        best = float(torch.sigmoid(outputs.logits).max()) if outputs.logits.numel() else 0.0
        return (result["boxes"].float().cpu().numpy(), result["scores"].float().cpu().numpy(),
                list(result["text_labels"]), best)


_FAMILIES: dict[str, type[TextDetector]] = {"grounding-dino": GroundingDinoDetector, "owlv2": Owlv2Detector}


def _refuse_remote_code(folder: Path, name_or_path: Any) -> None:
    """A model folder whose ``config.json`` maps classes to its own code (``auto_map``) is refused: the library's
    GroundingDINO and OWLv2 classes need none, and running a downloaded folder's Python is not this package's call.
    """
    from ..io.jsonfile import read_json

    config = read_json(folder / "config.json", "model config")
    auto_map = config.get("auto_map") if isinstance(config, dict) else None
    if auto_map:
        code = sorted(p.name for p in folder.glob("*.py"))
        raise ValueError(f"{str(name_or_path)!r} asks to run its own code (config.json 'auto_map': "
                         f"{sorted(auto_map)[:4]}{', files ' + ', '.join(code[:4]) if code else ''}); refused: "
                         "hqsam_nb loads only the transformers library's own GroundingDINO and OWLv2 classes and "
                         "never runs code from a model folder")


def load_detector(name_or_path: str | os.PathLike = DEFAULT_DETECTOR, *, revision: str | None = None,
                  device: str | Any | None = None) -> TextDetector:
    """Load an open-vocabulary detector: GroundingDINO (default: grounding-dino-tiny) or OWLv2.

    Args:
        name_or_path: a Hub model id (``"IDEA-Research/grounding-dino-tiny"``, ``"IDEA-Research/grounding-dino-base"``,
            ``"google/owlv2-base-patch16-ensemble"``) or a folder written by ``save_pretrained``.
        revision: the Hub commit; None takes the pinned one (:data:`PINNED_REVISIONS`; ``"main"`` with a warning
            for a model not listed there). Ignored for a folder.
        device: ``None`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda"``, ... as :func:`~hqsam_nb.pick_device`.

    Returns:
        A :class:`GroundingDinoDetector` or :class:`Owlv2Detector`; call ``.detect(image, text)``.

    Raises:
        CheckpointUnavailableError: not cached and no download possible (one message: how to provide it).
        FileNotFoundError: a folder that does not exist or holds no ``config.json``.
        ValueError: a model of another family than GroundingDINO / OWLv2, or a folder that asks to run its own
            code (``auto_map`` in ``config.json``; never run).

    Example:
        >>> detector = load_detector()                      # doctest: +SKIP
        >>> detector.detect("cats.jpg", "a cat. a remote control.").labels  # doctest: +SKIP
        ('a cat', 'a cat', 'a remote control', 'a remote control')
    """
    from ..models.loading import pick_device

    dev = pick_device(device)
    folder, rev = resolve_detector_folder(name_or_path, revision)
    from transformers import AutoConfig, AutoModelForZeroShotObjectDetection, AutoProcessor

    _refuse_remote_code(Path(folder), name_or_path)
    with _quiet_transformers():
        # trust_remote_code=False: never run (nor offer to run, with an input() prompt) a folder's own Python code
        config = AutoConfig.from_pretrained(folder, trust_remote_code=False)
        family = _FAMILIES.get(config.model_type)
        if family is None:
            raise ValueError(f"{str(name_or_path)!r} is a {config.model_type!r} model; accepted: GroundingDINO "
                             "('grounding-dino') and OWLv2 ('owlv2') zero-shot detectors")
        try:
            processor = AutoProcessor.from_pretrained(folder, trust_remote_code=False)
        except (OSError, ValueError) as exc:
            raise FileNotFoundError(
                f"{str(name_or_path)!r} has no usable processor files (the image processor's and the tokenizer's, "
                f"written by the processor's save_pretrained next to config.json): "
                f"{(str(exc).splitlines() or [''])[0][:160]}") from None
        model = AutoModelForZeroShotObjectDetection.from_pretrained(folder, trust_remote_code=False).to(dev).eval()
    detector = family(model, processor, name=str(name_or_path), revision=rev)
    logger.info("loaded %r", detector)
    return detector

