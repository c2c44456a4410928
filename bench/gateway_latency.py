"""What the gateway adds to a conversation turn (issue 5): its latency over calling Rasa's
REST channel directly, at 1 and 20 concurrent conversations (p50, p95, max), and the
sustained messages per second through the gateway.

Usage:
    .venv/bin/python bench/gateway_latency.py                 # starts `hotline run` on spare ports
    .venv/bin/python bench/gateway_latency.py --gateway http://127.0.0.1:8000 \\
        --rasa http://127.0.0.1:5005                          # measures a running assistant
    options: --conversations 1 20  --turns 15  --rounds 4  --think 1 3  --loads closed think

Both paths get the same messages from conversations of their own, and meet the same
moments of the machine without doubling the load on Rasa: at 1 conversation they take
turns message by message; at 20 in closed loop (the next message as soon as the reply is
in: the worst case, and the sustained messages per second of each path alone) run by
run, the order alternating; at 20 with think time (a seeded random 1-3 s pause between
a reply and the next message: what people in real conversations do), each simulated
person sends turn by turn through one path then the other, so that at every moment about
half of the 20 conversations go through each path, under one and the same load.

The messages are everyday ones the bot answers from its domain: the fastest turns Rasa
has, so the hardest case for a relative figure (and no handoff: a handed-off
conversation gets no bot reply to time). Started by this script, the gateway's rate
limit is lifted (a benchmark is a flood on purpose); against a running gateway, set
RATE_LIMIT_PER_MINUTE high there. The target: at most +10% on p95.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from loadgen import (
    HEADER,
    PORTS,
    LoadResult,
    Send,
    label,
    load_average,
    percentile,
    row,
    run_load,
    start_assistant,
    stop_assistant,
    wait_healthy,
)

MESSAGES = (
    "xin chào",
    "bạn giúp được những gì?",
    "ban la nguoi that hay may vay",
    "tks ad nhiều nha",
    "bạn là ai vậy",
    "chào ad, cho mình hỏi chút",
)
TARGET_ADDED_P95 = 0.10


def direct(rasa: str) -> Send:
    async def send(client: httpx.AsyncClient, sender: str, text: str) -> None:
        response = await client.post(
            f"{rasa}/webhooks/rest/webhook", json={"sender": sender, "message": text}
        )
        response.raise_for_status()

    return send


def through_gateway(gateway: str) -> Send:
    async def send(client: httpx.AsyncClient, sender: str, text: str) -> None:
        response = await client.post(
            f"{gateway}/api/v1/messages", json={"sender_id": sender, "text": text}
        )
        response.raise_for_status()
        if response.json()["handed_off"]:
            raise RuntimeError(
                "a benchmark conversation was handed off; its turns are not comparable"
            )

    return send


def scripts(conversations: int, turns: int, round_: int) -> list[list[tuple[str, str]]]:
    return [
        [("message", MESSAGES[(number + round_ + turn) % len(MESSAGES)]) for turn in range(turns)]
        for number in range(conversations)
    ]


async def paired_single(
    sends: dict[str, Send], turns: int, rounds: int, think: tuple[float, float] | None, seed: int
) -> dict[str, LoadResult]:
    """One conversation per path, the paths taking turns message by message (the fairest
    comparison at concurrency 1); with think time, the pause comes before each pair."""
    results = {name: LoadResult() for name in sends}
    pause = random.Random(seed)
    started_all = time.perf_counter()
    async with httpx.AsyncClient(timeout=120) as client:
        for round_ in range(rounds):
            senders = {name: f"bench-{name}-{round_}-{uuid.uuid4().hex[:6]}" for name in sends}
            for turn in range(turns):
                text = MESSAGES[(round_ + turn) % len(MESSAGES)]
                if think:
                    await asyncio.sleep(pause.uniform(*think))
                for name, send in sends.items():
                    started = time.perf_counter()
                    await send(client, senders[name], text)
                    took = time.perf_counter() - started
                    results[name].by_kind.setdefault("message", []).append(took * 1000)
                    results[name].seconds += took
    if think:
        # with pauses, a path's rate is its messages over the wall time of the run
        for result in results.values():
            result.seconds = time.perf_counter() - started_all
    return results


async def concurrent(
    sends: dict[str, Send],
    conversations: int,
    turns: int,
    rounds: int,
    think: tuple[float, float] | None,
    seed: int,
) -> dict[str, LoadResult]:
    """`conversations` per path; the paths take turns run by run, the order alternating."""
    results = {name: LoadResult() for name in sends}
    order = list(sends.items())
    for round_ in range(rounds):
        for name, send in order if round_ % 2 == 0 else order[::-1]:
            results[name].merge(
                await run_load(
                    send,
                    scripts(conversations, turns, round_),
                    think=think,
                    seed=seed + round_,
                    tag=f"bench-{name}{round_}",
                )
            )
    return results


async def interleaved(
    sends: dict[str, Send], conversations: int, turns: int, think: tuple[float, float], seed: int
) -> dict[str, LoadResult]:
    """`conversations` people with think time, each alternating between the paths turn by
    turn (a conversation of its own on each): both paths share every moment of the run."""
    results = {name: LoadResult() for name in sends}
    names = list(sends)
    limits = httpx.Limits(max_connections=conversations + 5)

    async def person(client: httpx.AsyncClient, number: int) -> None:
        pause = random.Random(f"{seed}-{number}")
        senders = {name: f"bench-{name}-{number}-{uuid.uuid4().hex[:6]}" for name in names}
        await asyncio.sleep(pause.uniform(0, think[1]))  # people do not start in step
        for turn in range(turns):
            if turn:
                await asyncio.sleep(pause.uniform(*think))
            name = names[(number + turn) % len(names)]
            text = MESSAGES[(number + turn) % len(MESSAGES)]
            started = time.perf_counter()
            await sends[name](client, senders[name], text)
            results[name].by_kind.setdefault("message", []).append(
                (time.perf_counter() - started) * 1000
            )

    started_all = time.perf_counter()
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        await asyncio.gather(*(person(client, n) for n in range(conversations)))
    for result in results.values():
        result.seconds = time.perf_counter() - started_all
    return results


async def measure(rasa: str, gateway: str, args: argparse.Namespace) -> None:
    sends = {"rasa": direct(rasa), "gateway": through_gateway(gateway)}
    print(f"machine load before the runs: {load_average()}")
    verdicts: list[str] = []
    for conversations in args.conversations:
        # Warm up caches and connections at the concurrency about to be measured: the
        # gateway keeps its connections to Rasa between runs (for 30 s), and a pool that
        # grows during a measured run opens connections while Rasa is busy, which Rasa
        # serves up to seconds late. (The direct path's client opens all of its
        # connections at the start of each run, while Rasa is idle.)
        for send in sends.values():
            await run_load(send, scripts(conversations, 3, 0), think=None, tag="bench-warm")
        for load in args.loads:
            think = tuple(args.think) if load == "think" else None
            if conversations == 1:
                # with think time, pairs are slow (2 s each): fewer rounds, as many samples
                rounds = args.rounds if think is None else max(1, args.rounds // 2)
                merged = await paired_single(sends, args.turns * 2, rounds, think, args.seed)  # type: ignore[arg-type]
            elif think is None:
                merged = await concurrent(
                    sends, conversations, args.turns, args.rounds, None, args.seed
                )
            else:
                # each path gets half of every person's turns: twice the turns, same samples
                turns = args.turns * args.rounds // 2
                merged = await interleaved(sends, conversations, turns, think, args.seed)  # type: ignore[arg-type]
            name = label(conversations, think)  # type: ignore[arg-type]
            print(f"\n{name}")
            print(HEADER)
            for path, result in merged.items():
                print(row(f"  {path}", result.latencies, result.per_second))
            base, through = merged["rasa"].latencies, merged["gateway"].latencies
            for stat, q in (("p50", 0.5), ("p95", 0.95)):
                added = percentile(through, q) - percentile(base, q)
                print(f"  added {stat}: {added:+.1f} ms ({added / percentile(base, q):+.1%})")
            added95 = percentile(through, 0.95) / percentile(base, 0.95) - 1
            verdict = "met" if added95 <= TARGET_ADDED_P95 else "NOT met"
            verdicts.append(
                f"{name:28} added p95 {added95:+6.1%}  {verdict}; "
                f"gateway {merged['gateway'].per_second:5.1f} msg/s"
            )
    print(f"\nsummary (target: the gateway adds at most {TARGET_ADDED_P95:.0%} to p95)")
    for line in verdicts:
        print(f"  {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gateway", help="URL of a running gateway (default: start one)")
    parser.add_argument("--rasa", help="URL of the Rasa server behind it")
    parser.add_argument("--conversations", type=int, nargs="+", default=[1, 20])
    parser.add_argument("--turns", type=int, default=15, help="messages per conversation per run")
    parser.add_argument("--rounds", type=int, default=4, help="runs per path and concurrency")
    parser.add_argument(
        "--loads", nargs="+", choices=("closed", "think"), default=["closed", "think"]
    )
    parser.add_argument("--think", type=float, nargs=2, default=[1.0, 3.0], metavar=("MIN", "MAX"))
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()
    if args.gateway:
        gateway = args.gateway.rstrip("/")
        rasa = (args.rasa or "http://127.0.0.1:5005").rstrip("/")
        asyncio.run(measure(rasa, gateway, args))
        return
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as name:
        folder, process, failed = Path(name), None, True
        try:
            process = start_assistant(folder)
            gateway = f"http://127.0.0.1:{PORTS['GATEWAY_PORT']}"
            rasa = f"http://127.0.0.1:{PORTS['RASA_PORT']}"
            wait_healthy([f"{gateway}/healthz"], process)
            asyncio.run(measure(rasa, gateway, args))
            failed = False
        finally:
            stop_assistant(process, folder, failed)


if __name__ == "__main__":
    main()
