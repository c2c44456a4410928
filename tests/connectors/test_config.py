"""The gateway's settings and texts: channels on only when fully configured, placeholders
refused in production, the emergency text read from the Rasa domain."""

from __future__ import annotations

import unicodedata

import pytest
import yaml
from pydantic import ValidationError

from connectors.config import enabled_channels
from connectors.texts import CRISIS_FILE, load_texts
from hotline.settings import Settings


def settings(**values) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_without_channel_settings_only_the_web_chat_and_api_are_on():
    assert enabled_channels(settings()) == ["web chat (/)", "REST API (/api/v1/messages)"]


def test_each_configured_channel_is_listed():
    on = settings(
        telegram_bot_token="1:a", telegram_webhook_secret="secret_1",
        zalo_app_id="1", zalo_app_secret="s", zalo_oa_secret_key="k", zalo_oa_refresh_token="r",
        zalo_bot_token="2:b", zalo_bot_webhook_secret="w",
    )  # fmt: skip
    assert enabled_channels(on)[2:] == [
        "Telegram (webhook /webhooks/telegram)",
        "Zalo OA (webhook /webhooks/zalo)",
        "Zalo Bot (webhook /webhooks/zalo-bot)",
    ]
    polling = settings(telegram_bot_token="1:a", telegram_polling=True)
    assert enabled_channels(polling)[2:] == ["Telegram (polling)"]


@pytest.mark.parametrize(
    "values, message",
    [
        ({"telegram_bot_token": "1:a"}, "Telegram is half configured: set TELEGRAM_WEBHOOK_SECRET too"),
        ({"telegram_webhook_secret": "abc"}, "Telegram is half configured: set TELEGRAM_BOT_TOKEN too"),
        ({"zalo_app_id": "1", "zalo_oa_secret_key": "k"}, "Zalo OA is half configured: set ZALO_APP_SECRET, ZALO_OA_REFRESH_TOKEN too"),
        ({"zalo_bot_token": "2:b"}, "Zalo Bot is half configured: set ZALO_BOT_WEBHOOK_SECRET too"),
        ({"telegram_bot_token": "1:a", "telegram_webhook_secret": "has space"}, "TELEGRAM_WEBHOOK_SECRET: 1-256 characters of A-Z, a-z, 0-9, _ and -"),
    ],
)  # fmt: skip
def test_a_half_configured_channel_is_refused(values, message):
    with pytest.raises(ValidationError) as error:
        settings(**values)
    assert message in str(error.value)


def test_placeholder_secrets_are_refused_outside_development():
    production = {"environment": "production", "anonymization_salt": "a-real-salt-0123456789"}
    with pytest.raises(ValidationError, match="GATEWAY_API_TOKEN looks like a placeholder"):
        settings(**production, gateway_api_token="change-me")
    settings(environment="development", gateway_api_token="change-me")
    settings(**production, gateway_api_token="a8Fj2kLq9xZp0vW3mN7bC1dE")


def test_secrets_do_not_show_in_the_settings_repr():
    shown = repr(settings(telegram_bot_token="1:very-secret-token", telegram_polling=True))
    assert "very-secret-token" not in shown


def test_the_crisis_text_is_the_domains_utter_crisis():
    domain = yaml.safe_load(CRISIS_FILE.read_text(encoding="utf-8"))
    assert load_texts().crisis == domain["responses"]["utter_crisis"][0]["text"]


def test_every_gateway_text_is_vietnamese_with_diacritics():
    texts = load_texts()
    for name in ("assistant_unavailable", "assistant_unavailable_no_ticket", "unsupported_content",
                 "empty_message", "rate_limited"):  # fmt: skip
        text = getattr(texts, name)
        assert any(unicodedata.decomposition(c) for c in text), name
        assert text == unicodedata.normalize("NFC", text)
    assert "{ticket_code}" in texts.assistant_unavailable
    assert (
        texts.label("image") == "[hình ảnh]"
        and texts.label("hologram") == "[nội dung không phải chữ]"
    )
