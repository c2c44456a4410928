"""The REST API for integrators: `POST /api/v1/messages` and `GET /api/v1/messages`.

An integrator (a partner's app, a kiosk, `hotline chat`) sends what a person wrote and
gets the assistant's replies, the person's open ticket, and whether staff have the
conversation. Staff replies come later: read them with `GET /api/v1/messages`.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, cast

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import JSONResponse

from connectors.channels.base import API, Inbound
from connectors.deps import ApiTokenDep, GatewayDep, StoreDep
from connectors.history import messages_after
from connectors.router import RATE_LIMITED, TurnResult
from connectors.schemas import (
    Author,
    DeliveryStatus,
    MessageIn,
    MessagesOut,
    TranscriptMessage,
    TranscriptOut,
)
from helpdesk.models import Message

router = APIRouter(prefix="/api/v1", tags=["integrators"])


def rate_limited(result: TurnResult, detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        detail,
        headers={"Retry-After": str(max(1, math.ceil(result.retry_after)))},
    )


@router.post(
    "/messages",
    response_model=MessagesOut,
    responses={
        401: {"description": "`GATEWAY_API_TOKEN` is set and the bearer token is missing or wrong"},
        422: {"description": "empty `text`, or longer than 5,000 characters"},
        429: {"description": "this sender writes too fast (never for a message with risk high)"},
        503: {"description": "the database does not answer; nothing was stored, send again"},
    },
)
async def post_message(message: MessageIn, gateway: GatewayDep, _: ApiTokenDep) -> JSONResponse:
    """Send a person's message to the assistant and get its replies.

    The message is stored first. While Rasa or the action server is down the reply is a
    kind message and a ticket is opened for staff; a message with risk high always gets
    the emergency numbers. While staff have the conversation (`handed_off`), `replies`
    is empty: the staff answer later, through `GET /api/v1/messages`.
    """
    result = await gateway.router.handle(
        Inbound(API, message.sender_id, message.text, bot_text=message.payload)
    )
    if result.outcome == RATE_LIMITED:
        raise rate_limited(result, gateway.texts.rate_limited)
    return JSONResponse(messages_out(result))


def messages_out(result: TurnResult) -> dict[str, Any]:
    """The body of `MessagesOut`, built directly: the values come from our own types, so
    FastAPI's round trip through the model (dump, validate, serialize) on every message
    would check nothing. `test_api` holds the body to the model."""
    ticket = result.ticket
    return {
        "replies": [
            {
                "text": reply.text,
                "buttons": [{"title": b.title, "payload": b.payload} for b in reply.buttons],
            }
            for reply in result.replies
        ],
        "ticket": (
            {"code": ticket.code, "status": ticket.status, "priority": ticket.priority}
            if ticket
            else None
        ),
        "handed_off": result.handed_off,
    }


@router.get("/messages", response_model=TranscriptOut)
async def get_messages(
    store: StoreDep,
    _: ApiTokenDep,
    sender_id: Annotated[str, Query(min_length=1, max_length=128)],
    after: Annotated[int, Query(ge=0, description="only messages with a larger id")] = 0,
) -> TranscriptOut:
    """The conversation of `sender_id`, both ways, oldest first (staff replies included)."""
    rows = await store.run(lambda s: messages_after(s, API, sender_id, after))
    return TranscriptOut(messages=[transcript_message(m) for m in rows])


def transcript_message(message: Message) -> TranscriptMessage:
    """One stored message as a client sees it."""
    return TranscriptMessage(
        id=message.id,
        sender=cast(Author, message.author),
        text=message.text,
        at=message.created_at,
        delivery_status=cast(DeliveryStatus | None, message.delivery_status),
    )
