"""The REST API for integrators: `POST /api/v1/messages` and `GET /api/v1/messages`.

An integrator (a partner's app, a kiosk, `hotline chat`) sends what a person wrote and
gets the assistant's replies, the person's open ticket, and whether staff have the
conversation. Staff replies come later: read them with `GET /api/v1/messages`.
"""

from __future__ import annotations

import math
from typing import Annotated, cast

from fastapi import APIRouter, HTTPException, Query, status

from connectors.channels.base import API, Inbound
from connectors.deps import ApiTokenDep, GatewayDep, RouterDep, StoreDep
from connectors.history import messages_after
from connectors.router import RATE_LIMITED, TurnResult
from connectors.schemas import (
    Author,
    ButtonOut,
    DeliveryStatus,
    MessageIn,
    MessagesOut,
    ReplyOut,
    TicketOut,
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
async def post_message(
    message: MessageIn, router: RouterDep, gateway: GatewayDep, _: ApiTokenDep
) -> MessagesOut:
    """Send a person's message to the assistant and get its replies.

    The message is stored first. While Rasa or the action server is down the reply is a
    kind message and a ticket is opened for staff; a message with risk high always gets
    the emergency numbers. While staff have the conversation (`handed_off`), `replies`
    is empty: the staff answer later, through `GET /api/v1/messages`.
    """
    result = await router.handle(
        Inbound(API, message.sender_id, message.text, bot_text=message.payload)
    )
    if result.outcome == RATE_LIMITED:
        raise rate_limited(result, gateway.texts.rate_limited)
    ticket = result.ticket
    return MessagesOut(
        replies=[
            ReplyOut(
                text=r.text,
                buttons=[ButtonOut(title=b.title, payload=b.payload) for b in r.buttons],
            )
            for r in result.replies
        ],
        ticket=TicketOut(code=ticket.code, status=ticket.status, priority=ticket.priority)  # type: ignore[arg-type]
        if ticket
        else None,
        handed_off=result.handed_off,
    )


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
