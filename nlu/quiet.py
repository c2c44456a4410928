"""Keep Rasa and TensorFlow quiet in command-line tools: their start-up chatter (CUDA
probes, deprecation warnings, debug traces of the rule policy) would bury our output."""

from __future__ import annotations

import logging
import os
import warnings


def quiet_rasa(level: int = logging.WARNING) -> None:
    """Lower the log level of Rasa, TensorFlow and their libraries for this process."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("LOG_LEVEL", logging.getLevelName(level))
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    warnings.filterwarnings("ignore")
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(level)
    # the rule policy's debug traces go through structlog, not logging
    configure_structlog(level)
    for name in ("rasa", "tensorflow", "absl", "matplotlib", "apscheduler", "sanic"):
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
