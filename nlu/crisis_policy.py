"""Dialogue policy that puts the emergency numbers before everything else.

A message whose NLU `risk` is `high` (see `nlu.risk`) must get the emergency numbers at
once, whatever its intent and whatever the conversation was doing (a form, a question,
a handoff request). Rules and stories cannot say "for any intent", so this policy does:
right after a high-risk message it predicts the crisis response with full confidence and
a priority above RulePolicy's, then the configured follow-up actions (the crisis
protocol: urgent ticket and handoff), then listens.

The crisis response is a static response from the domain, not a custom action, so the
numbers still go out when the action server or the database is down.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_EXTRACT_SLOTS, ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)

HIGH_RISK = "high"


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True
)
class CrisisPolicy(Policy):
    """Emergency numbers first for every `risk: high` message (see module docstring)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # above RulePolicy (6): a crisis interrupts rules and forms alike
            "priority": 7,
            "crisis_action": "utter_crisis",
            "follow_up_actions": [],
        }

    def train(
        self, training_trackers: list[TrackerWithCachedStates], domain: Domain, **kwargs: Any
    ) -> Resource:
        """Nothing to learn: the policy follows the NLU's risk signal."""
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        """Predict the next step of the crisis sequence, or abstain (all zeros)."""
        probabilities = self._default_predictions(domain)
        next_action = self._next_crisis_action(tracker)
        if next_action is not None:
            if next_action in domain.action_names_or_texts:
                probabilities[domain.index_for_action(next_action)] = 1.0
            else:
                logger.error("Crisis action %s is missing from the domain.", next_action)
        return self._prediction(probabilities)

    def _sequence(self) -> list[str]:
        return [self.config["crisis_action"], *self.config["follow_up_actions"], ACTION_LISTEN_NAME]

    def _next_crisis_action(self, tracker: DialogueStateTracker) -> str | None:
        """Where the crisis sequence stands since the last user message, if it runs."""
        if not _latest_message_is_high_risk(tracker):
            return None
        done = _actions_since_last_user_message(tracker)
        sequence = self._sequence()
        if done != sequence[: len(done)] or len(done) >= len(sequence):
            # another policy took over (e.g. a follow-up action's own events): step aside
            return None
        return sequence[len(done)]


def _latest_message_is_high_risk(tracker: DialogueStateTracker) -> bool:
    message = tracker.latest_message
    return message is not None and (message.parse_data or {}).get("risk") == HIGH_RISK


def _actions_since_last_user_message(tracker: DialogueStateTracker) -> list[str]:
    actions: list[str] = []
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            break
        # Rasa runs action_extract_slots after every user message: not ours to count
        if isinstance(event, ActionExecuted) and event.action_name not in (
            None,
            ACTION_EXTRACT_SLOTS,
        ):
            actions.append(event.action_name)
    actions.reverse()
    return actions
