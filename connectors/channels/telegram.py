"""Telegram, with python-telegram-bot behind the gateway's own web server.

The PTB `Application` is built with `updater(None)` because the gateway receives the
updates itself (`POST /webhooks/telegram`), and it runs inside the gateway's lifespan on
the same event loop. Every webhook call must carry the secret registered with
`setWebhook` in `X-Telegram-Bot-Api-Secret-Token` (compared in constant time); the
update is stored before the answer, processed after it, and re-sent updates are
dropped on `update_id`. For development without a public URL, `TELEGRAM_POLLING=true`
polls `getUpdates` instead, advancing the offset only once an update is stored.

`TELEGRAM_API_BASE_URL` is the only thing tests change: it points the real client at a
stand-in Bot API server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import logging
import warnings
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from connectors.channels.base import TELEGRAM, Button, DeliveryError, Inbound
from hotline.settings import Settings

logger = logging.getLogger(__name__)

MAX_CHARS = 4096
CALLBACK_DATA_BYTES = 64
ALLOWED_UPDATES = ("message", "callback_query")
POLL_SECONDS = 25
START_RETRY_SECONDS = 30.0
# Telegram's /start opens every chat: the assistant answers it as a greeting.
START_COMMAND = "/start"
GREET_PAYLOAD = "/greet"

_CONTENT_KINDS = (
    ("sticker", "sticker"),
    ("photo", "image"),
    ("animation", "video"),
    ("video", "video"),
    ("video_note", "video"),
    ("voice", "audio"),
    ("audio", "audio"),
    ("document", "file"),
    ("location", "location"),
    ("venue", "location"),
    ("contact", "contact"),
)


def parse_update(update: Update) -> Inbound | None:
    """The person's message in a Telegram update; None for updates with nothing to answer
    (edits, group chats, channel posts, membership changes)."""
    update_id = str(update.update_id)
    query = update.callback_query
    if query is not None:
        data = query.data or ""
        return Inbound(
            TELEGRAM, str(query.from_user.id), _button_title(query.message, data) or data,
            update_id, bot_text=data,
        )  # fmt: skip
    message = update.message
    if message is None or message.chat.type != "private":
        return None
    sender = str(message.chat.id)
    if message.text is not None:
        is_start = message.text.strip().split(maxsplit=1)[:1] == [START_COMMAND]
        return Inbound(
            TELEGRAM, sender, message.text, update_id, bot_text=GREET_PAYLOAD if is_start else None
        )
    kind = next((kind for attr, kind in _CONTENT_KINDS if getattr(message, attr, None)), "other")
    # A photo's caption is what the person wrote about it: the bot reads that.
    return Inbound(TELEGRAM, sender, message.caption or "", update_id, kind=kind)


def _button_title(message: Any, data: str) -> str | None:
    markup = getattr(message, "reply_markup", None)
    for row in getattr(markup, "inline_keyboard", None) or ():
        for button in row:
            if button.callback_data == data:
                return str(button.text)
    return None


def callback_data(button: Button) -> str:
    """What a button sends back: its payload if it fits Telegram's 64 bytes, else its title."""
    for value in (button.payload, button.title):
        if value and len(value.encode()) <= CALLBACK_DATA_BYTES:
            return value
    return button.title.encode()[:CALLBACK_DATA_BYTES].decode(errors="ignore")


def secret_matches(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison of the webhook secret."""
    if not expected or given is None:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


class TelegramChannel:
    """The Telegram bot: sends messages, and receives by webhook or by polling."""

    name = TELEGRAM
    max_chars = MAX_CHARS
    supports_buttons = True

    def __init__(self, settings: Settings) -> None:
        assert settings.telegram_bot_token is not None
        timeout = settings.http_timeout_seconds
        self._settings = settings
        self.polling = settings.telegram_polling
        self._secret = (
            settings.telegram_webhook_secret.get_secret_value()
            if settings.telegram_webhook_secret
            else None
        )
        self.application = (
            Application.builder()
            .token(settings.telegram_bot_token.get_secret_value())
            .base_url(settings.telegram_api_base_url)
            # The gateway's own server receives the updates: no PTB Updater.
            .updater(None)
            .request(
                HTTPXRequest(
                    connection_pool_size=64,
                    connect_timeout=timeout,
                    read_timeout=timeout,
                    write_timeout=timeout,
                    pool_timeout=timeout,
                )
            )
            .get_updates_request(
                HTTPXRequest(connect_timeout=timeout, read_timeout=POLL_SECONDS + timeout)
            )
            .build()
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self._on_update: Callable[[Update], Awaitable[object]] | None = None

    @property
    def bot(self) -> Any:
        return self.application.bot

    def verify_secret(self, given: str | None) -> bool:
        return secret_matches(self._secret, given)

    def parse(self, payload: dict[str, Any]) -> Update:
        """The update in a webhook body; ValueError when it is not one."""
        try:
            update = Update.de_json(payload, self.bot)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ValueError("not a Telegram update") from error
        if update is None:
            raise ValueError("not a Telegram update")
        return update

    async def start(self, on_update: Callable[[Update], Awaitable[object]]) -> None:
        """Start the application; register the webhook or start polling."""
        self._on_update = on_update
        self._spawn(self._start_with_retries())

    async def _start_with_retries(self) -> None:
        # Telegram unreachable at start must not stop the gateway: webhooks are still
        # stored, and replies wait for the redelivery loop.
        while True:
            try:
                await self.application.initialize()
                await self.application.start()
                if self.polling:
                    await self.bot.delete_webhook()
                    self._spawn(self._poll())
                elif self._settings.public_base_url:
                    await self.bot.set_webhook(
                        url=f"{self._settings.public_base_url.rstrip('/')}/webhooks/telegram",
                        secret_token=self._secret,
                        allowed_updates=list(ALLOWED_UPDATES),
                    )
                logger.info(
                    "Telegram channel started (%s)", "polling" if self.polling else "webhook"
                )
                return
            except TelegramError as error:
                # The message of InvalidToken quotes the token: log the kind only.
                logger.error(
                    "Telegram did not answer at start (%s); trying again in %.0f s",
                    type(error).__name__, START_RETRY_SECONDS,
                )  # fmt: skip
                await asyncio.sleep(START_RETRY_SECONDS)

    async def _poll(self) -> None:
        offset: int | None = None
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=offset, timeout=POLL_SECONDS, allowed_updates=list(ALLOWED_UPDATES)
                )
            except TimedOut:
                continue
            except TelegramError as error:
                logger.warning(
                    "getUpdates failed (%s); polling again shortly", type(error).__name__
                )
                await asyncio.sleep(2.0)
                continue
            for update in updates:
                try:
                    assert self._on_update is not None
                    await self._on_update(update)
                except Exception:
                    # Not stored (the database is down?): keep the offset, fetch it again.
                    logger.exception("update %s not stored; polling it again", update.update_id)
                    await asyncio.sleep(2.0)
                    break
                offset = update.update_id + 1

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.application.running:
            await self.application.stop()
        if self.application._initialized:  # noqa: SLF001 - PTB has no public flag
            await self.application.shutdown()

    async def acknowledge_button(self, update: Update) -> None:
        """Stop the spinner on a pressed button; a failure here only costs the spinner."""
        if update.callback_query is None:
            return
        try:
            await update.callback_query.answer()
        except TelegramError as error:
            logger.info("answerCallbackQuery failed (%s)", type(error).__name__)

    async def send(self, recipient_id: str, text: str, buttons: Sequence[Button]) -> str | None:
        markup = (
            InlineKeyboardMarkup(
                [[InlineKeyboardButton(b.title, callback_data=callback_data(b))] for b in buttons]
            )
            if buttons
            else None
        )
        chat_id: int | str = (
            int(recipient_id) if recipient_id.lstrip("-").isdigit() else recipient_id
        )
        try:
            message = await self.bot.send_message(chat_id=chat_id, text=text, reply_markup=markup)
        except RetryAfter as error:
            with warnings.catch_warnings():
                # PTB 22 warns that the int form of retry_after goes away; both are read.
                warnings.simplefilter("ignore", PTBDeprecationWarning)
                wait = error.retry_after
            seconds = wait.total_seconds() if isinstance(wait, dt.timedelta) else float(wait)
            raise DeliveryError(
                "Telegram: 429 quá nhiều yêu cầu", retryable=True, retry_after=seconds
            ) from error
        except (BadRequest, ChatMigrated, Conflict, Forbidden, InvalidToken) as error:
            raise DeliveryError(
                f"Telegram: {type(error).__name__}: {error.message}", retryable=False
            ) from error
        except NetworkError as error:
            # Timeouts, refused connections and 5xx answers: worth another try.
            raise DeliveryError(
                f"Telegram: {type(error).__name__}: {error.message}", retryable=True
            ) from error
        except TelegramError as error:
            raise DeliveryError(f"Telegram: {type(error).__name__}", retryable=False) from error
        return str(message.message_id)
