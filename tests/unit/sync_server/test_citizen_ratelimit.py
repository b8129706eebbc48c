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


def test_slow_down_success_takes_back_only_its_own_count() -> None:
    from sync_server.citizen.ratelimit import SlowDown

    policy = SlowDown("t", free=1, base=60.0, cap=900.0, forget=86400.0)
    state: dict[str, object] = {}
    for now in (0.0, 1.0):  # two failures: the second starts a one-minute wait
        wait, state = policy.admit(state, now)
        assert wait == 0
    assert policy.admit(state, 30.0)[0] == 31.0  # waiting until 61: refused, not counted
    wait, state = policy.admit(state, 61.0)  # the citizen after the wait: admitted...
    assert wait == 0 and state["failures"] == 3
    forgiven = policy.forgive(state, 61.0)  # ...and right: her count and her wait go back
    assert forgiven == {"failures": 2, "last": 61.0, "blocked_until": 0.0}
    wait, after = policy.admit(forgiven, 62.0)  # the guesser's next failure still waits after it
    assert wait == 0 and after["blocked_until"] > 62.0
    # A failure counted by someone else after hers keeps the wait it set.
    assert policy.forgive(after, 61.0) == {**after, "failures": 2}
    assert policy.forgive({"failures": 1, "last": 5.0, "blocked_until": 0.0}, 5.0) is None
