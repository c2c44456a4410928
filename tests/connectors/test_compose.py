"""`docker-compose.yml` is a valid Compose file with the services production needs, each
with a health check, and every command in it also runs outside Docker."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from hotline.settings import REPO_ROOT

SCHEMA = Path(__file__).parent / "compose_spec" / "compose-spec.json"
COMPOSE = REPO_ROOT / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))


def test_the_file_follows_the_compose_specification(compose, validator):
    assert [error.message for error in validator.iter_errors(compose)] == []


def test_the_schema_catches_mistakes(validator):
    typo = {"services": {"gateway": {"image": "x", "portz": ["8000:8000"]}}}
    assert [e.message for e in validator.iter_errors(typo)] == [
        "Unevaluated properties are not allowed ('portz' was unexpected)"
    ]
    assert list(validator.iter_errors({"services": {"gateway": {"depends_on": 5}}}))


def test_every_part_is_there_with_a_health_check(compose):
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "migrate", "actions", "rasa", "gateway"}
    for name in ("postgres", "redis", "actions", "rasa", "gateway"):
        assert services[name]["healthcheck"]["test"], name
    assert "/healthz" in " ".join(services["gateway"]["healthcheck"]["test"])
    assert services["gateway"]["ports"] == ["8000:8000"]
    assert services["rasa"]["build"]["dockerfile"] == "deploy/rasa.Dockerfile"
    rasa_image = (REPO_ROOT / "deploy" / "rasa.Dockerfile").read_text()
    assert "FROM rasa/rasa:3.6.21" in rasa_image and "underthesea" in rasa_image
    assert "COPY nlu nlu" in rasa_image


def test_rasa_uses_postgresql_and_the_redis_lock_store(compose):
    endpoints = yaml.safe_load((REPO_ROOT / "deploy" / "endpoints.yml").read_text())
    # Rasa's SQL store with a cache of recent conversations (nlu/ is in the Rasa image)
    assert endpoints["tracker_store"]["type"] == "nlu.tracker_store.CachingSQLTrackerStore"
    assert endpoints["tracker_store"]["dialect"] == "postgresql"
    assert endpoints["lock_store"]["type"] == "redis"
    assert endpoints["lock_store"]["key_prefix"].isalnum()  # Rasa refuses anything else
    environment = compose["services"]["rasa"]["environment"]
    assert environment["REDIS_HOST"] == "redis" and environment["RASA_DB_HOST"] == "postgres"


def test_secrets_come_from_the_environment_not_the_file(compose):
    text = COMPOSE.read_text()
    for secret in ("POSTGRES_PASSWORD", "RASA_TOKEN", "ANONYMIZATION_SALT"):
        assert f"${{{secret}:?set {secret}}}" in text
    assert compose["x-app"]["environment"]["ENVIRONMENT"] == "production"


def _command(compose: dict, service: str) -> list[str]:
    return [str(part) for part in compose["services"][service]["command"]]


@pytest.mark.parametrize("service", ["actions", "gateway"])
def test_python_module_commands_exist_in_the_application_environment(compose, service):
    command = _command(compose, service)
    assert command[:2] == ["python", "-m"]
    assert importlib.util.find_spec(command[2]) is not None


def test_the_migration_command_runs_outside_docker(compose):
    command = _command(compose, "migrate")
    hotline = shutil.which("hotline") or str(REPO_ROOT / ".venv" / "bin" / "hotline")
    result = subprocess.run(
        [hotline, *command[1:], "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_the_rasa_command_names_files_that_exist(compose):
    command = _command(compose, "rasa")
    assert command[0] == "run"
    for flag in ("--endpoints", "--credentials"):
        assert (REPO_ROOT / command[command.index(flag) + 1]).is_file()
    assert command[command.index("--model") + 1] == "models/hotline.tar.gz"
