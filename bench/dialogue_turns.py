"""Latency of full dialogue turns (issue 4): Rasa, the action server, the database and back.

Usage:
    .venv/bin/python bench/dialogue_turns.py        # starts `hotline run` on spare ports
    .venv/bin/python bench/dialogue_turns.py --rasa-url http://127.0.0.1:5005   # a running one
    options: --conversations 1 10  --rounds 3  --think 1 3  --seed 2025  --loads closed think

Each simulated line carries `--rounds` people one after another; each person holds a
conversation of five turns that go through custom actions (a help topic, the place
form with the directory, the services search, a handoff with a ticket, a ticket
lookup) in the three registers, straight to Rasa's REST channel. For each number
of people it runs both load models of bench/loadgen.py:
- closed loop: the next message goes the moment the reply arrives (the worst case; its
  messages per second are the capacity of the machine for these turns);
- think time: a seeded random pause of 1-3 s between a reply and the next message, the
  load that many people in real conversations make.
It prints p50/p95/max per kind of turn and overall, and the messages per second.
Started by this script, the assistant runs from the model in MODELS_DIR (default
models/) with databases in a temporary folder; the target is p95 <= 150 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from pathlib import Path

import httpx
from loadgen import (
    HEADER,
    PORTS,
    LoadResult,
    label,
    load_average,
    print_table,
    row,
    run_load,
    start_assistant,
    stop_assistant,
    wait_healthy,
)

SCRIPT = [
    ("topic", "chồng tôi hay đánh tôi mỗi khi say rượu"),
    ("place (form + directory)", "xa my hiep, huyen cao lanh, dong thap"),
    ("handoff (ticket)", "có, kết nối giúp tôi"),
    ("status (ticket lookup)", "yeu cau cua toi da co ai nhan chua"),
    ("topic (teencode)", "e bị tụi bạn bắt nạt hoài ko dám đi học"),
]
TARGET_P95_MS = 150.0


def rest_channel(rasa_url: str):
    url = f"{rasa_url}/webhooks/rest/webhook"

    async def send(client: httpx.AsyncClient, sender: str, text: str) -> None:
        response = await client.post(url, json={"sender": sender, "message": text})
        response.raise_for_status()
        if not response.json():
            raise RuntimeError("Rasa answered nothing: is the action server up?")

    return send


async def measure(args: argparse.Namespace, rasa_url: str) -> None:
    send = rest_channel(rasa_url)
    # warm up: models, caches, connections
    await run_load(send, [SCRIPT, SCRIPT], think=None, tag="warm")
    print(f"machine load before the runs: {load_average()}")
    summary: list[tuple[str, LoadResult]] = []
    for conversations in args.conversations:
        for load in args.loads:
            think = tuple(args.think) if load == "think" else None
            result = await run_load(
                send,
                [SCRIPT * args.rounds] * conversations,
                think=think,  # type: ignore[arg-type]
                seed=args.seed,
                tag=f"turns-{load}",
                turns_per_sender=len(SCRIPT),
            )
            name = label(conversations, think)  # type: ignore[arg-type]
            print_table(name, result)
            summary.append((name, result))
    print(f"\nsummary (target: p95 <= {TARGET_P95_MS:.0f} ms at 10 conversations)")
    print(HEADER)
    for name, result in summary:
        print(row(name, result.latencies, result.per_second))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rasa-url", help="a running Rasa server (default: start one)")
    parser.add_argument("--conversations", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--rounds", type=int, default=3, help="people per line, one after another")
    parser.add_argument(
        "--loads", nargs="+", choices=("closed", "think"), default=["closed", "think"]
    )
    parser.add_argument("--think", type=float, nargs=2, default=[1.0, 3.0], metavar=("MIN", "MAX"))
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()
    if args.rasa_url:
        asyncio.run(measure(args, args.rasa_url.rstrip("/")))
        return
    with tempfile.TemporaryDirectory(prefix="bench-turns-") as name:
        folder, process, failed = Path(name), None, True
        try:
            process = start_assistant(folder)
            rasa_url = f"http://127.0.0.1:{PORTS['RASA_PORT']}"
            wait_healthy(
                [f"{rasa_url}/", f"http://127.0.0.1:{PORTS['ACTION_SERVER_PORT']}/health"],
                process,
            )
            asyncio.run(measure(args, rasa_url))
            failed = False
        finally:
            stop_assistant(process, folder, failed)


if __name__ == "__main__":
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    main()
