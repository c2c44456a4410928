"""The web chat: the page at `/`, and the three calls it makes.

- `POST /api/v1/web/messages`: the person's message; the answer carries the replies.
- `GET /api/v1/web/conversations/{client_id}/messages?after=ID`: the conversation so far
  (the page keeps `client_id` in localStorage, so a reload shows it again).
- `GET /api/v1/web/conversations/{client_id}/events`: server-sent events with each new
  message (a staff reply arriving minutes later).

The `client_id` is a random id the browser makes (20-64 URL-safe characters): knowing
it is what lets a page read the conversation, so it is never shown or logged.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, StreamingResponse

from connectors.channels.base import WEB, Inbound
from connectors.deps import GatewayDep, HubDep, RouterDep, StoreDep
from connectors.endpoints.messages import rate_limited, transcript_message
from connectors.history import messages_after
from connectors.router import RATE_LIMITED
from connectors.schemas import (
    CLIENT_ID_PATTERN,
    ButtonOut,
    TranscriptOut,
    WebMessageIn,
    WebReply,
    WebTurnOut,
)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
KEEPALIVE_SECONDS = 15.0

router = APIRouter(tags=["web chat"])
ClientId = Annotated[str, PathParam(pattern=CLIENT_ID_PATTERN)]


@router.get("/", include_in_schema=False)
async def page() -> FileResponse:
    """The chat page."""
    return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


@router.post("/api/v1/web/messages", response_model=WebTurnOut)
async def post_web_message(
    message: WebMessageIn, router: RouterDep, gateway: GatewayDep
) -> WebTurnOut:
    """A message typed in the web chat, answered like any channel's."""
    result = await router.handle(
        Inbound(WEB, message.client_id, message.text, bot_text=message.payload)
    )
    if result.outcome == RATE_LIMITED:
        raise rate_limited(result, gateway.texts.rate_limited)
    return WebTurnOut(
        message_id=result.message_id,
        replies=[
            WebReply(
                id=r.message_id or None,
                sender=r.author,  # type: ignore[arg-type]
                text=r.text,
                buttons=[ButtonOut(title=b.title, payload=b.payload) for b in r.buttons],
                at=r.at,
            )
            for r in result.replies
        ],
        handed_off=result.handed_off,
    )


@router.get("/api/v1/web/conversations/{client_id}/messages", response_model=TranscriptOut)
async def web_history(
    client_id: ClientId,
    store: StoreDep,
    after: Annotated[int, Query(ge=0)] = 0,
) -> TranscriptOut:
    """The conversation so far (or what came after message `after`)."""
    rows = await store.run(lambda s: messages_after(s, WEB, client_id, after))
    return TranscriptOut(messages=[transcript_message(m) for m in rows])


@router.get(
    "/api/v1/web/conversations/{client_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "one event per new message"}
    },
)
async def web_events(client_id: ClientId, hub: HubDep, request: Request) -> StreamingResponse:
    """Server-sent events: every message recorded for this conversation from now on."""
    if not client_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND)

    async def stream() -> AsyncIterator[str]:
        async with hub.subscribe(f"{WEB}:{client_id}") as queue:
            # Browsers reconnect by themselves; 3 s keeps a dropped phone connection short.
            yield "retry: 3000\n\n"
            while not await request.is_disconnected():
                try:
                    event = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if event.get("type") != "message":
                    continue
                data = json.dumps(event, ensure_ascii=False)
                yield f"id: {event['id']}\nevent: message\ndata: {data}\n\n"

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
