"""A box's label from its per-token scores: words of ONE phrase of the caption, never a special token.

GroundingDINO scores every box against every token of the caption (``[CLS] a cat . a dog . [SEP]``).
``transformers``' ``post_process_grounded_object_detection`` names a box with *all* tokens above
``text_threshold``, decoded: it only masks the first and the 256th position, so ``"."`` and ``[SEP]`` join the
label, and so do the words of every other phrase scoring above the threshold (``"a cat. a dog. [SEP]"``, or
``"cat dog"`` with real weights when the model hesitates). The original repository's ``predict(...,
remove_combined=True)`` restricts a label to the phrase holding the box's best token; this module does that with
the caption's own words:

* the caption's **phrases** are its ``"."``-separated parts (what :func:`~hqsam_nb.text.normalize_caption`
  writes); ``[CLS]``, ``[SEP]``, padding, ``"."`` and ``"?"`` (GroundingDINO's special tokens) belong to none;
* a box's phrase is the one holding its best-scoring phrase token;
* its label is that phrase's **words** with a token above ``text_threshold``, in caption order, spelled as in
  the caption (an unknown word is its text, not ``[UNK]``; word pieces are joined); ``""`` when none is above.

Pure numpy on the tokenizer's ids and character offsets; no ``transformers`` import.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["PHRASE_SEPARATORS", "CaptionPhrases"]

#: Token texts that end a phrase (GroundingDINO's special tokens besides [CLS] / [SEP]: ids 1012 and 1029).
PHRASE_SEPARATORS: frozenset[str] = frozenset({".", "?"})


@dataclass(frozen=True)
class CaptionPhrases:
    """The words and phrases of a tokenised caption, and which token belongs to which.

    Attributes:
        caption: the caption text the offsets refer to.
        words: the caption's words (a word is a run of tokens whose characters touch: ``"t-shirt"``, word
            pieces), in caption order.
        token_word: ``(T,)`` int64: the word of each token, ``-1`` for special tokens and separators.
        word_phrase: ``(len(words),)`` int64: the phrase (0, 1, ...) of each word.
    """

    caption: str
    words: tuple[str, ...]
    token_word: np.ndarray
    word_phrase: np.ndarray

    @classmethod
    def from_offsets(cls, caption: str, offsets: Sequence[tuple[int, int]]) -> CaptionPhrases:
        """Build from a tokenizer's character offsets (``return_offsets_mapping=True``).

        Args:
            caption: the text that was tokenised.
            offsets: ``(start, end)`` characters of each token in ``caption``; ``(0, 0)`` (empty) for tokens the
                tokenizer added (``[CLS]``, ``[SEP]``, padding).

        Raises:
            ValueError: an offset outside the caption.
        """
        token_word = np.full(len(offsets), -1, dtype=np.int64)
        spans: list[list[int]] = []  # [start, end] characters of each word
        phrase_of: list[int] = []
        phrase, open_phrase, prev_end = 0, False, -1
        for t, (start, end) in enumerate(offsets):
            start, end = int(start), int(end)
            if not 0 <= start <= end <= len(caption):
                raise ValueError(f"token {t} has offsets ({start}, {end}) outside the caption of "
                                 f"{len(caption)} characters")
            piece = caption[start:end].strip()
            if not piece or piece in PHRASE_SEPARATORS:
                if open_phrase and piece:  # "." or "?" closes the phrase; [CLS]/[SEP]/padding are skipped
                    phrase, open_phrase = phrase + 1, False
                prev_end = -1
                continue
            if start == prev_end and spans:  # touches the previous token: the same word
                spans[-1][1] = end
            else:
                spans.append([start, end])
                phrase_of.append(phrase)
            token_word[t] = len(spans) - 1
            open_phrase, prev_end = True, end
        words = tuple(caption[s:e] for s, e in spans)
        return cls(caption=caption, words=words, token_word=token_word,
                   word_phrase=np.asarray(phrase_of, dtype=np.int64))

    @classmethod
    def from_tokenizer(cls, tokenizer: Any, caption: str) -> tuple[CaptionPhrases, list[int]]:
        """Tokenise ``caption`` with a ``transformers`` (fast) tokenizer: ``(phrases, input_ids)``."""
        enc = tokenizer(caption, return_offsets_mapping=True)
        return cls.from_offsets(caption, enc["offset_mapping"]), list(enc["input_ids"])

    @property
    def phrases(self) -> tuple[str, ...]:
        """Each phrase's words joined by spaces (``("a cat", "a dog")`` for ``"a cat. a dog."``)."""
        n = int(self.word_phrase.max()) + 1 if len(self.words) else 0
        return tuple(" ".join(w for w, p in zip(self.words, self.word_phrase, strict=True) if p == i)
                     for i in range(n))

    def labels(self, token_scores: Any, text_threshold: float) -> list[str]:
        """One label per box: the words of its best phrase scoring above ``text_threshold``.

        Args:
            token_scores: ``(K, T')`` probabilities (sigmoid of the logits) of K boxes for the caption's tokens;
                ``T' >= T`` (GroundingDINO pads to 256 positions; columns past the caption are ignored).
            text_threshold: a word joins the label when one of its tokens scores above this.

        Returns:
            K strings, ``""`` for a box whose best phrase has no word above the threshold (or a caption
            without words).
        """
        scores = np.asarray(token_scores, dtype=np.float64)
        n_tokens = len(self.token_word)
        if scores.ndim != 2 or scores.shape[1] < n_tokens:
            raise ValueError(f"token_scores must be (boxes, >= {n_tokens} tokens), got shape {scores.shape}")
        content = np.flatnonzero(self.token_word >= 0)
        if not len(content):
            return [""] * len(scores)
        token_phrase = self.word_phrase[self.token_word[content]]
        out = []
        for row in scores[:, content]:
            phrase = token_phrase[int(np.argmax(row))]
            chosen = sorted({int(self.token_word[content[i]])
                             for i in np.flatnonzero((token_phrase == phrase) & (row > text_threshold))})
            out.append(" ".join(self.words[w] for w in chosen))
        return out
