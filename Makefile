# The project's commands. `make run` starts the assistant, `make test` runs every test;
# both set up what they need first (scripts/setup.sh is a no-op when nothing changed).
SHELL := /bin/bash
APP_PY := .venv/bin/python
RASA_PY := .venv-rasa/bin/python
export PYTHONPATH := $(CURDIR)
export RASA_TELEMETRY_ENABLED := false

.PHONY: setup setup-app setup-rasa run chat train eval bench bench-turns bench-gateway bench-staff test test-nlu test-app lint clean

setup:
	@scripts/setup.sh all

setup-app:
	@scripts/setup.sh app

setup-rasa:
	@scripts/setup.sh rasa

## train the production model into models/ (skipped by Rasa when nothing changed)
train: setup
	@.venv/bin/hotline nlu train

run: setup train
	@.venv/bin/hotline run

chat: setup-app
	@.venv/bin/hotline chat

## report accuracy on the held-out set and by cross-validation
eval: setup train
	@.venv/bin/hotline nlu evaluate

bench: setup train
	@$(RASA_PY) bench/nlu_compare.py

## full dialogue turns through Rasa, actions and the database, 1 and 10 conversations
bench-turns: setup train
	@$(APP_PY) bench/dialogue_turns.py

## the gateway's added latency over Rasa's REST channel, and messages per second
bench-gateway: setup train
	@$(APP_PY) bench/gateway_latency.py

## staff reply → person and person → console latency, 20 conversations handed off
bench-staff: setup train
	@$(APP_PY) bench/staff_latency.py

test: setup train
	@scripts/test.sh

lint: setup-app
	@.venv/bin/ruff check . && .venv/bin/ruff format --check .

clean:
	rm -rf build models/*.tar.gz .pytest_cache
