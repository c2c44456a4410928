"""Which channels the settings turn on; light enough for `hotline run` to import."""

from __future__ import annotations

from hotline.settings import Settings


def enabled_channels(settings: Settings) -> list[str]:
    """Human-readable list of the channels these settings turn on (for `make run`)."""
    channels = ["web chat (/)", "REST API (/api/v1/messages)"]
    if settings.telegram_bot_token:
        mode = "polling" if settings.telegram_polling else "webhook /webhooks/telegram"
        channels.append(f"Telegram ({mode})")
    if settings.zalo_app_id and settings.zalo_oa_secret_key:
        channels.append("Zalo OA (webhook /webhooks/zalo)")
    if settings.zalo_bot_token:
        channels.append("Zalo Bot (webhook /webhooks/zalo-bot)")
    return channels
