"""The one path every inbound message takes, whatever its channel.

1. `accept`: apply the sender's rate limit (never to `risk: high`), and store the message
   with its conversation in one transaction. A re-delivered message (same channel
   message id) is recognised here and answered once. Nothing else happens before the
   message is stored: an accepted message is never lost. The gateway scores the risk
   (lexicon and learned net) only where it acts on the level itself: a sender over the
   limit, a conversation with the staff, an outage; Rasa scores every message it parses.
2. `process`: under the conversation's lock (turns and replies stay in order):
   - not text (a sticker, a photo): a polite request to write in words;
   - handed off (`waiting`, `assigned`): the bot stays silent and the message goes to
     the staff (published on the event hub for the console). A `risk: high` message
     raises the ticket to urgent, and while nobody has claimed it the person gets the
     emergency numbers at once;
   - otherwise Rasa's REST channel, with the channel and sender as metadata; the
     replies are recorded and sent through the outbound path.
   When Rasa or the action server is down, the person gets a kind message, a ticket is
   opened and the conversation handed to staff, and a `risk: high` message still gets
   the emergency numbers (`utter_crisis`, read from the domain at start).

Webhooks call `accept` before answering the platform and `spawn(process(...))` after;
the web chat and the REST API call `handle`, which does both and reports the outcome.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, select
from sqlalchemy.orm import Session

from connectors.channels.base import TEXT, Inbound, Reply
from connectors.events import EventHub
from connectors.outbound import ConversationGone, Delivered, Outbound
from connectors.rasa import Health, RasaClient, RasaUnavailable
from connectors.ratelimit import RateLimiter
from connectors.store import Store
from connectors.texts import GatewayTexts
from helpdesk.audit import ACTOR_SYSTEM
from helpdesk.conversations import (
    ConversationHead,
    StoredInbound,
    conversation_head,
    get_or_create_conversation,
    store_inbound,
)
from helpdesk.models import ACTIVE_TICKET_STATUSES, Conversation, Ticket
from helpdesk.tickets import (
    active_ticket,
    find_vietnamese_phone,
    open_or_reuse_ticket,
    request_handoff,
    set_callback_phone,
)

logger = logging.getLogger(__name__)

NONE, HIGH = "none", "high"
BOT = "bot"
WAITING = "waiting"
# The topic of a ticket the gateway opens because the assistant could not answer.
OUTAGE_TOPIC = "assistant_unavailable"

# Outcomes of one inbound message.
ANSWERED = "answered"
DUPLICATE = "duplicate"
HANDED_OFF = "handed_off"
RATE_LIMITED = "rate_limited"
EMPTY = "empty"
UNSUPPORTED = "unsupported"
ASSISTANT_UNAVAILABLE = "assistant_unavailable"
ACCEPTED = "accepted"

RiskAssessor = Callable[[str], str]
# Removes a conversation from Rasa's tracker store, by the gateway's sender key.
Forgetter = Callable[[str], Coroutine[Any, Any, Any]]
# Messages at least this long are scored for risk in a worker thread.
LONG_TEXT = 1000


@dataclass(frozen=True)
class TicketSummary:
    """What a person (or an integrator) may know about their ticket."""

    code: str
    status: str
    priority: str


@dataclass(frozen=True)
class Acceptance:
    """What `accept` decided about one inbound message."""

    inbound: Inbound
    outcome: str
    # None: not scored yet. A message for the bot is scored by Rasa; the gateway scores
    # it only where it acts on the level itself (rate limit, staff, outage).
    risk: str | None
    conversation_id: str | None = None
    message_id: int | None = None
    handoff_state: str = BOT
    notify: bool = False
    retry_after: float = 0.0
    # What went into the transcript (a sticker is stored as its label), and when.
    stored_text: str = ""
    stored_at: str | None = None


@dataclass
class TurnResult:
    """What happened to one inbound message, and what the person was sent."""

    outcome: str
    replies: list[Delivered] = field(default_factory=list)
    conversation_id: str | None = None
    message_id: int | None = None
    ticket: TicketSummary | None = None
    handed_off: bool = False
    retry_after: float = 0.0
    summarized: bool = False


class Router:
    """Routes inbound messages to the bot or to the staff, and answers."""

    def __init__(
        self,
        *,
        store: Store,
        rasa: RasaClient,
        health: Health,
        outbound: Outbound,
        hub: EventHub,
        limiter: RateLimiter,
        texts: GatewayTexts,
        assess_risk: RiskAssessor,
        forget: Forgetter | None = None,
        max_message_chars: int = 5000,
    ) -> None:
        self._store = store
        self._rasa = rasa
        self._health = health
        self._outbound = outbound
        self._hub = hub
        self._limiter = limiter
        self._texts = texts
        self._assess_risk = assess_risk
        self._forget = forget
        self._max_chars = max_message_chars
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- step 1: accept ---------------------------------------------------------------

    async def accept(self, inbound: Inbound) -> Acceptance:
        """Store the message (or decide not to); raises if the database is unreachable."""
        words = inbound.bot_text or inbound.text
        if inbound.kind == TEXT and not words.strip():
            conversation_id = await self._store.run(lambda s: self._conversation(s, inbound).id)
            return Acceptance(inbound, EMPTY, NONE, conversation_id)
        decision = self._limiter.check(inbound.key)
        risk: str | None = None
        if not decision.allowed:
            risk = await self._risk(inbound.text)
            if risk != HIGH:
                logger.info("rate limit: message from %s not accepted", inbound.channel)
                told_in: str | None = None
                if decision.notify:
                    told_in = await self._store.run(lambda s: self._conversation(s, inbound).id)
                return Acceptance(
                    inbound, RATE_LIMITED, risk, told_in,
                    notify=decision.notify, retry_after=decision.retry_after,
                )  # fmt: skip
        stored_text = inbound.text
        if inbound.kind != TEXT:
            stored_text = f"{self._texts.label(inbound.kind)} {inbound.text}".strip()

        def store(connection: Connection) -> StoredInbound:
            return store_inbound(
                connection,
                inbound.channel,
                inbound.sender_id,
                stored_text,
                inbound.channel_message_id,
            )

        stored = await self._store.run_core(store)
        conversation_id, message_id = stored.conversation_id, stored.message_id
        if stored.duplicate:
            logger.info("conversation %s: re-delivered message dropped", conversation_id)
        elif risk is None and stored.handoff_state != BOT:
            risk = await self._risk(inbound.text)  # the staff's queue needs it now
        if risk == HIGH:
            logger.warning("conversation %s: message %s has risk high", conversation_id, message_id)
        return Acceptance(
            inbound, DUPLICATE if stored.duplicate else ACCEPTED, risk, conversation_id, message_id,
            stored.handoff_state, stored_text=stored_text, stored_at=stored.created_at.isoformat(),
        )  # fmt: skip

    async def _scored(self, acceptance: Acceptance) -> str:
        """The message's risk level, scored now if `accept` left it to Rasa."""
        if acceptance.risk is not None:
            return acceptance.risk
        return await self._risk(acceptance.inbound.text)

    async def _risk(self, text: str) -> str:
        if not text.strip():
            return NONE
        if len(text) < LONG_TEXT:
            return self._assess_risk(text)  # about a millisecond: not worth a thread
        # A very long message takes the detector a while: keep the event loop free.
        return await asyncio.to_thread(self._assess_risk, text)

    @staticmethod
    def _conversation(session: Session, inbound: Inbound) -> Conversation:
        return get_or_create_conversation(session, inbound.channel, inbound.sender_id)

    # --- step 2: process --------------------------------------------------------------

    async def process(self, acceptance: Acceptance, *, summary: bool = False) -> TurnResult:
        """Answer an accepted message: the bot, the staff, or a polite word from the gateway."""
        conversation_id = acceptance.conversation_id
        if conversation_id is None:  # rate limited, and already told so
            return TurnResult(RATE_LIMITED, retry_after=acceptance.retry_after)
        lock = self._outbound.conversation_lock(conversation_id)
        # A turn still running for this person may change the handoff state: read it again
        # after waiting; otherwise the state read when the message was stored is current.
        stale = lock.locked()
        async with lock:
            result = await self._process_locked(acceptance, conversation_id, stale, summary)
        result.conversation_id = conversation_id
        result.message_id = acceptance.message_id
        if summary and not result.summarized:
            result.ticket, result.handed_off = await self._store.run_core(
                lambda connection: _summary(connection, conversation_id)
            )
        return result

    async def _process_locked(
        self, acceptance: Acceptance, conversation_id: str, stale: bool, summary: bool
    ) -> TurnResult:
        inbound, texts = acceptance.inbound, self._texts
        if acceptance.outcome == EMPTY:
            return TurnResult(EMPTY, await self._say(conversation_id, texts.empty_message))
        if acceptance.outcome == RATE_LIMITED:
            notice = await self._say(conversation_id, texts.rate_limited)
            return TurnResult(RATE_LIMITED, notice, retry_after=acceptance.retry_after)
        if acceptance.outcome == DUPLICATE:
            return TurnResult(DUPLICATE)
        state = acceptance.handoff_state
        if stale:
            state = await self._store.run_core(lambda c: _handoff_state(c, conversation_id))
        if state != BOT:
            return await self._for_staff(acceptance, conversation_id, state)
        words = inbound.bot_text or inbound.text
        if inbound.kind != TEXT and not words.strip():
            return TurnResult(
                UNSUPPORTED, await self._say(conversation_id, texts.unsupported_content)
            )
        try:
            replies = await self._rasa.turn(
                inbound.key,
                words[: self._max_chars],
                {"channel": inbound.channel, "sender_id": inbound.sender_id},
            )
            # Rasa answers even when the action server is down, without the actions' part.
            engine_up = await self._health.action_server_up()
        except RasaUnavailable as error:
            logger.error("conversation %s: Rasa did not answer (%s)", conversation_id, error)
            replies, engine_up = [], False
        if engine_up and not replies:
            # Every message deserves an answer: none at all means a custom action failed
            # (the action server unreachable from Rasa, an exception in an action), unless
            # an action handed the conversation to staff without a word.
            state = await self._store.run_core(lambda c: _handoff_state(c, conversation_id))
            if state != BOT:
                return TurnResult(HANDED_OFF, handed_off=True)
            logger.error("conversation %s: Rasa answered nothing", conversation_id)
            engine_up = False
        if not engine_up:
            return await self._assistant_unavailable(acceptance, conversation_id, replies)
        try:
            if not summary or not replies:
                return TurnResult(ANSWERED, await self._outbound.deliver(conversation_id, replies))
            # What the integrator is told (ticket, handoff) is read in the replies' transaction.
            delivered, summary_ = await self._outbound.deliver_and_inspect(
                conversation_id, replies, inspect=_summary_of
            )
        except ConversationGone:
            return await self._deleted_in_turn(inbound, replies)
        assert summary_ is not None
        ticket, handed_off = summary_
        return TurnResult(
            ANSWERED, delivered, ticket=ticket, handed_off=handed_off, summarized=True
        )

    async def _deleted_in_turn(self, inbound: Inbound, replies: list[Reply]) -> TurnResult:
        """The person had their data deleted in this turn: the confirmation goes out
        unrecorded, and Rasa's own copy of the conversation is removed as well."""
        delivered = await self._outbound.send_unrecorded(
            inbound.channel, inbound.sender_id, replies
        )
        if self._forget is not None:
            try:
                await self._forget(inbound.key)
            except Exception:  # the person was told; staff must know it is not complete
                logger.exception("Rasa's copy of a deleted conversation was not removed")
        return TurnResult(ANSWERED, delivered, summarized=True)

    async def _for_staff(
        self, acceptance: Acceptance, conversation_id: str, state: str
    ) -> TurnResult:
        """A handed-off conversation: the message is for the staff; the bot stays silent."""
        risk = await self._scored(acceptance)
        self._hub.publish(
            conversation_id,
            {
                "type": "inbound",
                "id": acceptance.message_id,
                "from": "person",
                "text": acceptance.stored_text,
                "at": acceptance.stored_at,
                "risk": risk,
            },
            sender_key=acceptance.inbound.key,
        )
        replies: list[Delivered] = []
        if risk == HIGH:
            await self._store.run(lambda s: _raise_to_urgent(s, conversation_id))
            if state == WAITING:
                # Nobody has the conversation yet: the numbers cannot wait for a person.
                replies = await self._say(conversation_id, self._texts.crisis, author=BOT)
        elif acceptance.inbound.kind != TEXT and not acceptance.inbound.text.strip():
            replies = await self._say(conversation_id, self._texts.unsupported_content)
        phone = find_vietnamese_phone(acceptance.inbound.text)
        if phone is not None:
            # The crisis protocol asks for a number to call back, then hands off: the
            # number goes on the ticket, and while nobody has the conversation, the
            # person is told it was received.
            code = await self._store.run(lambda s: _keep_callback(s, conversation_id, phone))
            if code is not None and state == WAITING:
                notice = self._texts.callback_noted.format(phone=phone, ticket_code=code)
                replies += await self._say(conversation_id, notice)
        return TurnResult(HANDED_OFF, replies, handed_off=True)

    async def _assistant_unavailable(
        self, acceptance: Acceptance, conversation_id: str, rasa_replies: list[Reply]
    ) -> TurnResult:
        """Rasa or the action server is down: emergency numbers, a ticket, staff."""
        risk = await self._scored(acceptance)
        replies = list(rasa_replies)
        if risk == HIGH and not any(self._texts.crisis in r.text for r in replies):
            replies.insert(0, Reply(self._texts.crisis))
        # The numbers go out first; the ticket can take the time a database takes.
        delivered = await self._outbound.deliver(conversation_id, replies)
        try:
            code = await self._store.run(lambda s: _open_outage_ticket(s, conversation_id, risk))
            notice = self._texts.assistant_unavailable.format(ticket_code=code)
        except Exception:
            logger.exception("conversation %s: no ticket for the outage", conversation_id)
            notice = self._texts.assistant_unavailable_no_ticket
        delivered += await self._say(conversation_id, notice)
        return TurnResult(ASSISTANT_UNAVAILABLE, delivered)

    async def _say(
        self, conversation_id: str, text: str, *, author: str = "system"
    ) -> list[Delivered]:
        return await self._outbound.deliver(conversation_id, [Reply(text)], author=author)

    # --- both steps, and background work ----------------------------------------------

    async def handle(self, inbound: Inbound) -> TurnResult:
        """Accept and process one message, waiting for the answer (web chat, REST API)."""
        acceptance = await self.accept(inbound)
        return await self.process(acceptance, summary=True)

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        """Run `coroutine` after the webhook has answered; failures are logged."""
        task = asyncio.create_task(self._logged(coroutine))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _logged(coroutine: Coroutine[Any, Any, Any]) -> None:
        try:
            await coroutine
        except Exception:
            logger.exception("processing an inbound message failed")

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait for the messages being processed (at shutdown, and in tests)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)


_TICKETS = cast(Table, Ticket.__table__)
# `helpdesk.tickets.active_ticket`, reading only what the person may know.
_ACTIVE_TICKET_SUMMARY = (
    select(_TICKETS.c.code, _TICKETS.c.status, _TICKETS.c.priority)
    .where(
        _TICKETS.c.conversation_id == bindparam("conversation_id"),
        _TICKETS.c.status.in_(ACTIVE_TICKET_STATUSES),
    )
    .order_by(_TICKETS.c.created_at.desc(), _TICKETS.c.id)
    .limit(1)
)


def _handoff_state(connection: Connection, conversation_id: str) -> str:
    head = conversation_head(connection, conversation_id)
    return head.handoff_state if head else BOT


def _summary(connection: Connection, conversation_id: str) -> tuple[TicketSummary | None, bool]:
    head = conversation_head(connection, conversation_id)
    if head is None:
        return None, False
    return _summary_of(connection, head)


def _summary_of(
    connection: Connection, head: ConversationHead
) -> tuple[TicketSummary | None, bool]:
    row = connection.execute(_ACTIVE_TICKET_SUMMARY, {"conversation_id": head.id}).first()
    summary = TicketSummary(row.code, row.status, row.priority) if row else None
    return summary, head.handoff_state != BOT


def _open_outage_ticket(session: Session, conversation_id: str, risk: str) -> str:
    conversation = session.get(Conversation, conversation_id)
    assert conversation is not None
    ticket, _ = open_or_reuse_ticket(
        session, conversation, topic=OUTAGE_TOPIC, risk=risk, actor=ACTOR_SYSTEM
    )
    if conversation.handoff_state == BOT:
        request_handoff(session, conversation, ticket, actor=ACTOR_SYSTEM)
    return ticket.code


def _keep_callback(session: Session, conversation_id: str, phone: str) -> str | None:
    """Put the number on the conversation's active ticket; its code, or None if none."""
    conversation = session.get(Conversation, conversation_id)
    ticket = active_ticket(session, conversation) if conversation is not None else None
    if ticket is None:
        return None
    if ticket.callback_phone != phone:
        set_callback_phone(session, ticket, phone)
    return ticket.code


def _raise_to_urgent(session: Session, conversation_id: str) -> None:
    conversation = session.get(Conversation, conversation_id)
    assert conversation is not None
    ticket = active_ticket(session, conversation)
    topic = ticket.topic if ticket else OUTAGE_TOPIC
    open_or_reuse_ticket(session, conversation, topic=topic, risk=HIGH, actor=ACTOR_SYSTEM)
