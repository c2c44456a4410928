"""The outbound path: every message to a person, from the bot or (issue 6) from staff.

Each message is recorded before it is sent (delivery `pending`), then sent in parts that
fit the channel (`splitting`), with retries and exponential backoff on network errors,
429 and 5xx; the result is recorded (`sent`, or `failed` with the reason, which stays
visible to staff and is tried again by the redelivery loop). Messages to one
conversation go out in order. Every recorded message is published on the event hub, so
the web chat and the console see it live.

Usage (the staff console's reply, for instance):
    await outbound.deliver(conversation_id, [Reply("Chào bạn, mình là Lan...")],
                           author="staff", staff_username="lan")
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from connectors.channels.base import Button, ChannelSender, DeliveryError, Reply
from connectors.events import EventHub
from connectors.splitting import split_text
from connectors.store import Store
from helpdesk.conversations import (
    ConversationHead,
    mark_delivery,
    record_replies,
)
from helpdesk.models import Conversation, Message, utc_now

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Delivered:
    """One recorded outbound message and how its sending went."""

    message_id: int
    text: str
    buttons: tuple[Button, ...]
    author: str
    status: str
    at: dt.datetime


def message_event(message: Message, buttons: Sequence[Button] = ()) -> dict[str, Any]:
    """How a message is shown to the pages that follow a conversation live."""
    return {
        "type": "message",
        "id": message.id,
        "from": message.author,
        "text": message.text,
        "buttons": [{"title": b.title, "payload": b.payload} for b in buttons],
        "at": message.created_at.isoformat(),
        "delivery_status": message.delivery_status,
    }


class ConversationGone(LookupError):
    """The conversation no longer exists: the person had their data deleted in this turn."""


class Outbound:
    """Records, sends and tracks messages to people, channel by channel."""

    def __init__(
        self,
        store: Store,
        senders: Mapping[str, ChannelSender],
        hub: EventHub,
        *,
        button_hint: str = "{choices}",
        attempts: int = 4,
        backoff_seconds: float = 0.5,
        max_backoff_seconds: float = 30.0,
    ) -> None:
        self._store = store
        self._senders = dict(senders)
        # The person's own client fetches the replies of these channels: recorded is delivered.
        self._instant_channels = frozenset(
            name for name, sender in senders.items() if getattr(sender, "instant", False)
        )
        self._hub = hub
        self._button_hint = button_hint
        self._attempts = attempts
        self._backoff = backoff_seconds
        self._max_backoff = max_backoff_seconds
        # One lock per conversation, dropped when nobody holds it.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def sender_for(self, channel: str) -> ChannelSender | None:
        return self._senders.get(channel)

    def conversation_lock(self, conversation_id: str) -> asyncio.Lock:
        """The lock that keeps one conversation's turns and replies in order."""
        lock = self._locks.get(conversation_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[conversation_id] = lock
        return lock

    async def deliver(
        self,
        conversation_id: str,
        replies: Sequence[Reply],
        *,
        author: str = "bot",
        staff_username: str | None = None,
    ) -> list[Delivered]:
        """Record `replies` to the conversation, then send them in order."""
        delivered, _ = await self.deliver_and_inspect(
            conversation_id, replies, author=author, staff_username=staff_username
        )
        return delivered

    async def deliver_and_inspect(
        self,
        conversation_id: str,
        replies: Sequence[Reply],
        *,
        inspect: Callable[[Connection, ConversationHead], T] | None = None,
        author: str = "bot",
        staff_username: str | None = None,
    ) -> tuple[list[Delivered], T | None]:
        """`deliver`, and `inspect(connection, conversation)` in the same transaction as the
        recording (one database round trip instead of two on the busiest path)."""
        if not replies:
            return [], None
        inspected: list[T] = []

        def record(connection: Connection) -> tuple[str, str, list[Message], bool]:
            recorded = record_replies(
                connection,
                conversation_id,
                [reply.text for reply in replies],
                author=author,
                staff_username=staff_username,
                delivered_on=self._instant_channels,
            )
            if recorded is None:
                raise ConversationGone(conversation_id)
            head, messages = recorded
            if inspect is not None:
                inspected.append(inspect(connection, head))
            return head.channel, head.sender_id, messages, head.channel in self._instant_channels

        channel, recipient, messages, instant = await self._store.run_core(record)
        results = []
        for message, reply in zip(messages, replies):
            if instant:
                results.append(self._published(channel, recipient, message, reply.buttons))
            else:
                results.append(
                    await self._send_recorded(channel, recipient, message, reply.buttons)
                )
        return results, (inspected[0] if inspected else None)

    def _published(
        self, channel: str, recipient: str, message: Message, buttons: Sequence[Button]
    ) -> Delivered:
        """Tell the live pages about a recorded message, and report it."""
        self._hub.publish(
            message.conversation_id,
            message_event(message, buttons),
            sender_key=f"{channel}:{recipient}",
        )
        return Delivered(
            message.id,
            message.text,
            tuple(buttons),
            message.author,
            message.delivery_status or "",
            message.created_at,
        )

    async def send_to_person(
        self,
        conversation_id: str,
        text: str,
        *,
        author: str = "staff",
        staff_username: str | None = None,
    ) -> Delivered:
        """One message outside a bot turn (a staff reply, an escalation notice), in order
        with the conversation's other messages."""
        async with self.conversation_lock(conversation_id):
            (delivered,) = await self.deliver(
                conversation_id, [Reply(text)], author=author, staff_username=staff_username
            )
        return delivered

    async def send_unrecorded(
        self, channel: str, recipient: str, replies: Sequence[Reply]
    ) -> list[Delivered]:
        """Send replies that must leave no trace: the confirmation that a person's data
        was deleted. A client that fetches its messages gets them in the answer only."""
        sender = self._senders.get(channel)
        now = utc_now()
        results = []
        for reply in replies:
            status = "sent"
            if sender is not None and not getattr(sender, "instant", False):
                message = Message(id=0, text=reply.text, direction="out", author="bot")
                _, error = await self._send_parts(sender, recipient, message, reply.buttons)
                status = "sent" if error is None else "failed"
            results.append(Delivered(0, reply.text, tuple(reply.buttons), "bot", status, now))
        return results

    async def _send_recorded(
        self, channel: str, recipient: str, message: Message, buttons: Sequence[Button]
    ) -> Delivered:
        sender = self._senders.get(channel)
        if sender is None:
            error: str | None = f"no sender for channel {channel}"
            channel_message_id = None
        else:
            channel_message_id, error = await self._send_parts(sender, recipient, message, buttons)

        def mark(session: Session) -> Message:
            row = session.get(Message, message.id)
            assert row is not None
            mark_delivery(
                session,
                row,
                delivered=error is None,
                error=error,
                channel_message_id=channel_message_id,
            )
            return row

        row = await self._store.run(mark)
        return self._published(channel, recipient, row, buttons)

    async def _send_parts(
        self, sender: ChannelSender, recipient: str, message: Message, buttons: Sequence[Button]
    ) -> tuple[str | None, str | None]:
        """Send every part of the message; (last part's platform id, None) or (_, error)."""
        text = message.text
        if buttons and not sender.supports_buttons:
            choices = " · ".join(button.title for button in buttons)
            text = f"{text}\n\n{self._button_hint.format(choices=choices)}".strip()
            buttons = ()
        parts = split_text(text, sender.max_chars) or [""]
        channel_message_id = None
        for number, part in enumerate(parts, 1):
            # The buttons belong under the last part, where the question is.
            part_buttons = buttons if number == len(parts) else ()
            try:
                channel_message_id = await self._send_with_retries(
                    sender, recipient, part, part_buttons
                )
            except DeliveryError as error:
                logger.warning(
                    "message %s to %s: part %d/%d not delivered (%s)",
                    message.id, sender.name, number, len(parts), "will not retry" if not error.retryable else "gave up",
                )  # fmt: skip
                done = f" ({number - 1}/{len(parts)} phần đã gửi)" if len(parts) > 1 else ""
                return channel_message_id, f"{error.reason}{done}"
        return channel_message_id, None

    async def _send_with_retries(
        self, sender: ChannelSender, recipient: str, text: str, buttons: Sequence[Button]
    ) -> str | None:
        exponential = wait_exponential(multiplier=self._backoff, max=self._max_backoff)

        def wait(state: RetryCallState) -> float:
            # A platform that says how long to wait (Telegram's retry_after) is obeyed.
            error = state.outcome.exception() if state.outcome else None
            hinted = getattr(error, "retry_after", None)
            return min(float(hinted), self._max_backoff) if hinted else exponential(state)

        async for attempt in AsyncRetrying(
            retry=retry_if_exception(lambda e: isinstance(e, DeliveryError) and e.retryable),
            stop=stop_after_attempt(self._attempts),
            wait=wait,
            reraise=True,
        ):
            with attempt:
                return await sender.send(recipient, text, buttons)
        raise AssertionError("unreachable")  # pragma: no cover

    async def redeliver(
        self, *, older_than_seconds: float = 30.0, max_age_seconds: float = 3600.0, limit: int = 50
    ) -> int:
        """Try once more the messages still `pending` or `failed` (a crash, a long outage).

        Messages older than `max_age_seconds` are left as they are: an answer hours late
        would confuse more than help, and staff see them as undelivered.
        """
        now = utc_now()
        newest = now - dt.timedelta(seconds=older_than_seconds)
        oldest = now - dt.timedelta(seconds=max_age_seconds)

        def due(session: Session) -> list[tuple[str, str, Message]]:
            rows = session.execute(
                select(Message, Conversation.channel, Conversation.sender_id)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(
                    Message.direction == "out",
                    Message.delivery_status.in_(("pending", "failed")),
                    Message.created_at <= newest,
                    Message.created_at >= oldest,
                    Message.attempts < self._attempts,
                    Conversation.channel.in_(list(self._senders)),
                )
                .order_by(Message.id)
                .limit(limit)
            ).all()
            return [(channel, sender_id, message) for message, channel, sender_id in rows]

        sent = 0
        for channel, recipient, message in await self._store.run(due):
            async with self.conversation_lock(message.conversation_id):
                result = await self._send_recorded(channel, recipient, message, ())
            sent += result.status == "sent"
        return sent
