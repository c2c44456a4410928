"""Measure the NLU: intent accuracy (overall, per register), macro-F1, risk recall.

Usage (in the Rasa environment, repository root on PYTHONPATH):
    python -m nlu.evaluate [--model models/hotline.tar.gz] [--folds 5] [--json report.json]

Two measurements:
- held-out: the trained model on `nlu/data/heldout/*.jsonl` (written apart from the
  training data, then used to find weaknesses during development) and on
  `nlu/data/heldout_blind/*.jsonl` (written blind, never used for tuning); fields
  text, intent, register, risk: intent accuracy and macro-F1,
  accuracy per register, recall of `high` risk and the share of other messages wrongly
  marked `high`, and the worst confusions;
- cross-validation (`--folds N`): the training data split in N stratified folds; each
  fold's model is trained (with augmentation) on the other folds and tested on the
  fold's original sentences.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nlu.paths import (
    BLIND3_HELDOUT_DIR,
    BLIND4_HELDOUT_DIR,
    BLIND5_HELDOUT_DIR,
    BOT_DIR,
    HELDOUT_DIR,
)
from nlu.predict import find_model, load_agent, parse_texts

REGISTERS = ("acc", "noacc", "teen")


@dataclass
class Case:
    """One labelled message."""

    text: str
    intent: str
    register: str
    risk: str | None = None


@dataclass
class Report:
    """Figures of one evaluation run."""

    name: str
    total: int = 0
    accuracy: float = 0.0
    macro_f1: float = 0.0
    by_register: dict[str, float] = field(default_factory=dict)
    high_recall: float | None = None
    false_high_rate: float | None = None
    high_missed: list[str] = field(default_factory=list)
    false_high: list[str] = field(default_factory=list)
    confusions: list[list] = field(default_factory=list)


def load_heldout(directory: Path = HELDOUT_DIR) -> list[Case]:
    """All held-out cases of a folder's JSON-lines files."""
    return [case for path in sorted(directory.glob("*.jsonl")) for case in load_heldout_file(path)]


def load_heldout_file(path: Path) -> list[Case]:
    """A file's labelled cases; a malformed line stops with its file and line number."""
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            cases.append(Case(row["text"], row["intent"], row["register"], row.get("risk")))
        except (json.JSONDecodeError, KeyError) as error:
            raise SystemExit(f"{path.name}:{number}: bad held-out line ({error})") from None
    return cases


def score(name: str, cases: Sequence[Case], predictions: Sequence[dict]) -> Report:
    """Compare predictions with the labels."""
    from sklearn.metrics import f1_score

    gold = [c.intent for c in cases]
    predicted = [p["intent"] for p in predictions]
    correct = [g == p for g, p in zip(gold, predicted)]
    report = Report(name, total=len(cases))
    report.accuracy = sum(correct) / len(cases)
    report.macro_f1 = float(
        f1_score(gold, predicted, labels=sorted(set(gold)), average="macro", zero_division=0)
    )
    per_register: dict[str, list[bool]] = defaultdict(list)
    for case, ok in zip(cases, correct):
        per_register[case.register].append(ok)
    report.by_register = {r: sum(v) / len(v) for r, v in sorted(per_register.items())}
    confusions = Counter((g, p) for g, p in zip(gold, predicted) if g != p)
    report.confusions = [[g, p, n] for (g, p), n in confusions.most_common(12)]
    _score_risk(report, cases, predictions)
    return report


def _score_risk(report: Report, cases: Sequence[Case], predictions: Sequence[dict]) -> None:
    labelled = [(c, p) for c, p in zip(cases, predictions) if c.risk]
    high = [(c, p) for c, p in labelled if c.risk == "high"]
    other = [(c, p) for c, p in labelled if c.risk != "high"]
    if high:
        report.high_missed = [c.text for c, p in high if p["risk"] != "high"]
        report.high_recall = 1 - len(report.high_missed) / len(high)
    if other:
        report.false_high = [c.text for c, p in other if p["risk"] == "high"]
        report.false_high_rate = len(report.false_high) / len(other)


HELDOUT_SETS = {
    "held-out (development)": HELDOUT_DIR,
    "held-out (blind 3)": BLIND3_HELDOUT_DIR,
    "held-out (blind 4)": BLIND4_HELDOUT_DIR,
    "held-out (blind 5)": BLIND5_HELDOUT_DIR,
}


def evaluate_heldout(model: Path, names: Sequence[str] | None = None) -> list[Report]:
    """One report per held-out set that has data (those in `names`, or all)."""
    agent = load_agent(model)
    reports = []
    for name, directory in HELDOUT_SETS.items():
        if names is not None and name.removeprefix("held-out (").rstrip(")") not in names:
            continue
        cases = load_heldout(directory)
        if cases:
            predictions = asyncio.run(parse_texts(agent, [c.text for c in cases]))
            reports.append(score(name, cases, predictions))
    return reports


def _register_of(message) -> str:
    return ((message.get("metadata") or {}).get("intent") or {}).get("register", "acc")


def evaluate_cross_validation(folds: int) -> Report:
    """Stratified N-fold cross-validation with the production config."""
    from rasa.model_training import train_nlu
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from nlu.augment import augment
    from nlu.train import load_training_data

    examples = load_training_data().intent_examples
    by_intent: dict[str, list] = defaultdict(list)
    for message in examples:
        by_intent[message.get("intent")].append(message)
    cases: list[Case] = []
    predictions: list[dict] = []
    for fold in range(folds):
        train_part, test_part = [], []
        for messages in by_intent.values():
            for i, message in enumerate(messages):
                (test_part if i % folds == fold else train_part).append(message)
        with tempfile.TemporaryDirectory() as tmp:
            data_file = Path(tmp) / "nlu.yml"
            data_file.write_text(
                RasaYAMLWriter().dumps(augment(TrainingData(training_examples=train_part))),
                encoding="utf-8",
            )
            model = train_nlu(
                str(BOT_DIR / "config.yml"), str(data_file), tmp, fixed_model_name=f"fold{fold}"
            )
            agent = load_agent(Path(model))
            fold_cases = [Case(m.get("text"), m.get("intent"), _register_of(m)) for m in test_part]
            predictions += asyncio.run(parse_texts(agent, [c.text for c in fold_cases]))
            cases += fold_cases
        print(f"[cv] fold {fold + 1}/{folds} done", file=sys.stderr, flush=True)
    return score(f"{folds}-fold cross-validation", cases, predictions)


def evaluate_by_writer() -> list[Report]:
    """Leave one writer out: for each writer's file in `nlu/data/writers/`, a model trained
    on everything else (their lines left out of the intent data and of the risk model's
    cases) is tested on that writer's lines — how well the NLU generalizes to a person
    whose wording it has never seen, without spending a blind set."""
    from rasa.model_training import train_nlu
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter

    from nlu.augment import augment
    from nlu.risk_model import DEFAULT_DATA_FILES, resolve
    from nlu.train import load_training_data, writer_files

    reports = []
    for held_out in writer_files():
        with tempfile.TemporaryDirectory() as tmp:
            data_file = Path(tmp) / "nlu.yml"
            training = load_training_data(exclude_writers={held_out.stem})
            data_file.write_text(RasaYAMLWriter().dumps(augment(training)), encoding="utf-8")
            config = Path(tmp) / "config.yml"
            risk_files = [str(p) for p in resolve(DEFAULT_DATA_FILES) if p != held_out]
            config.write_text(_config_with_risk_files(risk_files), encoding="utf-8")
            model = train_nlu(str(config), str(data_file), tmp, fixed_model_name="writer")
            cases = load_heldout_file(held_out)
            predictions = asyncio.run(parse_texts(load_agent(Path(model)), [c.text for c in cases]))
        reports.append(score(f"writer left out: {held_out.stem}", cases, predictions))
        print(f"[by-writer] {held_out.stem} done", file=sys.stderr, flush=True)
    return reports


def _config_with_risk_files(risk_files: list[str]) -> str:
    """The production config, the learned risk model reading only `risk_files`."""
    import yaml

    config = yaml.safe_load((BOT_DIR / "config.yml").read_text(encoding="utf-8"))
    for component in config["pipeline"]:
        if component["name"].endswith("LearnedRiskEscalation"):
            component["data_files"] = risk_files
    return yaml.safe_dump(config, allow_unicode=True)


def format_report(report: Report) -> str:
    lines = [
        f"== {report.name}: {report.total} messages",
        f"intent accuracy   {report.accuracy:6.1%}    macro-F1 {report.macro_f1:.3f}",
        "by register       "
        + "   ".join(f"{r} {report.by_register.get(r, float('nan')):6.1%}" for r in REGISTERS),
    ]
    if report.high_recall is not None:
        lines.append(
            f"high-risk recall  {report.high_recall:6.1%}    missed: {len(report.high_missed)}"
        )
    if report.false_high_rate is not None:
        lines.append(
            f"false high        {report.false_high_rate:6.1%}    ({len(report.false_high)} messages)"
        )
    if report.confusions:
        lines.append("worst confusions (expected -> predicted: count)")
        lines += [f"  {g} -> {p}: {n}" for g, p, n in report.confusions]
    for text in report.high_missed:
        lines.append(f"  MISSED HIGH: {text}")
    for text in report.false_high:
        lines.append(f"  FALSE HIGH: {text}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Evaluate the NLU model.")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--folds", type=int, default=0, help="also cross-validate with N folds")
    parser.add_argument("--json", type=Path, default=None, help="write the figures as JSON")
    parser.add_argument(
        "--sets",
        nargs="+",
        choices=[name.removeprefix("held-out (").rstrip(")") for name in HELDOUT_SETS],
        help="held-out sets by short name, e.g. development 'blind 3' (default: all)",
    )
    parser.add_argument(
        "--by-writer", action="store_true", help="also leave each writer out in turn"
    )
    args = parser.parse_args(argv)
    model = find_model(args.model)
    if model is None:
        print("No trained model found. Train one first: make train", file=sys.stderr)
        return 2
    reports = evaluate_heldout(model, args.sets)
    for report in reports:
        print(format_report(report), flush=True)
    if args.by_writer:
        for report in evaluate_by_writer():
            reports.append(report)
            print(format_report(report), flush=True)
    if args.folds > 1:
        reports.append(evaluate_cross_validation(args.folds))
        print(format_report(reports[-1]), flush=True)
    if args.json:
        args.json.write_text(
            json.dumps([r.__dict__ for r in reports], ensure_ascii=False, indent=2),
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
