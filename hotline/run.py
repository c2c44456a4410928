"""`hotline run`: start the assistant's processes and keep them running until interrupted.

Processes (see ARCHITECTURE.md): the Rasa server, the action server and the gateway
(`python -m connectors`: web chat, REST API, Telegram, Zalo). They run under honcho's
process manager, which multiplexes their output, stops all of them when one dies, and shuts them down on Ctrl-C or SIGTERM,
with or without a terminal, so the command also works under a supervisor (systemd).
"""

from __future__ import annotations

import os
import secrets
import shlex
import sys
import threading
import time
from dataclasses import dataclass

import httpx
from honcho.manager import Manager

from connectors.config import enabled_channels
from hotline.rasa_env import rasa_env, rasa_python
from hotline.settings import REPO_ROOT, Settings

READY_TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class Service:
    """One process of the assistant: how to start it and how to know it is up."""

    name: str
    command: list[str]
    env: dict[str, str]
    health_url: str


def model_file(settings: Settings) -> str:
    """The trained model `hotline run` serves, or a clear error."""
    model = settings.model_archive
    if not model.is_file():
        raise SystemExit("No trained model in models/. Train one first: make train")
    return str(model)


def services(settings: Settings, rasa_token: str) -> list[Service]:
    """The Rasa server and the action server, configured from the settings."""
    settings.rasa_tracker_db.parent.mkdir(parents=True, exist_ok=True)
    # Command lines read best with each option beside its value.
    # fmt: off
    rasa = Service(
        name="rasa",
        command=[
            # Rasa's command line, less three per-turn costs of Rasa 3.6 (nlu/server.py)
            rasa_python(settings), "-m", "nlu.server", "run",
            "--model", model_file(settings),
            "--interface", settings.bind_host, "--port", str(settings.rasa_port),
            "--endpoints", str(REPO_ROOT / "bot" / "endpoints.yml"),
            "--credentials", str(REPO_ROOT / "bot" / "credentials.yml"),
            # one argument: a token may start with "-", which argparse would take for an option
            "--enable-api", f"--auth-token={rasa_token}",
        ],
        env=rasa_env(
            {
                "ACTION_ENDPOINT_URL": f"{settings.action_server_url}/webhook",
                "RASA_TRACKER_DB": str(settings.rasa_tracker_db),
                # Rasa's libraries print dozens of deprecation warnings at start
                "PYTHONWARNINGS": "ignore",
            }
        ),
        health_url=f"{settings.rasa_url}/",
    )
    actions = Service(
        name="actions",
        command=[
            sys.executable, "-m", "rasa_sdk",
            "--actions", "actions", "--port", str(settings.action_server_port),
        ],
        env={},
        health_url=f"{settings.action_server_url}/health",
    )
    # fmt: on
    gateway = Service(
        name="gateway",
        command=[sys.executable, "-m", "connectors"],
        # honcho replaces the environment it is given: pass ours on, with the session's token
        # for Rasa's HTTP API (the gateway resumes handed-off conversations through it).
        env={**os.environ, "RASA_TOKEN": rasa_token},
        health_url=f"{settings.gateway_base_url}/healthz",
    )
    return [rasa, actions, gateway]


def wait_until_ready(targets: list[Service], timeout: float = READY_TIMEOUT_SECONDS) -> bool:
    """Poll each service's health URL until all answer, or the timeout passes."""
    deadline = time.monotonic() + timeout
    pending = list(targets)
    while pending and time.monotonic() < deadline:
        pending = [s for s in pending if not _answers(s.health_url)]
        if pending:
            time.sleep(1.0)
    return not pending


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0).status_code < 500
    except httpx.HTTPError:
        return False


def _announce_when_ready(targets: list[Service], settings: Settings) -> None:
    if wait_until_ready(targets):
        print(
            "\n[hotline] Trợ lý đã sẵn sàng / the assistant is ready.\n"
            f"[hotline] Open the web chat: {settings.gateway_base_url}/\n"
            "[hotline] Or chat from a second terminal:  make chat   (or .venv/bin/hotline chat)\n"
            f"[hotline] Channels on: {', '.join(enabled_channels(settings))}\n"
            f"[hotline] Rasa {settings.rasa_url} · actions {settings.action_server_url} · "
            f"gateway {settings.gateway_base_url} · stop with Ctrl-C\n",
            flush=True,
        )
    else:
        print("[hotline] The services did not come up in time; see the log above.", flush=True)


def prepare_database(settings: Settings) -> None:
    """Create or migrate the database, and load the shipped directory and canned replies
    on first start."""
    from helpdesk.canned import seed_canned_replies
    from hotline.db import make_engine, make_session_factory, upgrade_database
    from knowledge.seed import ensure_seeded

    upgrade_database(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        sessions = make_session_factory(engine)
        ensure_seeded(sessions)
        with sessions.begin() as session:
            seed_canned_replies(session)
    finally:
        engine.dispose()


def run(settings: Settings) -> int:
    """Prepare the database, start every service, announce readiness, serve until interrupted."""
    print("[hotline] preparing the database (migrations, directory seed)...", flush=True)
    prepare_database(settings)
    rasa_token = (
        settings.rasa_token.get_secret_value() if settings.rasa_token else secrets.token_urlsafe(24)
    )
    targets = services(settings, rasa_token)
    print(f"[hotline] channels on: {', '.join(enabled_channels(settings))}", flush=True)
    manager = Manager()
    for service in targets:
        manager.add_process(
            service.name, shlex.join(service.command), env=service.env or None, cwd=str(REPO_ROOT)
        )
    threading.Thread(target=_announce_when_ready, args=(targets, settings), daemon=True).start()
    manager.loop()
    return manager.returncode or 0
