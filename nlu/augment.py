"""Training-time augmentation: the same examples as people also type them.

The hand-written examples in `nlu/data/train/` cover the three registers, but each
sentence appears in one register only. Before training, every example also gets
- an unaccented copy (`Chồng tôi đánh tôi` → `Chong toi danh toi`), and
- a teencode copy: standard words swapped for their chat forms from
  `resources/teencode.tsv` read backwards (`không` → `ko`, `chồng` → `ck`), often
  without diacritics, sometimes with an elongated last letter.
Copies are deterministic (seeded by the example's text), keep entity annotations at
the right offsets, and never touch the words inside an entity.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache

from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.normalize import strip_diacritics, teencode_table

_WORD = re.compile(r"\w+")
# chat forms that stand for something other than a plain word swap
_NOT_REVERSIBLE = {"admin", "haha", "huhu", "chào", "tạm biệt", "ok"}
SUBSTITUTION_RATE = 0.6
STRIP_RATE = 0.5
ELONGATE_RATE = 0.2


@lru_cache(maxsize=1)
def chat_forms() -> dict[str, list[str]]:
    """Standard word → the chat forms people type for it (single words only)."""
    forms: dict[str, list[str]] = defaultdict(list)
    for form, standard in teencode_table().items():
        if " " in form or " " in standard or standard in _NOT_REVERSIBLE or form == standard:
            continue
        forms[standard].append(form)
        # unaccented writers get chat forms too: "khong" → "ko"
        forms[strip_diacritics(standard)].append(form)
    return {word: sorted(set(found)) for word, found in forms.items()}


def _rng(text: str, salt: str) -> random.Random:
    seed = int(hashlib.sha256(f"{salt}:{text}".encode()).hexdigest()[:12], 16)
    return random.Random(seed)


def _entity_spans(message: Message) -> list[tuple[int, int]]:
    return [(e["start"], e["end"]) for e in message.get(ENTITIES) or []]


def _inside(position: int, spans: Iterable[tuple[int, int]]) -> bool:
    return any(start <= position < end for start, end in spans)


def unaccented_copy(message: Message) -> Message | None:
    """The example typed without diacritics (offsets unchanged: one letter per letter)."""
    text = message.get(TEXT)
    stripped = strip_diacritics(text)
    if stripped == text or len(stripped) != len(text):
        return None
    entities = [
        {**e, "value": stripped[e["start"] : e["end"]]} for e in message.get(ENTITIES) or []
    ]
    return _copy(message, stripped, entities)


def teencode_copy(message: Message) -> Message | None:
    """The example in chat shorthand, with entity offsets moved to match."""
    text = message.get(TEXT)
    rng = _rng(text, "teen")
    spans = _entity_spans(message)
    forms = chat_forms()
    pieces: list[str] = []
    shifts: list[tuple[int, int]] = []  # (original position, change in length so far)
    cursor, delta = 0, 0
    for match in _WORD.finditer(text):
        word = match.group()
        choices = forms.get(word.lower())
        if not choices or _inside(match.start(), spans) or rng.random() > SUBSTITUTION_RATE:
            continue
        replacement = rng.choice(choices)
        pieces.append(text[cursor : match.start()] + replacement)
        cursor = match.end()
        delta += len(replacement) - len(word)
        shifts.append((match.end(), delta))
    new_text = "".join(pieces) + text[cursor:]
    if rng.random() < STRIP_RATE:
        new_text = strip_diacritics(new_text)
    new_text = _maybe_elongate(new_text, rng, spans, shifts)
    if new_text == text:
        return None
    entities = [_shift_entity(e, shifts, new_text) for e in message.get(ENTITIES) or []]
    return _copy(message, new_text, entities)


def _maybe_elongate(
    text: str, rng: random.Random, spans: list[tuple[int, int]], shifts: list[tuple[int, int]]
) -> str:
    """Stretch the last letter of the message (`quá` → `quááá`) now and then."""
    words = list(_WORD.finditer(text))
    match = words[-1] if words else None
    if match is None or rng.random() > ELONGATE_RATE or not match.group()[-1].isalpha():
        return text
    original_end = match.end() - _delta_before(match.end(), shifts)
    if _inside(original_end - 1, spans) or any(end >= original_end for _, end in spans):
        return text
    return text[: match.end()] + match.group()[-1] * 2 + text[match.end() :]


def _delta_before(position: int, shifts: list[tuple[int, int]]) -> int:
    delta = 0
    for original_end, total in shifts:
        if original_end + total <= position:
            delta = total
    return delta


def _shift_entity(entity: dict, shifts: list[tuple[int, int]], new_text: str) -> dict:
    delta = 0
    for original_end, total in shifts:
        if original_end <= entity["start"]:
            delta = total
    start, end = entity["start"] + delta, entity["end"] + delta
    return {**entity, "start": start, "end": end, "value": new_text[start:end]}


def _copy(message: Message, text: str, entities: list[dict]) -> Message:
    data = {TEXT: text, INTENT: message.get(INTENT)}
    if entities:
        data[ENTITIES] = entities
    return Message(data=data)


def augment(training_data: TrainingData) -> TrainingData:
    """Originals plus their unaccented and teencode copies, without duplicates."""
    seen = set()
    examples: list[Message] = []
    for message in training_data.training_examples:
        for candidate in (message, unaccented_copy(message), teencode_copy(message)):
            if candidate is None:
                continue
            key = (candidate.get(TEXT).lower(), candidate.get(INTENT))
            if key not in seen:
                seen.add(key)
                examples.append(candidate)
    return TrainingData(training_examples=examples)
