"""Settings of the application processes, read once from the environment or `.env`.

Every process builds one `Settings` with `get_settings()` and passes what it needs on;
nothing else in the code reads `os.environ`.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_weekdays(text: str) -> tuple[int, ...]:
    """Read `mon-fri`, `mon,wed,sat` or `1-5` (1 = Monday) into Python weekdays (0 = Monday)."""

    def day(token: str) -> int:
        token = token.strip().lower()
        if token[:3] in _WEEKDAYS:
            return _WEEKDAYS.index(token[:3])
        if token.isdigit() and 1 <= int(token) <= 7:
            return int(token) - 1
        raise ValueError(f"not a weekday: {token!r} (use mon..sun or 1..7)")

    days: set[int] = set()
    for part in text.split(","):
        if not part.strip():
            continue
        first, dash, last = part.partition("-")
        start, end = day(first), day(last) if dash else day(first)
        if end < start:
            raise ValueError(f"day range runs backwards: {part.strip()!r}")
        days.update(range(start, end + 1))
    if not days:
        raise ValueError("at least one staff day is needed")
    return tuple(sorted(days))


class Settings(BaseSettings):
    """Configuration shared by the gateway, the action server and the command line."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: str = Field("development", description="development, test or production")
    database_url: str = Field(
        f"sqlite:///{REPO_ROOT / 'var' / 'hotline.db'}",
        description="SQLAlchemy URL of the application database (SQLite file by default)",
    )
    rasa_url: str = Field("http://127.0.0.1:5005", description="base URL of the Rasa server")
    action_server_url: str = Field(
        "http://127.0.0.1:5055", description="base URL of the action server"
    )
    bind_host: str = Field("127.0.0.1", description="interface the servers listen on")
    rasa_port: int = 5005
    action_server_port: int = 5055
    gateway_port: int = 8000
    rasa_python: Path = Field(
        REPO_ROOT / ".venv-rasa" / "bin" / "python",
        description="interpreter of the Rasa environment (Python 3.10)",
    )
    models_dir: Path = REPO_ROOT / "models"
    rasa_token: SecretStr | None = Field(
        None,
        description="token for Rasa's HTTP API (tracker events); `hotline run` makes one "
        "for the session when unset",
    )
    rasa_tracker_db: Path = Field(
        REPO_ROOT / "var" / "rasa-tracker.db",
        description="SQLite file of Rasa's tracker store (a database of its own)",
    )
    rasa_tracker_url: str | None = Field(
        None,
        description="SQLAlchemy URL of Rasa's tracker store, so that deletions and purges also "
        "remove Rasa's copy of a conversation (default: the SQLite file RASA_TRACKER_DB)",
    )
    http_timeout_seconds: float = 10.0

    # Helpdesk: staff hours, escalation and retention (helpdesk/).
    timezone: str = Field("Asia/Ho_Chi_Minh", description="IANA time zone of the staff hours")
    staff_hours_start: dt.time = Field(dt.time(7, 30), description="staff start, local time")
    staff_hours_end: dt.time = Field(dt.time(17, 0), description="staff end, local time")
    staff_days: Annotated[tuple[int, ...], NoDecode] = Field(
        (0, 1, 2, 3, 4),
        description="days with staff on duty: `mon-fri`, `mon,tue,sat` or `1-5` (1 = Monday)",
    )
    on_call_phone: str | None = Field(
        None, description="the service's on-call line for urgent cases outside staff hours"
    )
    escalation_minutes: float = Field(
        2.0, gt=0, description="an urgent ticket unclaimed this long alerts the supervisors"
    )
    escalation_check_seconds: float = Field(
        10.0, gt=0, description="how often the gateway looks for urgent tickets to escalate"
    )
    retention_days: int = Field(
        365, ge=1, description="resolved conversations' text is purged after this many days"
    )
    anonymization_salt: SecretStr | None = Field(
        None,
        description="secret salt of the hashes that replace sender ids on anonymized tickets; "
        "required outside development and test",
    )

    @field_validator("staff_days", mode="before")
    @classmethod
    def _read_staff_days(cls, value: Any) -> Any:
        return parse_weekdays(value) if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone: {value!r}") from error
        return value

    @model_validator(mode="after")
    def _helpdesk_settings_make_sense(self) -> Settings:
        if self.staff_hours_start >= self.staff_hours_end:
            raise ValueError("staff_hours_start must be before staff_hours_end")
        if self.environment not in ("development", "test") and self.anonymization_salt is None:
            raise ValueError("ANONYMIZATION_SALT is required outside development and test")
        return self

    # Gateway and channels (connectors/). A channel whose settings are absent is off.
    gateway_url: str | None = Field(
        None, description="base URL of the gateway for `hotline chat` (default: on GATEWAY_PORT)"
    )
    public_base_url: str | None = Field(
        None,
        description="public https URL of the gateway; when set, the Telegram and Zalo Bot "
        "webhooks are registered at start",
    )
    gateway_api_token: SecretStr | None = Field(
        None, description="when set, POST /api/v1/messages needs `Authorization: Bearer <token>`"
    )
    rate_limit_per_minute: float = Field(
        20.0, gt=0, description="messages a sender may send per minute once the burst is spent"
    )
    rate_limit_burst: int = Field(8, ge=1, description="messages a sender may send at once")
    max_message_chars: int = Field(
        5000, ge=100, description="longer messages are stored whole and cut for the bot"
    )
    outbound_attempts: int = Field(
        4, ge=1, description="tries per outbound message before it is kept as failed"
    )
    outbound_backoff_seconds: float = Field(
        0.5, ge=0, description="first wait between outbound tries; doubles each time"
    )
    rasa_timeout_seconds: float = Field(
        30.0, gt=0, description="how long the gateway waits for one Rasa turn"
    )
    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = Field(
        None, description="secret Telegram sends in X-Telegram-Bot-Api-Secret-Token"
    )
    telegram_api_base_url: str = Field(
        "https://api.telegram.org/bot", description="Bot API base; the token is appended"
    )
    telegram_polling: bool = Field(
        False, description="poll getUpdates instead of receiving webhooks (development)"
    )
    zalo_app_id: str | None = None
    zalo_app_secret: SecretStr | None = None
    zalo_oa_secret_key: SecretStr | None = None
    zalo_oa_access_token: SecretStr | None = Field(
        None, description="first access token; the database keeps the current one after a refresh"
    )
    zalo_oa_refresh_token: SecretStr | None = Field(
        None, description="first refresh token (single use); the database keeps the current one"
    )
    zalo_oa_api_base_url: str = "https://openapi.zalo.me"
    zalo_oauth_base_url: str = "https://oauth.zaloapp.com"
    zalo_bot_token: SecretStr | None = None
    zalo_bot_webhook_secret: SecretStr | None = Field(
        None, description="secret Zalo sends in X-Bot-Api-Secret-Token"
    )
    zalo_bot_api_base_url: str = Field(
        "https://bot-api.zaloplatforms.com/bot", description="Bot API base; the token is appended"
    )

    @property
    def rasa_tracker_database(self) -> str:
        """Where Rasa keeps conversations, as an SQLAlchemy URL."""
        return self.rasa_tracker_url or f"sqlite:///{self.rasa_tracker_db}"

    @property
    def gateway_base_url(self) -> str:
        """Where `hotline chat` and the benchmarks reach the gateway."""
        return (self.gateway_url or f"http://127.0.0.1:{self.gateway_port}").rstrip("/")

    @model_validator(mode="after")
    def _channel_settings_are_complete(self) -> Settings:
        # A half-configured channel would be silently off: refuse it instead.
        groups: dict[str, dict[str, object]] = {
            "Telegram": {"TELEGRAM_BOT_TOKEN": self.telegram_bot_token},
            "Zalo OA": {
                "ZALO_APP_ID": self.zalo_app_id,
                "ZALO_APP_SECRET": self.zalo_app_secret,
                "ZALO_OA_SECRET_KEY": self.zalo_oa_secret_key,
                "ZALO_OA_REFRESH_TOKEN": self.zalo_oa_refresh_token,
            },
            "Zalo Bot": {
                "ZALO_BOT_TOKEN": self.zalo_bot_token,
                "ZALO_BOT_WEBHOOK_SECRET": self.zalo_bot_webhook_secret,
            },
        }
        if not self.telegram_polling:
            groups["Telegram"]["TELEGRAM_WEBHOOK_SECRET"] = self.telegram_webhook_secret
        for channel, fields in groups.items():
            missing = [name for name, value in fields.items() if not value]
            if missing and len(missing) < len(fields):
                raise ValueError(f"{channel} is half configured: set {', '.join(missing)} too")
        secret = self.telegram_webhook_secret
        if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret.get_secret_value()):
            raise ValueError("TELEGRAM_WEBHOOK_SECRET: 1-256 characters of A-Z, a-z, 0-9, _ and -")
        if self.environment not in ("development", "test"):
            for name in ("gateway_api_token", "telegram_webhook_secret", "zalo_bot_webhook_secret"):
                value = getattr(self, name)
                if value is not None and _looks_like_placeholder(value.get_secret_value()):
                    raise ValueError(
                        f"{name.upper()} looks like a placeholder; set a long random secret"
                    )
        return self

    @property
    def model_archive(self) -> Path:
        """The trained Rasa model `hotline run` serves and the gateway reads its risk net
        from (the name `make train` gives it: `nlu.paths.MODEL_ARCHIVE`)."""
        return self.models_dir / "hotline.tar.gz"


def _looks_like_placeholder(value: str) -> bool:
    lowered = value.lower()
    return len(value) < 16 or any(
        word in lowered for word in ("change-me", "changeme", "placeholder")
    )


@lru_cache
def get_settings() -> Settings:
    """The process's settings, built on first use."""
    return Settings()
