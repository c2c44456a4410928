"""`GET /healthz`: 200 only when the gateway, its database, Rasa and the action server answer."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response, status

from connectors.deps import GatewayDep
from connectors.schemas import HealthOut

router = APIRouter(tags=["operations"])


@router.get(
    "/healthz",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "a part does not answer"}},
)
async def healthz(gateway: GatewayDep, response: Response) -> HealthOut:
    """Whether every part of the assistant answers (for load balancers and `docker compose`)."""
    database, rasa, actions = await asyncio.gather(
        gateway.store.ping(),
        gateway.health.rasa_up(),
        gateway.health.action_server_up(fresh=True),
    )
    healthy = database and rasa and actions
    if not healthy:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    word = {True: "ok", False: "down"}
    return HealthOut(
        status="ok" if healthy else "unavailable",
        gateway="ok",
        database=word[database],  # type: ignore[arg-type]
        rasa=word[rasa],  # type: ignore[arg-type]
        action_server=word[actions],  # type: ignore[arg-type]
    )
