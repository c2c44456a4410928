"""Resolving the place a person names to the current province and commune.

People write places in every form: with or without diacritics, with or without prefixes
(`xã`, `phường`, `tp`, `tỉnh`, `huyện`, `thị xã`), with district and province names that no
longer exist since 1 July 2025. `resolve_place` reads such text and answers with the
current province, the commune when it can be known, the candidates when it cannot, and a
sentence saying why. It never guesses: `Cao Lãnh` alone is a ward, a former district and a
former city, so it comes back as candidates.

The lookup tables live in memory, built once per process and engine from the `province`,
`commune` and `place_alias` tables the first time they are needed.

Usage:
    resolution = resolve_place(session, "xa My Hiep, huyen Cao Lanh, Dong Thap")
    resolution.province, resolution.commune   # "Tỉnh Đồng Tháp", "Xã Mỹ Hiệp"
"""

from __future__ import annotations

import re
import threading
import unicodedata
import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from knowledge.errors import PlaceTextError
from knowledge.folding import accent_key, fold, strip_diacritics
from knowledge.models import Commune, PlaceAlias, Province

MAX_PLACE_CHARS = 200
MAX_CANDIDATES = 30

# Prefixes a person may type, in accented and bare form, longest first, and what they announce.
_PREFIXES: tuple[tuple[str, str], ...] = (
    ("thành phố", "city"),
    ("thanh pho", "city"),
    ("thị trấn", "commune"),
    ("thi tran", "commune"),
    ("thị xã", "district"),
    ("thi xa", "district"),
    ("đặc khu", "commune"),
    ("dac khu", "commune"),
    ("phường", "commune"),
    ("phuong", "commune"),
    ("huyện", "district"),
    ("huyen", "district"),
    ("quận", "district"),
    ("quan", "district"),
    ("tỉnh", "province"),
    ("tinh", "province"),
    ("xã", "commune"),
    ("xa", "commune"),
    ("tp", "city"),
    ("tx", "district"),
    ("tt", "commune"),
)
_BARE_ONLY = {prefix for prefix, _ in _PREFIXES if prefix == strip_diacritics(prefix)}
_ABBREVIATION = re.compile(r"\b(tp|tx|tt|p|q|h|x)\s*\.\s*", re.IGNORECASE)
_NUMBERED = re.compile(r"\b(p|q|f)\s*(\d{1,2})\b", re.IGNORECASE)
_SEPARATORS = re.compile(r"[,;|/\n\r\t]+")
_ABBREVIATIONS = {
    "tp": "tp ",
    "tx": "tx ",
    "tt": "tt ",
    "p": "phường ",
    "q": "quận ",
    "h": "huyện ",
    "x": "xã ",
}


@dataclass(frozen=True)
class PlaceRef:
    """A current unit: a province, or a commune in its province."""

    province_code: str
    province: str
    commune_id: int | None = None
    commune: str | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain form for JSON answers."""
        return {"province": self.province, "commune": self.commune, "note": self.note}


@dataclass(frozen=True)
class PlaceResolution:
    """What a place text resolved to. `commune` is set only when it is certain."""

    province_code: str | None = None
    province: str | None = None
    commune_id: int | None = None
    commune: str | None = None
    candidates: tuple[PlaceRef, ...] = ()
    why: str = ""

    @property
    def is_known(self) -> bool:
        """True when at least the province is known."""
        return self.province_code is not None

    def to_dict(self) -> dict[str, Any]:
        """Plain form for JSON answers."""
        return {
            "province": self.province,
            "commune": self.commune,
            "candidates": [candidate.to_dict() for candidate in self.candidates],
            "why": self.why,
        }


@dataclass(frozen=True)
class _District:
    """A former district (or district-level town or city) and the communes it became."""

    name: str
    folded: str
    old_province_key: str
    province_code: str
    commune_ids: tuple[int, ...]


@dataclass(frozen=True)
class _OldCommune:
    name: str
    old_province_key: str
    old_district_folded: str | None
    old_district_name: str | None
    province_code: str
    commune_id: int


@dataclass
class PlaceIndex:
    """In-memory lookup tables of the administrative units, keyed by folded name."""

    provinces: dict[str, tuple[str, str]] = field(default_factory=dict)  # code -> (name, key)
    province_by_name: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    old_province_by_name: dict[str, list[tuple[str, str, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )  # folded -> [(old key, current code, old name)]
    communes: dict[int, tuple[str, str, str]] = field(
        default_factory=dict
    )  # id -> (name, code, accent)
    commune_by_name: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    district_by_name: dict[str, list[_District]] = field(default_factory=lambda: defaultdict(list))
    old_commune_by_name: dict[str, list[_OldCommune]] = field(
        default_factory=lambda: defaultdict(list)
    )

    @classmethod
    def build(cls, session: Session) -> PlaceIndex:
        """Read the three tables once and index them."""
        index = cls()
        for code, name, key, _short, folded in session.execute(
            select(
                Province.code,
                Province.name,
                Province.key,
                Province.short_name,
                Province.folded_name,
            )
        ):
            index.provinces[code] = (name, key)
            index.province_by_name[folded].add(code)
            index.province_by_name[fold(name)].add(code)
            index.old_province_by_name[folded].append((key, code, name))
        for commune_id, name, code, folded in session.execute(
            select(Commune.id, Commune.name, Commune.province_code, Commune.folded_name)
        ):
            index.communes[commune_id] = (name, code, _accent_core(name))
            index.commune_by_name[folded].append(commune_id)

        districts: dict[tuple[str, str, str, str], list[int]] = defaultdict(list)
        aliases: Any = session.execute(
            select(
                PlaceAlias.kind,
                PlaceAlias.name,
                PlaceAlias.folded_name,
                PlaceAlias.old_province_key,
                PlaceAlias.old_district_folded,
                PlaceAlias.old_district_name,
                PlaceAlias.province_code,
                PlaceAlias.commune_id,
            ).order_by(PlaceAlias.id)
        )
        for row in aliases:
            kind, name, folded, old_key, district_folded, district_name, code, commune_id = row
            if kind == "old_province":
                index.old_province_by_name[folded].append((old_key, code, name))
                index.old_province_by_name[fold(name)].append((old_key, code, name))
            elif kind == "common_name":
                index.province_by_name[folded].add(code)
            elif kind == "old_district":
                districts[(folded, old_key, name, code)].append(commune_id)
            elif kind == "old_commune":
                index.old_commune_by_name[folded].append(
                    _OldCommune(name, old_key, district_folded, district_name, code, commune_id)
                )
        for (folded, old_key, name, code), commune_ids in districts.items():
            index.district_by_name[folded].append(
                _District(name, folded, old_key, code, tuple(dict.fromkeys(commune_ids)))
            )
        return index

    def is_known_name(self, folded: str) -> bool:
        """True when the folded text names some unit, current or former."""
        return bool(
            self.province_by_name.get(folded)
            or self.old_province_by_name.get(folded)
            or self.commune_by_name.get(folded)
            or self.district_by_name.get(folded)
            or self.old_commune_by_name.get(folded)
        )

    def ref(self, commune_id: int, note: str | None = None) -> PlaceRef:
        """The commune `commune_id` as a `PlaceRef`."""
        name, code, _ = self.communes[commune_id]
        return PlaceRef(code, self.provinces[code][0], commune_id, name, note)


def _accent_core(name: str) -> str:
    """Accented lower-case name without its unit prefix."""
    words = accent_key(name)
    for prefix, _ in _PREFIXES:
        if words.startswith(prefix + " "):
            return words[len(prefix) + 1 :]
    return words


_INDEXES: weakref.WeakKeyDictionary[Engine, PlaceIndex] = weakref.WeakKeyDictionary()
_INDEX_LOCK = threading.Lock()


def get_place_index(session: Session) -> PlaceIndex:
    """The lookup tables for the session's database, built on first use in this process."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    with _INDEX_LOCK:
        index = _INDEXES.get(engine)
        if index is None:
            index = PlaceIndex.build(session)
            # An empty directory is not cached: it is about to be seeded.
            if index.provinces:
                _INDEXES[engine] = index
    return index


def forget_place_index(engine: Engine | None = None) -> None:
    """Drop the cached lookup tables (after the administrative units changed)."""
    with _INDEX_LOCK:
        if engine is None:
            _INDEXES.clear()
        else:
            _INDEXES.pop(engine, None)


@dataclass
class _Segment:
    """One part of the text: what its prefix announces and its name without the prefix."""

    hint: str | None
    folded: str
    accented: str
    has_accents: bool


def _check_text(text: str | None) -> str:
    if text is None or not str(text).strip():
        raise PlaceTextError(
            "Chưa có địa chỉ. Hãy ghi tên xã/phường và tỉnh/thành, ví dụ: 'xã Mỹ Hiệp, Đồng Tháp'."
        )
    text = str(text)
    if len(text) > MAX_PLACE_CHARS:
        raise PlaceTextError(
            f"Địa chỉ quá dài ({len(text)} ký tự). Hãy ghi ngắn gọn, tối đa {MAX_PLACE_CHARS} ký tự,"
            " ví dụ: 'xã Mỹ Hiệp, Đồng Tháp'."
        )
    if any(unicodedata.category(char) == "Cc" and char not in "\n\r\t" for char in text):
        raise PlaceTextError("Địa chỉ có ký tự điều khiển không hợp lệ. Hãy gõ lại địa chỉ.")
    return text


def _segments(text: str) -> list[_Segment]:
    """Split the text into parts at separators and before each unit prefix."""
    normalized = unicodedata.normalize("NFC", text).lower()
    normalized = _ABBREVIATION.sub(lambda m: _ABBREVIATIONS[m.group(1).lower()], normalized)
    normalized = _NUMBERED.sub(
        lambda m: ("quận " if m.group(1).lower() == "q" else "phường ") + m.group(2), normalized
    )
    segments: list[_Segment] = []
    for chunk in _SEPARATORS.split(normalized):
        words = accent_key(chunk).split()
        if not words:
            continue
        has_accents = strip_diacritics(chunk) != chunk
        current: list[str] = []
        hint: str | None = None
        position = 0
        while position < len(words):
            matched = _prefix_at(words, position, has_accents)
            # A prefix starts a new part only after a name: "huyen quan hoa" stays one part.
            if matched and (position == 0 or current):
                if position > 0:
                    segments.append(_make_segment(hint, current, has_accents))
                prefix, hint = matched
                current = []
                position += len(prefix.split())
                continue
            current.append(words[position])
            position += 1
        if current:
            segments.append(_make_segment(hint, current, has_accents))
    return segments


def _prefix_at(words: list[str], position: int, has_accents: bool) -> tuple[str, str] | None:
    for prefix, hint in _PREFIXES:
        size = len(prefix.split())
        if " ".join(words[position : position + size]) != prefix:
            continue
        # In accented text a bare "xa" or "quan" is a name, not a prefix.
        if has_accents and prefix in _BARE_ONLY and prefix not in ("tp", "tx", "tt"):
            continue
        if position + size >= len(words):
            return None
        return prefix, hint
    return None


def _make_segment(hint: str | None, words: list[str], has_accents: bool) -> _Segment:
    accented = " ".join(words)
    return _Segment(hint, fold(accented), accented, has_accents)


def _split_unknown(index: PlaceIndex, segments: list[_Segment]) -> list[_Segment]:
    """Cut parts such as "my hiep cao lanh dong thap" or "xã mỹ hiệp nha" into known names."""
    result: list[_Segment] = []
    for segment in segments:
        if index.is_known_name(segment.folded):
            result.append(segment)
        elif segment.hint:
            result.extend(_peel_hinted(index, segment))
        else:
            result.extend(_peel_from_right(index, segment))
    return result


def _words(segment: _Segment) -> tuple[list[str], list[str]]:
    folded = segment.folded.split()
    accented = segment.accented.split()
    return folded, accented if len(accented) == len(folded) else folded


def _peel_hinted(index: PlaceIndex, segment: _Segment) -> list[_Segment]:
    """Keep the longest known name right after the prefix; read the rest as another part."""
    folded, accented = _words(segment)
    for end in range(len(folded) - 1, 0, -1):
        if index.is_known_name(" ".join(folded[:end])):
            head = _Segment(
                segment.hint, " ".join(folded[:end]), " ".join(accented[:end]), segment.has_accents
            )
            tail = _Segment(
                None, " ".join(folded[end:]), " ".join(accented[end:]), segment.has_accents
            )
            return [head, *_peel_from_right(index, tail)]
    return [segment]


def _peel_from_right(index: PlaceIndex, segment: _Segment) -> list[_Segment]:
    """Take the longest known name at the end, then again on what is left."""
    folded, accented = _words(segment)
    pieces: list[_Segment] = []
    end = len(folded)
    while end > 0:
        for start in range(0, end):
            name = " ".join(folded[start:end])
            if index.is_known_name(name):
                pieces.insert(
                    0, _Segment(None, name, " ".join(accented[start:end]), segment.has_accents)
                )
                end = start
                break
        else:
            # The leftmost words name nothing (a street, "em ở"): drop them.
            break
    return pieces


@dataclass
class _Scope:
    """The province the person named, if any, narrowing what lower-level names can mean."""

    codes: set[str] | None = None
    old_province_key: str | None = None
    notes: list[str] = field(default_factory=list)

    def allows(self, code: str, old_key: str | None = None) -> bool:
        if self.codes is not None and code not in self.codes:
            return False
        return self.old_province_key is None or old_key is None or old_key == self.old_province_key


def _province_scope(index: PlaceIndex, segment: _Segment) -> _Scope | None:
    """The scope a segment names as a province, or None when it names none."""
    if segment.hint not in (None, "province", "city"):
        return None
    current = index.province_by_name.get(segment.folded, set())
    if current:
        return _Scope(codes=set(current))
    former = index.old_province_by_name.get(segment.folded, [])
    if not former:
        return None
    old_key, code, old_name = former[0]
    new_name = index.provinces[code][0]
    return _Scope(
        codes={code}, old_province_key=old_key, notes=[f"{old_name} (cũ) nay thuộc {new_name}."]
    )


def _districts(index: PlaceIndex, segment: _Segment, scope: _Scope) -> list[_District]:
    if segment.hint not in (None, "district", "city"):
        return []
    return [
        district
        for district in index.district_by_name.get(segment.folded, [])
        if scope.allows(district.province_code, district.old_province_key)
    ]


def _current_communes(index: PlaceIndex, segment: _Segment, scope: _Scope) -> list[int]:
    if segment.hint not in (None, "commune"):
        return []
    found = [
        commune_id
        for commune_id in index.commune_by_name.get(segment.folded, [])
        if scope.allows(index.communes[commune_id][1])
    ]
    if len(found) > 1 and segment.has_accents:
        # "Tân Thạnh" typed with its marks is not "Tân Thành".
        exact = [cid for cid in found if index.communes[cid][2] == segment.accented]
        found = exact or found
    return found


def _old_communes(
    index: PlaceIndex, segment: _Segment, scope: _Scope, districts: list[_District] | None = None
) -> list[_OldCommune]:
    if segment.hint not in (None, "commune"):
        return []
    found = [
        old
        for old in index.old_commune_by_name.get(segment.folded, [])
        if scope.allows(old.province_code, old.old_province_key)
    ]
    if districts is not None:
        keys = {(d.old_province_key, d.folded) for d in districts}
        found = [old for old in found if (old.old_province_key, old.old_district_folded) in keys]
    return found


def _district_label(district: _District) -> str:
    return f"{district.name} (cũ)"


def resolve_place(session: Session, text: str | None) -> PlaceResolution:
    """Resolve free text naming a place to the current province and commune.

    Raises `PlaceTextError` for empty, overlong or garbled text; text that names nothing
    known resolves to an empty `PlaceResolution` whose `why` says so.
    """
    text = _check_text(text)
    index = get_place_index(session)
    segments = _split_unknown(index, _segments(text))
    if not segments:
        return PlaceResolution(why="Không nhận ra địa danh nào trong địa chỉ đã nhập.")

    scope = _Scope()
    lower = list(segments)
    for position in range(len(segments) - 1, -1, -1):
        named = _province_scope(index, segments[position])
        if named is not None:
            scope = named
            lower = segments[:position]
            break

    commune_segment, district_segment = _pick_lower(index, lower, scope)
    refs, notes = _interpret(index, scope, commune_segment, district_segment)
    return _conclude(index, scope, refs, notes, commune_segment or district_segment)


def _pick_lower(
    index: PlaceIndex, segments: list[_Segment], scope: _Scope
) -> tuple[_Segment | None, _Segment | None]:
    """From the right: an optional former district, then the commune to its left."""
    district_segment: _Segment | None = None
    for position in range(len(segments) - 1, -1, -1):
        segment = segments[position]
        if segment.hint == "commune":
            return segment, district_segment
        has_lower_part = position > 0
        if segment.hint in ("district", "city") or (
            segment.hint is None and has_lower_part and _districts(index, segment, scope)
        ):
            if district_segment is None:
                district_segment = segment
                continue
            return segment, district_segment
        return segment, district_segment
    return None, district_segment


def _interpret(
    index: PlaceIndex,
    scope: _Scope,
    commune_segment: _Segment | None,
    district_segment: _Segment | None,
) -> tuple[list[PlaceRef], list[str]]:
    notes = list(scope.notes)
    districts = _districts(index, district_segment, scope) if district_segment else []
    if district_segment and not districts:
        notes.append(f"Không tìm thấy quận/huyện/thị xã '{_display(district_segment.accented)}'.")

    if commune_segment is None:
        refs = [
            index.ref(cid, f"thuộc {_district_label(d)}")
            for d in districts
            for cid in d.commune_ids
        ]
        if districts:
            notes.append(_district_sentence(index, districts))
        return refs, notes

    if districts:
        olds = _old_communes(index, commune_segment, scope, districts)
        if olds:
            return [_old_ref(index, old) for old in olds], notes
        allowed = {cid for d in districts for cid in d.commune_ids}
        current = _current_communes(index, commune_segment, scope)
        inside = [cid for cid in current if cid in allowed]
        return [index.ref(cid) for cid in (inside or current)], notes

    refs = [index.ref(cid) for cid in _current_communes(index, commune_segment, scope)]
    if commune_segment.hint is None:
        for district in _districts(index, commune_segment, scope):
            refs.extend(
                index.ref(cid, f"thuộc {_district_label(district)}") for cid in district.commune_ids
            )
    if not refs:
        refs = [_old_ref(index, old) for old in _old_communes(index, commune_segment, scope)]
    if not refs:
        notes.append(f"Không tìm thấy xã/phường '{_display(commune_segment.accented)}'.")
    return refs, notes


def _display(words: str) -> str:
    """Words as a name is written: "cao lãnh" → "Cao Lãnh"."""
    return " ".join(word.capitalize() for word in words.split())


def _old_ref(index: PlaceIndex, old: _OldCommune) -> PlaceRef:
    where = f", {old.old_district_name}" if old.old_district_name else ""
    return index.ref(old.commune_id, f"tên cũ: {old.name}{where}")


def _district_sentence(index: PlaceIndex, districts: list[_District]) -> str:
    parts = []
    for district in districts:
        names = [index.communes[cid][0] for cid in district.commune_ids]
        parts.append(f"{district.name} (cũ) nay thuộc {len(names)} xã/phường: {', '.join(names)}.")
    return " ".join(parts)


def _conclude(
    index: PlaceIndex,
    scope: _Scope,
    refs: list[PlaceRef],
    notes: list[str],
    named: _Segment | None,
) -> PlaceResolution:
    unique: dict[int, PlaceRef] = {}
    for ref in refs:
        if ref.commune_id is not None:
            unique.setdefault(ref.commune_id, ref)
    found = list(unique.values())
    codes = {ref.province_code for ref in found} or (scope.codes or set())
    province_code = next(iter(codes)) if len(codes) == 1 else None
    province = index.provinces[province_code][0] if province_code else None

    if len(found) == 1:
        only = found[0]
        if only.note and only.note.startswith("tên cũ"):
            notes.append(
                f"{only.note.removeprefix('tên cũ: ')} (cũ) nay là {only.commune}, {only.province}."
            )
        else:
            notes.append(f"{only.commune}, {only.province}.")
        return PlaceResolution(
            only.province_code, only.province, only.commune_id, only.commune, (), " ".join(notes)
        )
    if found:
        label = f"'{_display(named.accented)}'" if named else "Địa chỉ này"
        notes.append(
            f"{label} có thể là {len(found)} nơi; cần biết rõ xã/phường nào."
            if not any("nay thuộc" in note and "xã/phường:" in note for note in notes)
            else "Cần biết rõ xã/phường nào."
        )
        return PlaceResolution(
            province_code, province, None, None, tuple(found[:MAX_CANDIDATES]), " ".join(notes)
        )
    if province_code:
        notes.append(f"Đã xác định {province}.")
        return PlaceResolution(province_code, province, None, None, (), " ".join(notes))
    notes.append("Không nhận ra địa danh nào trong địa chỉ đã nhập.")
    return PlaceResolution(why=" ".join(notes))
