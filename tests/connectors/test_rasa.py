"""The gateway's link to the engine (`connectors.rasa`), against real local HTTP servers:
only a connection that was never made is tried again, anything else Rasa does wrong is
`RasaUnavailable`, and a turn never waits for a health check in progress."""

from __future__ import annotations

import asyncio
import time

import pytest
from fastapi.responses import JSONResponse, PlainTextResponse

from connectors.channels.base import Reply
from connectors.rasa import Health, RasaClient, RasaUnavailable, engine_session
from tests.connectors.conftest import wait_for
from tests.connectors.standins import FakeRasa, StandIn

METADATA = {"channel": "api", "sender_id": "t-1"}


def turn(url: str, *, timeout: float = 5.0) -> list[Reply]:
    """One turn through a fresh engine session, as the router makes it."""

    async def scenario() -> list[Reply]:
        async with engine_session() as http:
            rasa = RasaClient(url, http, timeout=timeout)
            return await rasa.turn("api:t-1", "xin chào", METADATA)

    return asyncio.run(scenario())


class NotJsonRasa(StandIn):
    """A server that answers the REST channel with an HTML page (a proxy's error page)."""

    def __init__(self) -> None:
        super().__init__()
        self.app.add_api_route("/webhooks/rest/webhook", self._webhook, methods=["POST"])

    async def _webhook(self) -> PlainTextResponse:
        self.record("webhook")
        return PlainTextResponse("<html>502 Bad Gateway</html>")


class SlowHealth(StandIn):
    """An action server whose `/health` takes `delay` seconds to answer."""

    def __init__(self) -> None:
        super().__init__()
        self.delay = 0.0
        self.app.add_api_route("/health", self._health, methods=["GET"])

    async def _health(self) -> JSONResponse:
        await asyncio.sleep(self.delay)
        return JSONResponse({"status": "ok"})


def test_a_connection_never_made_is_tried_again() -> None:
    rasa = FakeRasa().start(listen_after=0.05)  # refuses the first try, answers the second
    try:
        replies = turn(rasa.url)
        assert [reply.text for reply in replies] == ["Xin chào, mình là trợ lý tự động."]
        (call,) = rasa.calls_to("webhook")
        assert call["sender"] == "api:t-1" and call["metadata"] == METADATA
    finally:
        rasa.stop()


def test_a_turn_that_timed_out_is_not_sent_again(fake_rasa: FakeRasa) -> None:
    fake_rasa.delay = 0.5
    with pytest.raises(RasaUnavailable, match="Timeout"):
        turn(fake_rasa.url, timeout=0.1)
    wait_for(lambda: fake_rasa.calls_to("webhook"))
    time.sleep(0.6)  # a second request would be recorded by now
    assert len(fake_rasa.calls_to("webhook")) == 1


def test_rasa_answering_an_error_is_unavailable_and_not_tried_again(fake_rasa: FakeRasa) -> None:
    fake_rasa.fail_next("webhook", 500)
    with pytest.raises(RasaUnavailable, match="HTTP 500"):
        turn(fake_rasa.url)
    assert len(fake_rasa.calls_to("webhook")) == 1


def test_an_answer_that_is_not_json_is_unavailable() -> None:
    rasa = NotJsonRasa().start()
    try:
        with pytest.raises(RasaUnavailable, match="not JSON"):
            turn(rasa.url)
        assert len(rasa.calls_to("webhook")) == 1
    finally:
        rasa.stop()


def test_a_turn_reads_the_action_servers_state_without_waiting_for_a_check() -> None:
    actions = SlowHealth().start()

    async def scenario() -> float:
        async with engine_session() as http:
            health = Health(actions.url, actions.url, http, cache_seconds=5.0)
            assert await health.action_server_up()
            actions.delay = 1.0
            checking = asyncio.create_task(health.action_server_up(fresh=True))
            await asyncio.sleep(0.05)  # the slow check has started
            started = time.monotonic()
            assert await health.action_server_up()
            waited = time.monotonic() - started
            assert await checking
            return waited

    try:
        assert asyncio.run(scenario()) < 0.5
    finally:
        actions.stop()
