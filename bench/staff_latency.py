"""How fast words travel between a person and a social worker (issue 6): a staff reply
until it reaches the person's channel, and a person's message until it reaches the
console, with 20 conversations handed off at once (target: p95 ≤ 1 s both ways).

Usage:
    .venv/bin/python bench/staff_latency.py          # starts `hotline run` on spare ports
    options: --conversations 20 --rounds 10 --staff 4 --think 0 0

What happens: each simulated person opens the web chat and asks for a person (the real
Rasa server and action server open a ticket and hand off); staff accounts are made with
`hotline staff add`, log in through the staff API, open the console's live stream
(`/api/v1/staff/events`) and claim the tickets. Then every conversation, all at once,
exchanges `--rounds` pairs of messages: a staff reply (POST to the staff API, timed until
the person's own live stream, the web chat's `/events`, shows it) and a person's answer
(POST by the web chat, timed until a staff member's console stream shows it). With
`--think A B` each side pauses a seeded random A-B seconds before writing; the default
is no pause (closed loop: the hardest case).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from loadgen import load_average, percentile, start_assistant, stop_assistant, wait_healthy

PORTS = {"RASA_PORT": 35005, "ACTION_SERVER_PORT": 35055, "GATEWAY_PORT": 38000}
GATEWAY = f"http://127.0.0.1:{PORTS['GATEWAY_PORT']}"
HOTLINE = str(Path(__file__).resolve().parent.parent / ".venv" / "bin" / "hotline")
PASSWORD = "bench-staff-password-2026"
CODE = re.compile(r"mã yêu cầu ([A-Z0-9-]+)")
TARGET_MS = 1000.0


async def sse(client: httpx.AsyncClient, url: str, **kwargs) -> AsyncIterator[dict]:
    """The data of each server-sent event of `url`, as JSON."""
    async with client.stream("GET", url, timeout=None, **kwargs) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                yield json.loads(line[6:])


class Arrivals:
    """When each text arrived on a stream; waiters are woken on arrival."""

    def __init__(self) -> None:
        self._times: dict[str, float] = {}
        self._waiters: dict[str, asyncio.Event] = {}

    def arrived(self, text: str) -> None:
        self._times.setdefault(text, time.perf_counter())
        self._waiters.setdefault(text, asyncio.Event()).set()

    async def wait(self, text: str, timeout: float = 30.0) -> float:
        await asyncio.wait_for(self._waiters.setdefault(text, asyncio.Event()).wait(), timeout)
        return self._times[text]


async def follow(
    client: httpx.AsyncClient, url: str, wanted: str, arrivals: Arrivals, **kw
) -> None:
    async for event in sse(client, url, **kw):
        if event.get("from") == wanted and event.get("text"):
            arrivals.arrived(event["text"])


def add_staff(env: dict[str, str], username: str) -> None:
    subprocess.run(
        [HOTLINE, "staff", "add", username, "--role", "staff", "--name", f"Nhân viên {username}"],
        input=PASSWORD + "\n", text=True, env=env, check=True, capture_output=True,
    )  # fmt: skip


async def hand_off(client: httpx.AsyncClient, client_id: str) -> str:
    """The person asks for a human; the ticket code from the assistant's answer."""
    turn = await client.post(
        f"{GATEWAY}/api/v1/web/messages",
        json={"client_id": client_id, "text": "Cho tôi nói chuyện với nhân viên"},
        timeout=60,
    )
    turn.raise_for_status()
    body = turn.json()
    found = next((CODE.search(r["text"]) for r in body["replies"] if CODE.search(r["text"])), None)
    if not body["handed_off"] or found is None:
        raise SystemExit(f"no handoff for {client_id}: {body}")
    return found.group(1)


async def converse(
    client: httpx.AsyncClient,
    index: int,
    client_id: str,
    code: str,
    token: str,
    rounds: int,
    think: tuple[float, float],
    to_person: Arrivals,
    to_console: Arrivals,
    timings: dict[str, list[float]],
) -> None:
    rng = random.Random(index)
    staff_headers = {"Authorization": f"Bearer {token}"}
    for number in range(rounds):
        await asyncio.sleep(rng.uniform(*think))
        text = f"[{index}-{number}] Chào bạn, mình vẫn đang ở đây với bạn."
        started = time.perf_counter()
        sent = await client.post(
            f"{GATEWAY}/api/v1/staff/tickets/{code}/messages", json={"text": text},
            headers=staff_headers,
        )  # fmt: skip
        sent.raise_for_status()
        timings["staff reply → person"].append((await to_person.wait(text) - started) * 1000)
        await asyncio.sleep(rng.uniform(*think))
        text = f"[{index}-{number}] em cảm ơn chị, em đang ở nhà"
        started = time.perf_counter()
        posted = await client.post(
            f"{GATEWAY}/api/v1/web/messages", json={"client_id": client_id, "text": text}
        )
        posted.raise_for_status()
        timings["person → console"].append((await to_console.wait(text) - started) * 1000)


async def bench(args: argparse.Namespace, env: dict[str, str]) -> dict[str, list[float]]:
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=100)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        usernames = [f"bench-{uuid.uuid4().hex[:8]}" for _ in range(args.staff)]
        for username in usernames:
            add_staff(env, username)
        tokens = []
        for username in usernames:
            login = await client.post(
                f"{GATEWAY}/api/v1/staff/login", json={"username": username, "password": PASSWORD}
            )
            login.raise_for_status()
            tokens.append(login.json()["token"])
        client_ids = [f"bench{uuid.uuid4().hex}" for _ in range(args.conversations)]
        codes = await asyncio.gather(*(hand_off(client, c) for c in client_ids))
        to_person, to_console = Arrivals(), Arrivals()
        streams = [
            asyncio.create_task(
                follow(client, f"{GATEWAY}/api/v1/staff/events", "person", to_console,
                       headers={"Authorization": f"Bearer {token}"})
            )
            for token in tokens
        ] + [
            asyncio.create_task(
                follow(client, f"{GATEWAY}/api/v1/web/conversations/{c}/events", "staff", to_person)
            )
            for c in client_ids
        ]  # fmt: skip
        await asyncio.sleep(1.0)  # let every stream subscribe
        owner = {code: tokens[i % len(tokens)] for i, code in enumerate(codes)}
        for code, token in owner.items():
            claimed = await client.post(
                f"{GATEWAY}/api/v1/staff/tickets/{code}/claim",
                headers={"Authorization": f"Bearer {token}"},
            )
            claimed.raise_for_status()
        timings: dict[str, list[float]] = {"staff reply → person": [], "person → console": []}
        started = time.perf_counter()
        await asyncio.gather(
            *(
                converse(client, i, c, code, owner[code], args.rounds, tuple(args.think),
                         to_person, to_console, timings)
                for i, (c, code) in enumerate(zip(client_ids, codes))
            )
        )  # fmt: skip
        elapsed = time.perf_counter() - started
        for code, token in owner.items():
            await client.post(
                f"{GATEWAY}/api/v1/staff/tickets/{code}/resolve", json={"outcome": "counselled"},
                headers={"Authorization": f"Bearer {token}"},
            )  # fmt: skip
        for stream in streams:
            stream.cancel()
        await asyncio.gather(*streams, return_exceptions=True)
        timings["_seconds"] = [elapsed]
        return timings


def report(args: argparse.Namespace, timings: dict[str, list[float]]) -> None:
    seconds = timings.pop("_seconds")[0]
    messages = sum(len(v) for v in timings.values())
    load = "closed loop" if args.think == [0, 0] else f"think {args.think[0]}-{args.think[1]} s"
    print(f"\n{args.conversations} conversations handed off at once, {args.staff} staff, {load}; "
          f"{messages} messages in {seconds:.1f} s ({messages / seconds:.1f}/s); {load_average()}")  # fmt: skip
    print(
        f"{'':24} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  target p95 ≤ {TARGET_MS:.0f} ms"
    )
    for kind, values in timings.items():
        p95 = percentile(values, 0.95)
        verdict = "met" if p95 <= TARGET_MS else "NOT MET"
        print(f"{kind:24} {len(values):5d} {percentile(values, 0.5):8.1f} {p95:8.1f} "
              f"{max(values):8.1f}  {verdict}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--staff", type=int, default=4)
    parser.add_argument("--think", type=float, nargs=2, default=[0, 0], metavar=("MIN", "MAX"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="staff-bench-") as tmp:
        folder = Path(tmp)
        extra = {
            **{name: str(port) for name, port in PORTS.items()},
            "RASA_URL": f"http://127.0.0.1:{PORTS['RASA_PORT']}",
            "ACTION_SERVER_URL": f"http://127.0.0.1:{PORTS['ACTION_SERVER_PORT']}",
            "DATABASE_URL": f"sqlite:///{folder / 'hotline.db'}",
            "STAFF_HOURS_START": "00:00", "STAFF_HOURS_END": "23:59", "STAFF_DAYS": "mon-sun",
        }  # fmt: skip
        process, failed = start_assistant(folder, extra), True
        try:
            wait_healthy([f"{GATEWAY}/healthz"], process)
            timings = asyncio.run(bench(args, {**os.environ, **extra}))
            failed = False
        finally:
            stop_assistant(process, folder, failed)
    report(args, timings)


if __name__ == "__main__":
    main()
