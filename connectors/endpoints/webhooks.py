"""Webhooks of the messaging platforms: Telegram, Zalo OA and Zalo Bot.

Each one checks that the call comes from the platform (secret token or signature, in
constant time; 401 when missing, 403 when wrong, and nothing is stored), reads the
update (400 for malformed JSON, 200 `ignored` for updates with nothing to answer),
stores the message, answers the platform at once, and lets the router work after.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request, status

from connectors.channels import zalo_bot, zalo_oa
from connectors.deps import (
    GatewayDep,
    RouterDep,
    TelegramDep,
    ZaloBotDep,
    ZaloOADep,
    parse_json_object,
)
from connectors.schemas import WebhookAck

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/webhooks", tags=["platform webhooks"])

_AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "malformed JSON, or not an update"},
    401: {"description": "secret or signature missing"},
    403: {"description": "secret or signature wrong"},
    404: {"description": "the channel is not configured"},
}


def _unauthenticated(what: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, f"Missing {what}")


def _forbidden(what: str) -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, f"Wrong {what}")


def _require_secret(secret: str | None, verify: Callable[[str], bool], channel: str) -> None:
    """401 without the secret-token header, 403 with a wrong one; nothing is stored."""
    if secret is None:
        raise _unauthenticated("secret token")
    if not verify(secret):
        logger.warning("%s webhook with a wrong secret token refused", channel)
        raise _forbidden("secret token")


@router.post("/telegram", response_model=WebhookAck, responses=_AUTH_RESPONSES)
async def telegram_webhook(
    request: Request,
    telegram: TelegramDep,
    gateway: GatewayDep,
    secret: Annotated[str | None, Header(alias="X-Telegram-Bot-Api-Secret-Token")] = None,
) -> WebhookAck:
    """An update from Telegram (registered with `setWebhook(secret_token=...)`)."""
    _require_secret(secret, telegram.verify_secret, "Telegram")
    payload = parse_json_object(await request.body())
    try:
        update = telegram.parse(payload)
    except ValueError:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "Not a Telegram update") from None
    stored = await gateway.receive_telegram(update)
    return WebhookAck(ignored=not stored)


@router.post("/zalo", response_model=WebhookAck, responses=_AUTH_RESPONSES)
async def zalo_oa_webhook(
    request: Request,
    zalo: ZaloOADep,
    router: RouterDep,
    signature: Annotated[str | None, Header(alias="X-ZEvent-Signature")] = None,
) -> WebhookAck:
    """An event of the Zalo Official Account (signed with the OA secret key)."""
    if not signature:
        raise _unauthenticated("X-ZEvent-Signature")
    body = await request.body()
    payload = parse_json_object(body)
    if not zalo.verify(signature, body, str(payload.get("timestamp") or "")):
        logger.warning("Zalo OA webhook with a wrong signature refused")
        raise _forbidden("signature")
    try:
        inbound = zalo_oa.parse_event(payload)
    except ValueError:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "Not a Zalo OA message event") from None
    if inbound is None:
        return WebhookAck(ignored=True)
    # Zalo wants its 200 within 2 seconds: store now, let the bot work afterwards.
    acceptance = await router.accept(inbound)
    router.spawn(router.process(acceptance))
    return WebhookAck(ignored=False)


@router.post("/zalo-bot", response_model=WebhookAck, responses=_AUTH_RESPONSES)
async def zalo_bot_webhook(
    request: Request,
    bot: ZaloBotDep,
    router: RouterDep,
    secret: Annotated[str | None, Header(alias="X-Bot-Api-Secret-Token")] = None,
) -> WebhookAck:
    """An update of the Zalo bot, bare or wrapped as `{ok, result}`."""
    _require_secret(secret, bot.verify_secret, "Zalo Bot")
    payload = parse_json_object(await request.body())
    try:
        inbound = zalo_bot.parse_update(payload)
    except ValueError:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "Not a Zalo Bot message update") from None
    if inbound is None:
        return WebhookAck(ignored=True)
    acceptance = await router.accept(inbound)
    router.spawn(router.process(acceptance))
    return WebhookAck(ignored=False)
