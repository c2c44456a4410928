"""`python -m connectors`: serve the gateway on BIND_HOST:GATEWAY_PORT until interrupted.

This is what `hotline run` starts, and what the gateway's container runs.
"""

from __future__ import annotations

import logging

import uvicorn

from connectors.app import create_app
from connectors.config import enabled_channels
from hotline.settings import get_settings

# SSE streams stay open; after this many seconds a shutdown stops waiting for them.
GRACEFUL_SHUTDOWN_SECONDS = 5


def main() -> None:
    settings = get_settings()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger(__name__).info("channels on: %s", ", ".join(enabled_channels(settings)))
    uvicorn.run(
        create_app(settings),
        host=settings.bind_host,
        port=settings.gateway_port,
        proxy_headers=True,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        log_level="info",
        access_log=False,
    )


if __name__ == "__main__":
    main()
