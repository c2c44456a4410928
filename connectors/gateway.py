"""The gateway's parts, built once per process from the settings, and their lifecycle.

`create_app` builds a `Gateway` in its lifespan and keeps it in `app.state.gateway`;
handlers reach its parts through `connectors.deps`. The staff console (issue 6) sends
through `gateway.outbound.send_to_person(...)` and follows conversations live with
`gateway.hub.subscribe(...)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import httpx
from sqlalchemy.orm import Session, sessionmaker
from telegram import Update

from connectors.channels.base import API, WEB, ChannelSender, PullSender
from connectors.channels.telegram import TelegramChannel, parse_update
from connectors.channels.zalo_bot import ZaloBotChannel
from connectors.channels.zalo_oa import ZaloOAChannel, ZaloTokens
from connectors.config import enabled_channels
from connectors.events import EventHub
from connectors.outbound import Outbound
from connectors.rasa import Health, RasaClient
from connectors.ratelimit import RateLimiter
from connectors.router import HIGH, RiskAssessor, Router
from connectors.staff.desk import StaffDesk
from connectors.staff.escalation import EscalationWatch
from connectors.staff.principal import LoginGuard
from connectors.store import Store
from connectors.texts import GatewayTexts, load_texts
from hotline.rasa_tracker import forget_senders
from hotline.settings import Settings

logger = logging.getLogger(__name__)

REDELIVERY_SECONDS = 30.0


def load_risk_assessor(model_archive: Path | None = None) -> RiskAssessor:
    """The gateway's own risk level of a text: the lexicon (`nlu.risk`), raised to high by
    the learned risk net kept in the trained model (`nlu.risk_scorer`) at the threshold
    Rasa uses. Rasa scores every message it parses; the gateway's level decides where
    Rasa does not speak: while it is down, while staff have the conversation, and for the
    rate limit (never applied to high). Without a trained model the lexicon decides alone.
    Both are loaded at start, so that the gateway refuses to start rather than run
    without risk scoring, and the first conversation does not wait for them."""
    from nlu.risk import assess_risk
    from nlu.risk_scorer import load_from_model_archive, risk_view

    net = load_from_model_archive(model_archive) if model_archive is not None else None
    if net is None:
        logger.warning("no trained risk net in %s: the lexicon alone scores risk", model_archive)

    def level(text: str) -> str:
        lexicon = assess_risk(text).level
        if lexicon == HIGH or net is None:
            return lexicon
        view = risk_view(text)
        return HIGH if view.strip() and net.is_high(view) else lexicon

    level("khởi động")
    return level


@dataclass
class Gateway:
    """Everything a request handler may need."""

    settings: Settings
    store: Store
    hub: EventHub
    texts: GatewayTexts
    health: Health
    outbound: Outbound
    router: Router
    desk: StaffDesk
    escalation: EscalationWatch
    login_guard: LoginGuard
    telegram: TelegramChannel | None = None
    zalo_oa: ZaloOAChannel | None = None
    zalo_bot: ZaloBotChannel | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        if self.telegram is not None:
            await self.telegram.start(self.receive_telegram)
        if self.zalo_bot is not None:
            await self.zalo_bot.start()
        self._tasks.append(asyncio.create_task(self._redeliver_forever()))
        self._tasks.append(asyncio.create_task(self.health.watch()))
        self._tasks.append(asyncio.create_task(self.escalation.run_forever()))
        logger.info("gateway started; channels: %s", ", ".join(enabled_channels(self.settings)))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.router.drain(timeout=20.0)
        if self.telegram is not None:
            await self.telegram.stop()

    async def receive_telegram(self, update: Update) -> bool:
        """Store a Telegram update, then answer it in the background (webhook and polling);
        False for an update with nothing to answer."""
        assert self.telegram is not None
        inbound = parse_update(update)
        if inbound is None:
            return False
        acceptance = await self.router.accept(inbound)
        self.router.spawn(self.router.process(acceptance))
        if update.callback_query is not None:
            self.router.spawn(self.telegram.acknowledge_button(update))
        return True

    async def _redeliver_forever(self) -> None:
        while True:
            await asyncio.sleep(REDELIVERY_SECONDS)
            with contextlib.suppress(Exception):
                sent = await self.outbound.redeliver()
                if sent:
                    logger.info("redelivered %d message(s)", sent)


def build_gateway(
    settings: Settings,
    session_factory: sessionmaker[Session],
    http: httpx.AsyncClient,
    engine_http: aiohttp.ClientSession,
    assess_risk: RiskAssessor,
) -> Gateway:
    """The gateway for these settings: channels whose settings are absent stay off. `http`
    reaches the platforms (Zalo), `engine_http` Rasa and the action server."""
    store = Store(session_factory)
    hub = EventHub()
    texts = load_texts()
    senders: dict[str, ChannelSender] = {WEB: PullSender(WEB), API: PullSender(API)}
    telegram = zalo_oa = zalo_bot = None
    if settings.telegram_bot_token:
        telegram = TelegramChannel(settings)
        senders[telegram.name] = telegram
    if settings.zalo_app_id and settings.zalo_oa_secret_key and settings.zalo_oa_refresh_token:
        zalo_oa = ZaloOAChannel(settings, http, ZaloTokens(settings, store))
        senders[zalo_oa.name] = zalo_oa
    if settings.zalo_bot_token and settings.zalo_bot_webhook_secret:
        zalo_bot = ZaloBotChannel(settings, http)
        senders[zalo_bot.name] = zalo_bot
    outbound = Outbound(
        store,
        senders,
        hub,
        button_hint=texts.button_hint,
        attempts=settings.outbound_attempts,
        backoff_seconds=settings.outbound_backoff_seconds,
    )
    health = Health(settings.rasa_url, settings.action_server_url, engine_http)
    router = Router(
        store=store,
        rasa=RasaClient(settings.rasa_url, engine_http, timeout=settings.rasa_timeout_seconds),
        health=health,
        outbound=outbound,
        hub=hub,
        limiter=RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst),
        texts=texts,
        assess_risk=assess_risk,
        forget=lambda key: asyncio.to_thread(forget_senders, settings.rasa_tracker_database, [key]),
        max_message_chars=settings.max_message_chars,
    )
    return Gateway(
        settings=settings,
        store=store,
        hub=hub,
        texts=texts,
        health=health,
        outbound=outbound,
        router=router,
        desk=StaffDesk(store, outbound, hub, texts, settings),
        escalation=EscalationWatch(
            store,
            outbound,
            hub,
            texts,
            minutes=settings.escalation_minutes,
            interval_seconds=settings.escalation_check_seconds,
        ),
        login_guard=LoginGuard(),
        telegram=telegram,
        zalo_oa=zalo_oa,
        zalo_bot=zalo_bot,
    )
