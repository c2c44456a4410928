"""End to end through the gateway: `hotline run` starts the real Rasa server, the action
server and the gateway (with the real risk detector); people write over the REST API,
the web chat's API, Telegram and Zalo OA (stand-in platform servers), and `hotline chat`."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from hotline.settings import REPO_ROOT
from tests.connectors.conftest import TELEGRAM_SECRET, wait_for
from tests.connectors.standins import TelegramBotApi, ZaloApis
from tests.connectors.test_telegram import text_update
from tests.connectors.test_zalo import signed, text_event

pytestmark = pytest.mark.e2e

RASA_PORT, ACTIONS_PORT, GATEWAY_PORT = 15105, 15155, 18105
# Conversation ids of this run only: Rasa must meet every person for the first time.
RUN = uuid.uuid4().hex[:8]
GATEWAY = f"http://127.0.0.1:{GATEWAY_PORT}"
EMERGENCY_NUMBERS = ("115", "113", "111", "112")
HOTLINE = str(REPO_ROOT / ".venv" / "bin" / "hotline")


@pytest.fixture(scope="module")
def platforms() -> Iterator[tuple[TelegramBotApi, ZaloApis]]:
    telegram, zalo = TelegramBotApi().start(), ZaloApis().start()
    yield telegram, zalo
    telegram.stop()
    zalo.stop()


@pytest.fixture(scope="module")
def assistant(trained_model, tmp_path_factory, platforms) -> Iterator[subprocess.Popen[str]]:
    telegram, zalo = platforms
    folder = tmp_path_factory.mktemp("e2e")
    log = (folder / "hotline-run.log").open("w+")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'hotline.db'}",
        "RASA_TRACKER_DB": str(folder / "tracker.db"),
        "RASA_PORT": str(RASA_PORT),
        "RASA_URL": f"http://127.0.0.1:{RASA_PORT}",
        "ACTION_SERVER_PORT": str(ACTIONS_PORT),
        "ACTION_SERVER_URL": f"http://127.0.0.1:{ACTIONS_PORT}",
        "GATEWAY_PORT": str(GATEWAY_PORT),
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
    response = httpx.post(
        f"{GATEWAY}/api/v1/messages", json={"sender_id": sender, "text": text}, timeout=60
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_healthz_reports_every_part(assistant):
    response = httpx.get(f"{GATEWAY}/healthz", timeout=10)
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok", "gateway": "ok", "database": "ok", "rasa": "ok", "action_server": "ok",
    }  # fmt: skip


@pytest.mark.parametrize("text", ["Xin chào", "xin chao", "chàooo ad"])
def test_a_greeting_through_the_gateway(assistant, text):
    body = say(f"e2e-greet-{RUN}-{text}", text)
    reply = "\n".join(r["text"] for r in body["replies"])
    assert "trợ lý tự động" in reply and "không phải người thật" in reply
    assert body["handed_off"] is False


@pytest.mark.parametrize("text", ["Tôi không muốn sống nữa", "e k mun song nua 😭"])
def test_a_crisis_gets_the_emergency_numbers_through_the_gateway(assistant, text):
    body = say(f"e2e-crisis-{RUN}-{text}", text)
    first = body["replies"][0]["text"]
    assert all(number in first for number in EMERGENCY_NUMBERS)


def test_the_web_chat_page_and_its_api(assistant):
    assert httpx.get(f"{GATEWAY}/", timeout=10).status_code == 200
    client_id = f"e2e-web-client-{RUN}-0123"
    turn = httpx.post(
        f"{GATEWAY}/api/v1/web/messages",
        json={"client_id": client_id, "text": "xin chào"},
        timeout=60,
    )
    assert turn.status_code == 200
    assert "trợ lý tự động" in turn.json()["replies"][0]["text"]
    history = httpx.get(f"{GATEWAY}/api/v1/web/conversations/{client_id}/messages", timeout=10)
    assert [m["from"] for m in history.json()["messages"]][:2] == ["person", "bot"]


def test_telegram_end_to_end(assistant, platforms):
    telegram, _ = platforms
    chat = int(RUN, 16)
    response = httpx.post(
        f"{GATEWAY}/webhooks/telegram",
        json=text_update(chat, "xin chào"),
        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
        timeout=10,
    )
    assert response.status_code == 200
    replies = wait_for(lambda: telegram.sent_texts(chat), timeout=60)
    assert "trợ lý tự động" in replies[0]


def test_zalo_oa_end_to_end(assistant, platforms):
    _, zalo = platforms
    user = f"84{int(RUN, 16):020d}"
    body, headers = signed(zalo, text_event(user, "Tôi không muốn sống nữa", f"e2e-zalo-{RUN}"))
    response = httpx.post(f"{GATEWAY}/webhooks/zalo", content=body, headers=headers, timeout=10)
    assert response.status_code == 200
    replies = wait_for(lambda: zalo.sent_texts(user), timeout=60)
    assert all(number in replies[0] for number in EMERGENCY_NUMBERS)
    assert all(len(text) <= 2000 for text in replies)


def test_hotline_chat_goes_through_the_gateway(assistant):
    result = subprocess.run(
        [HOTLINE, "chat"],
        input="xin chào\nbye\n",
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "GATEWAY_URL": GATEWAY},
    )
    assert result.returncode == 0
    assert "Trợ lý: Xin chào, mình là trợ lý tự động" in result.stdout
    assert "Trợ lý: Chúc bạn bình an" in result.stdout


def test_the_ready_message_names_the_web_chat_and_the_channels(assistant):
    assistant.send_signal(signal.SIGTERM)
    assistant.wait(timeout=30)
    output = output_of(assistant)
    assert f"[hotline] Open the web chat: http://127.0.0.1:{GATEWAY_PORT}/" in output
    assert (
        "[hotline] channels on: web chat (/), REST API (/api/v1/messages), "
        "Telegram (webhook /webhooks/telegram), Zalo OA (webhook /webhooks/zalo)"
    ) in output
    for port in (RASA_PORT, ACTIONS_PORT, GATEWAY_PORT):
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
