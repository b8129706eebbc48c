"""Display times: stored UTC shown as Beijing time (UTC+8), whatever the device's zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from mobile.viewmodels.china_time import SHORT, show_time, to_china

pytestmark = pytest.mark.usefixtures("device_in_california")


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("2026-12-02T10:28:00Z", "2026-12-02 18:28"),
        ("2026-12-02T10:28:00+00:00", "2026-12-02 18:28"),
        ("2026-12-02T10:28:00", "2026-12-02 18:28"),  # no offset: documents store UTC
        ("2026-12-02T15:59:59Z", "2026-12-02 23:59"),
        ("2026-12-02T16:00:00Z", "2026-12-03 00:00"),  # midnight in Beijing: the next day
        ("2026-12-31T20:05:00Z", "2027-01-01 04:05"),  # and the next year
        ("2026-12-02T18:28:00+08:00", "2026-12-02 18:28"),
        ("2026-12-02T05:28:00-05:00", "2026-12-02 18:28"),
    ],
)
def test_stored_utc_shows_as_beijing_time(stored: str, shown: str) -> None:
    assert show_time(stored) == shown


def test_aware_datetimes_and_the_short_pattern() -> None:
    assert show_time(datetime(2026, 12, 2, 10, 28, tzinfo=UTC), SHORT) == "12-02 18:28"
    assert show_time(datetime(2026, 12, 31, 16, 30, tzinfo=UTC), SHORT) == "01-01 00:30"
    pacific = timezone(timedelta(hours=-8))
    assert show_time(datetime(2026, 12, 2, 2, 28, tzinfo=pacific), SHORT) == "12-02 18:28"


def test_the_moment_itself_is_unchanged() -> None:
    moment = datetime(2026, 12, 2, 10, 28, tzinfo=UTC)
    china = to_china(moment)
    assert china == moment and china is not None and china.utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize("text", ["", "—", "yesterday"])
def test_text_that_is_no_time_is_shown_as_it_is(text: str) -> None:
    assert to_china(text) is None
    assert show_time(text) == text


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError):
        show_time(datetime(2026, 12, 2, 10, 28))
