"""The sliding-window rate limiter of the citizen look-ups."""

from __future__ import annotations

import pytest

from sync_server.citizen import ratelimit
from sync_server.citizen.ratelimit import Limit, RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_allows_count_then_says_how_long_to_wait() -> None:
    clock = FakeClock()
    limiter = RateLimiter(Limit(3, 60), clock)
    assert [limiter.hit("a") for _ in range(3)] == [0, 0, 0]
    clock.now += 10
    assert limiter.hit("a") == 50
    assert limiter.hit("b") == 0  # keys are independent
    clock.now += 50
    assert limiter.hit("a") == 0  # the oldest hit left the window


def test_check_does_not_count() -> None:
    limiter = RateLimiter(Limit(1, 60), FakeClock())
    assert limiter.check("a") == 0 and limiter.check("a") == 0
    assert limiter.hit("a") == 0
    assert limiter.check("a") > 0


def test_refused_hits_do_not_extend_the_wait() -> None:
    clock = FakeClock()
    limiter = RateLimiter(Limit(1, 60), clock)
    limiter.hit("a")
    for _ in range(100):
        limiter.hit("a")
    clock.now += 60
    assert limiter.hit("a") == 0


def test_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "MAX_KEYS", 10)
    limiter = RateLimiter(Limit(1, 60), FakeClock())
    for i in range(50):
        limiter.hit(f"k{i}")
    assert len(limiter._hits) == 10
