"""What the gateway adds to a conversation turn: its latency over calling Rasa's REST channel
directly, at 1 and 20 concurrent conversations (p50, p95), and the sustained messages per
second through the gateway.

Usage:
    .venv/bin/python bench/gateway_latency.py                 # starts `hotline run` on spare ports
    .venv/bin/python bench/gateway_latency.py --gateway http://127.0.0.1:8000 \\
        --rasa http://127.0.0.1:5005                          # measures a running assistant

Both paths get the same messages from conversations of their own, alternating message by
message (1 conversation) or run by run (20), so that both see the same machine. The
messages are everyday ones the bot answers from its domain: the fastest turns Rasa has,
so the hardest case for a relative figure (and no handoff: a handed-off conversation gets
no bot reply to time). Started by this script, the gateway's rate limit is lifted (a
benchmark is a flood on purpose); against a running gateway, set RATE_LIMIT_PER_MINUTE
high there.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
MESSAGES = (
    "xin chào",
    "bạn giúp được những gì?",
    "ban la nguoi that hay may vay",
    "tks ad nhiều nha",
    "bạn là ai vậy",
    "chào ad, cho mình hỏi chút",
)
PORTS = {"RASA_PORT": 25005, "ACTION_SERVER_PORT": 25055, "GATEWAY_PORT": 28005}


@dataclass
class Run:
    """Latencies (seconds) of one path at one concurrency, and the wall time it took."""

    latencies: list[float]
    seconds: float

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds


Send = Callable[[httpx.AsyncClient, str, str], Awaitable[None]]


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


async def one_run(send: Send, concurrency: int, turns: int, tag: str) -> Run:
    """`concurrency` conversations, each sending `turns` messages one after another."""
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=concurrency + 5)

    async def conversation(client: httpx.AsyncClient, number: int) -> None:
        sender = f"bench-{tag}-{number}-{uuid.uuid4().hex[:6]}"
        for turn in range(turns):
            started = time.perf_counter()
            await send(client, sender, MESSAGES[(number + turn) % len(MESSAGES)])
            latencies.append(time.perf_counter() - started)

    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(conversation(client, n) for n in range(concurrency)))
        return Run(latencies, time.perf_counter() - started)


async def paired_single(rasa: str, gateway: str, turns: int, rounds: int) -> dict[str, Run]:
    """One conversation per path, the two paths taking turns message by message, so that
    both meet the same moment of the machine (the fairest comparison at concurrency 1)."""
    sends = {"rasa": direct(rasa), "gateway": through_gateway(gateway)}
    latencies: dict[str, list[float]] = {"rasa": [], "gateway": []}
    seconds = dict.fromkeys(sends, 0.0)
    async with httpx.AsyncClient(timeout=120) as client:
        for round_ in range(rounds):
            senders = {name: f"bench-{name}-{round_}-{uuid.uuid4().hex[:6]}" for name in sends}
            for turn in range(turns):
                text = MESSAGES[(round_ + turn) % len(MESSAGES)]
                for name, send in sends.items():
                    started = time.perf_counter()
                    await send(client, senders[name], text)
                    took = time.perf_counter() - started
                    latencies[name].append(took)
                    seconds[name] += took
    return {name: Run(latencies[name], seconds[name]) for name in sends}


async def concurrent(rasa: str, gateway: str, turns: int, rounds: int) -> dict[str, Run]:
    """20 conversations per path; the paths take turns run by run (not at once, which
    would double the load on Rasa)."""
    runs: dict[str, list[Run]] = {"rasa": [], "gateway": []}
    for round_ in range(rounds):
        order = [("rasa", direct(rasa)), ("gateway", through_gateway(gateway))]
        for name, send in order if round_ % 2 == 0 else order[::-1]:
            runs[name].append(await one_run(send, 20, turns, f"{name}{round_}"))
    return {
        name: Run([x for r in rs for x in r.latencies], sum(r.seconds for r in rs))
        for name, rs in runs.items()
    }


async def measure(rasa: str, gateway: str, turns: int, rounds: int) -> None:
    # Warm both paths up (first turns load caches, open connections).
    await one_run(direct(rasa), 2, 3, "warm")
    await one_run(through_gateway(gateway), 2, 3, "warm")
    print(f"\n{'conversations':>13} {'path':>8} {'p50 ms':>8} {'p95 ms':>8} {'msg/s':>7}")
    results = {
        1: await paired_single(rasa, gateway, turns * 2, rounds),
        20: await concurrent(rasa, gateway, turns, rounds),
    }
    for concurrency, merged in results.items():
        for name, run in merged.items():
            print(
                f"{concurrency:>13} {name:>8} {run.percentile(0.5):>8.1f} "
                f"{run.percentile(0.95):>8.1f} {run.per_second:>7.1f}"
            )
        base, gw = merged["rasa"], merged["gateway"]
        for label, q in (("p50", 0.5), ("p95", 0.95)):
            added = gw.percentile(q) - base.percentile(q)
            print(
                f"{'':>13} {'added':>8} {label}: {added:+.1f} ms ({added / base.percentile(q):+.1%})"
            )
    busy = results[20]
    print(
        "\nsustained through the gateway at 20 conversations: "
        f"{busy['gateway'].per_second:.1f} messages/s "
        f"(Rasa alone: {busy['rasa'].per_second:.1f}); "
        f"mean turn {statistics.mean(busy['gateway'].latencies) * 1000:.0f} ms"
    )


def start_assistant(folder: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        **{name: str(port) for name, port in PORTS.items()},
        "RASA_URL": f"http://127.0.0.1:{PORTS['RASA_PORT']}",
        "ACTION_SERVER_URL": f"http://127.0.0.1:{PORTS['ACTION_SERVER_PORT']}",
        "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{folder / 'hotline.db'}"),
        "RASA_TRACKER_DB": str(folder / "tracker.db"),
        "RATE_LIMIT_PER_MINUTE": "1000000",
        "RATE_LIMIT_BURST": "100000",
    }
    log = (folder / "hotline-run.log").open("wb")
    print(f"starting the assistant (log: {folder / 'hotline-run.log'})", file=sys.stderr)
    return subprocess.Popen(
        [str(REPO_ROOT / ".venv" / "bin" / "hotline"), "run"],
        env=env, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def wait_healthy(
    gateway: str, process: subprocess.Popen[bytes] | None, timeout: float = 300
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit("hotline run exited; see its log")
        try:
            if httpx.get(f"{gateway}/healthz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise SystemExit(f"{gateway}/healthz did not answer 200 in time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gateway", help="URL of a running gateway (default: start one)")
    parser.add_argument("--rasa", help="URL of the Rasa server behind it")
    parser.add_argument("--turns", type=int, default=15, help="messages per conversation per run")
    parser.add_argument("--rounds", type=int, default=4, help="runs per path and concurrency")
    args = parser.parse_args()
    process = None
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as folder:
        if args.gateway:
            gateway, rasa = (
                args.gateway.rstrip("/"),
                (args.rasa or "http://127.0.0.1:5005").rstrip("/"),
            )
        else:
            gateway = f"http://127.0.0.1:{PORTS['GATEWAY_PORT']}"
            rasa = f"http://127.0.0.1:{PORTS['RASA_PORT']}"
            process = start_assistant(Path(folder))
        try:
            wait_healthy(gateway, process)
            asyncio.run(measure(rasa, gateway, args.turns, args.rounds))
        except (httpx.HTTPError, RuntimeError, SystemExit):
            log = Path(folder) / "hotline-run.log"
            if log.exists():
                print(
                    "".join(log.read_text(errors="replace").splitlines(True)[-40:]), file=sys.stderr
                )
            raise
        finally:
            if process is not None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)


if __name__ == "__main__":
    main()
