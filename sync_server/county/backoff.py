"""Retry schedule (重试退避) of the outbox: exponential backoff with jitter.

Delay before attempt n+1 after n failures: `base · 2^(n−1)`, capped, then "equal jitter" —
half of it fixed, half uniformly random — so many cases failing together against a county
platform that was down do not all come back in the same second, while no retry ever comes
sooner than half its nominal delay. After `max_attempts` failures the entry is dead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Backoff:
    """How often and how fast the outbox retries; tests pass tiny values."""

    base: float = 30.0  # seconds; a county platform restart usually takes under a minute
    cap: float = 3600.0  # at most an hour between attempts
    # Eight attempts with these values span about two hours (30 s … 1 h): long enough to ride
    # out a county maintenance window, short enough that staff see a dead letter the same day.
    max_attempts: int = 8

    def delay(self, failures: int, random: Callable[[], float]) -> timedelta:
        """Wait after the `failures`-th failure (≥ 1); `random()` returns a float in [0, 1)."""
        nominal = min(self.cap, self.base * 2 ** max(0, failures - 1))
        return timedelta(seconds=nominal / 2 + nominal / 2 * random())

    def exhausted(self, failures: int) -> bool:
        return failures >= self.max_attempts
