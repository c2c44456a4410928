"""A logged-in staff member as the staff side sees them, and the guard on logins."""

from __future__ import annotations

from dataclasses import dataclass

from connectors.ratelimit import RateLimiter

ROLE_RANK = {"staff": 0, "supervisor": 1, "admin": 2}
# Five wrong passwords at once, then one more every two minutes (per name and per address).
LOGIN_FAILURES_BURST = 5
LOGIN_FAILURES_PER_MINUTE = 0.5


@dataclass(frozen=True)
class Principal:
    """A logged-in staff member, as the handlers see them."""

    username: str
    display_name: str
    role: str
    csrf_token: str
    via_cookie: bool

    def at_least(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]

    @property
    def is_supervisor(self) -> bool:
        return self.at_least("supervisor")


class LoginGuard:
    """Counts failed logins per username and per client address (token buckets)."""

    def __init__(self) -> None:
        self._limiter = RateLimiter(LOGIN_FAILURES_PER_MINUTE, LOGIN_FAILURES_BURST)

    def retry_after(self, *keys: str) -> float:
        """Seconds until a login may be tried again (0 when it may now)."""
        return max((self._limiter.peek(key) for key in keys), default=0.0)

    def failed(self, *keys: str) -> None:
        for key in keys:
            self._limiter.check(key)
