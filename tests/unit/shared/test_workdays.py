"""Working days across the 2026 and 2027 New Year and Spring Festival, deadlines, pauses, cards.

2026 comes from chinese_calendar (元旦 Jan 1–3, Sunday Jan 4 worked; 春节 Feb 15–23,
Saturdays Feb 14 and Feb 28 worked). chinesecalendar 1.11 stops at 2026, so 2027 comes
from the shipped override file (provisional dates: 元旦 Jan 1; 春节 Feb 5–12 off, Sunday
Jan 31 and Saturday Feb 20 worked).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from shared.errors import CalendarError
from shared.workdays import CalendarOverrides, Card, WorkCalendar, china_date, parse_overrides

OVERRIDES = Path(__file__).resolve().parents[3] / "assets" / "calendar" / "overrides.json"


@pytest.fixture(scope="module")
def calendar() -> WorkCalendar:
    return WorkCalendar(parse_overrides(OVERRIDES.read_text(encoding="utf-8"), source=OVERRIDES.name))


D = date.fromisoformat


@pytest.mark.parametrize(
    ("day", "workday"),
    [
        ("2025-12-31", True),
        ("2026-01-01", False),  # 元旦
        ("2026-01-02", False),  # Friday off
        ("2026-01-03", False),
        ("2026-01-04", True),  # Sunday worked (调休)
        ("2026-01-05", True),
        ("2026-02-13", True),
        ("2026-02-14", True),  # Saturday worked
        ("2026-02-15", False),
        ("2026-02-16", False),  # 除夕
        ("2026-02-20", False),
        ("2026-02-23", False),  # Monday still off
        ("2026-02-24", True),
        ("2026-02-28", True),  # Saturday worked
        ("2026-03-01", False),
        ("2026-12-31", True),
        ("2027-01-01", False),  # from the override file from here on
        ("2027-01-02", False),
        ("2027-01-04", True),
        ("2027-01-30", False),
        ("2027-01-31", True),  # Sunday worked
        ("2027-02-04", True),
        ("2027-02-05", False),  # 除夕
        ("2027-02-08", False),
        ("2027-02-12", False),
        ("2027-02-13", False),
        ("2027-02-15", True),
        ("2027-02-20", True),  # Saturday worked
        ("2027-02-21", False),
        ("2027-03-06", False),  # a plain weekend of a year the file covers
        ("2027-03-08", True),
    ],
)
def test_is_workday(calendar: WorkCalendar, day: str, workday: bool) -> None:
    assert calendar.is_workday(D(day)) is workday


@pytest.mark.parametrize("day", ["2028-01-03", "2030-06-01"])
def test_unknown_year_is_an_error_not_a_guess(calendar: WorkCalendar, day: str) -> None:
    with pytest.raises(CalendarError) as caught:
        calendar.is_workday(D(day))
    assert day[:4] in caught.value.message.zh and "override" in caught.value.message.en


def test_without_overrides_2027_is_unknown() -> None:
    with pytest.raises(CalendarError):
        WorkCalendar().is_workday(D("2027-02-01"))


def test_a_day_listed_for_a_known_year_corrects_the_package() -> None:
    local = WorkCalendar(CalendarOverrides(days={D("2026-03-02"): False}))
    assert not local.is_workday(D("2026-03-02"))
    assert local.is_workday(D("2026-03-03"))


def test_a_year_the_package_does_not_know_uses_the_file() -> None:
    def package(day: date) -> bool:
        raise NotImplementedError

    calendar = WorkCalendar(CalendarOverrides(years=frozenset({2031})), base=package)
    assert calendar.is_workday(D("2031-01-03")) and not calendar.is_workday(D("2031-01-04"))
    with pytest.raises(CalendarError):
        calendar.is_workday(D("2032-01-05"))


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        ("2025-12-31", 0, "2025-12-31"),
        ("2025-12-31", 1, "2026-01-04"),
        ("2025-12-31", 2, "2026-01-05"),
        ("2026-02-12", 1, "2026-02-13"),
        ("2026-02-12", 2, "2026-02-14"),
        ("2026-02-12", 3, "2026-02-24"),
        ("2026-12-30", 2, "2027-01-04"),
        ("2027-01-29", 1, "2027-01-31"),
        ("2027-02-04", 1, "2027-02-15"),
        ("2027-02-19", 1, "2027-02-20"),
        ("2027-02-19", 2, "2027-02-22"),
    ],
)
def test_add_working_days(calendar: WorkCalendar, start: str, n: int, expected: str) -> None:
    assert calendar.add_working_days(D(start), n) == D(expected)


@pytest.mark.parametrize(
    ("a", "b", "count"),
    [
        ("2026-02-13", "2026-02-13", 0),
        ("2026-02-13", "2026-02-24", 2),
        ("2026-02-24", "2026-02-13", -2),
        ("2026-12-31", "2027-01-04", 1),
        ("2027-01-29", "2027-02-22", 12),  # Jan 31; Feb 1–4; Feb 15–19; Sat Feb 20; Feb 22
    ],
)
def test_working_days_between(calendar: WorkCalendar, a: str, b: str, count: int) -> None:
    assert calendar.working_days_between(D(a), D(b)) == count


@pytest.mark.parametrize(
    ("accepted", "limit", "pauses", "deadline"),
    [
        # 受理次日起算: a Friday acceptance before the 2026 Spring Festival.
        ("2026-02-13", 3, [], "2026-02-25"),
        ("2026-02-13", 7, [], "2026-03-02"),
        ("2026-02-16", 3, [], "2026-02-26"),  # accepted during the holiday
        ("2025-12-31", 3, [], "2026-01-06"),
        ("2026-12-30", 3, [], "2027-01-05"),
        ("2027-01-29", 3, [], "2027-02-02"),
        ("2027-02-04", 3, [], "2027-02-17"),
        ("2027-02-04", 7, [], "2027-02-22"),  # Saturday Feb 20 counts
        # 补正: (asked, arrived) — the request day counts, counting resumes the day after arrival.
        ("2026-03-02", 3, [], "2026-03-05"),
        ("2026-03-02", 3, [("2026-03-03", "2026-03-06")], "2026-03-10"),
        ("2026-03-02", 3, [("2026-03-02", "2026-03-03")], "2026-03-06"),
        ("2026-03-02", 3, [("2026-03-03", "2026-03-03")], "2026-03-05"),  # same-day fix: no loss
        ("2026-03-02", 3, [("2026-03-03", "2026-03-04"), ("2026-03-05", "2026-03-09")], "2026-03-10"),
        ("2026-02-11", 3, [("2026-02-12", "2026-02-24")], "2026-02-26"),  # pause across the holiday
        ("2026-02-11", 3, [("2026-02-01", "2026-02-10")], "2026-02-14"),  # pause before acceptance: no effect
    ],
)
def test_deadline(
    calendar: WorkCalendar, accepted: str, limit: int, pauses: list[tuple[str, str]], deadline: str
) -> None:
    spans = [(D(s), D(e)) for s, e in pauses]
    assert calendar.deadline(D(accepted), limit, spans) == D(deadline)


def test_deadline_refuses_nonsense(calendar: WorkCalendar) -> None:
    with pytest.raises(ValueError):
        calendar.deadline(D("2026-03-02"), 0)
    with pytest.raises(ValueError):
        calendar.add_working_days(D("2026-03-02"), -1)
    with pytest.raises(CalendarError):
        calendar.deadline(D("2026-03-02"), 3, [(D("2026-03-05"), D("2026-03-04"))])


def test_a_calendar_without_working_days_is_reported() -> None:
    never = WorkCalendar(base=lambda day: False)
    with pytest.raises(CalendarError):
        never.deadline(D("2026-03-02"), 1)


@pytest.mark.parametrize(
    ("deadline", "today", "card"),
    [
        ("2026-02-25", "2026-02-10", Card.GREEN),
        ("2026-02-25", "2026-02-14", Card.GREEN),  # Feb 24 and 25 still ahead
        ("2026-02-25", "2026-02-20", Card.GREEN),
        ("2026-02-25", "2026-02-23", Card.GREEN),
        ("2026-02-25", "2026-02-24", Card.YELLOW),  # one working day left after today
        ("2026-02-25", "2026-02-25", Card.YELLOW),  # the last day
        ("2026-02-25", "2026-02-26", Card.RED),
        ("2026-01-05", "2026-01-02", Card.GREEN),  # Jan 4 (worked Sunday) and Jan 5 ahead
        ("2026-01-05", "2026-01-03", Card.GREEN),
        ("2026-01-05", "2026-01-04", Card.YELLOW),
        ("2027-02-15", "2027-02-05", Card.YELLOW),  # the whole holiday is one working day from the deadline
        ("2027-02-15", "2027-02-16", Card.RED),
        ("2027-02-22", "2027-02-19", Card.GREEN),  # Feb 20 (worked Saturday) and Feb 22 ahead
    ],
)
def test_card(calendar: WorkCalendar, deadline: str, today: str, card: Card) -> None:
    assert calendar.card(D(deadline), D(today)) is card


def test_shipped_overrides_cover_2027() -> None:
    overrides = parse_overrides(OVERRIDES.read_text(encoding="utf-8"))
    assert overrides.years == frozenset({2027})
    assert overrides.names[D("2027-02-05")].startswith("春节")
    # Every make-up working day listed is a Saturday or Sunday.
    assert all(day.weekday() >= 5 for day, workday in overrides.days.items() if workday)


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ('{"format": 1,\n "days": [\n  {"date": "2027-01-01", "workday": false},\n ]\n}', 4, "JSON"),
        ('{"format": 2}', 1, "format"),
        ("[]", 1, "format"),
        ('{"format": 1,\n "days": [\n  {"date": "2027-13-01", "workday": false}\n ]\n}', 3, "日期无效"),
        ('{"format": 1,\n "days": [\n  {"date": "2027-01-01"}\n ]\n}', 3, "workday"),
        ('{"format": 1,\n "days": [\n  {"date": "2027-01-01", "workday": 0}\n ]\n}', 3, "workday"),
        (
            '{"format": 1,\n "days": [\n  {"date": "2027-01-01", "workday": false},\n'
            '  {"date": "2027-01-01", "workday": true}\n ]\n}',
            4,
            "重复",
        ),
        ('{"format": 1,\n "years": [\n  {"year": "2027"}\n ]\n}', 3, "年份"),
        ('{"format": 1,\n "days": {}\n}', 2, "列表"),
        ('{"format": 1,\n "days": [\n  "2027-01-01"\n ]\n}', 3, "对象"),
    ],
)
def test_bad_override_files_name_the_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(CalendarError) as caught:
        parse_overrides(text, source="cal.json")
    assert caught.value.message.zh.startswith(f"cal.json:{line}: ")
    assert fragment in caught.value.message.zh


@pytest.mark.parametrize(
    ("moment", "day"),
    [
        ("2026-02-13T15:59:59+00:00", "2026-02-13"),
        ("2026-02-13T16:00:00+00:00", "2026-02-14"),  # midnight in Beijing
        ("2026-12-31T20:00:00+00:00", "2027-01-01"),
        ("2027-01-01T07:00:00+08:00", "2027-01-01"),
    ],
)
def test_china_date(moment: str, day: str) -> None:
    assert china_date(datetime.fromisoformat(moment)) == D(day)


def test_china_date_needs_an_aware_moment() -> None:
    with pytest.raises(ValueError):
        china_date(datetime(2026, 2, 13, 12))
