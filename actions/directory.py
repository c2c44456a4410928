"""Actions that use the service directory: where is the person, and who can help there.

- `validate_location_form` resolves the place the person gives (old or new names, with
  or without diacritics) to the current province and commune, asks again when it is
  unknown or ambiguous, and lets the person skip the question;
- `action_find_services` shows up to three services for the conversation's topic and
  place, the national line for the topic, and offers a social worker;
- `action_update_location` takes a place given at any other moment.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from actions import names
from actions.database import in_transaction
from knowledge.errors import DirectoryError
from knowledge.folding import fold
from knowledge.places import PlaceResolution, resolve_place
from knowledge.search import TIER_NATIONAL, ServiceMatch, search_directory

logger = logging.getLogger(__name__)

LOCAL_SERVICES_SHOWN = 3
MAX_CANDIDATE_BUTTONS = 5
# folded answers that mean "I'd rather not say where I am"
SKIP_ANSWERS = {
    "bo qua",
    "khong",
    "ko",
    "k",
    "khong muon noi",
    "khong noi",
    "thoi",
    "bi mat",
    "khong biet",
    "ko biet",
    "skip",
}


@dataclass(frozen=True)
class PlaceAnswer:
    """What a place text resolved to, or why it did not."""

    resolution: PlaceResolution | None
    unavailable: bool = False


def place_name(resolution: PlaceResolution) -> str:
    return ", ".join(part for part in (resolution.commune, resolution.province) if part)


async def resolve(text: str) -> PlaceAnswer:
    """Resolve a place text; the directory being down is an answer too, not a crash."""
    try:
        return PlaceAnswer(await in_transaction(lambda session: resolve_place(session, text)))
    except DirectoryError:
        return PlaceAnswer(None)
    except SQLAlchemyError:
        logger.exception("Place resolution failed: the directory database is unavailable.")
        return PlaceAnswer(None, unavailable=True)


def place_slots(resolution: PlaceResolution | None) -> dict[str, Any]:
    known = resolution is not None and resolution.is_known
    return {
        names.PROVINCE: resolution.province if known else None,
        names.COMMUNE: resolution.commune if known else None,
    }


def tell_place(dispatcher: CollectingDispatcher, text: str, answer: PlaceAnswer) -> bool:
    """Tell the person what we understood; True when the place is known."""
    resolution = answer.resolution
    if resolution is not None and resolution.is_known:
        dispatcher.utter_message(response="utter_location_noted", place=place_name(resolution))
        return True
    if resolution is not None and resolution.candidates:
        labels = [
            ", ".join(part for part in (c.commune, c.province) if part)
            for c in resolution.candidates[:MAX_CANDIDATE_BUTTONS]
        ]
        buttons = [{"title": label, "payload": label} for label in labels]
        dispatcher.utter_message(response="utter_location_choose", location=text, buttons=buttons)
        return False
    dispatcher.utter_message(response="utter_location_not_found", location=text[:80])
    return False


class ValidateLocationForm(FormValidationAction):
    """Validates the place asked by `location_form`."""

    def name(self) -> str:
        return "validate_location_form"

    async def validate_location(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        text = _place_text(slot_value, tracker)
        if _is_skip(text, tracker):
            dispatcher.utter_message(response="utter_location_skipped")
            return {names.LOCATION: names.LOCATION_SKIPPED, **place_slots(None)}
        answer = await resolve(text)
        if answer.unavailable:
            # keep what the person said: the services search will fall back to national lines
            return {names.LOCATION: text, **place_slots(None)}
        if tell_place(dispatcher, text, answer):
            return {names.LOCATION: text, **place_slots(answer.resolution)}
        return {names.LOCATION: None, **place_slots(None)}


def _place_text(slot_value: Any, tracker: Tracker) -> str:
    """Every place the message names, in order ("xã Mỹ Hiệp, huyện Cao Lãnh, Đồng Tháp"):
    the slot keeps only one of several entities."""
    entities = [
        str(e["value"])
        for e in (tracker.latest_message or {}).get("entities") or []
        if e.get("entity") == names.LOCATION
    ]
    if len(entities) > 1:
        return ", ".join(entities)
    return ", ".join(slot_value) if isinstance(slot_value, list) else str(slot_value or "")


def _is_skip(text: str, tracker: Tracker) -> bool:
    intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
    return intent == names.DENY or fold(text) in SKIP_ANSWERS


def format_service(service: ServiceMatch) -> dict[str, str]:
    """The fields of `utter_service_item` for one service."""
    phones = " · ".join(phone.number for phone in service.phones) or "chưa có số điện thoại"
    hours = getattr(service, "hours", None)
    return {
        "name": service.name,
        "phones": phones,
        "address_line": f"\n  📍 {service.address}" if service.address else "",
        "hours_line": f"\n  🕒 {hours}" if hours else "",
    }


def choose_services(matches: list[ServiceMatch]) -> list[ServiceMatch]:
    """Up to three local services, then the first national line for the topic."""
    local = [m for m in matches if m.tier < TIER_NATIONAL][:LOCAL_SERVICES_SHOWN]
    national = [m for m in matches if m.tier == TIER_NATIONAL][:1]
    return local + national


async def show_services(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """Show the services for the conversation's topic and place, then offer a person."""
    topic = tracker.get_slot(names.TOPIC) or "find_service"
    location = tracker.get_slot(names.LOCATION)
    place_text = None if location in (None, names.LOCATION_SKIPPED) else location
    age = _age(tracker.get_slot(names.AGE))

    def search(session: Session) -> list[ServiceMatch]:
        return search_directory(session, topic, place_text, age).services

    try:
        chosen = choose_services(await in_transaction(search))
    except (DirectoryError, SQLAlchemyError):
        logger.exception("Service search failed (topic %s).", topic)
        dispatcher.utter_message(response="utter_directory_unavailable")
        chosen = None
    if chosen == []:
        dispatcher.utter_message(response="utter_no_services")
    elif chosen:
        province = tracker.get_slot(names.PROVINCE)
        dispatcher.utter_message(
            response="utter_services_intro", place_phrase=f" ở {province}" if province else ""
        )
        for service in chosen:
            dispatcher.utter_message(response="utter_service_item", **format_service(service))
        if not all(service.verified for service in chosen):
            dispatcher.utter_message(response="utter_service_unverified_note")
    dispatcher.utter_message(response="utter_offer_human")
    return [SlotSet(names.PENDING_QUESTION, names.QUESTION_HUMAN)]


def _age(value: Any) -> int | None:
    try:
        age = int(str(value))
    except (TypeError, ValueError):
        return None
    return age if 0 < age <= 120 else None


class ActionFindServices(Action):
    """Services for the topic and place, the national line, and the offer of a person."""

    def name(self) -> str:
        return "action_find_services"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return await show_services(dispatcher, tracker)


class ActionUpdateLocation(Action):
    """The person says where they are outside the form: update the place, and show the
    services for the topic if there is one."""

    def name(self) -> str:
        return "action_update_location"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        entities = [
            e["value"]
            for e in (tracker.latest_message or {}).get("entities") or []
            if e.get("entity") == names.LOCATION
        ]
        text = ", ".join(entities) or (tracker.latest_message or {}).get("text") or ""
        answer = await resolve(text)
        known = tell_place(dispatcher, text, answer)
        events: list[EventType] = [
            SlotSet(names.LOCATION, text if known else tracker.get_slot(names.LOCATION))
        ]
        if not known:
            return events
        events += [SlotSet(slot, value) for slot, value in place_slots(answer.resolution).items()]
        if tracker.get_slot(names.TOPIC):
            updated = tracker.copy()
            for event in events:
                updated.slots[event["name"]] = event["value"]
            events += await show_services(dispatcher, updated)
        return events
