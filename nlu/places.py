"""Find Vietnamese place names in a message, with and without diacritics.

The gazetteer holds the current 34 provinces and the former 63, the former districts and
towns, and the communes and wards before and after the 1 July 2025 reform, all read from
the mapping that ships inside `underthesea.address` (offline). Matching is done on the
folded (lower-case, diacritic-free) syllables of the original text, so `Cao Lãnh`,
`cao lanh` and `CAO LANH` are the same place.

Where a name is found:
- provinces match on their own (`Bình Phước`, `dong thap`);
- former districts and towns of two or more syllables match on their own when written
  with capitals, after a word of place (`ở`, `tại`, `về`...) or before a province
  (`phuoc long binh phuoc`): in lower case, `gia đình hòa bình` contains `Đình Hòa`;
- communes and wards match only after their prefix (`xã Mỹ Hiệp`, `p. 3`), because
  thousands of commune names are also ordinary words;
- names that are ordinary phrases (`hòa bình` = peace, `thống nhất`) match on their own
  only when capitalized, as a person writes a place.

Resolving a found name to a current administrative unit is the directory's job
(`knowledge/`); this module only finds the words that name a place.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import underthesea.address

from nlu.normalize import RESOURCES, fold

MAPPING_FILE = Path(underthesea.address.__file__).parent / "data" / "mapping.json"
ALIASES_FILE = RESOURCES / "place_aliases.tsv"
MAX_NAME_SYLLABLES = 5

_SYLLABLE = re.compile(r"\w+")

# Folded prefixes, longest first, with the kinds of unit they introduce.
PROVINCE = "province"
DISTRICT = "district"
COMMUNE = "commune"
PREFIXES: dict[tuple[str, ...], frozenset[str]] = {
    ("thanh", "pho"): frozenset({PROVINCE, DISTRICT}),
    ("thi", "xa"): frozenset({DISTRICT}),
    ("thi", "tran"): frozenset({COMMUNE}),
    ("tinh",): frozenset({PROVINCE}),
    ("tp",): frozenset({PROVINCE, DISTRICT}),
    ("huyen",): frozenset({DISTRICT}),
    ("quan",): frozenset({DISTRICT}),
    ("tx",): frozenset({DISTRICT}),
    ("h",): frozenset({DISTRICT}),
    ("q",): frozenset({DISTRICT}),
    ("xa",): frozenset({COMMUNE}),
    ("phuong",): frozenset({COMMUNE}),
    ("tt",): frozenset({COMMUNE}),
    ("p",): frozenset({COMMUNE}),
    ("x",): frozenset({COMMUNE}),
}
# folded words after which a bare name is a place: "ở cao lãnh", "tai sa dec"
PLACE_WORDS = frozenset({"o", "tai", "ve", "duoi", "tren", "den", "tu", "nha", "que"})
_UNIT_WORDS = re.compile(
    r"^(thành phố|tỉnh|huyện|quận|thị xã|thị trấn|xã|phường)\s+", re.IGNORECASE
)


@dataclass(frozen=True)
class PlaceMention:
    """A place named in a message: its span in the original text and the kind of unit."""

    start: int
    end: int
    text: str
    kind: str


@dataclass
class Gazetteer:
    """Folded place names by kind, plus the names that need a capital letter."""

    names: dict[str, set]
    ambiguous: frozenset[tuple[str, ...]]

    def kinds_of(self, key: tuple[str, ...]) -> list[str]:
        return [kind for kind, keys in self.names.items() if key in keys]


def _bare(name: str) -> str:
    """`Huyện Cao Lãnh` → `Cao Lãnh`."""
    return _UNIT_WORDS.sub("", unicodedata.normalize("NFC", name).strip())


def _key(name: str) -> tuple[str, ...]:
    return tuple(_SYLLABLE.findall(fold(name)))


def _read_aliases() -> tuple[dict[str, list[str]], list[str]]:
    """Aliases (`sài gòn`, `tphcm`) and ordinary-phrase names from the aliases file."""
    aliases: dict[str, list[str]] = {PROVINCE: [], DISTRICT: [], COMMUNE: []}
    ambiguous: list[str] = []
    for number, line in enumerate(ALIASES_FILE.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split("\t")]
        if len(parts) != 2 or parts[0] not in (*aliases, "ambiguous"):
            raise ValueError(f"{ALIASES_FILE.name}:{number}: expected 'kind<TAB>name'")
        (ambiguous if parts[0] == "ambiguous" else aliases[parts[0]]).append(parts[1])
    return aliases, ambiguous


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """Build the gazetteer once per process, on first use."""
    data = json.loads(MAPPING_FILE.read_text(encoding="utf-8"))
    names: dict[str, set] = {PROVINCE: set(), DISTRICT: set(), COMMUNE: set()}
    for table in ("province_names", "old_province_names"):
        for info in data[table].values():
            names[PROVINCE].update({_key(_bare(info["name"])), _key(info["short"])})
    for record in data["ward_mapping"]:
        names[DISTRICT].add(_key(_bare(record["old_district"])))
        names[COMMUNE].add(_key(_bare(record["old_ward"])))
        names[COMMUNE].add(_key(_bare(record["new_ward"])))
    aliases, ambiguous = _read_aliases()
    for kind, alias_names in aliases.items():
        names[kind].update(_key(name) for name in alias_names)
    for kind_names in names.values():
        kind_names.discard(())
    return Gazetteer(names, frozenset(_key(name) for name in ambiguous))


def _syllables(text: str) -> list[tuple[str, int, int]]:
    """Folded syllables of the text with their spans (text must be NFC)."""
    return [(fold(m.group()), m.start(), m.end()) for m in _SYLLABLE.finditer(text)]


def find_places(text: str) -> list[PlaceMention]:
    """All place names in a message, longest match first, spans in the given text.

    The text is expected in NFC (the entity extractor normalizes NFD input first).
    """
    index = gazetteer()
    syllables = _syllables(text)
    found: list[PlaceMention] = []
    i = 0
    while i < len(syllables):
        mention = _match_at(text, syllables, i, index)
        if mention is None:
            i += 1
            continue
        found.append(mention[0])
        i = mention[1]
    return found


def _match_at(
    text: str, syllables: list[tuple[str, int, int]], i: int, index: Gazetteer
) -> tuple[PlaceMention, int] | None:
    """The place starting at syllable i (with or without a prefix) and where it ends."""
    for prefix_length, kinds in _prefixes_at(syllables, i):
        match = _longest_name(syllables, i + prefix_length, index, kinds, text, prefixed=True)
        if match:
            end_index, kind = match
            return _mention(text, syllables, i, end_index, kind), end_index
    match = _longest_name(syllables, i, index, (PROVINCE, DISTRICT), text, prefixed=False)
    if match:
        end_index, kind = match
        return _mention(text, syllables, i, end_index, kind), end_index
    return None


def _prefixes_at(
    syllables: list[tuple[str, int, int]], i: int
) -> Iterable[tuple[int, frozenset[str]]]:
    for prefix, kinds in PREFIXES.items():
        words = tuple(s[0] for s in syllables[i : i + len(prefix)])
        if words == prefix:
            yield len(prefix), kinds


def _longest_name(
    syllables: list[tuple[str, int, int]],
    start: int,
    index: Gazetteer,
    kinds: Iterable[str],
    text: str,
    prefixed: bool,
) -> tuple[int, str] | None:
    for length in range(min(MAX_NAME_SYLLABLES, len(syllables) - start), 0, -1):
        key = tuple(s[0] for s in syllables[start : start + length])
        for kind in kinds:
            if key not in index.names[kind]:
                continue
            if not prefixed and not _stands_alone(key, kind, syllables, start, length, text, index):
                continue
            return start + length, kind
    return None


def _stands_alone(
    key: tuple[str, ...],
    kind: str,
    syllables: list[tuple[str, int, int]],
    start: int,
    length: int,
    text: str,
    index: Gazetteer,
) -> bool:
    """Whether a name without prefix is taken as a place (see module docstring)."""
    span = syllables[start : start + length]
    capitalized = all(text[s[1]].isupper() for s in span)
    if key in index.ambiguous:
        return capitalized
    if kind != DISTRICT:
        return True
    if len(key) < 2:
        return False
    after_place_word = start > 0 and syllables[start - 1][0] in PLACE_WORDS
    return capitalized or after_place_word or _province_at(syllables, start + length, index)


def _province_at(syllables: list[tuple[str, int, int]], start: int, index: Gazetteer) -> bool:
    for length in range(1, MAX_NAME_SYLLABLES + 1):
        key = tuple(s[0] for s in syllables[start : start + length])
        if len(key) == length and key in index.names[PROVINCE]:
            return True
    return False


def _mention(
    text: str, syllables: list[tuple[str, int, int]], first: int, end_index: int, kind: str
) -> PlaceMention:
    start, end = syllables[first][1], syllables[end_index - 1][2]
    return PlaceMention(start, end, text[start:end], kind)
