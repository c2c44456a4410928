"""Actions that use the helpdesk: tickets, handoff to a social worker, callbacks, the
crisis protocol, ticket status and data deletion.

Each action does one unit of work in one transaction (`actions.database.in_transaction`)
and answers with responses from the domain. When the database is down the person still
gets an answer: the emergency numbers, and a request to try again.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, AllSlotsReset, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from actions import names
from actions.database import in_transaction
from actions.people import Person, latest_risk, person_of
from helpdesk.codes import normalize_ticket_code
from helpdesk.conversations import get_or_create_conversation
from helpdesk.errors import HelpdeskError
from helpdesk.hours import StaffHours, describe_opening, is_staff_hours, next_opening
from helpdesk.privacy import anonymization_salt, delete_person_data
from helpdesk.tickets import (
    STATUS_LABELS,
    active_ticket,
    find_ticket_for_sender,
    open_or_reuse_ticket,
    open_urgent_ticket,
    request_handoff,
    set_callback_phone,
    tickets_of_sender,
    validate_vietnamese_phone,
)
from hotline.settings import get_settings

logger = logging.getLogger(__name__)

DEFAULT_ON_CALL = "111"
STORE_FAILURES = (SQLAlchemyError, HelpdeskError)


@dataclass(frozen=True)
class Place:
    """The place slots of the conversation, as the ticket keeps them."""

    text: str | None
    province: str | None
    commune: str | None


def place_of(tracker: Tracker) -> Place:
    text = tracker.get_slot(names.LOCATION)
    return Place(
        None if text == names.LOCATION_SKIPPED else text,
        tracker.get_slot(names.PROVINCE),
        tracker.get_slot(names.COMMUNE),
    )


def topic_of(tracker: Tracker, default: str) -> str:
    intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
    if intent in names.HELP_TOPICS:
        return intent
    return tracker.get_slot(names.TOPIC) or default


def hand_off(
    session: Session,
    person: Person,
    topic: str,
    risk: str,
    place: Place,
    urgent: bool,
    *,
    silence_bot: bool = True,
) -> str:
    """Open (or reuse) the person's ticket, which puts it in the staff queue, and hand the
    conversation over. With `silence_bot=False` (outside staff hours) the assistant keeps
    the conversation until someone claims the ticket: it still has a callback to take."""
    conversation = get_or_create_conversation(session, person.channel, person.sender_id)
    opener = open_urgent_ticket if urgent else open_or_reuse_ticket
    extra = {} if urgent else {"risk": risk}
    ticket, _ = opener(
        session,
        conversation,
        topic=topic,
        location_text=place.text,
        province=place.province,
        commune=place.commune,
        **extra,
    )
    if silence_bot:
        request_handoff(session, conversation, ticket)
    return ticket.code


class ActionRequestHuman(Action):
    """Open or reuse the person's ticket and request a handoff; outside staff hours, say
    when a person will answer and offer a callback."""

    def name(self) -> str:
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        person, place = person_of(tracker), place_of(tracker)
        topic, risk = topic_of(tracker, names.REQUEST_HUMAN), latest_risk(tracker)
        settings = get_settings()
        hours = StaffHours.from_settings(settings)
        now = dt.datetime.now(dt.timezone.utc)
        staffed = is_staff_hours(now, hours)
        try:
            code = await in_transaction(
                lambda s: hand_off(s, person, topic, risk, place, False, silence_bot=staffed)
            )
        except STORE_FAILURES:
            logger.exception("Handoff failed for conversation %s.", tracker.sender_id)
            dispatcher.utter_message(response="utter_helpdesk_unavailable")
            return [SlotSet(names.PENDING_QUESTION, None)]
        events: list[EventType] = [ActiveLoop(None), SlotSet(names.TICKET_CODE, code)]
        if staffed:
            dispatcher.utter_message(response="utter_handoff_now", ticket_code=code)
            return [*events, SlotSet(names.PENDING_QUESTION, None)]
        dispatcher.utter_message(
            response="utter_handoff_after_hours",
            ticket_code=code,
            next_opening=describe_opening(next_opening(now, hours), now, hours),
            on_call_phone=settings.on_call_phone or DEFAULT_ON_CALL,
        )
        dispatcher.utter_message(response="utter_ask_callback")
        return [*events, SlotSet(names.PENDING_QUESTION, names.QUESTION_CALLBACK)]


class ActionCrisisProtocol(Action):
    """After the emergency numbers: an urgent ticket, a handoff, and the offer of a call back.
    Any form in progress stops: no question comes before the person's safety."""

    def name(self) -> str:
        return "action_crisis_protocol"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        person, place = person_of(tracker), place_of(tracker)
        topic = topic_of(tracker, "self_harm")
        stop_forms: list[EventType] = [ActiveLoop(None), SlotSet(names.REQUESTED_SLOT, None)]
        try:
            code = await in_transaction(lambda s: hand_off(s, person, topic, "high", place, True))
        except STORE_FAILURES:
            logger.exception("Crisis handoff failed for conversation %s.", tracker.sender_id)
            dispatcher.utter_message(response="utter_crisis_handoff_failed")
            return stop_forms
        dispatcher.utter_message(response="utter_crisis_handed_off", ticket_code=code)
        return [*stop_forms, SlotSet(names.TICKET_CODE, code)]


def latest_phone(tracker: Tracker) -> str | None:
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") == "phone_number":
            return str(entity.get("value"))
    return tracker.get_slot(names.CALLBACK_PHONE)


def save_callback(session: Session, person: Person, topic: str, place: Place, phone: str) -> str:
    conversation = get_or_create_conversation(session, person.channel, person.sender_id)
    ticket = active_ticket(session, conversation)
    if ticket is None:
        ticket, _ = open_or_reuse_ticket(
            session, conversation, topic=topic, location_text=place.text,
            province=place.province, commune=place.commune,
        )  # fmt: skip
    # A callback is for later: the ticket is in the queue, the assistant keeps talking.
    set_callback_phone(session, ticket, phone)
    return ticket.code


class ActionSaveCallback(Action):
    """The person gave a number to be called back: validate it and keep it on their ticket."""

    def name(self) -> str:
        return "action_save_callback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        phone = validate_vietnamese_phone(latest_phone(tracker))
        if phone is None:
            dispatcher.utter_message(response="utter_invalid_phone")
            return [SlotSet(names.CALLBACK_PHONE, None)]
        person, place = person_of(tracker), place_of(tracker)
        topic = topic_of(tracker, names.REQUEST_HUMAN)
        try:
            code = await in_transaction(lambda s: save_callback(s, person, topic, place, phone))
        except STORE_FAILURES:
            logger.exception("Saving a callback failed for conversation %s.", tracker.sender_id)
            dispatcher.utter_message(response="utter_helpdesk_unavailable")
            return [SlotSet(names.CALLBACK_PHONE, None)]
        dispatcher.utter_message(
            response="utter_callback_saved", callback_phone=phone, ticket_code=code
        )
        return [
            SlotSet(names.CALLBACK_PHONE, phone),
            SlotSet(names.TICKET_CODE, code),
            SlotSet(names.PENDING_QUESTION, None),
        ]


@dataclass(frozen=True)
class StatusLine:
    code: str
    status: str
    updated: str


def _status_line(ticket: Any) -> StatusLine:
    updated = ticket.updated_at.astimezone(dt.timezone(dt.timedelta(hours=7)))
    return StatusLine(ticket.code, STATUS_LABELS[ticket.status], updated.strftime("%H:%M %d/%m"))


def sender_tickets(session: Session, person: Person, code: str | None) -> list[StatusLine] | None:
    """The person's tickets (the one with `code`, or all); None when the code is not theirs."""
    if code:
        ticket = find_ticket_for_sender(session, code, person.channel, person.sender_id)
        return None if ticket is None else [_status_line(ticket)]
    return [_status_line(t) for t in tickets_of_sender(session, person.channel, person.sender_id)]


class ActionCheckTicketStatus(Action):
    """Answer about the sender's own tickets only; a code never reveals another's ticket."""

    def name(self) -> str:
        return "action_check_ticket_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        typed = tracker.get_slot(names.TICKET_CODE)
        code = normalize_ticket_code(typed) if typed else None
        person = person_of(tracker)
        try:
            lines = await in_transaction(lambda s: sender_tickets(s, person, code))
        except STORE_FAILURES:
            logger.exception("Status lookup failed for conversation %s.", tracker.sender_id)
            dispatcher.utter_message(response="utter_helpdesk_unavailable")
            return []
        if lines is None:
            dispatcher.utter_message(response="utter_ticket_not_found", ticket_code=code)
        elif not lines:
            dispatcher.utter_message(response="utter_no_tickets")
        for line in lines or []:
            dispatcher.utter_message(
                response="utter_ticket_status",
                ticket_code=line.code,
                status_text=line.status,
                updated=line.updated,
            )
        return []


class ActionDeleteMyData(Action):
    """Delete the conversation and personal fields (tickets kept anonymized), then confirm."""

    def name(self) -> str:
        return "action_delete_my_data"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        person = person_of(tracker)
        salt = anonymization_salt(get_settings())
        try:
            await in_transaction(
                lambda s: delete_person_data(s, person.channel, person.sender_id, salt=salt)
            )
        except STORE_FAILURES:
            logger.exception("Data deletion failed for conversation %s.", tracker.sender_id)
            dispatcher.utter_message(response="utter_helpdesk_unavailable")
            return [SlotSet(names.PENDING_QUESTION, None)]
        dispatcher.utter_message(response="utter_data_deleted")
        # the slots held the place, phone and codes: forget them as well
        return [AllSlotsReset()]
