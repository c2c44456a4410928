"""The gateway's link to the engine: Rasa's REST channel, and the health of Rasa and the
action server.

Both talk over one aiohttp session of their own (`engine_session`), made in the app's
lifespan: a turn is on the busiest path, and aiohttp's client costs a fifth of the CPU
time httpx's does per call. Its connections are kept for 30 s between turns: under load,
Rasa serves requests on newly opened connections late (a burst of 8: p95 1.5 s against
0.56 s on open ones), so a pool that let its connections go after 5 s of quiet, as
httpx's did, made the first turns after a pause wait up to 4 s.

Usage:
    async with engine_session() as http:
        rasa = RasaClient(settings.rasa_url, http, timeout=settings.rasa_timeout_seconds)
        replies = await rasa.turn("telegram:42", "chào ad", {"channel": "telegram", "sender_id": "42"})
        health = Health(settings.rasa_url, settings.action_server_url, http)
        await health.action_server_up()
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import aiohttp
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from connectors.channels.base import Button, Reply

logger = logging.getLogger(__name__)

# Idle connections are closed by Rasa (Sanic) after 120 s, by common proxies after 60 s or
# more: ours close first, so that a turn never goes out on a connection being closed.
KEEPALIVE_SECONDS = 30.0
MAX_CONNECTIONS = 200


def engine_session() -> aiohttp.ClientSession:
    """The HTTP session for Rasa and the action server (close it when done)."""
    connector = aiohttp.TCPConnector(limit=MAX_CONNECTIONS, keepalive_timeout=KEEPALIVE_SECONDS)
    return aiohttp.ClientSession(connector=connector)


class RasaUnavailable(Exception):
    """Rasa did not answer the turn (down, too slow, or an error of its own)."""


class RasaClient:
    """Sends one message to Rasa's REST channel and reads the replies."""

    def __init__(self, base_url: str, http: aiohttp.ClientSession, *, timeout: float) -> None:
        self._url = f"{base_url.rstrip('/')}/webhooks/rest/webhook"
        self._http = http
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def turn(self, sender: str, text: str, metadata: dict[str, Any]) -> list[Reply]:
        """The bot's replies to `text` from `sender`, or `RasaUnavailable`."""
        payload = {"sender": sender, "message": text, "metadata": metadata}
        try:
            # Only a connection that was never made is retried: a message Rasa received
            # must not be processed twice (aiohttp itself never re-sends a POST).
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(aiohttp.ClientConnectorError),
                stop=stop_after_attempt(3),
                wait=wait_exponential(multiplier=0.2, max=1.0),
                reraise=True,
            ):
                with attempt:
                    status, body = await self._post(payload)
        except (aiohttp.ClientError, TimeoutError) as error:
            raise RasaUnavailable(type(error).__name__) from error
        if status != 200:
            raise RasaUnavailable(f"HTTP {status}")
        try:
            messages = json.loads(body)
        except ValueError as error:
            raise RasaUnavailable("not JSON") from error
        if not isinstance(messages, list):
            raise RasaUnavailable("unexpected answer")
        return [reply for reply in map(_reply, messages) if reply is not None]

    async def _post(self, payload: dict[str, Any]) -> tuple[int, bytes]:
        async with self._http.post(self._url, json=payload, timeout=self._timeout) as response:
            return response.status, await response.read()


def _reply(message: Any) -> Reply | None:
    if not isinstance(message, dict):
        return None
    buttons = tuple(
        Button(
            str(b.get("title") or b.get("payload") or ""),
            str(b.get("payload") or b.get("title") or ""),
        )
        for b in message.get("buttons") or []
        if isinstance(b, dict) and (b.get("title") or b.get("payload"))
    )
    text = message.get("text") or ""
    if not text and not buttons:
        return None  # images and custom payloads: nothing the channels show yet
    return Reply(str(text), buttons)


class Health:
    """Whether Rasa and the action server answer; the action server's state is cached
    briefly because the router asks on every turn."""

    def __init__(
        self,
        rasa_url: str,
        action_server_url: str,
        http: aiohttp.ClientSession,
        *,
        timeout: float = 2.0,
        cache_seconds: float = 2.0,
    ) -> None:
        self._rasa = f"{rasa_url.rstrip('/')}/"
        self._actions = f"{action_server_url.rstrip('/')}/health"
        self._http = http
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._cache_seconds = cache_seconds
        self._actions_checked = float("-inf")
        self._actions_up = False
        self._lock = asyncio.Lock()

    async def _answers(self, url: str) -> bool:
        try:
            async with self._http.get(url, timeout=self._timeout) as response:
                await response.read()
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def rasa_up(self) -> bool:
        return await self._answers(self._rasa)

    async def watch(self) -> None:
        """Keep the action server's state fresh in the background (run as a task for the
        gateway's lifetime): checked twice per `cache_seconds`, so that a turn always
        finds a fresh state and never waits for a check."""
        while True:
            await self.action_server_up(fresh=True)
            await asyncio.sleep(self._cache_seconds / 2)

    def _fresh(self) -> bool:
        return time.monotonic() - self._actions_checked <= self._cache_seconds

    async def action_server_up(self, *, fresh: bool = False) -> bool:
        """The action server's health, at most `cache_seconds` old unless `fresh`."""
        if not fresh and self._fresh():
            return self._actions_up  # no lock: a check in progress must not hold turns up
        async with self._lock:
            if fresh or not self._fresh():
                self._actions_up = await self._answers(self._actions)
                self._actions_checked = time.monotonic()
                if not self._actions_up:
                    logger.warning("the action server does not answer")
            return self._actions_up
