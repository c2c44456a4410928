"""End to end through the gateway: `hotline run` starts the real Rasa server, the action
server and the gateway (with the real risk detector); people write over the REST API,
the web chat's API, Telegram and Zalo OA (stand-in platform servers), and `hotline chat`."""

from __future__ import annotations

import os
import signal
import subprocess

import httpx
import pytest

from tests.connectors.conftest import TELEGRAM_SECRET, wait_for
from tests.connectors.running import (
    ACTIONS_PORT,
    EMERGENCY_NUMBERS,
    GATEWAY,
    GATEWAY_PORT,
    HOTLINE,
    RASA_PORT,
    RUN,
    output_of,
    say,
)
from tests.connectors.test_telegram import text_update
from tests.connectors.test_zalo import signed, text_event

pytestmark = pytest.mark.e2e


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
