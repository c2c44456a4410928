"""The whole assistant for end-to-end tests: `hotline run` (the real Rasa server, action
server and gateway with the real risk detector) on ports of its own, with a SQLite
database in a temporary folder and the Telegram and Zalo stand-ins as platforms.

The `assistant` fixture (tests/connectors/conftest.py) starts one per test module;
staff hours cover the whole week, so that handoffs behave the same at any hour.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from hotline.settings import REPO_ROOT
from tests.connectors.conftest import TELEGRAM_SECRET
from tests.connectors.standins import TelegramBotApi, ZaloApis

RASA_PORT, ACTIONS_PORT, GATEWAY_PORT = 15105, 15155, 18105
# Conversation ids of this run only: Rasa must meet every person for the first time.
RUN = uuid.uuid4().hex[:8]
GATEWAY = f"http://127.0.0.1:{GATEWAY_PORT}"
EMERGENCY_NUMBERS = ("115", "113", "111", "112")
HOTLINE = str(REPO_ROOT / ".venv" / "bin" / "hotline")


def assistant_environment(folder: Path, telegram: TelegramBotApi, zalo: ZaloApis) -> dict[str, str]:
    """What `hotline run` is started with: test ports and database, the stand-ins."""
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'hotline.db'}",
        "RASA_TRACKER_DB": str(folder / "tracker.db"),
        "RASA_PORT": str(RASA_PORT),
        "RASA_URL": f"http://127.0.0.1:{RASA_PORT}",
        "ACTION_SERVER_PORT": str(ACTIONS_PORT),
        "ACTION_SERVER_URL": f"http://127.0.0.1:{ACTIONS_PORT}",
        "GATEWAY_PORT": str(GATEWAY_PORT),
        "STAFF_HOURS_START": "00:00",
        "STAFF_HOURS_END": "23:59",
        "STAFF_DAYS": "mon-sun",
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "TELEGRAM_API_BASE_URL": telegram.base_url,
        "ZALO_APP_ID": zalo.app_id,
        "ZALO_APP_SECRET": zalo.app_secret,
        "ZALO_OA_SECRET_KEY": zalo.oa_secret_key,
        "ZALO_OA_ACCESS_TOKEN": zalo.access_token,
        "ZALO_OA_REFRESH_TOKEN": zalo.refresh_token,
        "ZALO_OA_API_BASE_URL": zalo.url,
        "ZALO_OAUTH_BASE_URL": zalo.url,
    }


@contextmanager
def running_assistant(env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[str]]:
    """`hotline run` until the block ends (SIGTERM, then SIGKILL if it hangs)."""
    log = log_path.open("w+")
    process = subprocess.Popen(
        [HOTLINE, "run"],
        env=env,
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        # a file, not a pipe: a full pipe would stall the servers' logging
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    process.log = log  # type: ignore[attr-defined]
    process.env = env  # type: ignore[attr-defined]
    try:
        _wait_until_healthy(process)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        log.close()


def output_of(process: subprocess.Popen[str]) -> str:
    log = process.log  # type: ignore[attr-defined]
    log.flush()
    log.seek(0)
    return str(log.read())


def _wait_until_healthy(process: subprocess.Popen[str], timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail("hotline run exited early:\n" + output_of(process)[-4000:])
        try:
            if httpx.get(f"{GATEWAY}/healthz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    pytest.fail("the assistant did not become healthy in time")


def say(sender: str, text: str) -> dict:
    """A person's message over the REST API; the assistant's answer."""
    response = httpx.post(
        f"{GATEWAY}/api/v1/messages", json={"sender_id": sender, "text": text}, timeout=60
    )
    assert response.status_code == 200, response.text
    return response.json()
