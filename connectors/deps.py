"""FastAPI dependencies of the gateway, as typed aliases so that handlers stay short.

async def handler(router: RouterDep, telegram: TelegramDep) -> ...

The dependencies are `async def` although they never wait: FastAPI runs a plain `def`
dependency in a worker thread, and a message went through four of them (a thread hop
each) before its handler started.
"""

from __future__ import annotations

import hmac
import json
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Request, status

from connectors.channels.telegram import TelegramChannel
from connectors.channels.zalo_bot import ZaloBotChannel
from connectors.channels.zalo_oa import ZaloOAChannel
from connectors.events import EventHub
from connectors.gateway import Gateway
from connectors.router import Router
from connectors.store import Store
from hotline.settings import Settings


async def get_gateway(request: Request) -> Gateway:
    return request.app.state.gateway  # type: ignore[no-any-return]


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


async def get_settings(gateway: GatewayDep) -> Settings:
    return gateway.settings


async def get_router(gateway: GatewayDep) -> Router:
    return gateway.router


async def get_store(gateway: GatewayDep) -> Store:
    return gateway.store


async def get_hub(gateway: GatewayDep) -> EventHub:
    return gateway.hub


def _channel_off(name: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"The {name} channel is not configured")


async def get_telegram(gateway: GatewayDep) -> TelegramChannel:
    if gateway.telegram is None or gateway.telegram.polling:
        raise _channel_off("Telegram webhook")
    return gateway.telegram


async def get_zalo_oa(gateway: GatewayDep) -> ZaloOAChannel:
    if gateway.zalo_oa is None:
        raise _channel_off("Zalo OA")
    return gateway.zalo_oa


async def get_zalo_bot(gateway: GatewayDep) -> ZaloBotChannel:
    if gateway.zalo_bot is None:
        raise _channel_off("Zalo Bot")
    return gateway.zalo_bot


SettingsDep = Annotated[Settings, Depends(get_settings)]
RouterDep = Annotated[Router, Depends(get_router)]
StoreDep = Annotated[Store, Depends(get_store)]
HubDep = Annotated[EventHub, Depends(get_hub)]
TelegramDep = Annotated[TelegramChannel, Depends(get_telegram)]
ZaloOADep = Annotated[ZaloOAChannel, Depends(get_zalo_oa)]
ZaloBotDep = Annotated[ZaloBotChannel, Depends(get_zalo_bot)]


async def require_api_token(
    gateway: GatewayDep,
    authorization: Annotated[str | None, Header(description="`Bearer <GATEWAY_API_TOKEN>`")] = None,
) -> None:
    """The integrators' API needs the token when `GATEWAY_API_TOKEN` is set."""
    # The gateway rather than SettingsDep: one dependency less to solve per message.
    token = gateway.settings.gateway_api_token
    if token is None:
        return
    expected = f"Bearer {token.get_secret_value()}"
    if authorization is None or not hmac.compare_digest(authorization.encode(), expected.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Thiếu hoặc sai mã truy cập API (Authorization: Bearer ...).",
            headers={"WWW-Authenticate": "Bearer"},
        )


ApiTokenDep = Annotated[None, Depends(require_api_token)]


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """A webhook body as a JSON object, or 400 with a clear reason."""
    try:
        payload = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "Malformed JSON body") from None
    if not isinstance(payload, dict):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "The body must be a JSON object")
    return payload
