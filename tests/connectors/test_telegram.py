"""Telegram through the real python-telegram-bot client and a stand-in Bot API server:
webhook secret, de-duplication, buttons, odd content, long replies, retries, polling."""

from __future__ import annotations

import pytest

from connectors.texts import load_texts
from tests.connectors.conftest import TELEGRAM_SECRET, telegram_settings, wait_for

# python-telegram-bot itself warns while it builds a RetryAfter error (PTB 22.2+).
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")

TEXTS = load_texts()
HOOK = "/webhooks/telegram"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
_next_update = iter(range(700_000_000, 800_000_000))


def user(chat_id: int) -> dict:
    return {"id": chat_id, "is_bot": False, "first_name": "Lan", "language_code": "vi"}


def text_update(chat_id: int, text: str, update_id: int | None = None) -> dict:
    update_id = update_id or next(_next_update)
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id % 100_000,
            "date": 1_766_000_000,
            "chat": {"id": chat_id, "type": "private", "first_name": "Lan"},
            "from": user(chat_id),
            "text": text,
        },
    }


def new_chat(unique_id) -> int:
    return int(unique_id("c").split("-")[1][:8], 16)


@pytest.fixture
def telegram(gateway_client, telegram_api):
    def run(**extra):
        return gateway_client(**telegram_settings(telegram_api, **extra))

    return run


def test_a_message_gets_the_bots_reply_on_telegram(telegram, telegram_api, fake_rasa, unique_id):
    chat = new_chat(unique_id)
    with telegram() as client:
        response = client.post(HOOK, json=text_update(chat, "xin chào"), headers=HEADERS)
        client.drain()
        stored = [
            (m.author, m.text, m.delivery_status) for m in client.messages("telegram", str(chat))
        ]
    assert response.status_code == 200 and response.json() == {"ok": True, "ignored": False}
    assert telegram_api.sent_texts(chat) == ["Xin chào, mình là trợ lý tự động."]
    call = fake_rasa.calls_to("webhook")[-1]
    assert call["sender"] == f"telegram:{chat}"
    assert call["metadata"] == {"channel": "telegram", "sender_id": str(chat)}
    assert stored == [
        ("person", "xin chào", None),
        ("bot", "Xin chào, mình là trợ lý tự động.", "sent"),
    ]


def test_start_is_answered_as_a_greeting(telegram, telegram_api, fake_rasa, unique_id):
    chat = new_chat(unique_id)
    with telegram() as client:
        client.post(HOOK, json=text_update(chat, "/start"), headers=HEADERS)
        client.drain()
    assert fake_rasa.calls_to("webhook")[-1]["message"] == "/greet"
    assert telegram_api.sent_texts(chat) == ["Xin chào, mình là trợ lý tự động."]


@pytest.mark.parametrize(
    "headers, status, detail",
    [
        ({}, 401, "Missing secret token"),
        ({"X-Telegram-Bot-Api-Secret-Token": "guessed-secret"}, 403, "Wrong secret token"),
        ({"X-Telegram-Bot-Api-Secret-Token": ""}, 403, "Wrong secret token"),
    ],
)
def test_forged_updates_are_refused_and_nothing_is_stored(
    telegram, telegram_api, fake_rasa, unique_id, headers, status, detail
):
    chat = new_chat(unique_id)
    with telegram() as client:
        response = client.post(HOOK, json=text_update(chat, "xin chào"), headers=headers)
        client.drain()
        assert client.conversation("telegram", str(chat)) is None
    assert response.status_code == status
    assert response.json() == {"detail": detail}
    assert fake_rasa.calls_to("webhook") == [] and telegram_api.sent_texts(chat) == []


def test_a_resent_update_is_answered_once(telegram, telegram_api, fake_rasa, unique_id):
    chat = new_chat(unique_id)
    update = text_update(chat, "xin chào")
    with telegram() as client:
        first = client.post(HOOK, json=update, headers=HEADERS)
        client.drain()
        again = client.post(HOOK, json=update, headers=HEADERS)
        client.drain()
        inbound = [m for m in client.messages("telegram", str(chat)) if m.direction == "in"]
    assert first.status_code == again.status_code == 200
    assert len(fake_rasa.calls_to("webhook")) == 1
    assert telegram_api.sent_texts(chat) == ["Xin chào, mình là trợ lý tự động."]
    assert [m.channel_message_id for m in inbound] == [str(update["update_id"])]


def test_buttons_become_an_inline_keyboard_and_a_press_sends_the_payload(
    telegram, telegram_api, fake_rasa, unique_id
):
    chat = new_chat(unique_id)
    with telegram() as client:
        client.post(HOOK, json=text_update(chat, "cho xem nút"), headers=HEADERS)
        client.drain()
        (offer,) = telegram_api.calls_to("sendMessage")
        keyboard = offer["reply_markup"]["inline_keyboard"]
        press = {
            "update_id": next(_next_update),
            "callback_query": {
                "id": "4382bfdwdsb323b2d9",
                "from": user(chat),
                "chat_instance": "-1",
                "data": "/affirm",
                "message": {
                    "message_id": 1001, "date": 1_766_000_001,
                    "chat": {"id": chat, "type": "private"},
                    "text": offer["text"], "reply_markup": offer["reply_markup"],
                },
            },
        }  # fmt: skip
        client.post(HOOK, json=press, headers=HEADERS)
        client.drain()
        person = [m.text for m in client.messages("telegram", str(chat)) if m.author == "person"]
    assert keyboard == [
        [{"text": "Có", "callback_data": "/affirm"}],
        [{"text": "Không", "callback_data": "/deny"}],
    ]
    assert fake_rasa.calls_to("webhook")[-1]["message"] == "/affirm"
    assert person == ["cho xem nút", "Có"]
    assert telegram_api.sent_texts(chat)[-1] == "Bạn đã chọn: có."
    assert (
        telegram_api.calls_to("answerCallbackQuery")[0]["callback_query_id"] == "4382bfdwdsb323b2d9"
    )


@pytest.mark.parametrize(
    "content, label",
    [
        ({"sticker": {"file_id": "s1", "file_unique_id": "u1", "width": 512, "height": 512,
                      "is_animated": False, "is_video": False, "type": "regular"}}, "[nhãn dán]"),
        ({"photo": [{"file_id": "p1", "file_unique_id": "u2", "width": 90, "height": 90}]}, "[hình ảnh]"),
        ({"voice": {"file_id": "v1", "file_unique_id": "u3", "duration": 3}}, "[tin nhắn thoại]"),
    ],
)  # fmt: skip
def test_stickers_photos_and_voice_get_a_polite_reply(
    telegram, telegram_api, fake_rasa, unique_id, content, label
):
    chat = new_chat(unique_id)
    update = text_update(chat, "")
    del update["message"]["text"]
    update["message"].update(content)
    with telegram() as client:
        response = client.post(HOOK, json=update, headers=HEADERS)
        client.drain()
        stored = [m.text for m in client.messages("telegram", str(chat)) if m.author == "person"]
    assert response.status_code == 200
    assert telegram_api.sent_texts(chat) == [TEXTS.unsupported_content]
    assert fake_rasa.calls_to("webhook") == []
    assert stored == [label]


def test_a_photo_with_a_caption_is_read(telegram, telegram_api, fake_rasa, unique_id):
    chat = new_chat(unique_id)
    update = text_update(chat, "")
    del update["message"]["text"]
    update["message"]["photo"] = [{"file_id": "p", "file_unique_id": "u", "width": 9, "height": 9}]
    update["message"]["caption"] = "vết bầm của em"
    with telegram() as client:
        client.post(HOOK, json=update, headers=HEADERS)
        client.drain()
        stored = [m.text for m in client.messages("telegram", str(chat)) if m.author == "person"]
    assert fake_rasa.calls_to("webhook")[-1]["message"] == "vết bầm của em"
    assert stored == ["[hình ảnh] vết bầm của em"]


@pytest.mark.parametrize(
    "body, status, answer",
    [
        (b"{not json", 400, {"detail": "Malformed JSON body"}),
        (b"[1, 2]", 400, {"detail": "The body must be a JSON object"}),
        (b'{"message": {"text": "no update id"}}', 400, {"detail": "Not a Telegram update"}),
        (b'{"update_id": 5, "edited_message": {"message_id": 1, "date": 1, "chat": {"id": 1, "type": "private"}, "text": "x"}}', 200, {"ok": True, "ignored": True}),
        (b'{"update_id": 6, "message": {"message_id": 1, "date": 1, "chat": {"id": -100, "type": "group"}, "text": "x"}}', 200, {"ok": True, "ignored": True}),
        (b'{"update_id": 7, "my_chat_member": null}', 200, {"ok": True, "ignored": True}),
    ],
)  # fmt: skip
def test_odd_webhook_bodies_get_a_clear_answer(telegram, body, status, answer):
    with telegram() as client:
        response = client.post(
            HOOK, content=body, headers={**HEADERS, "Content-Type": "application/json"}
        )
    assert response.status_code == status
    assert response.json() == answer


def test_empty_text_gets_a_polite_reply(telegram, telegram_api, fake_rasa, unique_id):
    chat = new_chat(unique_id)
    with telegram() as client:
        client.post(HOOK, json=text_update(chat, "   "), headers=HEADERS)
        client.drain()
    assert telegram_api.sent_texts(chat) == [TEXTS.empty_message]
    assert fake_rasa.calls_to("webhook") == []


def test_a_10000_character_message_is_stored_whole_and_answered(
    telegram, telegram_api, fake_rasa, unique_id
):
    chat = new_chat(unique_id)
    text = "chuyện nhà em " * 715  # 10,010 characters
    with telegram() as client:
        response = client.post(HOOK, json=text_update(chat, text), headers=HEADERS)
        client.drain()
        stored = [m.text for m in client.messages("telegram", str(chat)) if m.author == "person"]
    assert response.status_code == 200
    assert stored == [text]
    assert len(fake_rasa.calls_to("webhook")[-1]["message"]) == 5000
    assert len(telegram_api.sent_texts(chat)) >= 1


def test_a_long_reply_is_split_at_paragraphs_within_4096_characters(
    telegram, telegram_api, unique_id
):
    chat = new_chat(unique_id)
    with telegram() as client:
        client.post(HOOK, json=text_update(chat, "cho mình thông tin dài"), headers=HEADERS)
        client.drain()
    parts = telegram_api.sent_texts(chat)
    assert len(parts) > 1
    assert all(len(part) <= 4096 for part in parts)
    paragraph = (
        "Đây là một đoạn thông tin về dịch vụ hỗ trợ, gọi 1900 969 680 khi cần. " * 12
    ).strip()
    assert all(set(part.split("\n\n")) == {paragraph} for part in parts)
    assert "\n\n".join(parts) == "\n\n".join([paragraph] * 9)


def test_sends_are_retried_on_5xx_and_429(telegram, telegram_api, unique_id):
    chat = new_chat(unique_id)
    telegram_api.fail_next("sendMessage", 502, times=2)
    telegram_api.fail_next(
        "sendMessage",
        429,
        body={
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        },
    )
    with telegram() as client:
        client.post(HOOK, json=text_update(chat, "xin chào"), headers=HEADERS)
        client.drain()
        (reply,) = [m for m in client.messages("telegram", str(chat)) if m.author == "bot"]
    assert len(telegram_api.calls_to("sendMessage")) == 4
    assert telegram_api.sent_texts(chat)[-1] == "Xin chào, mình là trợ lý tự động."
    assert reply.delivery_status == "sent"


def test_a_send_that_keeps_failing_is_kept_as_failed_and_redelivered_later(
    telegram, telegram_api, unique_id
):
    chat = new_chat(unique_id)
    telegram_api.fail_next("sendMessage", 500, times=4)
    with telegram(outbound_attempts=4) as client:
        client.post(HOOK, json=text_update(chat, "xin chào"), headers=HEADERS)
        client.drain()
        (failed,) = [m for m in client.messages("telegram", str(chat)) if m.author == "bot"]
        assert failed.delivery_status == "failed"
        assert failed.last_error.startswith("Telegram: NetworkError")
        assert failed.attempts == 1
        redelivered = client.run(lambda: client.gateway.outbound.redeliver(older_than_seconds=0))
        (sent,) = [m for m in client.messages("telegram", str(chat)) if m.author == "bot"]
    assert redelivered == 1
    assert sent.delivery_status == "sent" and sent.attempts == 2
    assert len(telegram_api.calls_to("sendMessage")) == 5


def test_a_refused_send_is_not_retried_and_stays_visible(telegram, telegram_api, unique_id):
    chat = new_chat(unique_id)
    telegram_api.fail_next(
        "sendMessage",
        403,
        body={
            "ok": False,
            "error_code": 403,
            "description": "Forbidden: bot was blocked by the user",
        },
    )
    with telegram() as client:
        client.post(HOOK, json=text_update(chat, "xin chào"), headers=HEADERS)
        client.drain()
        (failed,) = [m for m in client.messages("telegram", str(chat)) if m.author == "bot"]
    assert len(telegram_api.calls_to("sendMessage")) == 1
    assert failed.delivery_status == "failed"
    assert failed.last_error == "Telegram: Forbidden: Forbidden: bot was blocked by the user"


def test_the_webhook_is_registered_with_its_secret_at_start(telegram, telegram_api):
    with telegram(public_base_url="https://hotline.example.vn/") as client:
        wait_for(lambda: telegram_api.calls_to("setWebhook"))
        assert client.get("/healthz").status_code == 200
    (call,) = telegram_api.calls_to("setWebhook")
    assert call["url"] == "https://hotline.example.vn/webhooks/telegram"
    assert call["secret_token"] == TELEGRAM_SECRET
    assert call["allowed_updates"] == ["message", "callback_query"]
    assert telegram_api.calls_to("getMe")


def test_polling_mode_answers_without_a_webhook(telegram, telegram_api, unique_id):
    chat = new_chat(unique_id)
    with telegram(telegram_polling=True, telegram_webhook_secret=None) as client:
        wait_for(lambda: telegram_api.calls_to("deleteWebhook"))
        telegram_api.push_update(text_update(chat, "xin chào"))
        wait_for(lambda: telegram_api.sent_texts(chat))
        webhook = client.post(HOOK, json=text_update(chat, "x"), headers=HEADERS)
    assert telegram_api.sent_texts(chat) == ["Xin chào, mình là trợ lý tự động."]
    assert webhook.status_code == 404  # in polling mode there is no webhook to forge
