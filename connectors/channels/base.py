"""What every channel shares: the inbound message, the reply, and the sender interface.

An adapter parses its platform's update into an `Inbound` (pure functions, tested on
their own) and implements `ChannelSender.send` for one message part. Splitting,
retries, recording and delivery status are the outbound path's business
(`connectors.outbound`), the same for every channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

# The channel names stored on conversations (see helpdesk.models.CHANNELS).
WEB = "web"
API = "api"
TELEGRAM = "telegram"
ZALO_OA = "zalo"
ZALO_BOT = "zalo_bot"

TEXT = "text"


@dataclass(frozen=True)
class Button:
    """A choice the bot offers; `payload` is what Rasa receives when it is chosen."""

    title: str
    payload: str


@dataclass(frozen=True)
class Reply:
    """One message to the person."""

    text: str
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class Inbound:
    """One message from a person, as a channel delivered it.

    `text` is what the person wrote (stored in the transcript); `bot_text` is what Rasa
    gets when it differs (the payload of a button). `kind` is `text`, or what came
    instead of text (`sticker`, `image`, `audio`, ...). `channel_message_id` is the
    platform's id of the delivery, used to drop re-deliveries.
    """

    channel: str
    sender_id: str
    text: str
    channel_message_id: str | None = None
    kind: str = TEXT
    bot_text: str | None = None

    @property
    def key(self) -> str:
        """The sender across channels: `<channel>:<sender_id>` (Rasa's conversation id)."""
        return f"{self.channel}:{self.sender_id}"


class DeliveryError(Exception):
    """A platform did not take a message; `retryable` when trying again may help."""

    def __init__(self, reason: str, *, retryable: bool, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after


class ChannelSender(Protocol):
    """Sends one message part (already within `max_chars`) to a person on a platform."""

    name: str
    max_chars: int
    # False: the outbound path writes the buttons' titles into the text instead.
    supports_buttons: bool

    async def send(self, recipient_id: str, text: str, buttons: Sequence[Button]) -> str | None:
        """Send; return the platform's message id, or raise `DeliveryError`."""
        ...


def is_retryable_status(status: int) -> bool:
    """HTTP answers worth another try: rate limited, or the server's own failure."""
    return status == 429 or status >= 500


class PullSender:
    """A channel whose client fetches its messages (the web chat's page, an integrator
    polling the REST API): recording the message is the delivery."""

    max_chars = 1_000_000
    supports_buttons = True
    # Nothing to push: the outbound path marks the message delivered when it records it.
    instant = True

    def __init__(self, name: str) -> None:
        self.name = name

    async def send(self, recipient_id: str, text: str, buttons: Sequence[Button]) -> str | None:
        return None
