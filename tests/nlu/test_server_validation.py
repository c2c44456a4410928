"""`nlu.server`'s check of the action server's answers: each event against its own kind
accepts exactly what `jsonschema.validate` with Rasa's schema accepts."""

from __future__ import annotations

import copy
import datetime as dt
import itertools

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa_sdk import events as sdk

from nlu import server

server.install()
SCHEMA = RemoteAction.action_response_format_spec()

# One event of each kind, as the action server (rasa_sdk) writes them.
EVENTS = [
    sdk.UserUttered(
        "chồng tôi hay đánh tôi",
        parse_data={
            "text": "chồng tôi hay đánh tôi",
            "intent": {"name": "family_violence", "confidence": 0.97},
            "intent_ranking": [{"name": "family_violence", "confidence": 0.97}],
            "entities": [{"entity": "location", "value": "Mỹ Hiệp", "start": 0, "end": 7}],
        },
    ),
    sdk.ActionExecuted("action_find_services", policy="RulePolicy", confidence=1.0),
    sdk.SlotSet("topic", "family_violence"),
    sdk.SlotSet("services", [{"name": "Trung tâm CTXH", "phone": "111"}]),
    {"event": "entities", "entities": [{"entity": "location", "value": "Cao Lãnh"}]},
    {"event": "user_featurization", "use_text_for_featurization": False},
    sdk.ReminderCancelled("utter_reminder"),
    sdk.ReminderScheduled("EXTERNAL_remind", dt.datetime(2030, 1, 1, 8, 0)),
    sdk.ActionExecutionRejected("action_ask_location"),
    {"event": "form_validation", "validate": False},
    sdk.LoopInterrupted(True),
    {"event": "form", "name": "location_form"},
    sdk.ActiveLoop("location_form"),
    sdk.AllSlotsReset(),
    sdk.ConversationResumed(),
    sdk.ConversationPaused(),
    sdk.FollowupAction("action_handoff"),
    sdk.StoryExported(),
    sdk.Restarted(),
    sdk.UserUtteranceReverted(),
    sdk.ActionReverted(),
    sdk.BotUttered("Chào bạn", {"buttons": [{"title": "Có", "payload": "/affirm"}]}),
    sdk.SessionStarted(),
    sdk.AgentUttered("Chào bạn"),
]
BAD_VALUES = [None, 1, 0.5, True, "x", [], {}, [1], {"name": 1}]


def fully_valid(answer: object) -> bool:
    """What `jsonschema.validate` says (test_server.py: the validator built once agrees)."""
    return server._action_response_validator().is_valid(answer)


def variants():
    """Valid answers and, from each event, answers with one field missing or wrong."""
    yield {"events": EVENTS, "responses": [{"text": "Chào bạn"}]}
    yield {}
    yield {"events": [], "responses": []}
    for event in EVENTS:
        yield {"events": [event]}
        for key, bad in itertools.product([*event, "name", "value", "event"], BAD_VALUES):
            broken = copy.deepcopy(event)
            broken[key] = bad
            yield {"events": [broken]}
            yield {"events": [{k: v for k, v in event.items() if k != key}]}
    for bad in BAD_VALUES:
        yield {"events": bad}
        yield {"events": [bad]}
        yield {"responses": bad}
        yield bad


def test_every_kind_of_event_is_checked_by_its_own_kind():
    assert server._events_by_kind_check() is not None
    assert len({event["event"] for event in EVENTS}) == len(
        SCHEMA["properties"]["events"]["items"]["oneOf"]
    )


def test_it_accepts_exactly_what_jsonschema_accepts():
    check = server._events_by_kind_check()
    answers = list(variants())
    assert [a for a in answers if check(a) is not fully_valid(a)] == []
    assert 0 < sum(map(fully_valid, answers)) < len(answers)  # both kinds were tried


def test_an_invalid_answer_still_gets_jsonschemas_error():
    answer = {"events": [{"event": "slot", "value": "x"}]}
    with pytest.raises(jsonschema.ValidationError) as expected:
        jsonschema.validate(answer, SCHEMA)
    with pytest.raises(jsonschema.ValidationError) as raised:
        RemoteAction("action_find_services", None)._validate_action_result(answer)
    assert raised.value.message.startswith(expected.value.message)


def test_a_valid_answer_skips_the_full_check(monkeypatch):
    monkeypatch.setattr(server, "_action_response_validator", None)  # would fail if called
    answer = {"events": EVENTS, "responses": [{"text": "Chào bạn"}]}
    assert RemoteAction("action_find_services", None)._validate_action_result(answer)
