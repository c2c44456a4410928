"""The per-sender token bucket."""

from __future__ import annotations

from connectors.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_rate():
    clock = Clock()
    limiter = RateLimiter(per_minute=6, burst=3, clock=clock)
    assert [limiter.check("a").allowed for _ in range(4)] == [True, True, True, False]
    clock.now = 10.0  # one token back after 10 s at 6 a minute
    assert limiter.check("a").allowed
    assert not limiter.check("a").allowed


def test_the_person_is_told_once_per_notice_period():
    clock = Clock()
    limiter = RateLimiter(per_minute=1, burst=1, notice_seconds=60, clock=clock)
    limiter.check("a")
    first, second = limiter.check("a"), limiter.check("a")
    assert (first.allowed, first.notify) == (False, True)
    assert (second.allowed, second.notify) == (False, False)
    assert 0 < first.retry_after <= 60
    clock.now = 61
    assert limiter.check("a").allowed


def test_senders_have_their_own_buckets():
    limiter = RateLimiter(per_minute=1, burst=1, clock=Clock())
    assert limiter.check("telegram:1").allowed
    assert not limiter.check("telegram:1").allowed
    assert limiter.check("telegram:2").allowed
