"""Risk detector: sets `risk` (`none` / `elevated` / `high`) on every message.

Risk is a signal separate from the intent (see /work/shared/INTENTS.md): a `high`
message goes straight to the crisis protocol whatever its intent. The detector is a
lexicon of multi-word patterns, kept as data in `resources/risk_lexicon.yml` (its
pattern language is documented at the top of that file), matched on the normal form of
the message (`nlu.normalize.pieces`) so that one pattern covers standard Vietnamese,
unaccented typing and teencode. Guards (figures of speech such as `đói muốn chết`, film
and news talk, prevention material) cancel the risk matches they overlap.

Usage:

    >>> assess_risk("k mun song nua").level
    'high'
    >>> assess_risk("nóng chết đi được").level
    'none'

In a Rasa pipeline, put `nlu.risk.RiskDetector` after the tokenizer; it sets `risk` and
`risk_matches` (the matched entry ids) on every message, training messages included.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterable, List, Optional, Sequence, Text, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.normalize import fold, has_diacritics, normalize_word, pieces

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
_ENTRY_KEYS = {"id", "level", "situation", "description", "patterns", "examples", "counter_examples"}
_GUARD_KEYS = {"id", "description", "patterns", "examples", "counter_examples"}
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_GAP = re.compile(r"^~(\d+)$")
_BOUNDARY_SYMBOLS = frozenset(".!?;")
_BOUNDARY = ""  # the token that stands for a sentence boundary: equal to no pattern word
_NUMBER = ("#",)


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
    alternatives: Tuple[Tuple[str, ...], ...] = ()
    optional: bool = False
    gap: int = 0


@dataclass(frozen=True)
class Pattern:
    source: str
    accented: bool  # matched on the accented normal form, else on the folded form
    slots: Tuple[Slot, ...]

    @property
    def first_words(self) -> FrozenSet[str]:
        """The words a match can start with (index keys)."""
        first = next(s for s in self.slots if s.kind == "word")
        return frozenset(alt[0] for alt in first.alternatives)


@dataclass(frozen=True)
class Entry:
    """A lexicon entry (level `high` / `elevated`) or a guard (level `none`)."""

    id: str
    level: str
    situation: str
    description: str
    patterns: Tuple[Pattern, ...]
    examples: Tuple[str, ...]
    counter_examples: Tuple[str, ...]

    @property
    def is_guard(self) -> bool:
        return self.level == NONE


_Indexed = Tuple[Entry, Pattern, int]  # entry, pattern, position of its first word slot


@dataclass(frozen=True)
class Lexicon:
    """Entries and guards, with their patterns indexed by the word a match starts with."""

    entries: Tuple[Entry, ...]
    guards: Tuple[Entry, ...]
    acc_index: Dict[str, Tuple[_Indexed, ...]]
    fold_index: Dict[str, Tuple[_Indexed, ...]]

    @classmethod
    def build(cls, entries: Tuple[Entry, ...], guards: Tuple[Entry, ...]) -> Lexicon:
        acc: Dict[str, List[_Indexed]] = {}
        folded: Dict[str, List[_Indexed]] = {}
        for entry in entries + guards:
            for pattern in entry.patterns:
                index = acc if pattern.accented else folded
                k = next(n for n, s in enumerate(pattern.slots) if s.kind == "word")
                for word in pattern.first_words:
                    index.setdefault(word, []).append((entry, pattern, k))
        return cls(
            entries,
            guards,
            {w: tuple(v) for w, v in acc.items()},
            {w: tuple(v) for w, v in folded.items()},
        )

    def entry(self, entry_id: str) -> Entry:
        for entry in self.entries + self.guards:
            if entry.id == entry_id:
                return entry
        raise KeyError(entry_id)


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
    matches: Tuple[RiskMatch, ...] = ()
    guards: Tuple[RiskMatch, ...] = ()  # figures of speech that cancelled overlapping matches

    @property
    def entry_ids(self) -> List[str]:
        """Distinct ids of the entries that decided the level, in text order."""
        seen: List[str] = []
        for match in self.matches:
            if match.entry_id not in seen:
                seen.append(match.entry_id)
        return seen


# --- loading -----------------------------------------------------------------------------


def _fail(where: str, problem: str) -> LexiconError:
    return LexiconError(f"risk lexicon, {where}: {problem}")


def _check_word(word: str, accented: bool, where: str) -> None:
    """A pattern word must be a word of the normal form, or it can never match."""
    if word == "#":
        return
    normal = normalize_word(word)
    expected = normal if accented else fold(normal)
    if " " in normal or expected != word:
        raise _fail(
            where,
            f"word {word!r} never occurs in the normal form (it becomes {expected!r}); "
            "write the normal form",
        )


def compile_pattern(source: str, where: str = "pattern") -> Pattern:
    """Parse one pattern of the lexicon's pattern language (see risk_lexicon.yml)."""
    if not isinstance(source, str) or not source.strip():
        raise _fail(where, "a pattern must be a non-empty string")
    text = unicodedata.normalize("NFC", source).strip().lower()
    accented = has_diacritics(text)
    where = f"{where} {source!r}"
    slots: List[Slot] = []
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
        alternatives = tuple(tuple(alt.split("_")) for alt in item.split("|"))
        for alt in alternatives:
            if not alt or any(not w for w in alt):
                raise _fail(where, f"empty alternative in {item!r}")
            for word in alt:
                if not re.fullmatch(r"[\w#]+(?:[-.'][\w]+)*", word):
                    raise _fail(where, f"{word!r} is not a word")
                _check_word(word, accented, where)
        if kind == "not" and pending_gap:
            raise _fail(where, "a gap cannot come before a !negation")
        slots.append(Slot(kind, alternatives, optional, gap if pending_gap else 0))
        gap, pending_gap = 0, False
    if pending_gap:
        raise _fail(where, "a pattern cannot end with a gap")
    words = [s for s in slots if s.kind == "word"]
    if not words:
        raise _fail(where, "a pattern needs at least one word")
    first = words[0]
    if first.optional or any(alt == _NUMBER for alt in first.alternatives):
        raise _fail(where, "the first word of a pattern cannot be optional or #")
    if words[-1].optional:
        raise _fail(where, "the last word of a pattern cannot be optional")
    if slots[0].kind == "end":
        raise _fail(where, "$ cannot open a pattern")
    return Pattern(source, accented, tuple(slots))


def _strings(value: Any, where: str, field: str, required: bool) -> Tuple[str, ...]:
    if value is None and not required:
        return ()
    if not isinstance(value, list) or (required and not value):
        raise _fail(where, f"'{field}' must be a non-empty list of strings")
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise _fail(where, f"'{field}' holds a non-string or empty item: {item!r}")
    return tuple(value)


def _parse_entry(raw: Any, position: int, section: str) -> Entry:
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
        level, situation = NONE, "figure of speech or non-crisis context"
    description = raw.get("description")
    if not isinstance(description, str) or not description.strip():
        raise _fail(where, "'description' must be a short text")
    sources = _strings(raw.get("patterns"), where, "patterns", required=True)
    patterns = tuple(
        compile_pattern(p, f"{where}, pattern {n + 1}") for n, p in enumerate(sources)
    )
    examples = _strings(raw.get("examples"), where, "examples", required=True)
    counter = _strings(raw.get("counter_examples"), where, "counter_examples", required=True)
    return Entry(entry_id, level, situation, description, patterns, examples, counter)


def parse_lexicon(data: Any) -> Lexicon:
    """Validate the lexicon's data (as read from YAML) and compile its patterns."""
    if not isinstance(data, dict):
        raise _fail("top level", "expected a mapping with 'entries' and 'guards'")
    unknown = set(data) - {"version", "entries", "guards"}
    if unknown:
        raise _fail("top level", f"unknown key(s) {sorted(unknown)}")
    sections = {}
    for section in ("entries", "guards"):
        items = data.get(section)
        if not isinstance(items, list) or not items:
            raise _fail("top level", f"'{section}' must be a non-empty list")
        sections[section] = tuple(_parse_entry(r, n, section) for n, r in enumerate(items))
    seen = set()
    for entry in sections["entries"] + sections["guards"]:
        if entry.id in seen:
            raise _fail(f"entry '{entry.id}'", "duplicate id")
        seen.add(entry.id)
    return Lexicon.build(sections["entries"], sections["guards"])


@lru_cache(maxsize=8)
def load_lexicon(path: Optional[Path] = None) -> Lexicon:
    """Read, validate and compile a lexicon file (the packaged one by default); cached."""
    from rasa.shared.utils.io import read_yaml

    path = Path(path) if path is not None else LEXICON_FILE
    try:
        data = read_yaml(path.read_text(encoding="utf-8"))
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

    acc: Tuple[str, ...]
    folded: Tuple[str, ...]
    spans: Tuple[Tuple[int, int], ...]  # span in the original text of each token's piece


def _tokens(text: str) -> _Tokens:
    acc: List[str] = []
    spans: List[Tuple[int, int]] = []
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
    folded = tuple(fold(w) if w else w for w in acc)
    return _Tokens(tuple(acc), folded, tuple(spans))


def _alt_at(words: Sequence[str], pos: int, alt: Tuple[str, ...]) -> bool:
    if alt == _NUMBER:
        return pos < len(words) and words[pos].isdigit()
    end = pos + len(alt)
    return end <= len(words) and tuple(words[pos:end]) == alt


def _match_from(
    slots: Tuple[Slot, ...], k: int, pos: int, words: Sequence[str], carry: int = 0
) -> Optional[int]:
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
        if pos < n and any(_alt_at(words, pos, alt) for alt in slot.alternatives):
            return None
        return _match_from(slots, k + 1, pos, words, carry)
    gap = slot.gap + carry
    for skip in range(gap + 1):
        p = pos + skip
        if p >= n:
            break
        if skip and words[p - 1] == _BOUNDARY:
            break  # gaps never cross a sentence boundary
        for alt in slot.alternatives:
            if _alt_at(words, p, alt):
                end = _match_from(slots, k + 1, p + len(alt), words)
                if end is not None:
                    return end
    if slot.optional:
        return _match_from(slots, k + 1, pos, words, gap)
    return None


def _find(lexicon: Lexicon, tokens: _Tokens) -> List[Tuple[Entry, int, int]]:
    """Every (entry or guard, start token, end token) found in the message."""
    found: List[Tuple[Entry, int, int]] = []
    seen = set()
    views = ((lexicon.acc_index, tokens.acc), (lexicon.fold_index, tokens.folded))
    for i in range(len(tokens.acc)):
        if tokens.acc[i] == _BOUNDARY:
            continue
        for index, words in views:
            for entry, pattern, k in index.get(words[i], ()):
                # leading !negations are about the word before the match
                if k and i > 0 and any(
                    _alt_at(words, i - 1, alt) for s in pattern.slots[:k] for alt in s.alternatives
                ):
                    continue
                end = _match_from(pattern.slots, k, i, words)
                if end is not None and (entry.id, i) not in seen:
                    seen.add((entry.id, i))
                    found.append((entry, i, end))
    return found


def _to_match(entry: Entry, start: int, end: int, tokens: _Tokens, text: str) -> RiskMatch:
    s, e = tokens.spans[start][0], tokens.spans[end - 1][1]
    return RiskMatch(entry.id, entry.level, s, e, text[s:e])


def assess_risk(text: str, lexicon: Optional[Lexicon] = None) -> RiskAssessment:
    """The risk level of one message, with the entries that decided it and their spans."""
    if not isinstance(text, str) or not text.strip():
        return RiskAssessment(NONE)
    lexicon = lexicon or load_lexicon()
    tokens = _tokens(text)
    found = _find(lexicon, tokens)
    guard_spans = [(s, e) for entry, s, e in found if entry.is_guard]
    kept = [
        (entry, s, e)
        for entry, s, e in found
        if not entry.is_guard and not any(s < ge and gs < e for gs, ge in guard_spans)
    ]
    level = max((entry.level for entry, _, _ in kept), key=_RANK.__getitem__, default=NONE)
    kept.sort(key=lambda m: (m[1], -_RANK[m[0].level]))
    return RiskAssessment(
        level,
        tuple(_to_match(entry, s, e, tokens, text) for entry, s, e in kept),
        tuple(_to_match(entry, s, e, tokens, text) for entry, s, e in found if entry.is_guard),
    )


# --- the Rasa component -----------------------------------------------------------------


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False
)
class RiskDetector(GraphComponent):
    """Sets `risk` and `risk_matches` on every message (place it after the tokenizer).

    Registered as a message featurizer because Rasa runs those, in pipeline order, on
    training data and on every parsed message; it adds no features.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # `lexicon`: path of another lexicon file (tests); None for the packaged one
        return {"lexicon": None}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._path = Path(config["lexicon"]) if config.get("lexicon") else None

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
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

    def process(self, messages: List[Message]) -> List[Message]:
        """Annotate parsed messages."""
        for message in messages:
            self._annotate(message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Annotate training examples too, so later components see the same fields."""
        for message in training_data.training_examples:
            self._annotate(message)
        return training_data

