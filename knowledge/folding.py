"""Folding of Vietnamese names for lookups that ignore case, diacritics and punctuation.

`fold("Xã Mỹ Hiệp")` and `fold("xa my hiep")` are both `"xa my hiep"`; `accent_key` keeps
the diacritics (lower case, NFC) so that two names differing only by tone marks — `Tân
Thành` and `Tân Thạnh` — can still be told apart when the person typed them.
"""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^0-9a-z]+")
_NON_WORD_ACCENTED = re.compile(r"[^\w]+", re.UNICODE)
_LEADING_ZEROS = re.compile(r"\b0+(\d)")


def accent_key(text: str) -> str:
    """Lower case, NFC, words separated by one space, diacritics kept."""
    lowered = unicodedata.normalize("NFC", text).lower().replace("_", " ")
    return " ".join(_NON_WORD_ACCENTED.sub(" ", lowered).split())


def strip_diacritics(text: str) -> str:
    """Remove tone and vowel marks; `đ` becomes `d`."""
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return bare.replace("đ", "d").replace("Đ", "D")


def fold(text: str) -> str:
    """Lower case, no diacritics, ASCII words separated by one space, `01` read as `1`."""
    bare = strip_diacritics(unicodedata.normalize("NFC", text)).lower()
    words = _NON_WORD.sub(" ", bare).strip()
    return _LEADING_ZEROS.sub(r"\1", " ".join(words.split()))


# Official prefixes of unit names, longest first, as they appear in the reference data.
_OFFICIAL_PREFIXES = (
    "thành phố",
    "thị trấn",
    "thị xã",
    "đặc khu",
    "phường",
    "huyện",
    "quận",
    "tỉnh",
    "xã",
)


def split_official_name(name: str) -> tuple[str, str]:
    """`"Xã Mỹ Hiệp"` → `("xã", "Mỹ Hiệp")`; a name without a known prefix → `("", name)`."""
    clean = " ".join(unicodedata.normalize("NFC", name).split())
    lowered = clean.lower()
    for prefix in _OFFICIAL_PREFIXES:
        if lowered.startswith(prefix + " "):
            return prefix, clean[len(prefix) + 1 :]
    return "", clean
