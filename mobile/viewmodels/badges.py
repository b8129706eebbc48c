"""Deadline badges (电子监察黄牌/红牌) and status labels for case rows.

Yellow when one working day is left before the deadline, red when it has passed; only
while the clock runs (accepted, forwarded, approved). The badge carries words as well as a
colour, so it is readable by people who cannot tell the colours apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from mobile.services.i18n import Translator
from shared.errors import DomainError

# Statuses in which the statutory clock runs (it starts at 受理 and pauses during 补正).
CLOCK_RUNNING = frozenset({"accepted", "forwarded", "approved"})


class BadgeLevel(StrEnum):
    NONE = "none"
    YELLOW = "yellow"
    RED = "red"


@dataclass(frozen=True)
class Badge:
    level: BadgeLevel
    text: str = ""


WorkdaysBetween = Callable[[date, date], int]


def weekdays_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end`, Monday–Friday only.

    The fallback when the domain calendar (shared.workdays, with statutory holidays) is not
    available; the app passes the real one.
    """
    days = 0
    current = start
    while current < end:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days += 1
    return days


def deadline_badge(
    status: str, deadline: str | None, today: date, t: Translator, between: WorkdaysBetween = weekdays_between
) -> Badge:
    """The badge of one case."""
    if status not in CLOCK_RUNNING or not deadline:
        return Badge(BadgeLevel.NONE)
    due = date.fromisoformat(deadline)
    if today > due:
        return Badge(BadgeLevel.RED, t("badge_red"))
    try:
        left = between(today, due)
    except DomainError:  # a year the holiday calendar does not know yet: count weekdays
        left = weekdays_between(today, due)
    if left <= 1:
        return Badge(BadgeLevel.YELLOW, t("badge_yellow"))
    return Badge(BadgeLevel.NONE)
