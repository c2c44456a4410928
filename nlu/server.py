"""`python -m nlu.server run ...`: Rasa's own command line, without three per-turn costs of
Rasa 3.6 that the profile of a dialogue turn found (`bench/dialogue_turns.py` under py-spy).
Each change keeps Rasa's behaviour; only the work done per turn is less.

1. Rasa checks every answer of the action server with `jsonschema.validate`, which first
   validates the schema itself against JSON Schema's metaschema, on every call: about a
   third of the Rasa process's time in turns with custom actions. The answer is still
   validated, by a validator built once for the (constant) schema. Each event of an
   answer must match exactly one of the schema's 23 event kinds (`oneOf`), and jsonschema
   tries all 23; an event whose `event` names one kind can only match that one (the kinds
   differ by their `const`), so each event is first checked against its own kind alone.
   Only an answer this finds valid is accepted without the full check, and an invalid
   one gets the full check's error.
2. Loading a tracker looks each event's class up by walking every subclass of `Event`
   (`Event.resolve_by_type`), per event: a 15-turn conversation has over 200 events, so
   this was most of the tracker's loading time. The classes found are remembered.
3. The SQL tracker store on SQLite opens a new connection for each read and write, in
   the rollback-journal mode (three fsyncs per saved turn, on the event loop). Its
   connections are pooled, as SQLAlchemy 2 does by default for files, and use WAL with
   `synchronous=NORMAL`: a crash of the process loses nothing committed. PostgreSQL
   connections are left as they are.

Usage (what `hotline run` starts): python -m nlu.server run --model ... --endpoints ...
Every argument is Rasa's.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import sys
from collections.abc import Callable
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _action_response_validator() -> Any:
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)  # once, where `jsonschema.validate` does it on every call
    return cls(schema)


@lru_cache(maxsize=1)
def _events_by_kind_check() -> Callable[[Any], bool] | None:
    """A check that accepts only answers the full schema accepts, validating each event
    against its own kind's schema instead of all kinds' (`oneOf`); None when the schema is
    not shaped so that this is the same (then every answer gets the full check)."""
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = copy.deepcopy(RemoteAction.action_response_format_spec())
    try:
        item = schema["properties"]["events"]["items"]
        kinds = [kind["properties"]["event"]["const"] for kind in item["oneOf"]]
        shared = {key: value for key, value in item.items() if key != "oneOf"}
        names_a_kind = "event" in shared["required"] and shared["properties"]["event"] == {
            "type": "string"
        }
    except (KeyError, TypeError):
        return None
    if "$ref" in json.dumps(schema) or not names_a_kind or len(set(kinds)) != len(kinds):
        return None
    cls = validator_for(schema)
    by_kind = {name: cls({"allOf": [shared, kind]}) for name, kind in zip(kinds, item["oneOf"])}
    schema["properties"]["events"]["items"] = {}  # the events are checked one by one
    rest = cls(schema)

    def is_valid(result: Any) -> bool:
        if not rest.is_valid(result):
            return False
        for event in result.get("events") or ():  # a list, or absent: `rest` checked it
            name = event.get("event") if isinstance(event, dict) else None
            check = by_kind.get(name) if isinstance(name, str) else None
            if check is None or not check.is_valid(event):
                return False
        return True

    return is_valid


def validate_action_result(self: Any, result: dict[str, Any]) -> bool:
    """`RemoteAction._validate_action_result` with a validator built once."""
    from jsonschema import ValidationError, exceptions
    from rasa.shared.constants import DOCS_BASE_URL

    check = _events_by_kind_check()
    if check is not None and check(result):
        return True
    error = exceptions.best_match(_action_response_validator().iter_errors(result))
    if error is None:
        return True
    assert isinstance(error, ValidationError)
    error.message += (
        ". Failed to validate Action server response from API, "
        "make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
    )
    raise error


def _remembering_resolve_by_type(original: Any) -> Any:
    """`Event.resolve_by_type` that remembers the classes it found (never a miss, so a
    class defined later is still found, and errors and defaults stay Rasa's)."""
    found: dict[str, type] = {}

    def resolve_by_type(type_name: str, default: Any = None) -> Any:
        cls = found.get(type_name)
        if cls is None:
            cls = original(type_name, default)
            if cls is not None and cls is not default:
                found[type_name] = cls
        return cls

    resolve_by_type.__wrapped__ = original  # type: ignore[attr-defined]
    return staticmethod(resolve_by_type)


def _tracker_engine_kwargs(original: Any) -> Any:
    """Rasa's engine options, plus a connection pool for SQLite files."""

    def create_engine_kwargs(url: Any) -> dict[str, Any]:
        from sqlalchemy.engine.url import make_url
        from sqlalchemy.pool import QueuePool

        kwargs = original(url)
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            kwargs.setdefault("poolclass", QueuePool)
            kwargs.setdefault("connect_args", {}).setdefault("check_same_thread", False)
        return kwargs

    create_engine_kwargs.__wrapped__ = original  # type: ignore[attr-defined]
    return create_engine_kwargs


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def install() -> None:
    """Apply the three changes to this process, before Rasa builds its stores."""
    import rasa.core.tracker_store as tracker_store
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.events import Event
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if getattr(RemoteAction, "_validate_action_result", None) is validate_action_result:
        return  # installed already
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
    Event.resolve_by_type = _remembering_resolve_by_type(Event.resolve_by_type)  # type: ignore[method-assign]
    tracker_store.create_engine_kwargs = _tracker_engine_kwargs(tracker_store.create_engine_kwargs)
    event.listen(Engine, "connect", _sqlite_pragmas)


def main() -> None:
    install()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
