"""The staff JSON API under `/api/v1/staff`: the console's only back end, and integrations'.

Log in with `POST /login` (`{"username", "password"}` → `{"token", ...}`, which also sets
the console's cookie), then call the rest with `Authorization: Bearer <token>` or the
cookie plus `X-CSRF-Token`. Handlers parse, call `StaffDesk`, and format; what each role
may do is decided there and in `auth`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi import Path as PathParam
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.deps import GatewayDep
from connectors.events import ALL
from connectors.outbound import Delivered
from connectors.staff.auth import (
    BAD_ORIGIN,
    SESSION_COOKIE,
    StaffDep,
    SupervisorDep,
    bearer_token,
    same_origin,
)
from connectors.staff.desk import DeskError, StaffDesk
from connectors.staff.schemas import (
    ActionOut,
    CannedIn,
    CannedOut,
    CannedUpdateIn,
    LoginIn,
    LoginOut,
    MeOut,
    NoteOut,
    QueueItemOut,
    ResolveIn,
    StaffMemberOut,
    TextIn,
    TicketDetailOut,
    TranscriptLineOut,
    TransferIn,
    speaker,
)
from helpdesk.models import Conversation, StaffMember
from helpdesk.sessions import SESSION_TTL, authenticate, end_session, start_session
from helpdesk.tickets import OUTCOMES, active_ticket
from knowledge.taxonomy import read_taxonomy

router = APIRouter(prefix="/api/v1/staff", tags=["staff"])

WRONG_LOGIN = "Tên đăng nhập hoặc mật khẩu không đúng."
TOO_MANY_LOGINS = "Bạn đã nhập sai nhiều lần. Vui lòng đợi {minutes} phút rồi thử lại."
KEEPALIVE_SECONDS = 15.0
TicketCode = Annotated[str, PathParam(min_length=4, max_length=16)]
UNAUTHORIZED = {401: {"description": "not logged in"}}
FORBIDDEN = {403: {"description": "the role does not allow it, or CSRF check failed"}}


async def get_desk(gateway: GatewayDep) -> StaffDesk:
    return gateway.desk


DeskDep = Annotated[StaffDesk, Depends(get_desk)]


async def _call(coroutine: Any) -> Any:
    """Await a desk call; its refusals become HTTP errors with their Vietnamese reason."""
    try:
        return await coroutine
    except DeskError as error:
        raise HTTPException(error.status_code, str(error)) from None


# --- session ----------------------------------------------------------------------------


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post(
    "/login",
    response_model=LoginOut,
    responses={401: {"description": "wrong username or password"}, 429: {"description": "too many failures"}},
)  # fmt: skip
async def login(
    body: LoginIn, request: Request, response: Response, gateway: GatewayDep
) -> LoginOut:
    """Log in; the token works as a bearer token, and the cookie for the console."""
    if not same_origin(request):
        raise HTTPException(status.HTTP_403_FORBIDDEN, BAD_ORIGIN)
    keys = (f"user:{body.username.strip().lower()}", f"addr:{_client_address(request)}")
    wait = gateway.login_guard.retry_after(*keys)
    if wait > 0:
        minutes = max(1, round(wait / 60))
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            TOO_MANY_LOGINS.format(minutes=minutes),
            headers={"Retry-After": str(int(wait) + 1)},
        )

    def work(session: Session) -> LoginOut | None:
        staff = authenticate(session, body.username, body.password)
        if staff is None:
            return None
        token, staff_session = start_session(session, staff)
        return LoginOut(
            token=token,
            username=staff.username,
            display_name=staff.display_name,
            role=staff.role,  # type: ignore[arg-type]
            csrf_token=staff_session.csrf_token,
            expires_at=staff_session.expires_at,
        )

    # Argon2 takes a tenth of a second of CPU: in a worker thread, like every unit of work.
    answer = await gateway.store.run(work)
    if answer is None:
        gateway.login_guard.failed(*keys)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, WRONG_LOGIN)
    response.set_cookie(
        SESSION_COOKIE,
        answer.token,
        max_age=int(SESSION_TTL.total_seconds()),
        httponly=True,
        secure=True,
        samesite="strict",
        path="/",
    )
    return answer


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=UNAUTHORIZED)
async def logout(request: Request, staff: StaffDep, gateway: GatewayDep) -> Response:
    """End this session (the token and the cookie stop working)."""
    token = bearer_token(request) or request.cookies.get(SESSION_COOKIE, "")
    await gateway.store.run(lambda s: end_session(s, token))
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response


@router.get("/me", response_model=MeOut, responses=UNAUTHORIZED)
async def me(staff: StaffDep) -> MeOut:
    """Who is logged in, and the CSRF token the console sends with its changes."""
    return MeOut(
        username=staff.username,
        display_name=staff.display_name,
        role=staff.role,  # type: ignore[arg-type]
        csrf_token=staff.csrf_token,
    )


# --- the queue and tickets --------------------------------------------------------------


@router.get("/queue", response_model=list[QueueItemOut], responses=UNAUTHORIZED)
async def queue(
    staff: StaffDep, desk: DeskDep, mine: Annotated[bool, Query()] = False
) -> list[QueueItemOut]:
    """Tickets waiting for or held by staff: urgent first, then the longest waiting."""
    entries = await _call(desk.queue(staff, mine=mine))
    return [QueueItemOut.model_validate(entry) for entry in entries]


@router.get(
    "/tickets/{code}",
    response_model=TicketDetailOut,
    responses={**UNAUTHORIZED, 404: {"description": "no such ticket"}},
)
async def ticket(code: TicketCode, staff: StaffDep, desk: DeskDep) -> TicketDetailOut:
    """The ticket with its transcript, notes, history and matched services (audited)."""
    return TicketDetailOut.model_validate(await _call(desk.ticket(staff, code)))


ACTION_ERRORS = {
    **UNAUTHORIZED,
    **FORBIDDEN,
    404: {"description": "no such ticket"},
    409: {"description": "the ticket's state does not allow it (e.g. claimed by someone else)"},
    422: {"description": "invalid body"},
}


@router.post("/tickets/{code}/claim", response_model=ActionOut, responses=ACTION_ERRORS)
async def claim(code: TicketCode, staff: StaffDep, desk: DeskDep) -> ActionOut:
    """Take an open ticket (two staff cannot both get it); the person is told."""
    return ActionOut.model_validate(await _call(desk.claim(staff, code)))


@router.post(
    "/tickets/{code}/messages",
    response_model=TranscriptLineOut,
    status_code=status.HTTP_201_CREATED,
    responses=ACTION_ERRORS,
)
async def reply(
    code: TicketCode, body: TextIn, staff: StaffDep, desk: DeskDep
) -> TranscriptLineOut:
    """Send a reply to the person, on the channel they wrote from."""
    sent: Delivered = await _call(desk.reply(staff, code, body.text))
    return TranscriptLineOut.model_validate(
        {"id": sent.message_id, "author": "staff", "staff_username": staff.username,
         "text": sent.text, "at": sent.at, "delivery_status": sent.status}
    )  # fmt: skip


@router.post(
    "/tickets/{code}/notes",
    response_model=NoteOut,
    status_code=status.HTTP_201_CREATED,
    responses=ACTION_ERRORS,
)
async def note(code: TicketCode, body: TextIn, staff: StaffDep, desk: DeskDep) -> NoteOut:
    """A private note for colleagues; the person never sees it."""
    return NoteOut.model_validate(await _call(desk.note(staff, code, body.text)))


@router.post("/tickets/{code}/transfer", response_model=ActionOut, responses=ACTION_ERRORS)
async def transfer(code: TicketCode, body: TransferIn, staff: StaffDep, desk: DeskDep) -> ActionOut:
    """Give the ticket to a colleague."""
    return ActionOut.model_validate(await _call(desk.transfer(staff, code, body.to)))


@router.post("/tickets/{code}/resolve", response_model=ActionOut, responses=ACTION_ERRORS)
async def resolve(code: TicketCode, body: ResolveIn, staff: StaffDep, desk: DeskDep) -> ActionOut:
    """Close the case with an outcome; the assistant answers the person again."""
    return ActionOut.model_validate(await _call(desk.resolve(staff, code, body.outcome)))


@router.get("/outcomes", response_model=dict[str, str], responses=UNAUTHORIZED)
async def outcomes(staff: StaffDep) -> dict[str, str]:
    """The outcomes a ticket can be resolved with, and their labels."""
    return dict(OUTCOMES)


# Topics of tickets that no help topic names, as the console labels them.
OTHER_TOPIC_LABELS = {
    "assistant_unavailable": "trợ lý tự động gặp sự cố",
    "request_human": "muốn gặp nhân viên",
    "find_service": "tìm dịch vụ",
}


@router.get("/topics", response_model=dict[str, str], responses=UNAUTHORIZED)
async def topics(staff: StaffDep) -> dict[str, str]:
    """Vietnamese labels of ticket topics, for the console."""
    return {**OTHER_TOPIC_LABELS, **read_taxonomy().topic_labels}


@router.get("/members", response_model=list[StaffMemberOut], responses=UNAUTHORIZED)
async def members(staff: StaffDep, gateway: GatewayDep) -> list[StaffMemberOut]:
    """Active colleagues, to transfer a ticket to."""

    def work(session: Session) -> list[StaffMemberOut]:
        rows = session.scalars(
            select(StaffMember).where(StaffMember.active.is_(True)).order_by(StaffMember.username)
        )
        return [StaffMemberOut.model_validate(member) for member in rows]

    return await gateway.store.run(work)


# --- canned replies and the report ------------------------------------------------------


@router.get("/canned-replies", response_model=list[CannedOut], responses=UNAUTHORIZED)
async def list_canned(
    staff: StaffDep, desk: DeskDep, include_inactive: Annotated[bool, Query()] = False
) -> list[CannedOut]:
    """Ready-made replies staff can send or adapt."""
    replies = await _call(desk.canned(staff, include_inactive=include_inactive))
    return [CannedOut.model_validate(r) for r in replies]


@router.post(
    "/canned-replies",
    response_model=CannedOut,
    status_code=status.HTTP_201_CREATED,
    responses={**UNAUTHORIZED, **FORBIDDEN},
)
async def add_canned(body: CannedIn, staff: SupervisorDep, desk: DeskDep) -> CannedOut:
    """A new canned reply (supervisors and admins)."""
    return CannedOut.model_validate(await _call(desk.add_canned(staff, body.title, body.text)))


@router.patch(
    "/canned-replies/{reply_id}",
    response_model=CannedOut,
    responses={**UNAUTHORIZED, **FORBIDDEN, 422: {"description": "unknown id or empty text"}},
)
async def update_canned(
    reply_id: int, body: CannedUpdateIn, staff: SupervisorDep, desk: DeskDep
) -> CannedOut:
    """Edit or retire a canned reply (supervisors and admins)."""
    return CannedOut.model_validate(
        await _call(
            desk.update_canned(
                staff, reply_id, title=body.title, text=body.text, active=body.active
            )
        )
    )


@router.get("/report", response_model=dict[str, Any], responses={**UNAUTHORIZED, **FORBIDDEN})
async def report(
    staff: SupervisorDep, desk: DeskDep, days: Annotated[int, Query(ge=1, le=366)] = 30
) -> dict[str, Any]:
    """The supervisor's figures: queue, waiting times, targets, people helped."""
    figures = await _call(desk.report(staff, days=days))
    return json.loads(json.dumps(dataclasses.asdict(figures), default=str))


# --- live events ------------------------------------------------------------------------


def _active_code(session: Session, conversation_id: str) -> str | None:
    """The code of the conversation's ticket in the queue, if it has one."""
    conversation = session.get(Conversation, conversation_id)
    ticket = active_ticket(session, conversation) if conversation is not None else None
    return ticket.code if ticket is not None else None


class ConsoleFeed:
    """Turns hub events into what one console may see: ticket changes and escalations, and
    the messages of conversations in the queue, never the words of people who have not
    asked for a person. Which conversation has which ticket is remembered, and forgotten
    whenever a ticket changes, so a busy queue costs no database read per message."""

    def __init__(self, gateway: Any) -> None:
        self._store = gateway.store
        self._codes: dict[str, str | None] = {}

    async def shown(self, event: dict[str, Any]) -> dict[str, Any] | None:
        kind = event.get("type")
        if kind in ("ticket", "escalation"):
            self._codes.clear()
            return event
        if kind not in ("message", "inbound") or not event.get("text"):
            return None
        code = await self._code_of(event["conversation_id"])
        if code is None:
            return None
        return {
            "type": "message",
            "code": code,
            "id": event.get("id"),
            "from": speaker(event.get("from", "bot")),
            "staff": event.get("staff"),
            "text": event["text"],
            "at": event.get("at"),
            "delivery_status": event.get("delivery_status"),
        }

    async def _code_of(self, conversation_id: str) -> str | None:
        if conversation_id not in self._codes:
            self._codes[conversation_id] = await self._store.run(
                lambda s: _active_code(s, conversation_id)
            )
        return self._codes[conversation_id]


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}, **UNAUTHORIZED},
)
async def events(staff: StaffDep, gateway: GatewayDep, request: Request) -> StreamingResponse:
    """Server-sent events: messages of tickets in the queue, ticket changes, escalations."""

    console = ConsoleFeed(gateway)

    async def stream() -> AsyncIterator[str]:
        async with gateway.hub.subscribe(ALL) as feed:
            yield "retry: 3000\n\n"
            while not await request.is_disconnected():
                try:
                    event = await asyncio.wait_for(feed.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                shown = await console.shown(event)
                if shown is None:
                    continue
                data = json.dumps(shown, ensure_ascii=False, default=str)
                yield f"event: {shown['type']}\ndata: {data}\n\n"

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
