"""Learned safety net for risk: raise `risk` to `high` when a classifier is sure enough.

The lexicon (`nlu.risk`) is precise on the phrasings it was written for but misses new
writers' wordings. This component is a logistic regression predicting P(high) (multinomial
over none / elevated / high, so the elevated near misses are a class of their own) from TF-IDF
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
alarms for recall. With 15 writers (8,711 lines, 1,405 high): lexicon alone 76.1% / 1.4%;
the binary (high vs not) net at C=16, threshold 0.8 92.1% / 2.0% (0.9: 89.6% / 1.7%);
the three-level net at C=32, threshold 0.7 93.4% / 2.0% (0.9: 89.6% / 1.6%); at C=64,
threshold 0.7 93.7% / 2.0% (0.8: 92.4% / 1.9%; 0.9: 90.2% / 1.7%), the current setting.
Tried and not kept, no better at 1.7–2.0% false high or not worth a second view: class
weights favouring elevated as hard negatives, three levels unweighted, C=8, word n-grams
of the accented normal form (alone, concatenated, averaged), a calibrated LinearSVC.

Place it after `nlu.intent_risk.SelfHarmRiskEscalation`. It sets `risk` to `high` and
appends `learned_risk` to `risk_matches` when P(high) >= `threshold`. The fitted model is
kept in the Rasa model twice: the scikit-learn pipeline (for analysis and tests) and the
plain tables `nlu.risk_scorer` scores with, here and in the gateway. Validate with

    python -m nlu.risk_model [--C 64]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
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
from nlu.paths import REPO_ROOT
from nlu.risk_scorer import CHAR_WB, TABLES_FILE, TABLES_FORMAT, WORD, RiskScorer, risk_view

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
    """TF-IDF of syllables and characters, class-balanced (multinomial) logistic regression
    over the levels it is fitted on (none / elevated / high)."""
    features = text_features(config)
    # balanced: high messages are a minority once the implied `none` examples are added
    classifier = LogisticRegression(C=config["C"], class_weight="balanced", max_iter=3000)
    return Pipeline([("features", features), ("classifier", classifier)])


def high_probabilities(model: Pipeline, views: Sequence[str]) -> np.ndarray:
    """P(high) of each view from a fitted `build_model` pipeline."""
    classes = list(model.named_steps["classifier"].classes_)
    return model.predict_proba(list(views))[:, classes.index(HIGH)]


def training_levels(
    cases: Sequence[tuple[str, str]],
    examples: Sequence[Message],
    high_intents: Iterable[str],
    none_intents: Iterable[str],
) -> tuple[list[str], list[str]]:
    """Views and levels (none / elevated / high) from labelled cases and intent-implied NLU
    examples. The model learns all three: elevated lines are the near misses of high, and
    lumping them with `none` blurs the boundary that matters."""
    high_intents, none_intents = set(high_intents), set(none_intents)
    views = [risk_view(text) for text, _ in cases]
    levels = [risk for _, risk in cases]
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
                levels.append(HIGH if intent in high_intents else "none")
    return views, levels


def training_pairs(
    cases: Sequence[tuple[str, str]],
    examples: Sequence[Message],
    high_intents: Iterable[str],
    none_intents: Iterable[str],
) -> tuple[list[str], list[int]]:
    """Views and binary labels (1: high): `training_levels` seen as high vs not high."""
    views, levels = training_levels(cases, examples, high_intents, none_intents)
    return views, [int(level == HIGH) for level in levels]


def scorer_tables(pipeline: Pipeline, threshold: float) -> dict[str, Any]:
    """A fitted `build_model` pipeline as the plain tables `nlu.risk_scorer.RiskScorer`
    scores with (no scikit-learn needed there, nor its per-call validation and sparse
    matrices: about 2.5 ms a message through the pipeline, a tenth of that from the
    tables). Per n-gram: its idf and idf × weight for each of the classifier's scores."""
    classifier = pipeline.named_steps["classifier"]
    classes = list(classifier.classes_)
    if HIGH not in classes:
        raise ValueError("the risk model was fitted without high examples")
    # one row of weights per score: a binary fit has one (for classes_[1]), a multinomial
    # one per class
    weights = np.atleast_2d(classifier.coef_)
    parts, offset = [], 0
    for _, vectorizer in pipeline.named_steps["features"].transformer_list:
        _check_scorable(vectorizer)
        size = len(vectorizer.vocabulary_)
        idf = vectorizer.idf_
        weighted = (weights[:, offset : offset + size] * idf).T.tolist()  # per n-gram
        grams = {gram: [float(idf[i]), weighted[i]] for gram, i in vectorizer.vocabulary_.items()}
        parts.append(
            {
                "analyzer": vectorizer.analyzer,
                "ngram_range": list(vectorizer.ngram_range),
                "grams": grams,
            }
        )
        offset += size
    return {
        "format": TABLES_FORMAT,
        "intercepts": [float(b) for b in np.ravel(classifier.intercept_)],
        "high": classes.index(HIGH),
        "threshold": float(threshold),
        "parts": parts,
    }


def _check_scorable(vectorizer: Any) -> None:
    """The tables reproduce only what `RiskScorer` implements: fail at training, not later."""
    supported = (
        vectorizer.analyzer in (WORD, CHAR_WB)
        and vectorizer.lowercase
        and vectorizer.preprocessor is None
        and vectorizer.tokenizer is None
        and not vectorizer.strip_accents
        and vectorizer.stop_words is None
        and vectorizer.sublinear_tf
        and vectorizer.use_idf
        and vectorizer.norm == "l2"
        and (vectorizer.analyzer != WORD or vectorizer.token_pattern == r"\S+")
    )
    if not supported:
        raise ValueError(f"the risk scorer cannot reproduce {vectorizer!r}")


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
            "threshold": 0.7,
            "C": 64.0,
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
        scorer: RiskScorer | None = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self.threshold = float(self.config["threshold"])
        self._model_storage = model_storage
        self._resource = resource
        self.model = model
        self._scorer = scorer

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
        texts, levels = training_levels(
            cases,
            training_data.training_examples,
            self.config["high_intents"],
            self.config["none_intents"],
        )
        if HIGH not in levels or set(levels) == {HIGH}:
            logger.warning("Risk data has high or non-high examples only: nothing to learn.")
            return self._resource
        self.model = build_model(self.config)
        self.model.fit(texts, np.asarray(levels))
        tables = scorer_tables(self.model, self.threshold)
        self._scorer = RiskScorer.from_tables(tables)
        save_model(self._model_storage, self._resource, MODEL_FILE, self.model)
        # the tables score in Rasa, and in the gateway (no scikit-learn there), which reads
        # them out of the model archive
        with self._model_storage.write_to(self._resource) as directory:
            (Path(directory) / TABLES_FILE).write_text(json.dumps(tables), encoding="utf-8")
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
        scorer = None
        try:
            with model_storage.read_from(resource) as directory:
                tables = json.loads((Path(directory) / TABLES_FILE).read_text(encoding="utf-8"))
            scorer = RiskScorer.from_tables(tables)
        except (ValueError, FileNotFoundError):
            logger.warning("No trained risk model in the model; the lexicon decides alone.")
        return cls(config, model_storage, resource, model, scorer)

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
    thresholds: Sequence[float] = (0.5, 0.6, 0.7, 0.72, 0.75, 0.8, 0.85, 0.9),
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
        views, levels = training_levels(
            cases, examples, config["high_intents"], config["none_intents"]
        )
        model = build_model(config).fit(views, np.asarray(levels))
        tested = read_cases(held_out)
        gold_all += [risk == HIGH for _, risk in tested]
        lexicon_all += [assess_risk(text).level == HIGH for text, _ in tested]
        probability_all += list(high_probabilities(model, [risk_view(t) for t, _ in tested]))
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
