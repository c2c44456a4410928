#!/usr/bin/env bash
# The whole test suite: lint, Rasa data validation, the tests that run in the Rasa
# environment (nlu/ components), then the application tests (stores, actions, CLI,
# end-to-end with the real Rasa server). `make test` calls this after setup and training.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD" RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=3 \
  SQLALCHEMY_SILENCE_UBER_WARNING=1

step() { printf '\n\033[1m[test] %s\033[0m\n' "$*"; }

step "lint (ruff)"
.venv/bin/ruff check .
.venv/bin/ruff format --check .

step "Rasa data validation"
.venv-rasa/bin/rasa data validate --domain bot/domain --config bot/config.yml \
  --data build/data bot/data 2>&1 | grep -E "WARNING|UserWarning|ERROR|Error|conflict" || true
.venv-rasa/bin/rasa data validate --domain bot/domain --config bot/config.yml \
  --data build/data bot/data >/dev/null 2>&1

step "dialogue test stories (rasa test core)"
.venv-rasa/bin/rasa test core --model models/hotline.tar.gz --stories bot/tests \
  --out build/rasa-test --fail-on-prediction-errors >/dev/null 2>&1 \
  || { echo "rasa test core failed, see build/rasa-test/failed_test_stories.yml"; \
       cat build/rasa-test/failed_test_stories.yml; exit 1; }
echo "all test stories pass"

step "NLU components (Rasa environment)"
.venv-rasa/bin/python -m pytest tests/nlu -q -p no:cacheprovider -o addopts="-ra --strict-markers" --confcutdir=tests/nlu

step "application (stores, actions, CLI, end-to-end)"
.venv/bin/python -m pytest -q -p no:cacheprovider
