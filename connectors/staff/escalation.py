"""Escalation of urgent tickets nobody has claimed: the gateway checks every few seconds.

An urgent ticket (risk high) still open `ESCALATION_MINUTES` after it was opened (2 by
default) is escalated once: the helpdesk marks and audits it, the open consoles get an
`escalation` event (supervisors see an alert), and the person is sent the emergency
numbers again, because the person a crisis needs has not come yet.

Usage:
    watch = EscalationWatch(store, outbound, hub, texts, minutes=2.0)
    await watch.check()          # once (tests); watch.run_forever() in the gateway
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from connectors.events import ALL, EventHub
from connectors.outbound import Outbound
from connectors.store import Store
from connectors.texts import GatewayTexts
from helpdesk.escalation import Escalation, escalate_unclaimed

logger = logging.getLogger(__name__)

CHECK_SECONDS = 10.0


class EscalationWatch:
    """Finds unclaimed urgent tickets past their time and raises the alarm once each."""

    def __init__(
        self,
        store: Store,
        outbound: Outbound,
        hub: EventHub,
        texts: GatewayTexts,
        *,
        minutes: float,
        interval_seconds: float = CHECK_SECONDS,
    ) -> None:
        self._store = store
        self._outbound = outbound
        self._hub = hub
        self._notice = f"{texts.escalation_notice}\n\n{texts.crisis}"
        self._minutes = minutes
        self._interval = interval_seconds

    async def check(self, now: dt.datetime | None = None) -> list[Escalation]:
        """Escalate what is due now; the alarm goes out after the escalation is stored."""
        due = await self._store.run(lambda s: escalate_unclaimed(s, minutes=self._minutes, now=now))
        for escalation in due:
            logger.warning("ticket %s unclaimed for %ss: escalated", escalation.ticket_id,
                           escalation.waited_seconds)  # fmt: skip
            self._hub.publish(
                ALL,
                {
                    "type": "escalation",
                    "code": escalation.code,
                    "topic": escalation.topic,
                    "channel": escalation.channel,
                    "waited_seconds": escalation.waited_seconds,
                },
            )
            if escalation.conversation_id is not None:
                await self._outbound.send_to_person(
                    escalation.conversation_id, self._notice, author="system"
                )
        return due

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.check()
            except Exception:  # a database hiccup must not stop the watch for good
                logger.exception("escalation check failed; trying again shortly")
