"""Fixtures of the gateway tests: stand-in platform servers, a fake Rasa, and the gateway
app on the migrated test database (SQLite and PostgreSQL, from tests/conftest.py).

The gateway runs its own transactions in worker threads, so these tests cannot share the
rolled-back `db_session`; each test writes under sender ids of its own (`unique_id`)
and reads back only those, which keeps tests apart without deleting anything.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from connectors.app import create_app
from connectors.gateway import Gateway
from helpdesk.models import Conversation, Message, Ticket
from hotline.db import make_engine, make_session_factory
from hotline.settings import REPO_ROOT, Settings
from tests.conftest import BACKENDS, database_of_its_own
from tests.connectors.standins import FakeRasa, TelegramBotApi, ZaloApis, ZaloBotApi

TELEGRAM_SECRET = "tg-webhook-secret_0123456789"
ZALO_BOT_SECRET = "zalo-bot-webhook-secret-0123456789"
HIGH_RISK_WORDS = ("muốn chết", "không muốn sống", "tự tử")


def stub_risk(text: str) -> str:
    """A deterministic risk scorer: the router's behaviour is tested, not the lexicon
    (nlu/ has its own tests; the end-to-end tests use the real one)."""
    return "high" if any(word in text.lower() for word in HIGH_RISK_WORDS) else "none"


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll `condition` until it returns something truthy; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """The production model; `make test` trains it before running the tests."""
    model = REPO_ROOT / "models" / "hotline.tar.gz"
    if not model.is_file():
        pytest.fail("No trained model in models/: run `make train` (make test does it).")
    return model


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "locale": "vi-VN"}  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium driven by Playwright (Playwright's own download does not work here)."""
    if not CHROMIUM.exists():
        pytest.fail(
            "Debian's chromium is missing: apt-get install chromium (scripts/setup.sh does it)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def platforms() -> Iterator[tuple[TelegramBotApi, ZaloApis]]:
    """Telegram and Zalo OA stand-ins for the assistant run by `assistant`."""
    telegram, zalo = TelegramBotApi().start(), ZaloApis().start()
    yield telegram, zalo
    telegram.stop()
    zalo.stop()


@pytest.fixture(scope="module")
def assistant(
    trained_model: Path, tmp_path_factory: pytest.TempPathFactory, platforms: Any
) -> Iterator[Any]:
    """`hotline run` for the module's end-to-end tests (tests/connectors/running.py)."""
    from tests.connectors.running import assistant_environment, running_assistant

    folder = tmp_path_factory.mktemp("e2e")
    with running_assistant(
        assistant_environment(folder, *platforms), folder / "hotline-run.log"
    ) as process:
        yield process


@pytest.fixture(scope="session")
def fake_rasa() -> Iterator[FakeRasa]:
    server = FakeRasa().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def telegram_api() -> Iterator[TelegramBotApi]:
    server = TelegramBotApi().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def zalo_api() -> Iterator[ZaloApis]:
    server = ZaloApis().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def zalo_bot_api() -> Iterator[ZaloBotApi]:
    server = ZaloBotApi().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fresh_standins(request: pytest.FixtureRequest) -> None:
    for name in ("fake_rasa", "telegram_api", "zalo_api", "zalo_bot_api"):
        if name in request.fixturenames:
            request.getfixturevalue(name).reset()


@pytest.fixture
def unique_id() -> Callable[[str], str]:
    """Fresh sender ids, so that tests sharing the database never meet."""
    return lambda prefix="id": f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database of the gateway tests' own: they commit for real (the gateway runs its
    own transactions), which must not leak into the rolled-back store tests."""
    return database_of_its_own(request, tmp_path_factory, "gateway")


@pytest.fixture(scope="session")
def db_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(db_engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(db_engine)


@pytest.fixture
def make_settings(fake_rasa: FakeRasa, database_url: str) -> Callable[..., Settings]:
    """Settings pointing at the stand-ins; keyword arguments override any field."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "environment": "test",
            "database_url": database_url,
            "rasa_url": fake_rasa.url,
            "action_server_url": fake_rasa.url,
            "outbound_backoff_seconds": 0.01,
            "rate_limit_burst": 50,
            "rate_limit_per_minute": 600,
            "http_timeout_seconds": 5.0,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return build


def telegram_settings(telegram_api: TelegramBotApi, **extra: Any) -> dict[str, Any]:
    return {
        "telegram_bot_token": telegram_api.token,
        "telegram_webhook_secret": TELEGRAM_SECRET,
        "telegram_api_base_url": telegram_api.base_url,
        **extra,
    }


def zalo_settings(zalo_api: ZaloApis, **extra: Any) -> dict[str, Any]:
    return {
        "zalo_app_id": zalo_api.app_id,
        "zalo_app_secret": zalo_api.app_secret,
        "zalo_oa_secret_key": zalo_api.oa_secret_key,
        "zalo_oa_access_token": zalo_api.access_token,
        "zalo_oa_refresh_token": zalo_api.refresh_token,
        "zalo_oa_api_base_url": zalo_api.url,
        "zalo_oauth_base_url": zalo_api.url,
        **extra,
    }


def zalo_bot_settings(zalo_bot_api: ZaloBotApi, **extra: Any) -> dict[str, Any]:
    return {
        "zalo_bot_token": zalo_bot_api.token,
        "zalo_bot_webhook_secret": ZALO_BOT_SECRET,
        "zalo_bot_api_base_url": zalo_bot_api.base_url,
        **extra,
    }


class GatewayClient(TestClient):
    """A TestClient of the running gateway app, with helpers to look inside."""

    session_factory: sessionmaker[Session]

    @property
    def gateway(self) -> Gateway:
        return self.app.state.gateway  # type: ignore[attr-defined,no-any-return]

    def drain(self) -> None:
        """Wait until the messages answered in the background are done."""
        self.portal.call(self.gateway.router.drain, 20.0)  # type: ignore[union-attr]

    def run(self, coroutine_function: Callable[..., Any], *args: Any) -> Any:
        """Run an async function of the gateway on its event loop."""
        return self.portal.call(coroutine_function, *args)  # type: ignore[union-attr]

    def messages(self, channel: str, sender_id: str) -> list[Message]:
        with self.session_factory() as session:
            return list(
                session.scalars(
                    select(Message)
                    .join(Conversation, Conversation.id == Message.conversation_id)
                    .where(Conversation.channel == channel, Conversation.sender_id == sender_id)
                    .order_by(Message.id)
                )
            )

    def conversation(self, channel: str, sender_id: str) -> Conversation | None:
        with self.session_factory() as session:
            return session.scalar(
                select(Conversation).where(
                    Conversation.channel == channel, Conversation.sender_id == sender_id
                )
            )

    def tickets(self, channel: str, sender_id: str) -> list[Ticket]:
        with self.session_factory() as session:
            return list(
                session.scalars(
                    select(Ticket).where(Ticket.channel == channel, Ticket.sender_id == sender_id)
                )
            )


@pytest.fixture
def gateway_client(
    make_settings: Callable[..., Settings], session_factory: sessionmaker[Session]
) -> Callable[..., Any]:
    """`with gateway_client(**settings) as client:` runs the gateway app for a test."""

    @contextmanager
    def run(**overrides: Any) -> Iterator[GatewayClient]:
        app = create_app(
            make_settings(**overrides), session_factory=session_factory, assess_risk=stub_risk
        )
        with GatewayClient(app) as client:
            client.session_factory = session_factory
            yield client
            client.drain()

    return run
