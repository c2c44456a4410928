"""The self-harm safety net: a confident self_harm intent raises risk to high."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from nlu.intent_risk import SelfHarmRiskEscalation


def _run(intent, confidence, risk):
    component = SelfHarmRiskEscalation(SelfHarmRiskEscalation.get_default_config())
    message = Message(
        data={"text": "…", "risk": risk, "intent": {"name": intent, "confidence": confidence}}
    )
    component.process([message])
    return message.get("risk")


@pytest.mark.parametrize("risk", ["none", "elevated"])
def test_confident_self_harm_is_high(risk):
    assert _run("self_harm", 0.82, risk) == "high"


def test_unsure_self_harm_keeps_the_lexicon_verdict():
    assert _run("self_harm", 0.49, "none") == "none"
    assert _run("self_harm", 0.55, "elevated") == "elevated"


def test_moderate_confidence_needs_the_lexicon_to_be_worried():
    # everyday words the classifier links to self_harm (cắt tay áo, treo cờ) stay none
    assert _run("self_harm", 0.65, "none") == "none"
    assert _run("self_harm", 0.65, "elevated") == "high"


def test_matches_record_the_intent():
    component = SelfHarmRiskEscalation(SelfHarmRiskEscalation.get_default_config())
    message = Message(
        data={
            "text": "…",
            "risk": "elevated",
            "risk_matches": ["severe_distress"],
            "intent": {"name": "self_harm", "confidence": 0.9},
        }
    )
    component.process([message])
    assert message.get("risk_matches") == ["severe_distress", "intent:self_harm"]


def test_other_intents_are_untouched():
    assert _run("domestic_violence", 0.95, "elevated") == "elevated"
