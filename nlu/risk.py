"""Risk detector: sets `risk` (`none` / `elevated` / `high`) on every message.

Risk is a signal separate from the intent (see /work/shared/INTENTS.md): a `high`
message goes straight to the crisis protocol whatever its intent. The detector is a
lexicon of multi-word patterns, kept as data in `resources/risk_lexicon.yml` (its
pattern language is documented at the top of that file), matched on the normal form of
the message (`nlu.normalize.pieces`) so that one pattern covers standard Vietnamese,
unaccented typing and teencode. Guards (figures of speech such as `đói muốn chết`, film
and news talk, prevention material, a third party's report) cancel or lower the risk
matches they overlap.

Usage:

    >>> assess_risk("k mun song nua").level
    'high'
    >>> assess_risk("nóng chết đi được").level
    'none'

In a Rasa pipeline, put `nlu.risk.RiskDetector` after the tokenizer; it sets `risk` and
`risk_matches` (the matched entry ids) on every message, training messages included.
The module also imports without Rasa (the gateway's environment scores text with
`assess_risk` alone); the component is then not defined.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from nlu.normalize import fold, has_diacritics, normalize_word, pieces

try:
    from rasa.engine.graph import ExecutionContext, GraphComponent
    from rasa.engine.recipes.default_recipe import DefaultV1Recipe
    from rasa.engine.storage.resource import Resource
    from rasa.engine.storage.storage import ModelStorage
    from rasa.shared.nlu.constants import TEXT
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData
except ImportError:  # the app's environment: assess_risk without the Rasa component
    GraphComponent = None  # type: ignore[assignment,misc]

logger = logging.getLogger(__name__)

LEXICON_FILE = Path(__file__).resolve().parent / "resources" / "risk_lexicon.yml"

NONE = "none"
ELEVATED = "elevated"
HIGH = "high"
LEVELS = (NONE, ELEVATED, HIGH)
_RANK = {NONE: 0, ELEVATED: 1, HIGH: 2}
# what the component reports when the detector itself fails: a person should look,
# without firing the crisis protocol on every message of a broken deployment
_FAILURE_LEVEL = ELEVATED
_FAILURE_ID = "detector_error"

MAX_GAP = 8
_ENTRY_KEYS = {
    "id",
    "level",
    "situation",
    "description",
    "patterns",
    "examples",
    "counter_examples",
}
_GUARD_KEYS = {"id", "description", "cap", "only", "patterns", "examples", "counter_examples"}
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_GAP = re.compile(r"^~(\d+)$")
_BOUNDARY_SYMBOLS = frozenset(".!?;")
_BOUNDARY = ""  # the token that stands for a sentence boundary: equal to no pattern word
_NUMBER = re.compile(r"^#(\d*)$")
# an unaccented Vietnamese syllable: some accented word folds to it
_SYLLABLE = re.compile(
    r"^(?:ngh|ng|nh|ch|gh|gi|kh|ph|th|tr|qu|k(?=[eiy])|[bcdghlmnprstvx])?"
    r"[aeiouy]{1,3}(?:ng|nh|ch|[cmnpt])?$"
)


class LexiconError(ValueError):
    """The risk lexicon file does not follow its schema."""


# --- the compiled lexicon ---------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """One item of a pattern.

    kind `word`: one of `alternatives` (each a tuple of words), after up to `gap` other
    words; kind `not`: zero-width, the next word (the previous one when the slot opens
    the pattern) is none of `alternatives`; kind `end`: zero-width, end of a sentence.
    """

    kind: str
    alternatives: tuple[tuple[str, ...], ...] = ()
    optional: bool = False
    gap: int = 0
    allows_end: bool = False  # `$` among the alternatives: the end of a sentence will do
    # alternatives by their first word, and those that start with a number (speed)
    by_first: dict[str, tuple[tuple[str, ...], ...]] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )
    numeric: tuple[tuple[str, ...], ...] = field(default=(), compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        by_first: dict[str, list[tuple[str, ...]]] = {}
        for alt in self.alternatives:
            if alt[0][0] != "#":
                by_first.setdefault(alt[0], []).append(alt)
        object.__setattr__(self, "by_first", {w: tuple(a) for w, a in by_first.items()})
        numeric = tuple(a for a in self.alternatives if a[0][0] == "#")
        object.__setattr__(self, "numeric", numeric)

    def candidates(self, word: str) -> tuple[tuple[str, ...], ...]:
        """The alternatives that can start at a word (a cheap pre-filter)."""
        found = self.by_first.get(word, ())
        if self.numeric and word.isdigit():
            found = found + self.numeric
        return found


@dataclass(frozen=True)
class Pattern:
    source: str
    accented: bool  # matched on the accented normal form, else on the folded form
    slots: tuple[Slot, ...]

    @property
    def required(self) -> tuple[frozenset[str], ...]:
        """For each slot that must match, the words it can start with ("#": a number);
        a message lacking all the words of one of them cannot match (a cheap pre-filter)."""
        return tuple(
            frozenset("#" if alt[0][0] == "#" else alt[0] for alt in s.alternatives)
            for s in self.slots
            if s.kind == "word" and not s.optional and not s.allows_end
        )

    @property
    def reach(self) -> int:
        """How far after its first word a match can put its last required word."""
        first = next(n for n, s in enumerate(self.slots) if s.kind == "word")
        return sum(
            s.gap + max(len(alt) for alt in s.alternatives)
            for s in self.slots[first:]
            if s.kind == "word"
        )

    @property
    def first_words(self) -> frozenset[str]:
        """The words a match can start with (index keys)."""
        first = next(s for s in self.slots if s.kind == "word")
        # numbers (#, #10) are indexed together under "#"
        return frozenset("#" if alt[0][0] == "#" else alt[0] for alt in first.alternatives)


@dataclass(frozen=True)
class Entry:
    """A lexicon entry (level `high` / `elevated`) or a guard.

    A guard's `level` is its cap: the matches it overlaps are lowered to that level
    (`none` cancels them); `only`, when not empty, limits it to those entry ids.
    """

    id: str
    level: str
    situation: str
    description: str
    patterns: tuple[Pattern, ...]
    examples: tuple[str, ...]
    counter_examples: tuple[str, ...]
    is_guard: bool = False
    only: frozenset[str] = frozenset()

    def caps(self, entry_id: str) -> bool:
        return self.is_guard and (not self.only or entry_id in self.only)


# entry, pattern, position of its first word slot, the words it needs (first slot left
# out), its reach, and the words that may follow the first one (None: any)
_Indexed = tuple[Entry, Pattern, int, tuple[frozenset[str], ...], int, frozenset[str] | None]


@dataclass(frozen=True)
class Lexicon:
    """Entries and guards, with their patterns indexed by the word a match starts with."""

    entries: tuple[Entry, ...]
    guards: tuple[Entry, ...]
    acc_index: dict[str, tuple[_Indexed, ...]]
    fold_index: dict[str, tuple[_Indexed, ...]]
    # accented words that unaccented patterns must not match (muộn is not muốn)
    accented_only: frozenset[str] = frozenset()

    @classmethod
    def build(
        cls,
        entries: tuple[Entry, ...],
        guards: tuple[Entry, ...],
        accented_only: frozenset[str] = frozenset(),
    ) -> Lexicon:
        acc: dict[str, list[_Indexed]] = {}
        folded: dict[str, list[_Indexed]] = {}
        for entry in entries + guards:
            for pattern in entry.patterns:
                index = acc if pattern.accented else folded
                k = next(n for n, s in enumerate(pattern.slots) if s.kind == "word")
                first = pattern.slots[k]
                for word in pattern.first_words:
                    alts = [a for a in first.alternatives if a[0] == word]
                    second = (
                        frozenset(a[1] for a in alts)
                        if alts and all(len(a) > 1 and a[1][0] != "#" for a in alts)
                        else None
                    )
                    index.setdefault(word, []).append(
                        (entry, pattern, k, pattern.required[1:], pattern.reach, second)
                    )
        return cls(
            entries,
            guards,
            {w: tuple(v) for w, v in acc.items()},
            {w: tuple(v) for w, v in folded.items()},
            accented_only,
        )


# --- results -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RiskMatch:
    """A lexicon entry found in the message, with its span in the ORIGINAL text."""

    entry_id: str
    level: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class RiskAssessment:
    level: str
    matches: tuple[RiskMatch, ...] = ()
    guards: tuple[RiskMatch, ...] = ()  # guards found (figures of speech, news, negation...)

    @property
    def entry_ids(self) -> list[str]:
        """Distinct ids of the entries still matching after guards, in text order."""
        seen: list[str] = []
        for match in self.matches:
            if match.entry_id not in seen:
                seen.append(match.entry_id)
        return seen


# --- loading -----------------------------------------------------------------------------


def _fail(where: str, problem: str) -> LexiconError:
    return LexiconError(f"risk lexicon, {where}: {problem}")


def _check_word(word: str, accented: bool, where: str) -> None:
    """A pattern word must be a word of the normal form, or it can never match."""
    if _NUMBER.match(word):
        return
    normal = normalize_word(word)
    expected = normal if accented else fold(normal)
    if not accented and expected != word and _SYLLABLE.match(word):
        return  # typed as is it is rewritten (bai → tạm biệt), but bài/bãi fold to it
    if " " in normal or expected != word:
        raise _fail(
            where,
            f"word {word!r} never occurs in the normal form (it becomes {expected!r}); "
            "write the normal form",
        )


def _expand_classes(text: str, classes: dict[str, str], where: str) -> str:
    """Replace each `@name` alternative by the alternatives of that word class."""
    items = []
    for item in text.split():
        head = "!" if item.startswith("!") else ""
        tail = "?" if item.endswith("?") and len(item) > 1 else ""
        core = item[len(head) : len(item) - len(tail)]
        alternatives = []
        for alt in core.split("|"):
            if alt.startswith("@"):
                if alt[1:] not in classes:
                    raise _fail(where, f"unknown word class {alt!r}")
                alternatives.append(classes[alt[1:]])
            else:
                alternatives.append(alt)
        items.append(head + "|".join(alternatives) + tail)
    return " ".join(items)


def compile_pattern(
    source: str, where: str = "pattern", classes: dict[str, str] | None = None
) -> Pattern:
    """Parse one pattern of the lexicon's pattern language (see risk_lexicon.yml)."""
    if not isinstance(source, str) or not source.strip():
        raise _fail(where, "a pattern must be a non-empty string")
    text = unicodedata.normalize("NFC", source).strip().lower()
    text = _expand_classes(text, classes or {}, f"{where} {source!r}")
    accented = has_diacritics(text)
    where = f"{where} {source!r}"
    slots: list[Slot] = []
    gap = 0
    pending_gap = False
    for item in text.split():
        gap_match = _GAP.match(item)
        if gap_match:
            if pending_gap or not any(s.kind == "word" for s in slots):
                raise _fail(where, "a gap ~N must come between two words")
            gap = int(gap_match.group(1))
            if not 1 <= gap <= MAX_GAP:
                raise _fail(where, f"gap ~{gap} out of range 1..{MAX_GAP}")
            pending_gap = True
            continue
        if item == "$":
            if pending_gap:
                raise _fail(where, "a gap cannot come before $")
            slots.append(Slot("end"))
            continue
        kind = "word"
        if item.startswith("!"):
            kind, item = "not", item[1:]
        optional = item.endswith("?") and kind == "word"
        if optional:
            item = item[:-1]
        names = item.split("|")
        allows_end = kind == "word" and "$" in names and len(names) > 1
        if allows_end:
            names = [name for name in names if name != "$"]
        alternatives = tuple(tuple(alt.split("_")) for alt in names)
        for alt in alternatives:
            if not alt or any(not w for w in alt):
                raise _fail(where, f"empty alternative in {item!r}")
            for word in alt:
                if not re.fullmatch(r"[\w#]+(?:[-.'][\w]+)*", word):
                    raise _fail(where, f"{word!r} is not a word")
                _check_word(word, accented, where)
        if kind == "not" and pending_gap:
            raise _fail(where, "a gap cannot come before a !negation")
        slots.append(Slot(kind, alternatives, optional, gap if pending_gap else 0, allows_end))
        gap, pending_gap = 0, False
    if pending_gap:
        raise _fail(where, "a pattern cannot end with a gap")
    words = [s for s in slots if s.kind == "word"]
    if not words:
        raise _fail(where, "a pattern needs at least one word")
    first = words[0]
    if first.optional:
        raise _fail(where, "the first word of a pattern cannot be optional")
    if words[-1].optional:
        raise _fail(where, "the last word of a pattern cannot be optional")
    if slots[0].kind == "end":
        raise _fail(where, "$ cannot open a pattern")
    return Pattern(source, accented, tuple(slots))


def _strings(value: Any, where: str, field: str, required: bool) -> tuple[str, ...]:
    if value is None and not required:
        return ()
    if not isinstance(value, list) or (required and not value):
        raise _fail(where, f"'{field}' must be a non-empty list of strings")
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise _fail(where, f"'{field}' holds a non-string or empty item: {item!r}")
    return tuple(value)


def _parse_entry(raw: Any, position: int, section: str, classes: dict[str, str]) -> Entry:
    where = f"{section}[{position}]"
    if not isinstance(raw, dict):
        raise _fail(where, "expected a mapping with id, patterns, examples, ...")
    entry_id = raw.get("id")
    if not isinstance(entry_id, str) or not _ID.match(entry_id):
        raise _fail(where, f"'id' must be snake_case, got {entry_id!r}")
    where = f"{section} entry '{entry_id}'"
    allowed = _ENTRY_KEYS if section == "entries" else _GUARD_KEYS
    unknown = set(raw) - allowed
    if unknown:
        raise _fail(where, f"unknown field(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    if section == "entries":
        level = raw.get("level")
        if level not in (HIGH, ELEVATED):
            raise _fail(where, f"'level' must be 'high' or 'elevated', got {level!r}")
        situation = raw.get("situation")
        if not isinstance(situation, str) or not situation.strip():
            raise _fail(where, "'situation' must be a short text")
    else:
        level = raw.get("cap", NONE)
        if level not in (NONE, ELEVATED):
            raise _fail(where, f"'cap' must be 'none' or 'elevated', got {level!r}")
        situation = "figure of speech or non-crisis context"
    description = raw.get("description")
    if not isinstance(description, str) or not description.strip():
        raise _fail(where, "'description' must be a short text")
    sources = _strings(raw.get("patterns"), where, "patterns", required=True)
    patterns = tuple(
        compile_pattern(p, f"{where}, pattern {n + 1}", classes) for n, p in enumerate(sources)
    )
    examples = _strings(raw.get("examples"), where, "examples", required=True)
    counter = _strings(raw.get("counter_examples"), where, "counter_examples", required=True)
    only = _strings(raw.get("only"), where, "only", required=False)
    return Entry(
        entry_id,
        level,
        situation,
        description,
        patterns,
        examples,
        counter,
        is_guard=section == "guards",
        only=frozenset(only),
    )


def parse_lexicon(data: Any) -> Lexicon:
    """Validate the lexicon's data (as read from YAML) and compile its patterns."""
    if not isinstance(data, dict):
        raise _fail("top level", "expected a mapping with 'entries' and 'guards'")
    unknown = set(data) - {"version", "classes", "accented_only", "entries", "guards"}
    if unknown:
        raise _fail("top level", f"unknown key(s) {sorted(unknown)}")
    classes = data.get("classes") or {}
    if not isinstance(classes, dict):
        raise _fail("top level", "'classes' must map a name to alternatives (a|b|c)")
    for name, value in classes.items():
        if not isinstance(name, str) or not _ID.match(name):
            raise _fail("classes", f"class name {name!r} must be snake_case")
        if not isinstance(value, str) or not value.strip() or any(c in value for c in " !?~@$"):
            raise _fail(f"class '{name}'", "must be alternatives like a|b|c_d, without spaces")
    classes = {name: unicodedata.normalize("NFC", value).lower() for name, value in classes.items()}
    sections = {}
    for section in ("entries", "guards"):
        items = data.get(section)
        if not isinstance(items, list) or not items:
            raise _fail("top level", f"'{section}' must be a non-empty list")
        sections[section] = tuple(_parse_entry(r, n, section, classes) for n, r in enumerate(items))
    seen = set()
    for entry in sections["entries"] + sections["guards"]:
        if entry.id in seen:
            raise _fail(f"entry '{entry.id}'", "duplicate id")
        seen.add(entry.id)
    entry_ids = {entry.id for entry in sections["entries"]}
    for guard in sections["guards"]:
        if guard.only - entry_ids:
            raise _fail(
                f"guards entry '{guard.id}'",
                f"'only' names unknown entries {sorted(guard.only - entry_ids)}",
            )
    accented_only = _strings(data.get("accented_only"), "top level", "accented_only", False)
    for word in accented_only:
        if not has_diacritics(word) or " " in word.strip():
            raise _fail("accented_only", f"{word!r} must be one word with diacritics")
    return Lexicon.build(
        sections["entries"],
        sections["guards"],
        frozenset(unicodedata.normalize("NFC", w).lower() for w in accented_only),
    )


def _read_yaml(text: str) -> Any:
    """Rasa's YAML reader where Rasa is installed, PyYAML (the app's) elsewhere."""
    try:
        from rasa.shared.utils.io import read_yaml
    except ImportError:
        import yaml

        return yaml.safe_load(text)
    return read_yaml(text)


@lru_cache(maxsize=8)
def load_lexicon(path: Path | None = None) -> Lexicon:
    """Read, validate and compile a lexicon file (the packaged one by default); cached."""
    path = Path(path) if path is not None else LEXICON_FILE
    try:
        data = _read_yaml(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise LexiconError(f"risk lexicon {path}: cannot read ({error})") from error
    except Exception as error:  # ruamel's parser errors have no common public base
        raise LexiconError(f"risk lexicon {path}: not valid YAML ({error})") from error
    try:
        return parse_lexicon(data)
    except LexiconError as error:
        raise LexiconError(f"{path.name}: {error}") from None


# --- matching ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tokens:
    """The message as normalized words, with a boundary token between sentences."""

    acc: tuple[str, ...]
    folded: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]  # span in the original text of each token's piece


def _tokens(text: str, accented_only: frozenset[str] = frozenset()) -> _Tokens:
    acc: list[str] = []
    spans: list[tuple[int, int]] = []
    all_pieces = pieces(text)
    previous_end = 0
    for n, piece in enumerate(all_pieces):
        if "\n" in text[previous_end : piece.start] and acc and acc[-1] != _BOUNDARY:
            acc.append(_BOUNDARY)
            spans.append((previous_end, piece.start))
        previous_end = piece.end
        if piece.norm:
            for word in piece.norm.split():
                acc.append(word)
                spans.append((piece.start, piece.end))
        elif piece.raw in _BOUNDARY_SYMBOLS:
            # a run of dots is a hesitation ("muốn... chết"), not the end of a sentence
            dots = piece.raw == "." and (
                (n > 0 and all_pieces[n - 1].raw == "." and all_pieces[n - 1].end == piece.start)
                or (
                    n + 1 < len(all_pieces)
                    and all_pieces[n + 1].raw == "."
                    and all_pieces[n + 1].start == piece.end
                )
            )
            if not dots and acc and acc[-1] != _BOUNDARY:
                acc.append(_BOUNDARY)
                spans.append((piece.start, piece.end))
    folded = tuple(w if not w or w in accented_only else _fold(w) for w in acc)
    return _Tokens(tuple(acc), folded, tuple(spans))


def _word_is(word: str, expected: str) -> bool:
    if expected[0] == "#":  # a number, at least the one written after the #
        return word.isdigit() and len(word) <= 9 and int(word) >= int(expected[1:] or 0)
    return word == expected


_fold = lru_cache(maxsize=65536)(fold)


def _alt_at(words: Sequence[str], pos: int, alt: tuple[str, ...]) -> bool:
    end = pos + len(alt)
    if end > len(words):
        return False
    if all(w[0] != "#" for w in alt):
        return tuple(words[pos:end]) == alt
    return all(_word_is(words[pos + n], w) for n, w in enumerate(alt))


def _match_from(
    slots: tuple[Slot, ...], k: int, pos: int, words: Sequence[str], carry: int = 0
) -> int | None:
    """End position of a match of slots[k:] starting at pos, or None."""
    if k == len(slots):
        return pos
    slot = slots[k]
    n = len(words)
    if slot.kind == "end":
        if pos == n or words[pos] == _BOUNDARY:
            return _match_from(slots, k + 1, pos, words)
        return None
    if slot.kind == "not":
        if pos < n and any(_alt_at(words, pos, alt) for alt in slot.candidates(words[pos])):
            return None
        return _match_from(slots, k + 1, pos, words, carry)
    gap = slot.gap + carry
    for skip in range(gap + 1):
        p = pos + skip
        if p >= n:
            break
        if skip and words[p - 1] == _BOUNDARY:
            break  # gaps never cross a sentence boundary
        for alt in slot.candidates(words[p]):
            if _alt_at(words, p, alt):
                end = _match_from(slots, k + 1, p + len(alt), words)
                if end is not None:
                    return end
        if slot.allows_end and words[p] == _BOUNDARY:
            end = _match_from(slots, k + 1, p, words)
            if end is not None:
                return end
    if slot.allows_end and pos + gap >= n:
        end = _match_from(slots, k + 1, n, words)
        if end is not None:
            return end
    if slot.optional:
        return _match_from(slots, k + 1, pos, words, gap)
    return None


def _occurs(wanted: frozenset[str], words: Sequence[str], start: int, end: int) -> bool:
    for p in range(start, min(end, len(words) - 1) + 1):
        word = words[p]
        if word in wanted or ("#" in wanted and word.isdigit()):
            return True
    return False


def _vocabulary(words: Sequence[str]) -> frozenset[str]:
    """The message's words, with "#" standing for any number in it."""
    vocabulary = set(words)
    if any(w.isdigit() for w in vocabulary):
        vocabulary.add("#")
    return frozenset(vocabulary)


def _find(lexicon: Lexicon, tokens: _Tokens) -> list[tuple[Entry, int, int]]:
    """Every (entry or guard, start token, end token) found in the message."""
    found: list[tuple[Entry, int, int]] = []
    seen = set()
    views = (
        (lexicon.acc_index, tokens.acc, _vocabulary(tokens.acc)),
        (lexicon.fold_index, tokens.folded, _vocabulary(tokens.folded)),
    )
    viable: dict[int, bool] = {}  # per pattern: are all the words it needs in the message?
    for i in range(len(tokens.acc)):
        if tokens.acc[i] == _BOUNDARY:
            continue
        number = tokens.acc[i].isdigit()
        for index, words, vocabulary in views:
            candidates = index.get(words[i], ())
            if number:
                candidates = candidates + index.get("#", ())
            for entry, pattern, k, required, reach, second in candidates:
                if second is not None and (i + 1 >= len(words) or words[i + 1] not in second):
                    continue
                key = id(pattern)
                if key not in viable:
                    viable[key] = all(not vocabulary.isdisjoint(r) for r in required)
                if not viable[key]:
                    continue
                # every word the pattern needs must occur within its reach
                if any(not _occurs(r, words, i + 1, i + reach) for r in reversed(required)):
                    continue
                # leading !negations are about the word before the match
                if (
                    k
                    and i > 0
                    and any(
                        _alt_at(words, i - 1, alt)
                        for s in pattern.slots[:k]
                        for alt in s.candidates(words[i - 1])
                    )
                ):
                    continue
                end = _match_from(pattern.slots, k, i, words)
                if end is not None and (entry.id, i) not in seen:
                    seen.add((entry.id, i))
                    found.append((entry, i, end))
    return found


def _to_match(
    entry: Entry, level: str, start: int, end: int, tokens: _Tokens, text: str
) -> RiskMatch:
    s, e = tokens.spans[start][0], tokens.spans[end - 1][1]
    return RiskMatch(entry.id, level, s, e, text[s:e])


def assess_risk(text: str, lexicon: Lexicon | None = None) -> RiskAssessment:
    """The risk level of one message, with the entries that decided it and their spans."""
    if not isinstance(text, str) or not text.strip():
        return RiskAssessment(NONE)
    lexicon = lexicon or load_lexicon()
    tokens = _tokens(text, lexicon.accented_only)
    found = _find(lexicon, tokens)
    guards = [(g, s, e) for g, s, e in found if g.is_guard]
    kept: list[RiskMatch] = []
    for entry, s, e in found:
        if entry.is_guard:
            continue
        level = entry.level
        for guard, gs, ge in guards:
            # a guard lowers every match it overlaps (that it applies to) to its cap
            if s < ge and gs < e and guard.caps(entry.id) and _RANK[guard.level] < _RANK[level]:
                level = guard.level
        if level != NONE:
            kept.append(_to_match(entry, level, s, e, tokens, text))
    kept.sort(key=lambda m: (m.start, -_RANK[m.level]))
    return RiskAssessment(
        max((m.level for m in kept), key=_RANK.__getitem__, default=NONE),
        tuple(kept),
        tuple(_to_match(g, g.level, s, e, tokens, text) for g, s, e in guards),
    )


# --- the Rasa component -----------------------------------------------------------------


if GraphComponent is not None:

    @DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
    class RiskDetector(GraphComponent):
        """Sets `risk` and `risk_matches` on every message (place it after the tokenizer).

        Registered as a message featurizer because Rasa runs those, in pipeline order, on
        training data and on every parsed message; it adds no features.
        """

        @staticmethod
        def get_default_config() -> dict[str, Any]:
            # `lexicon`: path of another lexicon file (tests); None for the packaged one
            return {"lexicon": None}

        def __init__(self, config: dict[str, Any]) -> None:
            self._path = Path(config["lexicon"]) if config.get("lexicon") else None

        @classmethod
        def create(
            cls,
            config: dict[str, Any],
            model_storage: ModelStorage,
            resource: Resource,
            execution_context: ExecutionContext,
        ) -> RiskDetector:
            detector = cls({**cls.get_default_config(), **config})
            load_lexicon(detector._path)  # fail at model load, not on the first message
            return detector

        def _annotate(self, message: Message) -> None:
            text = message.get(TEXT)
            if not isinstance(text, str):
                return  # intent-only or action messages of end-to-end stories have no text
            try:
                assessment = assess_risk(text, load_lexicon(self._path))
                level, ids = assessment.level, assessment.entry_ids
            except Exception:  # never let the detector take a conversation down
                logger.exception("risk detector failed; reporting %s", _FAILURE_LEVEL)
                level, ids = _FAILURE_LEVEL, [_FAILURE_ID]
            message.set("risk", level, add_to_output=True)
            message.set("risk_matches", ids, add_to_output=True)

        def process(self, messages: list[Message]) -> list[Message]:
            """Annotate parsed messages."""
            for message in messages:
                self._annotate(message)
            return messages

        def process_training_data(self, training_data: TrainingData) -> TrainingData:
            """Annotate training examples too, so later components see the same fields."""
            for message in training_data.training_examples:
                self._annotate(message)
            return training_data
