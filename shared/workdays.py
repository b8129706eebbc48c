"""Working days (工作日), deadlines (限时办结) and supervision cards (电子监察 黄牌/红牌).

Whether a day is a working day comes from `chinese_calendar` (statutory holidays and
make-up working days 调休 as the State Council announces them each year), corrected by an
override file (`assets/calendar/overrides.json`, format in `parse_overrides`). The
package only knows the years up to its release; for a later year the override file must
list the year under `years` — otherwise asking about it raises `CalendarError` rather
than guessing.

Counting follows the usual rule of administrative time limits (受理次日起算): the day of
acceptance does not count; the first counted day is the next working day, and the
deadline is the last counted day of the time limit. A pause for missing materials
(补正) from the day they were asked for to the day they arrived, `(start, end)`, takes the
working days d with `start < d <= end` out of the count — the same "next day" rule at
both ends: the request day counts, counting resumes the day after the materials arrive.

Cards: red once `today` is past the deadline; yellow when at most one working day is
left after today (today is the last working day before the deadline, or the deadline
itself); green otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Final

import chinese_calendar

from shared.errors import CalendarError
from shared.jsonpos import line_of, locate
from shared.text import Message

Pause = tuple[date, date]

# A deadline search that walks this far without finishing means the calendar data is
# broken (e.g. an override file marking everything a holiday), not a long time limit.
_MAX_DAYS: Final = 3660
FORMAT: Final = 1
ONE_DAY: Final = timedelta(days=1)
# Offices keep Beijing time; China has no daylight saving, so a fixed offset is exact.
CHINA_TIME: Final = timezone(timedelta(hours=8), "Asia/Shanghai")


class Card(StrEnum):
    """Supervision card of a case (电子监察亮灯)."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


@dataclass(frozen=True)
class CalendarOverrides:
    """Days whose working status differs from the package's, and years the file covers fully."""

    days: Mapping[date, bool] = field(default_factory=dict)
    years: frozenset[int] = frozenset()
    names: Mapping[date, str] = field(default_factory=dict)


def china_date(moment: datetime) -> date:
    """The calendar day in China of an aware moment (documents store UTC: 20:00Z is the next day)."""
    if moment.tzinfo is None:
        raise ValueError("china_date needs an aware datetime (documents store UTC)")
    return moment.astimezone(CHINA_TIME).date()


def _bad(source: str, line: int | None, zh: str, en: str) -> CalendarError:
    where = f"{source}:{line}: " if line else f"{source}: "
    return CalendarError(Message(where + zh, where + en))


def parse_overrides(text: str, *, source: str = "overrides.json") -> CalendarOverrides:
    """Parse an override file::

        {"format": 1,
         "years": [{"year": 2027, "provisional": true, "source": "…"}],
         "days": [{"date": "2027-01-01", "workday": false, "name": "元旦 New Year's Day"}, …]}

    `years`: years the file describes completely — for them the package is not asked, and
    a day not listed under `days` is a working day exactly when it is Monday to Friday.
    `days`: holidays (`"workday": false`, also weekdays off in lieu 补休) and make-up
    working days (`"workday": true`, a Saturday or Sunday 调休上班). A listed day of a year
    not under `years` corrects the package's answer for that day only.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise _bad(source, e.lineno, f"JSON 格式错误：{e.msg}", f"invalid JSON: {e.msg}") from None
    lines = locate(text)

    def at(*path: str | int) -> int:
        return line_of(lines, path)

    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise _bad(
            source,
            at("format"),
            f"需要对象且 format 为 {FORMAT}",
            f'expected an object with "format": {FORMAT}',
        )
    years, days, names = set(), {}, {}
    year_entries, day_entries = data.get("years", []), data.get("days", [])
    if not isinstance(year_entries, list) or not isinstance(day_entries, list):
        raise _bad(source, at("days"), "years 和 days 应为列表", "years and days must be lists")
    for n, entry in enumerate(year_entries):
        year = entry.get("year") if isinstance(entry, dict) else None
        if not isinstance(year, int) or isinstance(year, bool) or not 1900 <= year <= 2999:
            raise _bad(source, at("years", n), f"年份无效：{entry!r}", f"bad year: {entry!r}")
        years.add(year)
    for n, entry in enumerate(day_entries):
        day, workday, name = _day_entry(entry, source, at("days", n))
        if day in days:
            raise _bad(source, at("days", n), f"日期重复：{day}", f"date listed twice: {day}")
        days[day] = workday
        names[day] = name
    return CalendarOverrides(days=days, years=frozenset(years), names=names)


def _day_entry(entry: object, source: str, line: int) -> tuple[date, bool, str]:
    if not isinstance(entry, dict):
        raise _bad(
            source, line, f"days 中的条目应为对象：{entry!r}", f"entries under days are objects: {entry!r}"
        )
    try:
        day = date.fromisoformat(str(entry.get("date")))
    except ValueError:
        raise _bad(
            source, line, f"日期无效（应为 YYYY-MM-DD）：{entry.get('date')!r}", f"bad date: {entry!r}"
        ) from None
    workday, name = entry.get("workday"), entry.get("name", "")
    if not isinstance(workday, bool) or not isinstance(name, str):
        raise _bad(source, line, f"{day} 需要 workday: true/false", f'{day} needs "workday": true or false')
    return day, workday, name


def _package_is_workday(day: date) -> bool:
    return bool(chinese_calendar.is_workday(day))


class WorkCalendar:
    """Chinese working days with overrides; pure and cheap to build."""

    def __init__(
        self,
        overrides: CalendarOverrides | None = None,
        *,
        base: Callable[[date], bool] = _package_is_workday,
    ) -> None:
        self.overrides = overrides or CalendarOverrides()
        self._base = base

    def is_workday(self, day: date) -> bool:
        """Is `day` a working day? Raises `CalendarError` for a year nobody knows."""
        listed = self.overrides.days.get(day)
        if listed is not None:
            return listed
        if day.year in self.overrides.years:
            return day.weekday() < 5
        try:
            return self._base(day)
        except NotImplementedError:
            raise CalendarError(
                Message(
                    f"没有 {day.year} 年的节假日数据：请在日历覆盖文件中补充该年安排",
                    f"No holiday data for {day.year}: add the year to the calendar override file",
                )
            ) from None

    def _walk(self, start: date, n: int, pauses: Iterable[Pause] = ()) -> date:
        """The n-th (n ≥ 1) counted working day after `start`."""
        spans = _checked(pauses)
        day, counted = start, 0
        for _ in range(_MAX_DAYS):
            day += ONE_DAY
            if self.is_workday(day) and not any(s < day <= e for s, e in spans):
                counted += 1
                if counted == n:
                    return day
        raise CalendarError(
            Message(
                f"{start} 之后十年内找不到第 {n} 个工作日，请检查日历数据",
                f"No {n}th working day within ten years after {start}: check the calendar data",
            )
        )

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start`; `start` itself for n = 0."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        return start if n == 0 else self._walk(start, n)

    def working_days_between(self, a: date, b: date) -> int:
        """Working days d with a < d <= b; negative (-count of b < d <= a) when b is before a."""
        if b < a:
            return -self.working_days_between(b, a)
        return sum(1 for k in range(1, (b - a).days + 1) if self.is_workday(a + timedelta(days=k)))

    def deadline(self, accepted_on: date, time_limit_days: int, pauses: Iterable[Pause] = ()) -> date:
        """Last day of a time limit counted from the day after acceptance, pauses left out."""
        if time_limit_days < 1:
            raise ValueError(f"time_limit_days must be >= 1, got {time_limit_days}")
        return self._walk(accepted_on, time_limit_days, pauses)

    def card(self, deadline: date, today: date) -> Card:
        """Red when overdue, yellow with at most one working day left after today."""
        if today > deadline:
            return Card.RED
        return Card.YELLOW if self.working_days_between(today, deadline) <= 1 else Card.GREEN


def _checked(pauses: Iterable[Pause]) -> list[Pause]:
    spans = list(pauses)
    for start, end in spans:
        if end < start:
            raise CalendarError(
                Message(
                    f"暂停时段的结束早于开始：{start}–{end}", f"A pause ends before it starts: {start}–{end}"
                )
            )
    return spans
