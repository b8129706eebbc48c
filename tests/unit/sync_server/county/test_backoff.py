"""Backoff: doubling delays with equal jitter, capped; dead after max_attempts."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sync_server.county.backoff import Backoff


def test_delays_double_and_stop_at_the_cap() -> None:
    backoff = Backoff(base=10, cap=60, max_attempts=5)
    upper = [backoff.delay(n, lambda: 0.999999).total_seconds() for n in range(1, 6)]
    lower = [backoff.delay(n, lambda: 0.0).total_seconds() for n in range(1, 6)]
    assert lower == [5, 10, 20, 30, 30]
    assert [round(u) for u in upper] == [10, 20, 40, 60, 60]
    assert not backoff.exhausted(4) and backoff.exhausted(5)


@settings(max_examples=50)
@given(failures=st.integers(min_value=1, max_value=40), r=st.floats(min_value=0, max_value=0.999999))
def test_a_delay_lies_between_half_and_all_of_its_nominal_value(failures: int, r: float) -> None:
    backoff = Backoff(base=30, cap=3600)
    nominal = min(3600, 30 * 2 ** (failures - 1))
    assert nominal / 2 <= backoff.delay(failures, lambda: r).total_seconds() <= nominal
