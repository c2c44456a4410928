"""Load generation shared by the benchmarks: two load models, percentiles, and starting
the assistant on spare ports with scratch databases.

The two load models, always reported side by side:
- closed loop: each simulated person sends the next message the moment the reply
  arrives, so N people keep N requests in flight all the time. The worst case: it
  measures what the machine can do at most (messages per second), and latency under a
  queue that never drains.
- think time: each person reads and types between messages, a pause drawn uniformly
  from `think` (1-3 s by default, seeded), and starts at a random moment within the
  first pause. The load N people in real conversations put on the machine.

Usage (see bench/dialogue_turns.py and bench/gateway_latency.py):
    result = await run_load(send, scripts, think=(1.0, 3.0), seed=7)
    print_table("10 conversations, think time 1-3 s", result)
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
# Spare ports, so that a benchmark never meets a development server or the tests.
PORTS = {"RASA_PORT": 25005, "ACTION_SERVER_PORT": 25055, "GATEWAY_PORT": 28000}

Send = Callable[[httpx.AsyncClient, str, str], Awaitable[None]]
# One conversation's script: (kind of turn, text) in order.
Script = Sequence[tuple[str, str]]


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class LoadResult:
    """Latencies (ms) by kind of turn, and the wall time of the whole run."""

    by_kind: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def latencies(self) -> list[float]:
        return [t for values in self.by_kind.values() for t in values]

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def merge(self, other: LoadResult) -> None:
        for kind, values in other.by_kind.items():
            self.by_kind.setdefault(kind, []).extend(values)
        self.seconds += other.seconds


def label(conversations: int, think: tuple[float, float] | None) -> str:
    """How a run is named in the tables."""
    load = f"think {think[0]:g}-{think[1]:g} s" if think else "closed loop"
    return f"{conversations} conv, {load}"


async def run_load(
    send: Send,
    scripts: Sequence[Script],
    *,
    think: tuple[float, float] | None,
    seed: int = 2025,
    tag: str = "bench",
    timeout: float = 120.0,
    turns_per_sender: int | None = None,
) -> LoadResult:
    """One conversation per script, all at once; closed loop when `think` is None. With
    `turns_per_sender`, a new person (sender id) takes over the line after that many turns."""
    result = LoadResult()
    limits = httpx.Limits(max_connections=len(scripts) + 5)

    async def conversation(client: httpx.AsyncClient, number: int, script: Script) -> None:
        pause = random.Random(f"{seed}-{number}")
        if think:
            await asyncio.sleep(pause.uniform(0, think[1]))  # people do not start in step
        for turn, (kind, text) in enumerate(script):
            if turn == 0 or (turns_per_sender and turn % turns_per_sender == 0):
                sender = f"{tag}-{number}-{uuid.uuid4().hex[:8]}"
            if think and turn:
                await asyncio.sleep(pause.uniform(*think))
            started = time.perf_counter()
            await send(client, sender, text)
            result.by_kind.setdefault(kind, []).append((time.perf_counter() - started) * 1000)

    async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(conversation(client, n, s) for n, s in enumerate(scripts)))
        result.seconds = time.perf_counter() - started
    return result


HEADER = f"{'':34} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'msg/s':>7}"


def row(name: str, values: Sequence[float], per_second: float | None = None) -> str:
    rate = f"{per_second:7.1f}" if per_second is not None else f"{'':>7}"
    return (
        f"{name:34} {len(values):5d} {percentile(values, 0.5):8.1f} "
        f"{percentile(values, 0.95):8.1f} {max(values):8.1f} {rate}"
    )


def print_table(title: str, result: LoadResult, *, by_kind: bool = True) -> None:
    """p50/p95/max per kind of turn and overall, with the messages per second."""
    print(f"\n{title}: {len(result.latencies)} turns in {result.seconds:.1f} s")
    print(HEADER)
    if by_kind and len(result.by_kind) > 1:
        for kind, values in result.by_kind.items():
            print(row(f"  {kind}", values))
    print(row("all turns", result.latencies, result.per_second))


def load_average() -> str:
    """The machine's load when the run started: other work skews every figure."""
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


# --- the assistant under test ----------------------------------------------------------


def start_assistant(
    folder: Path, extra_env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`hotline run` (what `make run` runs) on the spare ports, with databases in `folder`."""
    env = {
        **os.environ,
        **{name: str(port) for name, port in PORTS.items()},
        "RASA_URL": f"http://127.0.0.1:{PORTS['RASA_PORT']}",
        "ACTION_SERVER_URL": f"http://127.0.0.1:{PORTS['ACTION_SERVER_PORT']}",
        "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{folder / 'hotline.db'}"),
        "RASA_TRACKER_DB": str(folder / "tracker.db"),
        # a benchmark is a flood on purpose
        "RATE_LIMIT_PER_MINUTE": "1000000",
        "RATE_LIMIT_BURST": "100000",
        **(extra_env or {}),
    }
    log = (folder / "hotline-run.log").open("wb")
    print(f"starting the assistant (log: {folder / 'hotline-run.log'})", file=sys.stderr)
    return subprocess.Popen(
        [str(REPO_ROOT / ".venv" / "bin" / "hotline"), "run"],
        env=env, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def wait_healthy(
    urls: Sequence[str], process: subprocess.Popen[bytes] | None, timeout: float = 300
) -> None:
    """Wait until every URL answers below 500 (or the process exits)."""
    deadline = time.monotonic() + timeout
    pending = list(urls)
    while pending and time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit("hotline run exited; see its log")
        still = []
        for url in pending:
            try:
                if httpx.get(url, timeout=5).status_code < 500:
                    continue
            except httpx.HTTPError:
                pass
            still.append(url)
        pending = still
        if pending:
            time.sleep(1)
    if pending:
        raise SystemExit(f"{', '.join(pending)} did not answer in time")


def stop_assistant(process: subprocess.Popen[bytes] | None, folder: Path, failed: bool) -> None:
    """Stop what `start_assistant` started; on failure, show the end of its log."""
    log = folder / "hotline-run.log"
    if failed and log.exists():
        print("".join(log.read_text(errors="replace").splitlines(True)[-40:]), file=sys.stderr)
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
