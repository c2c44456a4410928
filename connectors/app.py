"""The gateway's FastAPI application.

Usage:
    app = create_app(get_settings())          # nothing is built until the app starts
    uvicorn.run(app, host=..., port=settings.gateway_port)

The lifespan builds the database engine, one HTTP session for Rasa and the action server
(`connectors.rasa.engine_session`), one HTTP client for the channels' platforms, the
channels whose settings are present, and the router; it stops them in reverse order.
Tests pass their own `session_factory` (a migrated test database) and `assess_risk`.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from connectors.endpoints import health, messages, web, webhooks
from connectors.gateway import build_gateway, load_risk_assessor
from connectors.rasa import engine_session
from connectors.router import RiskAssessor
from connectors.staff import api as staff_api
from connectors.staff import console as staff_console
from hotline.db import make_engine, make_session_factory
from hotline.settings import Settings

logger = logging.getLogger(__name__)

DATABASE_DOWN = "Hệ thống đang bận, tin nhắn chưa được lưu. Bạn vui lòng gửi lại sau ít phút."

DESCRIPTION = """
The gateway of the social-work hotline assistant: every channel (web chat, this REST API,
Telegram, Zalo OA, Zalo Bot) goes through one router that stores the message first, then
hands it to the assistant (Rasa) or, when the conversation is handed off, to the staff.
"""


def quiet_loggers() -> None:
    """Bot API URLs carry the token: httpx must not log the URLs it requests."""
    for name in ("httpx", "httpcore", "telegram", "apscheduler"):
        logging.getLogger(name).setLevel(logging.WARNING)


def create_app(
    settings: Settings,
    *,
    session_factory: sessionmaker[Session] | None = None,
    assess_risk: RiskAssessor | None = None,
) -> FastAPI:
    """The gateway for `settings`; optional parts replace the ones built from settings."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        quiet_loggers()
        engine = None
        factory = session_factory
        if factory is None:
            engine = make_engine(settings.database_url)
            factory = make_session_factory(engine)
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        async with (
            engine_session() as engine_http,
            httpx.AsyncClient(limits=limits, timeout=settings.http_timeout_seconds) as http,
        ):
            gateway = build_gateway(
                settings,
                factory,
                http,
                engine_http,
                assess_risk or load_risk_assessor(settings.model_archive),
            )
            app.state.gateway = gateway
            await gateway.start()
            # What is built by now lives as long as the gateway: kept out of the garbage
            # collector's sight, a full collection no longer walks the risk lexicon and the
            # frameworks (~150 ms, which about one message in a thousand waited for).
            gc.freeze()
            try:
                yield
            finally:
                gc.unfreeze()
                await gateway.stop()
                if engine is not None:
                    engine.dispose()

    app = FastAPI(
        title="Tổng đài Công tác xã hội — gateway",
        description=DESCRIPTION,
        version="1",
        lifespan=lifespan,
    )
    app.include_router(health.router)
    app.include_router(web.router)
    app.include_router(messages.router)
    app.include_router(webhooks.router)
    app.include_router(staff_api.router)
    app.include_router(staff_console.router)
    app.mount("/static", StaticFiles(directory=web.STATIC_DIR), name="static")

    @app.exception_handler(SQLAlchemyError)
    async def database_down(request: Request, error: SQLAlchemyError) -> JSONResponse:
        # Nothing was stored: platforms re-send on 503, people are asked to.
        logger.error("database error on %s: %s", request.url.path, type(error).__name__)
        return JSONResponse(
            {"detail": DATABASE_DOWN},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "30"},
        )

    return app
