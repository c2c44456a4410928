"""Vietnamese word tokenizer for Rasa 3.6, on underthesea's word segmentation.

Vietnamese words are made of syllables separated by spaces (`tự tử`, `nói chuyện`), so
splitting on whitespace loses the words. This tokenizer

1. normalizes the message piece by piece (`nlu.normalize`: NFC, tone placement,
   teencode, elongation, emoji), keeping each piece's span in the ORIGINAL text;
2. segments the normalized syllables into words with underthesea;
3. emits one token per word whose `start`/`end` always point into the original text
   (NFD input, `hoà`/`hòa` rewrites and expanded teencode included), whose `text` is
   the normalized word with syllables joined by `_` (Rasa's count vectorizer re-splits
   tokens on `\\b\\w+\\b`), and whose `lemma` is the same word without diacritics.

The diacritic-free `lemma` is what makes the pipeline robust to unaccented typing:
featurizers that use it see `chong_toi` whether the person typed `chồng tôi` or not.

Rasa's own `_convert_words_to_tokens` helper is deliberately not used: it searches
each word in the text and raises when the word was rewritten.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message
from underthesea import word_tokenize

from nlu.normalize import Piece, fold, pieces

# Longest text handed to the word segmenter at once; longer messages are segmented in
# chunks so that a 10,000-character message stays fast.
_SEGMENT_CHUNK_SYLLABLES = 200


def segment(syllables: Sequence[str]) -> list[list[int]]:
    """Group syllable indices into words with underthesea.

    Falls back to one word per syllable wherever underthesea's output cannot be
    aligned character by character with the input.
    """
    words: list[list[int]] = []
    for chunk_start in range(0, len(syllables), _SEGMENT_CHUNK_SYLLABLES):
        chunk = syllables[chunk_start : chunk_start + _SEGMENT_CHUNK_SYLLABLES]
        aligned = _align(chunk, word_tokenize(" ".join(chunk)))
        if aligned is None:
            aligned = [[i] for i in range(len(chunk))]
        words.extend([[chunk_start + i for i in word] for word in aligned])
    return words


def _align(syllables: Sequence[str], segmented: Sequence[str]) -> list[list[int]] | None:
    """Map each segmented word to the syllables whose characters it covers."""
    owner: list[int] = [i for i, syl in enumerate(syllables) for _ in syl]
    stream = "".join(syllables)
    position = 0
    words: list[list[int]] = []
    for word in segmented:
        chars = word.replace(" ", "")
        if not chars:
            continue
        if stream[position : position + len(chars)] != chars:
            return None
        covered = sorted(set(owner[position : position + len(chars)]))
        position += len(chars)
        # a syllable split by the segmenter (`14t` → `14`, `t`) belongs to one word
        if words and covered[0] in words[-1]:
            words[-1] = sorted(set(words[-1]) | set(covered))
        else:
            words.append(covered)
    return words if position == len(stream) else None


def _merge_words_sharing_pieces(words: list[list[int]], piece_of: list[int]) -> list[list[int]]:
    """Join adjacent words that come from one piece (`ntn` → `như` + `thế nào`), so
    that tokens never overlap in the original text."""
    merged: list[list[int]] = []
    for word in words:
        if merged and piece_of[word[0]] == piece_of[merged[-1][-1]]:
            merged[-1] = merged[-1] + word
        else:
            merged.append(list(word))
    return merged


def tokenize_text(text: str) -> list[Token]:
    """Tokens of a message, with spans in the original text (see module docstring)."""
    tokens: list[Token] = []
    for run in _runs_between_punctuation(pieces(text)):
        syllables: list[str] = []
        piece_of: list[int] = []
        for index, piece in enumerate(run):
            for syllable in piece.norm.split():
                syllables.append(syllable)
                piece_of.append(index)
        words = _merge_words_sharing_pieces(segment(syllables), piece_of)
        tokens.extend(_make_token(word, syllables, piece_of, run) for word in words)
    return tokens or _fallback_token(text)


def _runs_between_punctuation(message_pieces: list[Piece]) -> list[list[Piece]]:
    """Word pieces grouped by clause: a word never spans a comma or a full stop."""
    runs: list[list[Piece]] = [[]]
    for piece in message_pieces:
        if piece.norm:
            runs[-1].append(piece)
        elif runs[-1]:
            runs.append([])
    return [run for run in runs if run]


def _make_token(
    word: list[int], syllables: list[str], piece_of: list[int], message_pieces: list[Piece]
) -> Token:
    first, last = message_pieces[piece_of[word[0]]], message_pieces[piece_of[word[-1]]]
    text = "_".join(syllables[i] for i in word)
    return Token(text, first.start, last.end, lemma=fold(text))


def _fallback_token(text: str) -> list[Token]:
    """A message with no words (only symbols): one token over its visible part, so
    that featurizers always have something to look at."""
    stripped = text.strip()
    if not stripped:
        return []
    start = text.index(stripped)
    return [Token(stripped.lower(), start, start + len(stripped), lemma=fold(stripped))]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class VietnameseTokenizer(Tokenizer):
    """Rasa tokenizer for Vietnamese in all three registers (see module docstring)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Same options as Rasa's own tokenizers."""
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
        }

    @staticmethod
    def required_packages() -> list[str]:
        return ["underthesea"]

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> VietnameseTokenizer:
        return cls(config)

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        """Split the attribute's text into Vietnamese words."""
        return tokenize_text(message.get(attribute) or "")


def spans(tokens: list[Token]) -> list[tuple[int, int]]:
    """(start, end) of each token: handy in tests and debugging."""
    return [(t.start, t.end) for t in tokens]
