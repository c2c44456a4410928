"""Learned safety net for risk: raise `risk` to `high` when a classifier is sure enough.

The lexicon (`nlu.risk`) is precise on the phrasings it was written for but misses new
writers' wordings. This component is a logistic regression predicting P(high) from TF-IDF
of the normalized, diacritic-free text (syllable uni- and bigrams, character 2–5-grams,
as the intent classifier reads it), trained at `rasa train` on the labelled risk cases
(`data/risk_cases.jsonl`: high / elevated / none, the hard negatives included) plus the
NLU examples whose risk their intent implies (`self_harm` is high; greetings, questions
about the service and other everyday intents are none).

It only ever RAISES a level, never lowers it. Chosen by leaving each writer out in turn
(`python -m nlu.risk_model`). On five writers' files (2,625 lines, 466 high) the lexicon
alone caught 78.1% of the high lines at 2.1% false high; with this net at C=4, threshold
0.93 (the earlier setting) 88.0% at 2.5%; at C=16, threshold 0.8 93.3% at 3.1%. With
eight writers (4,272 lines, 722 high) and the lexicon's guards revised on them: lexicon
78.5% / 1.0%, lexicon OR net at 0.8 92.9% / 1.9% (0.5: 96.1% / 3.3%). Missing a high
message is the worst error the hotline can make, so the threshold trades some false
alarms for recall.

Place it after `nlu.intent_risk.SelfHarmRiskEscalation`. It sets `risk` to `high` and
appends `learned_risk` to `risk_matches` when P(high) >= `threshold`. Validate with

    python -m nlu.risk_model [--C 16]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from nlu.classifier import load_model, save_model, text_features
from nlu.normalize import fold, normalize_text
from nlu.paths import REPO_ROOT

logger = logging.getLogger(__name__)

MODEL_FILE = "risk_model.joblib"
HIGH = "high"
LEVELS = ("none", "elevated", "high")
MATCH_ID = "learned_risk"
# labelled cases; a pattern stands for the files it matches (the writers' training lines
# carry a risk label too)
DEFAULT_DATA_FILES = [
    "nlu/data/risk_cases.jsonl",
    "nlu/data/risk_fresh.jsonl",
    "nlu/data/writers/*.jsonl",
]
# intents whose examples are never a danger to life: what a `none` message looks like
NONE_INTENTS = [
    "greet",
    "goodbye",
    "thank",
    "affirm",
    "deny",
    "bot_challenge",
    "ask_capabilities",
    "ask_privacy",
    "request_data_deletion",
    "request_human",
    "inform_location",
    "inform_phone",
    "check_ticket_status",
    "out_of_scope",
    "find_service",
    "volunteer_donate",
    "social_allowance",
    "hiv_support",
    "legal_aid",
    "disability_support",
    "elderly_care",
]


class RiskDataError(ValueError):
    """A risk data file is missing or does not hold {text, risk} lines."""


def risk_view(text: str) -> str:
    """What the model reads: the normal form (teencode expanded), without diacritics."""
    return fold(normalize_text(text))


def read_cases(path: Path) -> list[tuple[str, str]]:
    """(text, risk) pairs of a JSON-lines file; a bad line stops with file and line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise RiskDataError(f"risk data {path}: cannot read ({error})") from error
    cases = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text, risk = row["text"], row["risk"]
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise RiskDataError(f"{path.name}:{number}: bad line ({error})") from None
        if not isinstance(text, str) or risk not in LEVELS:
            raise RiskDataError(f"{path.name}:{number}: needs a text and a risk in {LEVELS}")
        cases.append((text, risk))
    return cases


def resolve(paths: Iterable[str]) -> list[Path]:
    """Configured data files; relative paths are relative to the repository root, and a
    pattern with `*` stands for the files it matches (none is not an error)."""
    found: list[Path] = []
    for name in paths:
        path = Path(name) if Path(name).is_absolute() else REPO_ROOT / name
        found += sorted(path.parent.glob(path.name)) if "*" in path.name else [path]
    return found


def build_model(config: dict[str, Any]) -> Pipeline:
    """TF-IDF of syllables and characters, class-balanced logistic regression."""
    features = text_features(config)
    # balanced: high messages are a minority once the implied `none` examples are added
    classifier = LogisticRegression(C=config["C"], class_weight="balanced", max_iter=2000)
    return Pipeline([("features", features), ("classifier", classifier)])


def training_pairs(
    cases: Sequence[tuple[str, str]],
    examples: Sequence[Message],
    high_intents: Iterable[str],
    none_intents: Iterable[str],
) -> tuple[list[str], list[int]]:
    """Views and labels (1: high) from labelled cases and intent-implied NLU examples."""
    high_intents, none_intents = set(high_intents), set(none_intents)
    views = [risk_view(text) for text, _ in cases]
    labels = [int(risk == HIGH) for _, risk in cases]
    # A labelled case decides its own text: the intent's implied level must not contradict
    # it (a teacher asking for suicide-prevention leaflets is self_harm, risk none), nor
    # its unaccented and teencode copies, which share its view.
    labelled = set(views)
    for example in examples:
        text, intent = example.get(TEXT), example.get(INTENT)
        if not isinstance(text, str) or not text.strip():
            continue
        if intent in high_intents or intent in none_intents:
            view = risk_view(text)
            if view not in labelled:
                views.append(view)
                labels.append(int(intent in high_intents))
    return views, labels


class FastScorer:
    """P(high) of one text from a fitted `build_model` pipeline, without sklearn's per-call
    validation and sparse-matrix building (about 2.5 ms a message through the pipeline,
    a tenth of that here): the same n-grams, sublinear TF-IDF, L2 norm per vectorizer and
    logistic function, with plain dictionaries."""

    def __init__(self, pipeline: Pipeline) -> None:
        classifier = pipeline.named_steps["classifier"]
        weights = classifier.coef_.ravel()
        self.intercept = float(classifier.intercept_[0])
        self.parts = []
        offset = 0
        for _, vectorizer in pipeline.named_steps["features"].transformer_list:
            size = len(vectorizer.vocabulary_)
            part_weights = weights[offset : offset + size]
            idf = vectorizer.idf_
            # per n-gram: (idf, idf * weight), so a message costs one lookup per n-gram
            table = {
                gram: (float(idf[i]), float(idf[i] * part_weights[i]))
                for gram, i in vectorizer.vocabulary_.items()
            }
            self.parts.append((vectorizer.build_analyzer(), table))
            offset += size

    def probability(self, view: str) -> float:
        score = self.intercept
        for analyze, table in self.parts:
            counts: dict[str, int] = {}
            for gram in analyze(view):
                if gram in table:
                    counts[gram] = counts.get(gram, 0) + 1
            squares = dot = 0.0
            for gram, count in counts.items():
                idf, weighted = table[gram]
                tf = 1.0 + math.log(count)  # sublinear_tf
                squares += (tf * idf) ** 2
                dot += tf * weighted
            if squares:
                score += dot / math.sqrt(squares)
        return 1.0 / (1.0 + math.exp(-score))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LearnedRiskEscalation(GraphComponent):
    """Raise `risk` to `high` when the learned P(high) reaches `threshold` (never lowers)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # labelled {text, risk} JSON lines, relative to the repository root
            "data_files": DEFAULT_DATA_FILES,
            # NLU examples of these intents are high / none (the others say nothing)
            "high_intents": ["self_harm"],
            "none_intents": NONE_INTENTS,
            "threshold": 0.8,
            "C": 16.0,
            "word_ngrams": [1, 2],
            "char_ngrams": [2, 5],
        }

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """The data files' contents: Rasa retrains when they change, not only the NLU data."""
        digest = hashlib.sha256()
        for path in resolve(config.get("data_files") or DEFAULT_DATA_FILES):
            digest.update(str(path).encode())
            digest.update(path.read_bytes() if path.is_file() else b"<missing>")
        return digest.hexdigest()

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Pipeline | None = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self.threshold = float(self.config["threshold"])
        self._model_storage = model_storage
        self._resource = resource
        self.model = model
        self._scorer = FastScorer(model) if model is not None else None

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LearnedRiskEscalation:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Fit on the configured data files and the intent-implied NLU examples."""
        cases = [c for path in resolve(self.config["data_files"]) for c in read_cases(path)]
        texts, labels = training_pairs(
            cases,
            training_data.training_examples,
            self.config["high_intents"],
            self.config["none_intents"],
        )
        if len(set(labels)) < 2:
            logger.warning("Risk data has high or non-high examples only: nothing to learn.")
            return self._resource
        self.model = build_model(self.config)
        self.model.fit(texts, np.asarray(labels))
        self._scorer = FastScorer(self.model)
        save_model(self._model_storage, self._resource, MODEL_FILE, self.model)
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LearnedRiskEscalation:
        model = load_model(model_storage, resource, MODEL_FILE)
        if model is None:
            logger.warning("No trained risk model in the model; the lexicon decides alone.")
        return cls(config, model_storage, resource, model)

    def probability(self, text: Any) -> float | None:
        """P(high) of one text; None without a model or without words."""
        if self._scorer is None or not isinstance(text, str):
            return None
        view = risk_view(text)
        if not view.strip():
            return None
        return self._scorer.probability(view)

    def process(self, messages: list[Message]) -> list[Message]:
        """Raise `risk` to high where the model is sure enough; nothing else changes."""
        for message in messages:
            if message.get("risk") == HIGH:
                continue
            try:
                probability = self.probability(message.get(TEXT))
            except Exception:  # a broken model must not take a conversation down
                logger.exception("learned risk model failed; keeping the lexicon's level")
                continue
            if probability is not None and probability >= self.threshold:
                message.set("risk", HIGH, add_to_output=True)
                matches = list(message.get("risk_matches") or [])
                message.set("risk_matches", [*matches, MATCH_ID], add_to_output=True)
        return messages


# --- cross-validation --------------------------------------------------------------------


def validate_by_writer(
    config: dict[str, Any] | None = None,
    thresholds: Sequence[float] = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93),
) -> None:
    """Leave one writer out: for each writer's file, P(high) of their lines from a model
    trained on everything else (their lines out of the cases and of the implied NLU
    examples); prints recall of high and false-high rate, lexicon alone and lexicon OR
    model, per threshold — how the net does on a person whose wording it never saw."""
    from nlu.augment import augment
    from nlu.risk import assess_risk
    from nlu.train import load_training_data, writer_files

    config = {**LearnedRiskEscalation.get_default_config(), **(config or {})}
    gold_all, lexicon_all, probability_all = [], [], []
    for held_out in writer_files():
        cases = [c for p in resolve(config["data_files"]) if p != held_out for c in read_cases(p)]
        examples = augment(load_training_data(exclude_writers={held_out.stem})).training_examples
        views, labels = training_pairs(
            cases, examples, config["high_intents"], config["none_intents"]
        )
        model = build_model(config).fit(views, np.asarray(labels))
        tested = read_cases(held_out)
        gold_all += [risk == HIGH for _, risk in tested]
        lexicon_all += [assess_risk(text).level == HIGH for text, _ in tested]
        probability_all += list(model.predict_proba([risk_view(t) for t, _ in tested])[:, 1])
        print(f"[by-writer] {held_out.stem} done", file=sys.stderr, flush=True)
    gold, lexicon = np.array(gold_all), np.array(lexicon_all)
    probability = np.array(probability_all)
    print(
        f"each writer left out in turn, {len(gold)} lines ({gold.sum()} high): recall / false high"
    )
    print(f"  lexicon alone                {_rates(lexicon, gold)}")
    for t in thresholds:
        print(f"  t={t:.2f}  lexicon OR model  {_rates(lexicon | (probability >= t), gold)}")


def _rates(predicted: np.ndarray, gold: np.ndarray) -> str:
    recall = predicted[gold].mean()
    false_high = predicted[~gold].mean()
    return f"{recall:6.1%} / {false_high:5.1%}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Validate the learned risk model by writer.")
    parser.add_argument("--C", type=float, default=None, help="try another regularization")
    args = parser.parse_args(argv)
    validate_by_writer({"C": args.C} if args.C else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
