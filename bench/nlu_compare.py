"""Side-by-side benchmark of three NLU pipelines on the same data.

Usage (Rasa environment, repository root on PYTHONPATH; `make bench` does this):
    python bench/nlu_compare.py [--stock-epochs 100] [--skip-stock] [--json out.json]

Pipelines, all trained on the hand-written examples of `nlu/data/train/` and the writers'
lines of `nlu/data/writers/`, and tested on the held-out sets of `nlu.evaluate`
(development, blind 3, blind 4, blind 5):
- ours:   `bot/config.yml` (normalization, underthesea tokens, diacritic-free TF-IDF,
          calibrated linear SVM) with the training-time augmentation of `nlu.augment`;
- stock:  the `rasa init` pipeline (whitespace tokens, word and char_wb 1–4 count
          vectors, DIET for --stock-epochs epochs);
- tfidf:  a plain TF-IDF + linear SVM on the raw text (`underthesea_core.TextClassifier`).
Prints accuracy per register, training time and parse latency p50/p95 per message.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from nlu.evaluate import HELDOUT_SETS, Case, load_heldout  # noqa: E402
from nlu.paths import BOT_DIR  # noqa: E402
from nlu.quiet import quiet_rasa  # noqa: E402

STOCK_CONFIG = """
recipe: default.v1
language: vi
pipeline:
  - name: WhitespaceTokenizer
  - name: RegexFeaturizer
  - name: LexicalSyntacticFeaturizer
  - name: CountVectorsFeaturizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 1
    max_ngram: 4
  - name: DIETClassifier
    epochs: {epochs}
    constrain_similarities: true
  - name: EntitySynonymMapper
  - name: FallbackClassifier
    threshold: 0.3
    ambiguity_threshold: 0.1
policies: []
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def measure(predict: Callable[[str], str], cases: list[Case]) -> dict:
    """Accuracy per register and latency of one predictor on one held-out set."""
    latencies, by_register, correct = [], {}, 0
    for case in cases:
        started = time.perf_counter()
        intent = predict(case.text)
        latencies.append((time.perf_counter() - started) * 1000)
        ok = intent == case.intent
        correct += ok
        by_register.setdefault(case.register, []).append(ok)
    return {
        "accuracy": correct / len(cases),
        "by_register": {r: sum(v) / len(v) for r, v in sorted(by_register.items())},
        "p50_ms": statistics.median(latencies),
        "p95_ms": percentile(latencies, 0.95),
    }


def rasa_predictor(config: Path, data: Path, workdir: Path, name: str):
    """Train an NLU-only Rasa model; returns (predict function, training seconds)."""
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu

    started = time.perf_counter()
    model = train_nlu(str(config), str(data), str(workdir), fixed_model_name=name)
    seconds = time.perf_counter() - started
    agent = Agent.load(model)
    loop = asyncio.new_event_loop()

    def predict(text: str) -> str:
        parsed = loop.run_until_complete(agent.parse_message(text))
        ranking = [r for r in parsed.get("intent_ranking") or [] if r["name"] != "nlu_fallback"]
        return ranking[0]["name"] if ranking else (parsed.get("intent") or {}).get("name")

    return predict, seconds


def train_ours(workdir: Path):
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter

    from nlu.augment import augment
    from nlu.train import load_training_data

    started = time.perf_counter()
    data = workdir / "ours.yml"
    data.write_text(RasaYAMLWriter().dumps(augment(load_training_data())), encoding="utf-8")
    predict, _ = rasa_predictor(BOT_DIR / "config.yml", data, workdir, "ours")
    # augmentation is part of our training step: count it
    return predict, time.perf_counter() - started


def train_stock(workdir: Path, epochs: int):
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter

    from nlu.train import load_training_data

    config = workdir / "stock.yml"
    config.write_text(STOCK_CONFIG.format(epochs=epochs), encoding="utf-8")
    # the same hand-written examples as ours (YAML files and writers' lines), not augmented
    data = workdir / "stock_data.yml"
    data.write_text(RasaYAMLWriter().dumps(load_training_data()), encoding="utf-8")
    return rasa_predictor(config, data, workdir, "stock")


def train_tfidf():
    from underthesea_core import TextClassifier

    from nlu.train import load_training_data

    examples = load_training_data().intent_examples
    classifier = TextClassifier(ngram_range=(1, 2))
    started = time.perf_counter()
    classifier.fit([m.get("text") for m in examples], [m.get("intent") for m in examples])
    return classifier.predict, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stock-epochs", type=int, default=100)
    parser.add_argument("--skip-stock", action="store_true", help="DIET 100 epochs takes ~30 min")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    quiet_rasa()
    held_out = {name: load_heldout(path) for name, path in HELDOUT_SETS.items()}
    held_out = {name: cases for name, cases in held_out.items() if cases}
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        pipelines = {"ours": lambda: train_ours(Path(tmp)), "tfidf+svm": train_tfidf}
        if not args.skip_stock:
            pipelines["rasa stock"] = lambda: train_stock(Path(tmp), args.stock_epochs)
        for name, build in pipelines.items():
            print(f"[bench] training {name}...", file=sys.stderr, flush=True)
            predict, seconds = build()
            results[name] = {"train_s": seconds}
            for set_name, cases in held_out.items():
                results[name][set_name] = measure(predict, cases)
    print_table(results, list(held_out))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


def print_table(results: dict[str, dict], sets: list[str]) -> None:
    for set_name in sets:
        print(f"\n{set_name}")
        print(
            f"{'pipeline':12} {'all':>6} {'acc':>6} {'noacc':>6} {'teen':>6} {'train s':>8} {'p50 ms':>7} {'p95 ms':>7}"
        )
        for name, result in results.items():
            m = result[set_name]
            regs = m["by_register"]
            print(
                f"{name:12} {m['accuracy']:6.1%} {regs.get('acc', 0):6.1%} {regs.get('noacc', 0):6.1%} "
                f"{regs.get('teen', 0):6.1%} {result['train_s']:8.1f} {m['p50_ms']:7.1f} {m['p95_ms']:7.1f}"
            )


if __name__ == "__main__":
    sys.exit(main())
