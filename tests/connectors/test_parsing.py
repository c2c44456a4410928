"""Each platform's update read into the gateway's `Inbound` message, and the signature
and secret checks, without any server."""

from __future__ import annotations

import hashlib

import pytest
from telegram import Bot, Update

from connectors.channels.base import Button, Inbound
from connectors.channels.telegram import callback_data, parse_update, secret_matches
from connectors.channels.zalo_bot import parse_update as parse_zalo_bot
from connectors.channels.zalo_oa import parse_event, signature, signature_matches

BOT = Bot("123:abc")


def telegram(payload: dict) -> Inbound | None:
    return parse_update(Update.de_json(payload, BOT))


def message(**fields) -> dict:
    base = {"message_id": 5, "date": 1, "chat": {"id": 42, "type": "private"}}
    return {"update_id": 9001, "message": {**base, **fields}}


def test_telegram_text_start_and_content():
    assert telegram(message(text="chào ad")) == Inbound("telegram", "42", "chào ad", "9001")
    assert telegram(message(text="/start ref123")).bot_text == "/greet"
    sticker = {"file_id": "s", "file_unique_id": "u", "width": 1, "height": 1,
               "is_animated": False, "is_video": False, "type": "regular"}  # fmt: skip
    assert telegram(message(sticker=sticker)) == Inbound(
        "telegram", "42", "", "9001", kind="sticker"
    )
    located = telegram(message(location={"latitude": 10.4, "longitude": 105.6}))
    assert located is not None and located.kind == "location"


def test_telegram_updates_with_nothing_to_answer():
    group = message(text="hi")
    group["message"]["chat"] = {"id": -5, "type": "group"}
    assert telegram(group) is None
    assert telegram({"update_id": 1, "edited_message": message(text="x")["message"]}) is None


def test_telegram_button_press_reads_the_title_and_sends_the_payload():
    markup = {"inline_keyboard": [[{"text": "Có", "callback_data": "/affirm"}]]}
    update = {
        "update_id": 77,
        "callback_query": {
            "id": "q", "chat_instance": "c", "data": "/affirm",
            "from": {"id": 42, "is_bot": False, "first_name": "A"},
            "message": {"message_id": 1, "date": 1, "chat": {"id": 42, "type": "private"},
                        "text": "?", "reply_markup": markup},
        },
    }  # fmt: skip
    assert telegram(update) == Inbound("telegram", "42", "Có", "77", bot_text="/affirm")


def test_telegram_callback_data_fits_64_bytes():
    assert callback_data(Button("Có", "/affirm")) == "/affirm"
    long_payload = '/inform_location{"location": "xã Phước Long, tỉnh Đồng Nai, Việt Nam"}'
    assert callback_data(Button("Đồng Nai", long_payload)) == "Đồng Nai"
    title = "Tôi muốn được nhân viên công tác xã hội gọi lại càng sớm càng tốt"
    data = callback_data(Button(title, long_payload))
    assert len(data.encode()) <= 64 and title.startswith(data)


def test_secrets_are_compared_whole():
    assert secret_matches("s3cret", "s3cret")
    assert not secret_matches("s3cret", "s3cre")
    assert not secret_matches("s3cret", None)
    assert not secret_matches(None, "anything")


def test_zalo_signature_is_sha256_of_app_id_body_timestamp_and_key():
    body = b'{"event_name":"user_send_text"}'
    expected = hashlib.sha256(b"app" + body + b"1703920000000" + b"key").hexdigest()
    assert signature("app", body, "1703920000000", "key") == expected
    check = {"app_id": "app", "body": body, "timestamp": "1703920000000", "oa_secret_key": "key"}
    assert signature_matches(f"mac={expected}", **check)
    assert signature_matches(expected.upper(), **check)
    assert not signature_matches(f"mac={expected}", **{**check, "oa_secret_key": "other"})
    assert not signature_matches(f"mac={expected}", **{**check, "timestamp": "1703920000001"})
    assert not signature_matches(None, **check)


def zalo(event: str, **message) -> dict:
    return {
        "app_id": "1", "event_name": event, "timestamp": "1703920000000",
        "sender": {"id": "8412345678901234567890"}, "recipient": {"id": "2"}, "message": message,
    }  # fmt: skip


def test_zalo_oa_events():
    assert parse_event(zalo("user_send_text", text="chào", msg_id="abc")) == Inbound(
        "zalo", "8412345678901234567890", "chào", "abc"
    )
    assert parse_event(zalo("user_send_text", text="chào", mid="m1")).channel_message_id == "m1"
    big = parse_event(zalo("anonymous_send_text", text="x", msg_id=123456789012345678901234567890))
    assert big is not None and big.channel_message_id == "123456789012345678901234567890"
    assert parse_event(zalo("user_send_image", msg_id="i")).kind == "image"
    assert parse_event(zalo("user_send_sticker", msg_id="s")).kind == "sticker"
    assert parse_event(zalo("follow")) is None
    assert parse_event(zalo("user_received_message", msg_id="r")) is None
    with pytest.raises(ValueError):
        parse_event({"event_name": "user_send_text", "message": {"text": "no sender"}})


def test_zalo_bot_updates():
    update = {
        "event_name": "message.text.received",
        "message": {"message_id": "m9", "text": "chào", "from": {"id": "u1"}, "chat": {"id": "c1"}},
    }
    assert parse_zalo_bot(update) == Inbound("zalo_bot", "c1", "chào", "m9")
    assert parse_zalo_bot({"ok": True, "result": update}) == Inbound("zalo_bot", "c1", "chào", "m9")
    image = {**update, "event_name": "message.image.received"}
    assert parse_zalo_bot(image).kind == "image"
    assert parse_zalo_bot({"event_name": "something.else"}) is None
    with pytest.raises(ValueError):
        parse_zalo_bot({"event_name": "message.text.received", "message": {"text": "x"}})
