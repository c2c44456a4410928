"""Zalo OA and Zalo Bot through stand-in servers: signatures and secrets, the 2-second
answer, de-duplication on message ids, the customer-service API, and the token refresh
with single-use refresh tokens kept in the database."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time

import pytest
from sqlalchemy import select

from connectors.channels.base import Reply
from connectors.models import ChannelCredential
from connectors.texts import load_texts
from helpdesk.conversations import get_or_create_conversation
from tests.connectors.conftest import (
    ZALO_BOT_SECRET,
    wait_for,
    zalo_bot_settings,
    zalo_settings,
)
from tests.connectors.standins import ZaloApis

TEXTS = load_texts()


def signed(zalo_api: ZaloApis, payload: dict) -> tuple[bytes, dict]:
    """The body and headers Zalo would send: mac = sha256(app_id + body + timestamp + key)."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    mac = hashlib.sha256(
        zalo_api.app_id.encode()
        + body
        + payload["timestamp"].encode()
        + zalo_api.oa_secret_key.encode()
    ).hexdigest()
    return body, {"X-ZEvent-Signature": f"mac={mac}", "Content-Type": "application/json"}


def text_event(user_id: str, text: str, msg_id: str, id_key: str = "msg_id") -> dict:
    return {
        "app_id": ZaloApis.app_id,
        "user_id_by_app": "5521",
        "event_name": "user_send_text",
        "timestamp": str(int(time.time() * 1000)),
        "sender": {"id": user_id},
        "recipient": {"id": "579745863508352884"},
        "message": {"text": text, id_key: msg_id},
    }


@pytest.fixture
def zalo(gateway_client, zalo_api):
    def run(**extra):
        zalo_api.set_tokens("access-seed", f"refresh-seed-{time.monotonic_ns()}")
        return gateway_client(**zalo_settings(zalo_api, **extra))

    return run


def user_id(unique_id) -> str:
    # Zalo ids overflow JavaScript's 53-bit integers; they must stay strings, digit for digit.
    return "84" + str(int(unique_id("z").split("-")[1], 16)).rjust(18, "7")


def test_a_signed_message_gets_a_customer_service_reply(zalo, zalo_api, fake_rasa, unique_id):
    user = user_id(unique_id)
    body, headers = signed(zalo_api, text_event(user, "xin chào", "a1" + user))
    with zalo() as client:
        response = client.post("/webhooks/zalo", content=body, headers=headers)
        client.drain()
        inbound = [m for m in client.messages("zalo", user) if m.direction == "in"]
    assert response.status_code == 200 and response.json() == {"ok": True, "ignored": False}
    assert zalo_api.sent_texts(user) == ["Xin chào, mình là trợ lý tự động."]
    (call,) = zalo_api.calls_to("message/cs")
    assert call["token"] == "access-seed"
    assert call["body"] == {
        "recipient": {"user_id": user},
        "message": {"text": "Xin chào, mình là trợ lý tự động."},
    }
    assert fake_rasa.calls_to("webhook")[-1]["metadata"] == {"channel": "zalo", "sender_id": user}
    assert inbound[0].channel_message_id == "a1" + user


def test_the_webhook_answers_within_two_seconds_while_the_bot_is_slow(
    zalo, zalo_api, fake_rasa, unique_id
):
    user = user_id(unique_id)
    fake_rasa.delay = 3.0
    body, headers = signed(zalo_api, text_event(user, "xin chào", "slow" + user))
    with zalo() as client:
        started = time.monotonic()
        response = client.post("/webhooks/zalo", content=body, headers=headers)
        answered_in = time.monotonic() - started
        assert [m.text for m in client.messages("zalo", user)] == ["xin chào"]  # stored already
        client.drain()
    assert response.status_code == 200
    assert answered_in < 2.0
    assert zalo_api.sent_texts(user) == ["Xin chào, mình là trợ lý tự động."]


@pytest.mark.parametrize(
    "header, status, detail",
    [
        (None, 401, "Missing X-ZEvent-Signature"),
        ("mac=" + "0" * 64, 403, "Wrong signature"),
        ("garbage", 403, "Wrong signature"),
    ],
)
def test_forged_events_are_refused_and_nothing_is_stored(
    zalo, zalo_api, fake_rasa, unique_id, header, status, detail
):
    user = user_id(unique_id)
    body, _ = signed(zalo_api, text_event(user, "xin chào", "f" + user))
    headers = {"Content-Type": "application/json"} | (
        {"X-ZEvent-Signature": header} if header else {}
    )
    with zalo() as client:
        response = client.post("/webhooks/zalo", content=body, headers=headers)
        client.drain()
        assert client.conversation("zalo", user) is None
    assert response.status_code == status and response.json() == {"detail": detail}
    assert fake_rasa.calls_to("webhook") == []


def test_a_body_changed_after_signing_is_refused(zalo, zalo_api, unique_id):
    user = user_id(unique_id)
    body, headers = signed(zalo_api, text_event(user, "xin chào", "t" + user))
    with zalo() as client:
        response = client.post(
            "/webhooks/zalo",
            content=body.replace("xin chào".encode(), "tạm biệt".encode()),
            headers=headers,
        )
    assert response.status_code == 403


@pytest.mark.parametrize("id_key", ["msg_id", "mid"])
def test_a_redelivered_message_is_answered_once(zalo, zalo_api, fake_rasa, unique_id, id_key):
    user = user_id(unique_id)
    body, headers = signed(zalo_api, text_event(user, "xin chào", "dup" + user, id_key))
    with zalo() as client:
        for _ in range(3):
            assert client.post("/webhooks/zalo", content=body, headers=headers).status_code == 200
            client.drain()
    assert len(fake_rasa.calls_to("webhook")) == 1
    assert zalo_api.sent_texts(user) == ["Xin chào, mình là trợ lý tự động."]


@pytest.mark.parametrize(
    "event, answer",
    [("follow", {"ok": True, "ignored": True}), ("user_seen_message", {"ok": True, "ignored": True}),
     ("some_future_event", {"ok": True, "ignored": True})],
)  # fmt: skip
def test_events_with_nothing_to_answer_are_acknowledged(zalo, zalo_api, unique_id, event, answer):
    payload = text_event(user_id(unique_id), "", "e" + event)
    payload["event_name"] = event
    body, headers = signed(zalo_api, payload)
    with zalo() as client:
        response = client.post("/webhooks/zalo", content=body, headers=headers)
    assert response.status_code == 200 and response.json() == answer


def test_a_sticker_gets_a_polite_reply(zalo, zalo_api, fake_rasa, unique_id):
    user = user_id(unique_id)
    payload = text_event(user, "", "st" + user)
    payload["event_name"] = "user_send_sticker"
    payload["message"] = {
        "msg_id": "st" + user,
        "attachments": [{"type": "sticker", "payload": {"id": "1"}}],
    }
    body, headers = signed(zalo_api, payload)
    with zalo() as client:
        client.post("/webhooks/zalo", content=body, headers=headers)
        client.drain()
    assert zalo_api.sent_texts(user) == [TEXTS.unsupported_content]
    assert fake_rasa.calls_to("webhook") == []


def test_malformed_json_gets_a_clear_answer(zalo):
    with zalo() as client:
        response = client.post(
            "/webhooks/zalo",
            content=b"{oops",
            headers={"X-ZEvent-Signature": "mac=00", "Content-Type": "application/json"},
        )
    assert response.status_code == 400 and response.json() == {"detail": "Malformed JSON body"}


def test_buttons_are_offered_as_words_and_long_replies_fit_in_2000_characters(
    zalo, zalo_api, unique_id
):
    user = user_id(unique_id)
    with zalo() as client:
        for n, text in enumerate(["cho xem nút", "thông tin dài"]):
            body, headers = signed(zalo_api, text_event(user, text, f"b{n}{user}"))
            client.post("/webhooks/zalo", content=body, headers=headers)
            client.drain()
    offer, *long_parts = zalo_api.sent_texts(user)
    assert offer == "Bạn có muốn gặp nhân viên không?\n\nBạn có thể trả lời: Có · Không"
    assert len(long_parts) > 1 and all(len(part) <= 2000 for part in long_parts)
    assert all("1900 969 680" in part for part in long_parts)


def test_an_expired_token_is_refreshed_stored_and_the_message_resent(
    zalo, zalo_api, unique_id, session_factory
):
    user = user_id(unique_id)
    with zalo() as client:
        seed_refresh = zalo_api.refresh_token
        zalo_api.expire_access_token()
        body, headers = signed(zalo_api, text_event(user, "xin chào", "x" + user))
        client.post("/webhooks/zalo", content=body, headers=headers)
        client.drain()
    with session_factory() as session:
        row = session.scalar(select(ChannelCredential).where(ChannelCredential.channel == "zalo"))
    assert zalo_api.sent_texts(user) == ["Xin chào, mình là trợ lý tự động."]
    assert [c["accepted"] for c in zalo_api.calls_to("message/cs")] == [False, True]
    (refresh,) = zalo_api.calls_to("access_token")
    assert refresh["form"] == {
        "refresh_token": seed_refresh,
        "app_id": zalo_api.app_id,
        "grant_type": "refresh_token",
    }
    assert refresh["secret_key"] == zalo_api.app_secret
    assert seed_refresh in zalo_api.spent_refresh_tokens
    assert (row.access_token, row.refresh_token) == (zalo_api.access_token, zalo_api.refresh_token)
    assert row.access_expires_at is not None


def new_conversation(client, user: str) -> str:
    """A Zalo conversation in the database, without a message (what staff would write to)."""
    with client.session_factory.begin() as session:
        return get_or_create_conversation(session, "zalo", user).id


def test_concurrent_sends_refresh_once(zalo, zalo_api, unique_id):
    users = [user_id(unique_id) for _ in range(5)]
    with zalo() as client:
        zalo_api.expire_access_token()
        outbound = client.gateway.outbound

        ids = [new_conversation(client, user) for user in users]

        async def burst():
            await asyncio.gather(*(outbound.deliver(cid, [Reply("Chào bạn.")]) for cid in ids))

        client.run(burst)
    assert len(zalo_api.calls_to("access_token")) == 1
    assert all(zalo_api.sent_texts(user) == ["Chào bạn."] for user in users)


def test_after_a_restart_the_stored_pair_is_used_not_the_spent_seed(
    zalo, zalo_api, gateway_client, unique_id
):
    user = user_id(unique_id)
    with zalo() as client:
        seed_refresh = zalo_api.refresh_token
        conversation_id = new_conversation(client, user)
        zalo_api.expire_access_token()
        client.run(lambda: client.gateway.outbound.deliver(conversation_id, [Reply("một")]))
    stored_refresh = zalo_api.refresh_token
    zalo_api.expire_access_token()
    # restarted with the same settings, whose refresh token is now spent
    settings = zalo_settings(
        zalo_api, zalo_oa_access_token="access-seed", zalo_oa_refresh_token=seed_refresh
    )
    with gateway_client(**settings) as client:
        client.run(lambda: client.gateway.outbound.deliver(conversation_id, [Reply("hai")]))
    first, second = (c["form"]["refresh_token"] for c in zalo_api.calls_to("access_token"))
    assert (first, second) == (seed_refresh, stored_refresh)
    assert zalo_api.sent_texts(user) == ["một", "hai"]


def test_a_refused_refresh_keeps_the_message_as_failed(zalo, zalo_api, unique_id):
    user = user_id(unique_id)
    with zalo() as client:
        zalo_api.expire_access_token()
        zalo_api.set_tokens(zalo_api.access_token, "someone-else-spent-it")
        body, headers = signed(zalo_api, text_event(user, "xin chào", "rf" + user))
        client.post("/webhooks/zalo", content=body, headers=headers)
        client.drain()
        (reply,) = [m for m in client.messages("zalo", user) if m.author == "bot"]
    assert reply.delivery_status == "failed"
    assert reply.last_error == "Zalo: làm mới access token thất bại (lỗi -14014)"


def test_zalo_5xx_is_retried(zalo, zalo_api, unique_id):
    user = user_id(unique_id)
    zalo_api.fail_next("message/cs", 503, times=2)
    with zalo() as client:
        body, headers = signed(zalo_api, text_event(user, "xin chào", "5x" + user))
        client.post("/webhooks/zalo", content=body, headers=headers)
        client.drain()
    assert len(zalo_api.calls_to("message/cs")) == 3
    assert zalo_api.sent_texts(user) == ["Xin chào, mình là trợ lý tự động."]


# --- Zalo Bot Platform -------------------------------------------------------------------


def bot_update(
    chat_id: str, text: str, message_id: str, event: str = "message.text.received"
) -> dict:
    return {
        "event_name": event,
        "message": {
            "message_id": message_id,
            "date": 1_766_619_597_466,
            "text": text,
            "from": {"id": chat_id, "display_name": "Lan", "is_bot": False},
            "chat": {"id": chat_id, "chat_type": "PRIVATE"},
        },
    }


BOT_HEADERS = {"X-Bot-Api-Secret-Token": ZALO_BOT_SECRET}


@pytest.fixture
def zalo_bot(gateway_client, zalo_bot_api):
    return lambda **extra: gateway_client(**zalo_bot_settings(zalo_bot_api, **extra))


@pytest.mark.parametrize("wrapped", [False, True])
def test_zalo_bot_updates_bare_or_wrapped_are_answered(zalo_bot, zalo_bot_api, unique_id, wrapped):
    chat = unique_id("zb")
    update = bot_update(chat, "xin chào", "m" + chat)
    with zalo_bot() as client:
        response = client.post(
            "/webhooks/zalo-bot",
            json={"ok": True, "result": update} if wrapped else update,
            headers=BOT_HEADERS,
        )
        client.drain()
    assert response.status_code == 200 and response.json() == {"ok": True, "ignored": False}
    assert zalo_bot_api.sent_texts(chat) == ["Xin chào, mình là trợ lý tự động."]


@pytest.mark.parametrize("headers, status", [({}, 401), ({"X-Bot-Api-Secret-Token": "nope"}, 403)])
def test_zalo_bot_forged_updates_are_refused(zalo_bot, zalo_bot_api, unique_id, headers, status):
    chat = unique_id("zb")
    with zalo_bot() as client:
        response = client.post(
            "/webhooks/zalo-bot", json=bot_update(chat, "hi", "m" + chat), headers=headers
        )
        client.drain()
        assert client.conversation("zalo_bot", chat) is None
    assert response.status_code == status


def test_zalo_bot_dedupes_stickers_politely_and_retries_5xx(
    zalo_bot, zalo_bot_api, fake_rasa, unique_id
):
    chat = unique_id("zb")
    zalo_bot_api.fail_next("sendMessage", 500)
    sticker = bot_update(chat, "", "s" + chat, event="message.sticker.received")
    with zalo_bot() as client:
        for _ in range(2):
            client.post("/webhooks/zalo-bot", json=sticker, headers=BOT_HEADERS)
            client.drain()
    assert zalo_bot_api.sent_texts(chat) == [TEXTS.unsupported_content]
    assert len(zalo_bot_api.calls_to("sendMessage")) == 2  # one failure, one success
    assert fake_rasa.calls_to("webhook") == []


def test_zalo_bot_registers_its_webhook_with_the_secret(zalo_bot, zalo_bot_api):
    with zalo_bot(public_base_url="https://hotline.example.vn"):
        wait_for(lambda: zalo_bot_api.calls_to("setWebhook"))
    (call,) = zalo_bot_api.calls_to("setWebhook")
    assert call == {
        "method": "setWebhook",
        "accepted": True,
        "url": "https://hotline.example.vn/webhooks/zalo-bot",
        "secret_token": ZALO_BOT_SECRET,
    }


def test_channels_that_are_off_answer_404(gateway_client):
    with gateway_client() as client:
        answers = [
            client.post(path, json={}).status_code
            for path in ("/webhooks/telegram", "/webhooks/zalo", "/webhooks/zalo-bot")
        ]
    assert answers == [404, 404, 404]
