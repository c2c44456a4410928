"""Settings of the application processes, read once from the environment or `.env`.

Every process builds one `Settings` with `get_settings()` and passes what it needs on;
nothing else in the code reads `os.environ`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


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
    http_timeout_seconds: float = 10.0


@lru_cache
def get_settings() -> Settings:
    """The process's settings, built on first use."""
    return Settings()
