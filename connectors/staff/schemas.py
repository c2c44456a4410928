"""Bodies of the staff JSON API (they make its part of the OpenAPI schema).

Answers are read straight from the desk's and the helpdesk's dataclasses
(`model_validate(..., from_attributes=True)`), so a field is named once. Transcript lines
say who wrote them in `from`: `person`, `bot` (the assistant and the service's automatic
notices) or `staff`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

From = Literal["person", "bot", "staff"]


def speaker(author: str) -> From:
    """The service's own notices (`system`) speak for the assistant."""
    if author == "person":
        return "person"
    if author == "staff":
        return "staff"
    return "bot"


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class MeOut(BaseModel):
    username: str
    display_name: str
    role: Literal["staff", "supervisor", "admin"]
    csrf_token: str = Field(description="send it back in `X-CSRF-Token` with the cookie")


class LoginOut(MeOut):
    token: str = Field(description="`Authorization: Bearer <token>` for the API")
    expires_at: dt.datetime


class Answer(BaseModel):
    """An answer built from the attributes of a domain object."""

    model_config = ConfigDict(from_attributes=True)


# Rows name their time `created_at`; the queue's lines and the audit log, `at`.
WHEN = AliasChoices("at", "created_at")


class Line(Answer):
    from_: From = Field(validation_alias="author", serialization_alias="from")
    text: str
    at: dt.datetime = Field(validation_alias=WHEN)

    _speaker = field_validator("from_", mode="before")(speaker)


class TranscriptLineOut(Line):
    id: int
    staff: str | None = Field(
        None, validation_alias="staff_username", description="who wrote it, for staff lines"
    )
    delivery_status: Literal["pending", "sent", "failed"] | None = None


class QueueItemOut(Answer):
    code: str
    status: Literal["open", "assigned"]
    priority: Literal["urgent", "high", "normal"]
    topic: str
    risk: Literal["none", "elevated", "high"]
    channel: str
    province: str | None
    commune: str | None
    location_text: str | None
    assignee: str | None
    created_at: dt.datetime
    waiting_seconds: int
    escalated: bool
    handoff_state: str
    last_messages: list[Line]


class NoteOut(Answer):
    id: int
    author: str
    text: str
    at: dt.datetime = Field(validation_alias=WHEN)


class HistoryOut(Answer):
    at: dt.datetime
    actor: str
    action: str
    details: dict[str, Any]


class PhoneOut(Answer):
    number: str
    type: str
    description: str | None
    verified: bool


class ServiceOut(Answer):
    name: str
    organization: str
    phones: list[PhoneOut]
    address: str | None
    hours: str | None
    open_now: bool | None


class TicketDetailOut(Answer):
    code: str
    status: Literal["open", "assigned", "resolved", "closed"]
    priority: Literal["urgent", "high", "normal"]
    topic: str
    risk: Literal["none", "elevated", "high"]
    channel: str
    province: str | None
    commune: str | None
    location_text: str | None
    assignee: str | None
    outcome: str | None
    callback_phone: str | None
    created_at: dt.datetime
    assigned_at: dt.datetime | None
    resolved_at: dt.datetime | None
    escalated: bool
    handoff_state: str | None
    messages: list[TranscriptLineOut]
    notes: list[NoteOut]
    history: list[HistoryOut]
    services: list[ServiceOut]


class TextIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class TransferIn(BaseModel):
    to: str = Field(min_length=1, max_length=64, description="username of the colleague")


class ResolveIn(BaseModel):
    outcome: str = Field(description="one of GET /api/v1/staff/outcomes")


class ActionOut(Answer):
    code: str
    status: Literal["open", "assigned", "resolved", "closed"]
    assignee: str | None


class StaffMemberOut(Answer):
    username: str
    display_name: str
    role: Literal["staff", "supervisor", "admin"]


class CannedIn(BaseModel):
    title: str = Field(min_length=1, max_length=120)
    text: str = Field(min_length=1, max_length=4000)


class CannedUpdateIn(BaseModel):
    title: str | None = Field(None, min_length=1, max_length=120)
    text: str | None = Field(None, min_length=1, max_length=4000)
    active: bool | None = None


class CannedOut(Answer):
    id: int
    title: str
    text: str
    active: bool
