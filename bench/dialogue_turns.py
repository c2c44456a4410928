"""Latency of full dialogue turns: Rasa, the action server, the database and back.

Usage: start the assistant (`make run`), then in another terminal
    .venv/bin/python bench/dialogue_turns.py [--conversations 10] [--rounds 5]

Each simulated person holds a conversation that goes through custom actions (a help
topic, the place form with the directory, the services search, a handoff with a
ticket) in the three registers; the conversations run concurrently. Prints p50/p95/max
per kind of turn and overall, straight to Rasa's REST channel.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

import httpx

SCRIPT = [
    ("topic", "chồng tôi hay đánh tôi mỗi khi say rượu"),
    ("place (form + directory)", "xa my hiep, huyen cao lanh, dong thap"),
    ("handoff (ticket)", "có, kết nối giúp tôi"),
    ("status (ticket lookup)", "yeu cau cua toi da co ai nhan chua"),
    ("topic (teencode)", "e bị tụi bạn bắt nạt hoài ko dám đi học"),
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def converse(client: httpx.AsyncClient, url: str, rounds: int, timings: dict) -> None:
    for _ in range(rounds):
        sender = f"bench-{uuid.uuid4().hex[:10]}"
        for kind, text in SCRIPT:
            started = time.perf_counter()
            response = await client.post(url, json={"sender": sender, "message": text})
            response.raise_for_status()
            timings.setdefault(kind, []).append((time.perf_counter() - started) * 1000)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rasa-url", default="http://127.0.0.1:5005")
    parser.add_argument("--conversations", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    url = f"{args.rasa_url}/webhooks/rest/webhook"
    timings: dict[str, list[float]] = {}
    async with httpx.AsyncClient(timeout=30) as client:
        await converse(client, url, 1, {})  # warm up models and connections
        started = time.perf_counter()
        await asyncio.gather(
            *(converse(client, url, args.rounds, timings) for _ in range(args.conversations))
        )
        elapsed = time.perf_counter() - started
    everything = [t for values in timings.values() for t in values]
    print(f"{args.conversations} concurrent conversations, {len(everything)} turns in {elapsed:.1f} s")
    print(f"{'turn':28} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for kind, values in [*timings.items(), ("all turns", everything)]:
        print(
            f"{kind:28} {len(values):5d} {statistics.median(values):8.1f} "
            f"{percentile(values, 0.95):8.1f} {max(values):8.1f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
