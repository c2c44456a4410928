"""Train the production model: augment the NLU data, then `rasa train`.

Usage (in the Rasa environment, repository root on PYTHONPATH):
    python -m nlu.train [--out models] [--force]

The augmented data is written to `build/data/nlu.yml` (never to `nlu/data/`); Rasa's
own fingerprinting skips training when data, domain and config have not changed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Collection
from pathlib import Path

from nlu.paths import (
    BOT_DIR,
    BUILD_DIR,
    MODEL_NAME,
    MODELS_DIR,
    TRAIN_DATA_DIR,
    WRITERS_DATA_DIR,
)
from nlu.quiet import quiet_rasa


def load_training_data(
    data_dir: Path = TRAIN_DATA_DIR,
    writers_dir: Path = WRITERS_DATA_DIR,
    exclude_writers: Collection[str] = (),
):
    """All hand-written NLU examples, one TrainingData: the Rasa YAML files of `data_dir`
    and the writers' JSON-lines files of `writers_dir` (except those named in
    `exclude_writers`, by file stem: a writer held out to measure generalization)."""
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData

    files = sorted(data_dir.glob("*.yml"))
    if not files:
        raise SystemExit(f"No training data in {data_dir}")
    examples = list(load_data(str(data_dir)).training_examples)
    for path in writer_files(writers_dir):
        if path.stem not in exclude_writers:
            examples += read_writer_examples(path)
    return TrainingData(training_examples=examples)


def writer_files(writers_dir: Path = WRITERS_DATA_DIR) -> list[Path]:
    return sorted(writers_dir.glob("*.jsonl")) if writers_dir.is_dir() else []


def read_writer_examples(path: Path) -> list:
    """A writer's lines as Rasa messages (intent and register); a bad line stops with the
    file and line number."""
    from rasa.shared.nlu.training_data.message import Message

    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text, intent, register = row["text"], row["intent"], row["register"]
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise SystemExit(f"{path.name}:{number}: bad training line ({error})") from None
        if not isinstance(text, str) or not text.strip() or not isinstance(intent, str):
            raise SystemExit(f"{path.name}:{number}: needs a text and an intent")
        examples.append(
            Message(
                data={
                    "text": text,
                    "intent": intent,
                    "metadata": {"intent": {"register": register}},
                }
            )
        )
    return examples


def write_augmented(training_data, target: Path) -> int:
    """Write the augmented examples as Rasa YAML; returns how many were written."""
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter

    from nlu.augment import augment

    augmented = augment(training_data)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(RasaYAMLWriter().dumps(augmented), encoding="utf-8")
    return len(augmented.training_examples)


def train(out: Path = MODELS_DIR, force: bool = False, config: Path | None = None) -> Path:
    """Train (or reuse) the model; returns the model file."""
    from rasa.api import train as rasa_train

    data_file = BUILD_DIR / "data" / "nlu.yml"
    count = write_augmented(load_training_data(), data_file)
    print(f"[train] {count} NLU examples after augmentation -> {data_file}", flush=True)
    started = time.perf_counter()
    result = rasa_train(
        domain=str(BOT_DIR / "domain"),
        config=str(config or BOT_DIR / "config.yml"),
        training_files=[str(data_file), str(BOT_DIR / "data")],
        output=str(out),
        fixed_model_name=MODEL_NAME,
        force_training=force,
    )
    if result.code != 0 or not result.model:
        raise SystemExit(f"Training failed (code {result.code}).")
    print(
        f"[train] model {result.model} ready in {time.perf_counter() - started:.0f} s", flush=True
    )
    return Path(result.model)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=MODELS_DIR)
    parser.add_argument("--force", action="store_true", help="train even if nothing changed")
    args = parser.parse_args(argv)
    quiet_rasa()
    train(args.out, args.force)


if __name__ == "__main__":
    sys.exit(main())
