"""Bodies of the staff JSON API (they make its part of the OpenAPI schema).

Transcript lines say who wrote them in `from`: `person`, `bot` (the assistant and the
service's automatic notices) or `staff`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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


class Line(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: From = Field(alias="from")
    text: str
    at: dt.datetime


class TranscriptLineOut(Line):
    id: int
    staff: str | None = Field(None, description="who wrote it, for staff lines")
    delivery_status: Literal["pending", "sent", "failed"] | None = None


class QueueItemOut(BaseModel):
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


class NoteOut(BaseModel):
    id: int
    author: str
    text: str
    at: dt.datetime


class HistoryOut(BaseModel):
    at: dt.datetime
    actor: str
    action: str
    details: dict[str, Any]


class ServiceOut(BaseModel):
    name: str
    organization: str
    phones: list[dict[str, Any]]
    address: str | None
    hours: str | None
    open_now: bool | None


class TicketDetailOut(BaseModel):
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


class ActionOut(BaseModel):
    code: str
    status: Literal["open", "assigned", "resolved", "closed"]
    assignee: str | None


class StaffMemberOut(BaseModel):
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


class CannedOut(BaseModel):
    id: int
    title: str
    text: str
    active: bool
