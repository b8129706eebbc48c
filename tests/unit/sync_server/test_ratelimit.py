"""The failed-login limiter backs off exponentially, is bounded, and forgets."""

from __future__ import annotations

import pytest

from sync_server.auth.ratelimit import FailureLimiter


@pytest.mark.parametrize(
    ("failures", "expected_wait"),
    [(0, 0.0), (3, 0.0), (4, 1.0), (5, 2.0), (6, 4.0), (7, 8.0), (9, 10.0), (40, 10.0)],
)
def test_wait_grows_then_caps(failures: int, expected_wait: float) -> None:
    limiter = FailureLimiter(free=3, base=1.0, cap=10.0, forget=100.0)
    for _ in range(failures):
        limiter.failure("k", 1000.0)
    assert limiter.retry_after("k", 1000.0) == expected_wait


def test_success_clears_and_idle_keys_are_forgotten() -> None:
    limiter = FailureLimiter(free=0, base=1.0, cap=10.0, forget=100.0)
    limiter.failure("a", 0.0)
    limiter.failure("b", 0.0)
    limiter.success("a")
    assert limiter.retry_after("a", 0.5) == 0.0
    assert limiter.retry_after("b", 0.5) == 0.5
    assert limiter.retry_after("b", 200.0) == 0.0
    limiter.failure("b", 200.0)
    assert limiter.retry_after("b", 200.0) == 1.0  # counting started over


def test_other_keys_are_unaffected() -> None:
    limiter = FailureLimiter(free=0, base=1.0, cap=10.0, forget=100.0)
    limiter.failure("attacked", 0.0)
    assert limiter.retry_after("someone-else", 0.0) == 0.0
