"""Failed-login limiter (登录限流): exponential back-off per key, bounded.

After `free` failures, each further failure of a key (a username or a client address)
makes it wait `base · 2^k` seconds before the next attempt, never more than `cap`;
attempts made while waiting are refused without counting, so an attacker hammering a
username cannot extend the wait: the real user is delayed at most `cap` seconds. A success
clears the key; failures older than `forget` seconds are dropped.

These limiters are in process memory: the fast path, refusing a flooding address or username
with no I/O. The username's count is also kept for all server processes together
(`USERNAME_LIMIT` through `sync_server.shared_limits`, ADR 0111), so alternating between
processes gives an attacker no more tries; the address limit stays per process (a coarse
flood guard, with nginx's per-address limits in front in production).
"""

from __future__ import annotations

from dataclasses import dataclass

from sync_server.shared_limits import Backoff, blocked_until

MAX_KEYS = 100_000  # bound on memory under a spray of usernames or addresses


@dataclass
class _Entry:
    failures: int
    last: float
    blocked_until: float


class FailureLimiter:
    def __init__(self, *, free: int, base: float, cap: float, forget: float) -> None:
        self.free, self.base, self.cap, self.forget = free, base, cap, forget
        self._entries: dict[str, _Entry] = {}

    def retry_after(self, key: str, now: float) -> float:
        """Seconds to wait before `key` may try again (0 when allowed)."""
        entry = self._entries.get(key)
        if entry is None:
            return 0.0
        if now - entry.last > self.forget:
            del self._entries[key]
            return 0.0
        return max(0.0, entry.blocked_until - now)

    def failure(self, key: str, now: float) -> None:
        entry = self._entries.get(key)
        if entry is None or now - entry.last > self.forget:
            if len(self._entries) >= MAX_KEYS:
                self._prune(now)
            entry = self._entries[key] = _Entry(0, now, 0.0)
        entry.failures += 1
        entry.last = now
        if entry.failures > self.free:
            entry.blocked_until = blocked_until(entry.failures, now, free=self.free, base=self.base,
                                                cap=self.cap)

    def success(self, key: str) -> None:
        self._entries.pop(key, None)

    def _prune(self, now: float) -> None:
        stale = [k for k, e in self._entries.items() if now - e.last > self.forget or e.blocked_until < now]
        for key in stale:
            del self._entries[key]
        while len(self._entries) >= MAX_KEYS:  # still full: drop the oldest
            del self._entries[next(iter(self._entries))]


@dataclass
class LoginLimits:
    """The two limiters a login consults."""

    by_username: FailureLimiter
    by_address: FailureLimiter


# The username limit of `default_limits`, counted for every server process together.
USERNAME_LIMIT = Backoff("login-username", free=5, base=1.0, cap=30.0, forget=900.0)


def default_limits() -> LoginLimits:
    # A username: 5 free failures, then 1, 2, 4 … s, at most 30 s (the real user's worst wait).
    # An address: 20 free (an office behind one NAT), then up to 5 minutes.
    return LoginLimits(FailureLimiter(free=5, base=1.0, cap=30.0, forget=900.0),
                       FailureLimiter(free=20, base=1.0, cap=300.0, forget=900.0))
