"""The server's working-day calendar (工作日历): chinese-calendar plus the override file.

`chinese_calendar` only knows the years up to its release; the State Council publishes each
year's holidays late in the year before. The override file (`assets/calendar/overrides.json`,
or the file named by `ONETRIP_CALENDAR`) fills in those years so deadlines past New Year can
be computed; its format is in `shared.workdays.parse_overrides`.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from shared.workdays import WorkCalendar, parse_overrides

OVERRIDES_FILE = Path(__file__).resolve().parents[1] / "assets" / "calendar" / "overrides.json"


def load_calendar(path: Path | None = None) -> WorkCalendar:
    """The calendar with the overrides in `path` (default: ONETRIP_CALENDAR, else the shipped file)."""
    path = path or Path(os.environ.get("ONETRIP_CALENDAR") or OVERRIDES_FILE)
    if not path.exists():
        return WorkCalendar()
    return WorkCalendar(parse_overrides(path.read_text(encoding="utf-8"), source=str(path)))


@lru_cache(maxsize=1)
def default_calendar() -> WorkCalendar:
    """`load_calendar()` read once per process: the file changes with a deployment, not at run time."""
    return load_calendar()
