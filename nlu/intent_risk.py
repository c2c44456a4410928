"""Safety net after the intent classifier: a confident `self_harm` intent is `risk: high`.

INTENTS.md defines `self_harm` (wanting to die, a plan, self-injury, a farewell) as a
situation that is always `high`. The risk lexicon catches the words; the classifier
catches indirect phrasings the lexicon has no pattern for ("ngày mai sẽ không còn ai phải
lo cho tôi nữa"). Missing a high message is the worst error the system can make, so
either signal is enough, but not at any confidence: the classifier is also fairly sure of
self_harm for everyday messages that share its words (cắt tay áo, treo cờ, thuốc chuột
diệt chuột). So the intent alone must be very confident (`threshold`), while a lower
confidence is enough when the lexicon already saw something worrying (`elevated`:
`supported_threshold`). Measured on hand-written hard negatives (risk_cases) and fresh
indirect high messages, this kept nearly all of the net's recall with about half its
false highs.
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
ELEVATED = "elevated"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class SelfHarmRiskEscalation(GraphComponent):
    """Raise `risk` to `high` when the intent is `self_harm` with enough confidence."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # threshold: the intent alone; supported_threshold: when the lexicon said elevated
        return {"intents": ["self_harm"], "threshold": 0.75, "supported_threshold": 0.6}

    def __init__(self, config: dict[str, Any]) -> None:
        self.intents = set(config["intents"])
        self.threshold = float(config["threshold"])
        self.supported_threshold = float(config["supported_threshold"])

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
            needed = self.supported_threshold if message.get("risk") == ELEVATED else self.threshold
            if (intent.get("confidence") or 0.0) >= needed:
                message.set("risk", HIGH, add_to_output=True)
                matches = list(message.get("risk_matches") or [])
                message.set(
                    "risk_matches", [*matches, f"intent:{intent['name']}"], add_to_output=True
                )
        return messages
