"""Cutting a long reply into messages a platform accepts (Telegram 4,096 characters, Zalo 2,000).

Cuts fall on the coarsest boundary that fits: between paragraphs, then lines, then
sentences, then words. Spaces between two digits never count as a boundary, so a phone
number written `1900 969 680` stays in one piece. Only a single run of text longer than
the limit with no boundary at all (nobody writes that) is cut hard.

Usage:
    for part in split_text(reply, limit=4096):
        await send(part)
"""

from __future__ import annotations

import re
from collections.abc import Callable

Breaks = list[tuple[int, int]]

_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*")
_LINE = re.compile(r"\n\s*")
_SENTENCE = re.compile(r"(?<=[.!?…])\s+")
_SPACE = re.compile(r"\s+")


def _matches(pattern: re.Pattern[str]) -> Callable[[str], Breaks]:
    return lambda text: [m.span() for m in pattern.finditer(text)]


def _word_breaks(text: str) -> Breaks:
    """Runs of whitespace, except those between two digits (inside a phone number)."""
    breaks = []
    for match in _SPACE.finditer(text):
        start, end = match.span()
        if start > 0 and end < len(text) and text[start - 1].isdigit() and text[end].isdigit():
            continue
        breaks.append((start, end))
    return breaks


_LEVELS: tuple[Callable[[str], Breaks], ...] = (
    _matches(_PARAGRAPH),
    _matches(_LINE),
    _matches(_SENTENCE),
    _word_breaks,
)


def split_text(text: str, limit: int) -> list[str]:
    """`text` as parts of at most `limit` characters, cut on the coarsest boundary that fits."""
    if limit < 1:
        raise ValueError("limit must be positive")
    return [part for part in _split(text.strip(), limit, 0) if part]


def _split(text: str, limit: int, level: int) -> list[str]:
    if len(text) <= limit:
        return [text]
    if level == len(_LEVELS):
        return [text[i : i + limit] for i in range(0, len(text), limit)]
    breaks = _LEVELS[level](text)
    parts: list[str] = []
    start = 0
    while start < len(text):
        if len(text) - start <= limit:
            parts.append(text[start:])
            break
        fitting = [b for b in breaks if start < b[0] <= start + limit]
        if fitting:
            cut, resume = fitting[-1]
            parts.append(text[start:cut])
        else:
            # No boundary of this kind fits: cut the run up to the next one more finely.
            following = next((b for b in breaks if b[0] > start), None)
            cut, resume = following if following else (len(text), len(text))
            parts.extend(_split(text[start:cut].strip(), limit, level + 1))
        start = resume
    return [part.strip() for part in parts]
