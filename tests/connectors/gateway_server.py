"""The gateway served for real (uvicorn on 127.0.0.1, in a thread), for the tests that need
a browser or a long-lived HTTP stream rather than the in-process TestClient."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Coroutine
from typing import Any

import uvicorn
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connectors.app import create_app
from connectors.gateway import Gateway
from helpdesk.models import Conversation
from hotline.settings import Settings
from tests.connectors.conftest import stub_risk


class GatewayServer:
    """`with GatewayServer(settings, session_factory) as server:` serves the gateway."""

    def __init__(self, settings: Settings, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory
        self.app = create_app(settings, session_factory=session_factory, assess_risk=stub_risk)
        self._loop = asyncio.new_event_loop()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def gateway(self) -> Gateway:
        return self.app.state.gateway  # type: ignore[no-any-return]

    def __enter__(self) -> GatewayServer:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        server = self._server
        self._thread = threading.Thread(
            target=self._loop.run_until_complete, args=(server.serve([sock]),), daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the gateway did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(timeout=15)

    def call(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 20) -> Any:
        """Run a coroutine of the gateway on the server's event loop."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def conversation_id(self, channel: str, sender_id: str) -> str:
        with self.session_factory() as session:
            found = session.scalar(
                select(Conversation.id).where(
                    Conversation.channel == channel, Conversation.sender_id == sender_id
                )
            )
        assert found is not None
        return found
