"""Who is writing: the channel and the channel's id of the person, from the tracker.

The gateway sends both as message metadata (`channel`, `sender_id`); a message that came
straight to Rasa's REST channel (the terminal chat, tests) is `rest` with the tracker's id.
"""

from __future__ import annotations

from dataclasses import dataclass

from rasa_sdk import Tracker


@dataclass(frozen=True)
class Person:
    """The person on the other side of the conversation."""

    channel: str
    sender_id: str


def person_of(tracker: Tracker) -> Person:
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    channel = metadata.get("channel") or tracker.get_latest_input_channel() or "rest"
    sender = metadata.get("sender_id") or tracker.sender_id
    return Person(str(channel), str(sender))


def latest_risk(tracker: Tracker) -> str:
    """The NLU's risk level of the latest message (`none` when unknown)."""
    return (tracker.latest_message or {}).get("risk") or "none"
