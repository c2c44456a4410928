"""Entity extractor for Rasa 3.6: `location`, `age`, `ticket_code` and `phone_number`.

These three entities follow rules better than a statistical model would learn them from
a few thousand examples: places come from the official list of administrative units
(`nlu.places`), ages from `14 tuổi` / `14t`, ticket codes from the format the helpdesk
prints (`HT-` and six characters without 0, O, 1, I or L), phone numbers from the
Vietnamese numbering plan (mobile `03/05/07/08/09` + 8 digits, landline `02` + 9 digits,
with `0`, `84` or `+84`, spaces, dots or dashes), normalized to the `0…` form. Spans always point into the
text the person typed (NFD input included).
"""

from __future__ import annotations

import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.normalize import fold, nfc_with_offsets
from nlu.places import find_places, gazetteer

LOCATION = "location"
AGE = "age"
TICKET_CODE = "ticket_code"
PHONE_NUMBER = "phone_number"

TICKET_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_TICKET = re.compile(rf"\bht[-\s]?([{TICKET_ALPHABET.lower()}]{{6}})\b", re.IGNORECASE)
_PHONE = re.compile(
    r"(?<![\d+])(?:\+?84|0)[\s.\-]?(?:[35789](?:[\s.\-]?\d){8}|2(?:[\s.\-]?\d){9})(?!\d)"
)
# `14 tuổi`, `14t`, `14 t`, unaccented `14 tuoi`; ages above 120 are not ages
_AGE = re.compile(r"(?<![\w.,])(\d{1,3})\s?(?:tuoi|t)\b")


def extract_entities(text: str) -> list[dict[str, Any]]:
    """Entities of a message as Rasa entity dicts, spans in the original text."""
    nfc, starts, ends = nfc_with_offsets(text)
    found = [*_ticket_codes(nfc), *_phone_numbers(nfc), *_ages(nfc), *_locations(nfc)]
    entities = []
    for start, end, entity, value in sorted(found):
        original_start, original_end = starts[start], ends[end - 1]
        entities.append(
            {
                "entity": entity,
                "start": original_start,
                "end": original_end,
                "value": value if value is not None else text[original_start:original_end],
            }
        )
    return entities


def _ticket_codes(nfc: str) -> list[tuple]:
    return [
        (m.start(), m.end(), TICKET_CODE, "HT-" + m.group(1).upper()) for m in _TICKET.finditer(nfc)
    ]


def _phone_numbers(nfc: str) -> list[tuple]:
    found = []
    for match in _PHONE.finditer(nfc):
        digits = re.sub(r"\D", "", match.group())
        national = "0" + digits[2:] if digits.startswith("84") else digits
        found.append((match.start(), match.end(), PHONE_NUMBER, national))
    return found


def _ages(nfc: str) -> list[tuple]:
    folded = fold(nfc)
    if len(folded) != len(nfc):
        return []
    return [
        (m.start(1), m.end(1), AGE, m.group(1))
        for m in _AGE.finditer(folded)
        if 0 < int(m.group(1)) <= 120
    ]


def _locations(nfc: str) -> list[tuple]:
    return [(p.start, p.end, LOCATION, p.text) for p in find_places(nfc)]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class VietnameseEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Adds `location`, `age` and `ticket_code` entities to every message."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> VietnameseEntityExtractor:
        # build the gazetteer now, so that the first message is not the slow one
        gazetteer()
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Training examples keep their annotated entities: nothing to add."""
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Append the extracted entities to each message."""
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str) or not text:
                continue
            entities = self.add_extractor_name(extract_entities(text))
            message.set(ENTITIES, message.get(ENTITIES, []) + entities, add_to_output=True)
        return messages
