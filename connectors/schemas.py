"""Request and response bodies of the gateway's HTTP API (they make its OpenAPI schema)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

MAX_TEXT = 5000
Author = Literal["person", "bot", "staff", "system"]
DeliveryStatus = Literal["pending", "sent", "failed"]
CLIENT_ID_PATTERN = r"^[A-Za-z0-9_-]{20,64}$"


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("empty_text", "Tin nhắn trống: hãy nhập nội dung.")
    return value


class ButtonOut(BaseModel):
    title: str = Field(description="what the person sees")
    payload: str = Field(description="what to send back as `text` when the button is chosen")


class ReplyOut(BaseModel):
    text: str
    buttons: list[ButtonOut] = Field(default_factory=list)


class TicketOut(BaseModel):
    code: str = Field(description="public code the person can quote, e.g. `HT-7K2M9Q`")
    status: Literal["open", "assigned", "resolved", "closed"]
    priority: Literal["urgent", "high", "normal"]


class MessageIn(BaseModel):
    """A message from a person, sent by an integrator."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"sender_id": "user-42", "text": "chồng em hay đánh em"}]}
    )

    sender_id: str = Field(
        min_length=1, max_length=128, description="the person's id in your system"
    )
    text: str = Field(max_length=MAX_TEXT, description="what the person wrote")
    payload: str | None = Field(
        None,
        max_length=500,
        description="when the person chose a button: its payload (`text` is then its title)",
    )

    _text_not_blank = field_validator("text")(_not_blank)


class MessagesOut(BaseModel):
    """The assistant's answer to one message."""

    replies: list[ReplyOut] = Field(description="messages to show the person, in order")
    ticket: TicketOut | None = Field(description="the person's open request for staff, if any")
    handed_off: bool = Field(description="true while staff, not the bot, answer this person")


class TranscriptMessage(BaseModel):
    id: int
    sender: Author = Field(serialization_alias="from")
    text: str
    at: dt.datetime
    delivery_status: DeliveryStatus | None = None


class TranscriptOut(BaseModel):
    messages: list[TranscriptMessage]


class WebMessageIn(BaseModel):
    """A message typed in the web chat."""

    client_id: str = Field(
        pattern=CLIENT_ID_PATTERN, description="the browser's random conversation id"
    )
    text: str = Field(max_length=MAX_TEXT)
    payload: str | None = Field(
        None,
        max_length=500,
        description="when the person chose a button: its payload (`text` is then its title)",
    )

    _text_not_blank = field_validator("text")(_not_blank)


class WebReply(BaseModel):
    id: int | None = Field(
        description="null for a reply that is not kept (a deletion's confirmation)"
    )
    sender: Literal["bot", "staff", "system"] = Field(serialization_alias="from")
    text: str
    buttons: list[ButtonOut] = Field(default_factory=list)
    at: dt.datetime


class WebTurnOut(BaseModel):
    message_id: int | None = Field(description="the id of the person's message, once stored")
    replies: list[WebReply]
    handed_off: bool


class HealthOut(BaseModel):
    status: Literal["ok", "unavailable"]
    gateway: Literal["ok"]
    database: Literal["ok", "down"]
    rasa: Literal["ok", "down"]
    action_server: Literal["ok", "down"]


class WebhookAck(BaseModel):
    ok: bool = True
    ignored: bool = Field(False, description="true for updates with nothing to answer")
