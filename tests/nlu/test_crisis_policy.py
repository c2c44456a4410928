"""The crisis policy: emergency numbers first for every high-risk message."""

from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from nlu.crisis_policy import CrisisPolicy
from nlu.paths import BOT_DIR


@pytest.fixture(scope="module")
def domain():
    return Domain.load(str(BOT_DIR / "domain"))


def _policy(tmp_path, **config):
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), "test")
    return CrisisPolicy.create(
        {**CrisisPolicy.get_default_config(), **config}, storage, Resource("crisis"), context
    )


def _tracker(intent, risk, after=()):
    events = [
        ActionExecuted("action_listen"),
        UserUttered("…", {"name": intent, "confidence": 0.9}, parse_data={"risk": risk}),
        ActionExecuted("action_extract_slots"),
        *[ActionExecuted(name) for name in after],
    ]
    return DialogueStateTracker.from_events("person", events)


def _predicted(policy, tracker, domain):
    prediction = policy.predict_action_probabilities(tracker, domain)
    if max(prediction.probabilities) == 0:
        return None
    return domain.action_names_or_texts[prediction.max_confidence_index]


@pytest.mark.parametrize("intent", ["greet", "school_counseling", "out_of_scope", "self_harm"])
def test_high_risk_gets_the_crisis_response_whatever_the_intent(tmp_path, domain, intent):
    policy = _policy(tmp_path)
    assert _predicted(policy, _tracker(intent, "high"), domain) == "utter_crisis"


def test_it_outranks_the_rule_policy(tmp_path):
    assert _policy(tmp_path).priority > 6


def test_after_the_numbers_it_listens(tmp_path, domain):
    tracker = _tracker("self_harm", "high", after=["utter_crisis"])
    assert _predicted(_policy(tmp_path), tracker, domain) == "action_listen"


def test_follow_up_actions_run_before_listening(tmp_path, domain):
    policy = _policy(tmp_path, follow_up_actions=["utter_handoff_now"])
    tracker = _tracker("self_harm", "high", after=["utter_crisis"])
    assert _predicted(policy, tracker, domain) == "utter_handoff_now"
    tracker = _tracker("self_harm", "high", after=["utter_crisis", "utter_handoff_now"])
    assert _predicted(policy, tracker, domain) == "action_listen"


@pytest.mark.parametrize("risk", ["none", "elevated", None])
def test_other_messages_are_left_to_the_other_policies(tmp_path, domain, risk):
    assert _predicted(_policy(tmp_path), _tracker("domestic_violence", risk), domain) is None


def test_a_missing_crisis_response_does_not_crash(tmp_path, domain):
    policy = _policy(tmp_path, crisis_action="utter_does_not_exist")
    assert _predicted(policy, _tracker("self_harm", "high"), domain) is None
