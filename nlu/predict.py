"""Parse messages with the trained model, no server needed.

Usage (in the Rasa environment, repository root on PYTHONPATH):
    echo '{"text": "ck e hay đánh e"}' | python -m nlu.predict [--model models/hotline.tar.gz]

Reads JSON lines `{"text": "..."}` on stdin and writes one JSON line per input, in the
same order, on stdout:
    {"text": ..., "intent": ..., "confidence": ..., "risk": ..., "entities": [{"entity": ..., "value": ...}]}
A line that is not such an object gets `{"text": null, "error": "..."}` in its place, so
the output always lines up with the input.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from nlu.paths import MODEL_ARCHIVE, MODELS_DIR
from nlu.quiet import quiet_rasa

FALLBACK_INTENT = "nlu_fallback"
NO_MODEL_EXIT_CODE = 2


def find_model(explicit: Path | None = None) -> Path | None:
    """The model to use: the one given, else models/hotline.tar.gz, else the newest."""
    if explicit is not None:
        return explicit if explicit.is_file() else None
    preferred = MODELS_DIR / MODEL_ARCHIVE
    if preferred.is_file():
        return preferred
    models = sorted(MODELS_DIR.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def load_agent(model: Path):
    """Load the trained model's graph (NLU and policies) in this process."""
    quiet_rasa()
    from rasa.core.agent import Agent

    return Agent.load(str(model))


def summarize(parse_data: dict[str, Any]) -> dict[str, Any]:
    """The public shape of one parse: the classifier's best intent (the fallback
    classifier's `nlu_fallback` is a dialogue decision, not an intent), its confidence,
    the risk level and the entities."""
    ranking = [
        r for r in parse_data.get("intent_ranking") or [] if r.get("name") != FALLBACK_INTENT
    ]
    best = ranking[0] if ranking else parse_data.get("intent") or {}
    return {
        "text": parse_data.get("text"),
        "intent": best.get("name"),
        "confidence": round(float(best.get("confidence") or 0.0), 4),
        "risk": parse_data.get("risk", "none"),
        "entities": [
            {"entity": e["entity"], "value": e["value"]} for e in parse_data.get("entities") or []
        ],
    }


async def parse_texts(agent, texts: Iterable[str]) -> list[dict[str, Any]]:
    """Parse texts in order with an already loaded agent."""
    return [summarize(await agent.parse_message(text)) for text in texts]


def _read_request(line: str) -> str:
    """The text of one input line, or ValueError with a short reason."""
    try:
        request = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON ({error.msg})") from None
    if not isinstance(request, dict) or not isinstance(request.get("text"), str):
        raise ValueError('expected an object with a string "text"')
    return request["text"]


async def _run(agent, lines: Iterator[str], out: TextIO) -> None:
    for line in lines:
        if not line.strip():
            continue
        try:
            text = _read_request(line)
        except ValueError as error:
            result: dict[str, Any] = {"text": None, "error": str(error)}
        else:
            result = summarize(await agent.parse_message(text))
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
        out.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Parse JSON lines of messages with the trained model."
    )
    parser.add_argument("--model", type=Path, default=None, help="model file (default: models/)")
    args = parser.parse_args(argv)
    model = find_model(args.model)
    if model is None:
        where = args.model or MODELS_DIR
        print(f"No trained model found at {where}. Train one first: make train", file=sys.stderr)
        return NO_MODEL_EXIT_CODE
    agent = load_agent(model)
    asyncio.run(_run(agent, iter(sys.stdin), sys.stdout))
    return 0


if __name__ == "__main__":
    sys.exit(main())
