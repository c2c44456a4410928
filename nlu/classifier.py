"""Intent classifier for Rasa 3.6: TF-IDF on diacritic-free syllables and characters, linear SVM.

Why not Rasa's stock classifiers: DIET needs many epochs (about 30 s each on these
machines for a few thousand examples) and still confuses registers it saw little of;
count vectors with logistic regression weigh frequent chat words too much. Measured on
the held-out set, sub-linear TF-IDF over the tokenizer's diacritic-free lemmas (syllable
uni- and bigrams plus character 2–5-grams) with a linear SVM is both the most accurate
and trains in seconds (`bench/nlu_compare.py`).

Confidences come from cross-validated sigmoid calibration, so the FallbackClassifier's
threshold means "probably not understood". The NLU risk level (`nlu.risk`) is added as
one more word, because wanting to die and a figure of speech share most of their words
but not their risk.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT, TEXT_TOKENS
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline, make_union
from sklearn.svm import LinearSVC

logger = logging.getLogger(__name__)

MODEL_FILE = "intent_classifier.joblib"
RISK_KEY = "risk"


def message_view(message: Message, use_risk: bool) -> str:
    """The diacritic-free syllables the classifier reads, plus the risk level as a word.

    Syllables rather than segmented words: underthesea segments unaccented text
    differently (`toi danh` may become one word), and the view must be the same
    whether or not the person typed diacritics. Word bigrams restore the compounds.
    """
    tokens = message.get(TEXT_TOKENS) or []
    words = [syllable for t in tokens for syllable in t.lemma.split("_")]
    risk = message.get(RISK_KEY)
    if use_risk and risk:
        words.append(f"risk{risk}")
    return " ".join(words)


def text_features(config: dict[str, Any]) -> Any:
    """TF-IDF of syllable n-grams and of character n-grams within words (the intent
    classifier's features; the learned risk model reads the text the same way)."""
    return make_union(
        TfidfVectorizer(
            analyzer="word",
            token_pattern=r"\S+",
            ngram_range=tuple(config["word_ngrams"]),
            sublinear_tf=True,
        ),
        TfidfVectorizer(
            analyzer="char_wb", ngram_range=tuple(config["char_ngrams"]), sublinear_tf=True
        ),
    )


def save_model(model_storage: ModelStorage, resource: Resource, name: str, model: Any) -> None:
    """Keep a fitted scikit-learn object with the Rasa model."""
    with model_storage.write_to(resource) as directory:
        joblib.dump(model, Path(directory) / name)


def load_model(model_storage: ModelStorage, resource: Resource, name: str) -> Any | None:
    """The object `save_model` kept, or None when the model was trained without it."""
    try:
        with model_storage.read_from(resource) as directory:
            return joblib.load(Path(directory) / name)
    except (ValueError, FileNotFoundError):
        return None


def build_pipeline(config: dict[str, Any], smallest_class: int) -> Pipeline:
    """The TF-IDF features and the (calibrated when possible) linear SVM."""
    features = text_features(config)
    svm = LinearSVC(C=config["C"], random_state=config["random_state"])
    folds = min(config["calibration_folds"], smallest_class)
    # calibration needs every intent in every fold; tiny test data sets go without
    classifier = CalibratedClassifierCV(svm, cv=folds, ensemble=False) if folds >= 2 else svm
    return Pipeline([("features", features), ("classifier", classifier)])


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class VietnameseIntentClassifier(GraphComponent, IntentClassifier):
    """Linear SVM over TF-IDF of diacritic-free words and characters (see module docstring)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "word_ngrams": [1, 2],
            "char_ngrams": [2, 5],
            "C": 0.5,
            "calibration_folds": 3,
            "use_risk": True,
            "ranking_length": 10,
            "random_state": 2025,
        }

    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        pipeline: Pipeline | None = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.pipeline = pipeline

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> VietnameseIntentClassifier:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Fit on every example that has an intent and text."""
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        labels = [e.get(INTENT) for e in examples]
        if len(set(labels)) < 2:
            logger.warning("Fewer than two intents in the training data: nothing to learn.")
            return self._resource
        smallest = min(labels.count(label) for label in set(labels))
        self.pipeline = build_pipeline(self.config, smallest)
        texts = [message_view(e, self.config["use_risk"]) for e in examples]
        # an array, not a list: sklearn 1.1's calibration compares labels element-wise
        self.pipeline.fit(texts, np.asarray(labels))
        save_model(self._model_storage, self._resource, MODEL_FILE, self.pipeline)
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> VietnameseIntentClassifier:
        pipeline = load_model(model_storage, resource, MODEL_FILE)
        if pipeline is None:
            logger.warning("No trained intent classifier in the model; intents will be empty.")
        return cls(config, model_storage, resource, pipeline)

    def process(self, messages: list[Message]) -> list[Message]:
        """Set `intent` and `intent_ranking` on each message."""
        for message in messages:
            intent, ranking = self._predict(message)
            message.set(INTENT, intent, add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages

    def _predict(self, message: Message):
        view = message_view(message, self.config["use_risk"])
        if self.pipeline is None or not view.strip():
            return {"name": None, "confidence": 0.0}, []
        scores = self._scores(view)
        labels = self.pipeline.classes_
        order = np.argsort(scores)[::-1][: self.config["ranking_length"]]
        ranking = [{"name": str(labels[i]), "confidence": float(scores[i])} for i in order]
        return ranking[0], ranking

    def _scores(self, view: str) -> np.ndarray:
        classifier = self.pipeline.named_steps["classifier"]
        if hasattr(classifier, "predict_proba"):
            return self.pipeline.predict_proba([view])[0]
        # uncalibrated SVM (tiny data): softmax of the margins as a rough confidence
        margins = self.pipeline.decision_function([view])[0]
        exp = np.exp(margins - margins.max())
        return exp / exp.sum()
