"""The server's calendar includes the shipped override file, so deadlines cross New Year."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from shared.errors import CalendarError
from sync_server.calendar import load_calendar


def test_the_shipped_overrides_know_the_year_after_the_package() -> None:
    calendar = load_calendar()
    # 30 working days from late November runs into January of the next year.
    assert calendar.add_working_days(date(2026, 11, 24), 30) > date(2027, 1, 1)


def test_without_overrides_an_unknown_year_is_an_error_not_a_guess(tmp_path: Path) -> None:
    calendar = load_calendar(tmp_path / "missing.json")
    with pytest.raises(CalendarError):
        calendar.is_workday(date(2031, 3, 3))


def test_the_environment_names_another_override_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "overrides.json"
    path.write_text('{"format": 1, "years": [{"year": 2031}], '
                    '"days": [{"date": "2031-03-03", "workday": false}]}', encoding="utf-8")
    monkeypatch.setenv("ONETRIP_CALENDAR", str(path))
    calendar = load_calendar()
    assert calendar.is_workday(date(2031, 3, 3)) is False
    assert calendar.is_workday(date(2031, 3, 4)) is True
