"""Zalo Bot Platform: a Telegram-like bot API (`/bot<TOKEN>/<method>`, `{ok, result}`).

Inbound: `POST /webhooks/zalo-bot` with the secret registered by `setWebhook` in
`X-Bot-Api-Secret-Token` (constant-time comparison). Updates arrive bare or wrapped as
`{"ok": true, "result": {...}}`; both are read. `message.message_id` de-duplicates.

Outbound: `sendMessage {chat_id, text}` (2,000 characters at most) on
`ZALO_BOT_API_BASE_URL` + token, the only thing tests change.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Sequence
from typing import Any

import httpx

from connectors.channels.base import ZALO_BOT, Button, DeliveryError, Inbound, is_retryable_status
from hotline.settings import Settings

logger = logging.getLogger(__name__)

MAX_CHARS = 2000
TEXT_EVENT = "message.text.received"
CONTENT_EVENTS = {
    "message.image.received": "image",
    "message.sticker.received": "sticker",
    "message.unsupported.received": "other",
}


def unwrap(payload: dict[str, Any]) -> dict[str, Any]:
    """The update itself, whether it came bare or as `{ok, result}`."""
    result = payload.get("result")
    if "event_name" not in payload and isinstance(result, dict):
        return result
    return payload


def parse_update(payload: dict[str, Any]) -> Inbound | None:
    """The person's message in a Zalo Bot update; None for events with nothing to answer."""
    update = unwrap(payload)
    event = str(update.get("event_name") or "")
    if event != TEXT_EVENT and event not in CONTENT_EVENTS:
        return None
    message = update.get("message")
    if not isinstance(message, dict):
        raise ValueError("update without a message")
    chat, sender = _mapping(message.get("chat")), _mapping(message.get("from"))
    chat_id = chat.get("id") or sender.get("id")
    if chat_id in (None, ""):
        raise ValueError("message without a chat")
    message_id = message.get("message_id")
    channel_message_id = str(message_id) if message_id not in (None, "") else None
    text = str(message.get("text") or message.get("caption") or "")
    kind = "text" if event == TEXT_EVENT else CONTENT_EVENTS[event]
    return Inbound(ZALO_BOT, str(chat_id), text, channel_message_id, kind=kind)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def secret_matches(expected: str, given: str | None) -> bool:
    if given is None:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


class ZaloBotChannel:
    """Sends messages as a Zalo bot, and registers the webhook at start."""

    name = ZALO_BOT
    max_chars = MAX_CHARS
    supports_buttons = False

    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        assert settings.zalo_bot_token is not None and settings.zalo_bot_webhook_secret is not None
        self._base = settings.zalo_bot_api_base_url + settings.zalo_bot_token.get_secret_value()
        self._secret = settings.zalo_bot_webhook_secret.get_secret_value()
        self._public_url = settings.public_base_url
        self._http = http
        self._timeout = settings.http_timeout_seconds

    def verify_secret(self, given: str | None) -> bool:
        return secret_matches(self._secret, given)

    async def call(self, method: str, body: dict[str, Any]) -> Any:
        """One Bot API call; the `result`, or `DeliveryError`."""
        try:
            response = await self._http.post(
                f"{self._base}/{method}", json=body, timeout=self._timeout
            )
        except httpx.HTTPError as error:
            # The URL carries the token: report the kind of failure only.
            raise DeliveryError(f"Zalo Bot: {type(error).__name__}", retryable=True) from error
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        error_code = answer.get("error_code") if isinstance(answer, dict) else None
        if is_retryable_status(response.status_code) or (
            isinstance(error_code, int) and is_retryable_status(error_code)
        ):
            raise DeliveryError(f"Zalo Bot: HTTP {response.status_code}", retryable=True)
        if not isinstance(answer, dict) or not answer.get("ok"):
            description = str(answer.get("description", "")) if isinstance(answer, dict) else ""
            raise DeliveryError(
                f"Zalo Bot: lỗi {error_code or response.status_code}: {description}"[:200],
                retryable=False,
            )
        return answer.get("result")

    async def start(self) -> None:
        """Register the webhook when the gateway has a public URL (best effort)."""
        if not self._public_url:
            return
        try:
            await self.call(
                "setWebhook",
                {
                    "url": f"{self._public_url.rstrip('/')}/webhooks/zalo-bot",
                    "secret_token": self._secret,
                },
            )
        except DeliveryError as error:
            logger.error("Zalo Bot setWebhook failed: %s", error.reason)

    async def send(self, recipient_id: str, text: str, buttons: Sequence[Button]) -> str | None:
        result = await self.call("sendMessage", {"chat_id": recipient_id, "text": text})
        message_id = result.get("message_id") if isinstance(result, dict) else None
        return str(message_id) if message_id not in (None, "") else None
