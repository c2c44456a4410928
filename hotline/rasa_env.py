"""Run the project's code that lives in the Rasa environment (`.venv-rasa`, Python 3.10).

The application (Python 3.11+) never imports Rasa: it starts Rasa's interpreter as a
separate program, with the repository root on PYTHONPATH so that `nlu/` components load.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from hotline.settings import REPO_ROOT, Settings


class RasaEnvironmentMissing(RuntimeError):
    """The Rasa environment has not been set up."""


def rasa_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for a process of the Rasa environment."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT)
    env["RASA_TELEMETRY_ENABLED"] = "false"
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["SQLALCHEMY_SILENCE_UBER_WARNING"] = "1"
    env.update(extra or {})
    return env


def rasa_python(settings: Settings) -> str:
    """Path of the Rasa environment's interpreter, or a clear error."""
    python = settings.rasa_python
    if not python.exists():
        raise RasaEnvironmentMissing(
            f"The Rasa environment is missing ({python}). Run `make setup` first."
        )
    return str(python)


def module_command(settings: Settings, module: str, args: Sequence[str] = ()) -> list[str]:
    """Command line that runs `python -m MODULE ARGS` in the Rasa environment."""
    return [rasa_python(settings), "-m", module, *args]
