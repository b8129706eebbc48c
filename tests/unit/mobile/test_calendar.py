"""The app's calendar includes the shipped override file, so an agent can accept past New Year."""

from __future__ import annotations

from datetime import date

from mobile.services.calendar import default_calendar


def test_a_thirty_day_item_accepted_in_late_november_gets_a_deadline() -> None:
    calendar = default_calendar()
    assert calendar.deadline(date(2026, 11, 24), 30) > date(2027, 1, 1)
