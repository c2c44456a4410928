"""Live events of conversations inside one gateway process, for pages that show them as
they happen: the web chat (a staff reply arriving later) and the staff console.

The outbound path publishes every message it records; the router publishes inbound
messages of handed-off conversations. A subscriber gets the events of one conversation
(by its id, or by its sender key `<channel>:<sender_id>`, which the web chat knows
before the conversation exists), or of all (`ALL`). A subscriber that falls behind loses events rather than slowing the
publisher down; pages re-read the transcript after a reconnect, so nothing is missed.

Several gateway replicas do not share this hub: behind a load balancer, pin a web chat
to one replica or replace the hub with a shared broker.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

ALL = "*"


class EventHub:
    """Publish/subscribe of conversation events, keyed by conversation id."""

    def __init__(self) -> None:
        self._subscribers: defaultdict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)

    def publish(
        self, conversation_id: str, event: dict[str, Any], *, sender_key: str | None = None
    ) -> None:
        """Hand `event` to the subscribers of the conversation and to those of all."""
        targets = set()
        for key in (conversation_id, sender_key, ALL):
            if key is not None:
                targets |= self._subscribers.get(key, set())
        for queue in targets:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait({"conversation_id": conversation_id, **event})

    @contextlib.asynccontextmanager
    async def subscribe(
        self, key: str = ALL, *, max_pending: int = 200
    ) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        """A queue of the events of `key` (a conversation id, a sender key or `ALL`), for
        as long as the `async with` lasts."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(max_pending)
        self._subscribers[key].add(queue)
        try:
            yield queue
        finally:
            self._subscribers[key].discard(queue)
            if not self._subscribers[key]:
                del self._subscribers[key]
