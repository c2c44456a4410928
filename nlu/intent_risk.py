"""Safety net after the intent classifier: a confident `self_harm` intent is `risk: high`.

INTENTS.md defines `self_harm` (wanting to die, a plan, self-injury, a farewell) as a
situation that is always `high`. The risk lexicon catches the words; the classifier
catches indirect phrasings the lexicon has no pattern for ("ngày mai sẽ không còn ai phải
lo cho tôi nữa"). Missing a high message is the worst error the system can make, so
either signal is enough. The threshold keeps hyperbole the classifier is unsure of
("buồn muốn chết") at the lexicon's verdict.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT
from rasa.shared.nlu.training_data.message import Message

HIGH = "high"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class SelfHarmRiskEscalation(GraphComponent):
    """Raise `risk` to `high` when the intent is `self_harm` with enough confidence."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"intents": ["self_harm"], "threshold": 0.6}

    def __init__(self, config: dict[str, Any]) -> None:
        self.intents = set(config["intents"])
        self.threshold = float(config["threshold"])

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SelfHarmRiskEscalation:
        return cls({**cls.get_default_config(), **config})

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            if message.get("risk") == HIGH or intent.get("name") not in self.intents:
                continue
            if (intent.get("confidence") or 0.0) >= self.threshold:
                message.set("risk", HIGH, add_to_output=True)
                matches = list(message.get("risk_matches") or [])
                message.set(
                    "risk_matches", [*matches, f"intent:{intent['name']}"], add_to_output=True
                )
        return messages
