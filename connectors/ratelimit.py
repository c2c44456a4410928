"""Per-sender flood protection: a token bucket for each person, in memory.

A sender may send `burst` messages at once, then `per_minute` a minute. When the bucket
is empty the message is refused, and the person is told so at most once per `notice`
period, so a flood does not turn into a flood of notices. The router never asks for a
message with `risk: high`: those always go through.

Each gateway process keeps its own buckets; behind a load balancer that routes a sender
to any replica, the effective limit is the per-process limit times the replicas.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

MAX_SENDERS = 50_000


@dataclass(frozen=True)
class Decision:
    """Whether one message may go on, and whether to tell the person to slow down."""

    allowed: bool
    notify: bool = False
    retry_after: float = 0.0


@dataclass
class _Bucket:
    tokens: float
    updated: float
    notified: float = float("-inf")


class RateLimiter:
    """Token buckets keyed by sender (`channel:sender_id`)."""

    def __init__(
        self,
        per_minute: float,
        burst: int,
        *,
        notice_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._notice = notice_seconds
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def _refilled(self, key: str, now: float) -> _Bucket:
        bucket = self._buckets.pop(key, None) or _Bucket(self._burst, now)
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        return bucket

    def peek(self, key: str) -> float:
        """Seconds until `key` has a token again (0 when it has one), taking nothing."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return 0.0
        now = self._clock()
        tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self._rate

    def check(self, key: str) -> Decision:
        """Take one token for `key` if there is one."""
        now = self._clock()
        bucket = self._refilled(key, now)
        self._buckets[key] = bucket
        if len(self._buckets) > MAX_SENDERS:
            # Forget the longest-idle sender: its bucket would be full again by now anyway.
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return Decision(True)
        notify = now - bucket.notified >= self._notice
        if notify:
            bucket.notified = now
        return Decision(False, notify, (1.0 - bucket.tokens) / self._rate)
