"""Fixtures for tests that use the trained model and the real Rasa server."""

from __future__ import annotations

import pytest

from hotline.settings import REPO_ROOT

MODEL = REPO_ROOT / "models" / "hotline.tar.gz"


@pytest.fixture(scope="session")
def trained_model():
    """The production model; `make test` trains it before running the tests."""
    if not MODEL.is_file():
        pytest.fail("No trained model in models/: run `make train` (make test does it).")
    return MODEL
