"""Actions that keep the conversation going when the assistant did not understand, or
when the person answers no to a question."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import names

MISUNDERSTOOD = {names.OUT_OF_SCOPE, names.NLU_FALLBACK}


def misunderstood_in_a_row(tracker: Tracker) -> int:
    """How many of the latest user messages, counting back from the last, were not
    understood (out of scope or below the confidence threshold)."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent not in MISUNDERSTOOD:
            break
        count += 1
    return count


class ActionHandleMisunderstanding(Action):
    """A kind redirect with the list of topics; the second time in a row, offer a person."""

    def name(self) -> str:
        return "action_handle_misunderstanding"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if misunderstood_in_a_row(tracker) >= 2:
            dispatcher.utter_message(response="utter_still_not_understood")
            return [SlotSet(names.PENDING_QUESTION, names.QUESTION_HUMAN)]
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        response = "utter_out_of_scope" if intent == names.OUT_OF_SCOPE else "utter_default"
        dispatcher.utter_message(response=response)
        return []


DECLINED_RESPONSES = {
    names.QUESTION_HUMAN: "utter_anything_else",
    names.QUESTION_DELETION: "utter_deletion_cancelled",
    names.QUESTION_CALLBACK: "utter_callback_declined",
}


class ActionDeclineOffer(Action):
    """The person said no to the pending question: acknowledge it and forget the question."""

    def name(self) -> str:
        return "action_decline_offer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        question = tracker.get_slot(names.PENDING_QUESTION)
        dispatcher.utter_message(response=DECLINED_RESPONSES.get(question, "utter_deny_ack"))
        return [SlotSet(names.PENDING_QUESTION, None)]


class ActionAskDeletionConfirmation(Action):
    """Ask before deleting anything: deletion cannot be undone."""

    def name(self) -> str:
        return "action_ask_deletion_confirmation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_confirm_deletion")
        return [SlotSet(names.PENDING_QUESTION, names.QUESTION_DELETION)]
