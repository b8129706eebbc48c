"""Times as people read them: China Standard Time (北京时间, UTC+8).

Documents and the sync state keep UTC ("2026-12-02T10:28:00Z"); every time the app shows is
turned into Beijing time here, whatever time zone the phone — or, in web mode, the server
running the Python side — is set to. Same clock as the citizen page and the offices.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from shared.workdays import CHINA_TIME

MINUTE: Final = "%Y-%m-%d %H:%M"  # timeline, receipt
SHORT: Final = "%m-%d %H:%M"  # sync bar: the year is obvious there


def to_china(moment: datetime | str) -> datetime | None:
    """An aware datetime or a stored ISO-8601 string as Beijing time; None for text that is no time.

    A string without an offset is UTC (documents store UTC); a naive datetime is refused,
    as `shared.workdays.china_date` does, because its zone cannot be known.
    """
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment.strip())
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    elif moment.tzinfo is None:
        raise ValueError("to_china needs an aware datetime (documents store UTC)")
    return moment.astimezone(CHINA_TIME)


def show_time(moment: datetime | str, pattern: str = MINUTE) -> str:
    """`moment` in Beijing time as `pattern`; text that is no time is shown unchanged."""
    china = to_china(moment)
    if china is None:
        return str(moment)
    return china.strftime(pattern)
