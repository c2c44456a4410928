"""Vietnamese text normalization for the NLU pipeline and the risk detector.

People write to the hotline in three registers: standard Vietnamese, Vietnamese typed
without diacritics, and chat teencode (`ko`, `dc`, `ck`, `buồn quáaaa 😭`). This module
turns any of them into one normal form, piece by piece, so that every normalized word
still knows which characters of the original message it came from (the tokenizer needs
those spans; entity positions must match what the person typed).

    >>> normalize_text("Ck e đánh e quáaaa 😭")
    'chồng em đánh em quá buồn'
    >>> fold("Chồng tôi hay ĐÁNH tôi")
    'chong toi hay danh toi'

The teencode and emoji dictionaries are data files in `nlu/resources/`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from underthesea.pipeline.text_normalize import token_normalize

RESOURCES = Path(__file__).resolve().parent / "resources"
TEENCODE_FILE = RESOURCES / "teencode.tsv"
EMOJI_FILE = RESOURCES / "emoji.tsv"

# A word (letters, digits, joined by -, . or ' as in "HT-7KQ2MX", "tp.hcm"), or one symbol.
_PIECE = re.compile(r"\w+(?:[-.'’]\w+)*|[^\w\s]")
_RUN_OF_THREE = re.compile(r"(.)\1{2,}")


@dataclass(frozen=True)
class Piece:
    """A word or symbol of the original text with its span and normal form.

    `norm` is lower-case standard Vietnamese; it may hold several words (`ntn` →
    `như thế nào`) or be empty for punctuation and unknown symbols.
    """

    start: int
    end: int
    raw: str
    norm: str


def strip_diacritics(text: str) -> str:
    """Remove Vietnamese tone and vowel marks, `đ` included: `Đánh` → `Danh`."""
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", bare).replace("đ", "d").replace("Đ", "D")


def fold(text: str) -> str:
    """The diacritic-free, lower-case view of a text, used to compare registers."""
    return strip_diacritics(text).lower()


def has_diacritics(text: str) -> bool:
    """True when the text carries any Vietnamese mark (so it is not typed unaccented)."""
    return fold(text) != text.lower()


def _read_table(path: Path) -> dict[str, str]:
    """Read a two-column TSV (`form<TAB>normal form`), ignoring comments and blanks."""
    table: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) < 2 or not parts[0].strip():
            raise ValueError(f"{path.name}:{number}: expected 'form<TAB>normal form'")
        table[unicodedata.normalize("NFC", parts[0].strip().lower())] = unicodedata.normalize(
            "NFC", parts[1].strip().lower()
        )
    return table


@cache
def teencode_table() -> dict[str, str]:
    """Chat shorthand → standard words, from `resources/teencode.tsv`."""
    return _read_table(TEENCODE_FILE)


@cache
def emoji_table() -> dict[str, str]:
    """Emoji → the feeling or thing they stand for, from `resources/emoji.tsv`."""
    return _read_table(EMOJI_FILE)


def squeeze_elongation(word: str) -> str:
    """Collapse letters typed three or more times: `quáaaa` → `quá`, `điii` → `đi`."""
    folded = fold(word)
    if len(folded) != len(word) or not _RUN_OF_THREE.search(folded):
        return word
    kept = []
    i = 0
    while i < len(word):
        j = i + 1
        while j < len(word) and folded[j] == folded[i]:
            j += 1
        # keep the first letter of a long run: it usually carries the tone mark
        kept.append(word[i] if j - i >= 3 else word[i:j])
        i = j
    return "".join(kept)


def _is_emoji(symbol: str) -> bool:
    return unicodedata.category(symbol) in ("So", "Sk", "Cs", "Co")


@lru_cache(maxsize=65536)
def normalize_word(raw: str) -> str:
    """Normal form of one piece of text: lower case, standard tone placement, teencode
    expanded, elongation squeezed, emoji named, punctuation dropped (empty string)."""
    word = unicodedata.normalize("NFC", raw).lower()
    if len(word) == 1 and not word.isalnum():
        return emoji_table().get(word, "")
    table = teencode_table()
    if word in table:
        return table[word]
    word = squeeze_elongation(word)
    if word in table:
        return table[word]
    return token_normalize(word)


def nfc_with_offsets(text: str) -> tuple[str, list[int], list[int]]:
    """NFC-normalize text, remembering for each output character the span of the
    original characters it came from (NFD input shrinks under NFC)."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i = 0
    while i < len(text):
        j = i + 1
        while j < len(text) and unicodedata.combining(text[j]):
            j += 1
        cluster = unicodedata.normalize("NFC", text[i:j])
        for ch in cluster:
            out.append(ch)
            starts.append(i)
            ends.append(j)
        i = j
    return "".join(out), starts, ends


def pieces(text: str) -> list[Piece]:
    """Split a message into pieces with spans in the ORIGINAL text and normal forms."""
    nfc, starts, ends = nfc_with_offsets(text)
    result = []
    for match in _PIECE.finditer(nfc):
        start, end = starts[match.start()], ends[match.end() - 1]
        result.append(Piece(start, end, text[start:end], normalize_word(match.group())))
    return result


def normalize_text(text: str) -> str:
    """The whole message in normal form, words separated by single spaces."""
    return " ".join(p.norm for p in pieces(text) if p.norm)
