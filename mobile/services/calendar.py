"""The app's working-day calendar (工作日历): chinese-calendar plus the shipped override file.

The override file (`assets/calendar/overrides.json`, packaged with the app) lists the
holidays of years the `chinese_calendar` package does not know yet, so an agent can accept
an application whose deadline falls after New Year. Format: `shared.workdays.parse_overrides`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from mobile.config import ASSETS_DIR
from shared.workdays import WorkCalendar, parse_overrides

OVERRIDES_FILE = ASSETS_DIR / "calendar" / "overrides.json"


def load_calendar(path: Path = OVERRIDES_FILE) -> WorkCalendar:
    if not path.exists():
        return WorkCalendar()
    return WorkCalendar(parse_overrides(path.read_text(encoding="utf-8"), source=path.name))


@lru_cache(maxsize=1)
def default_calendar() -> WorkCalendar:
    return load_calendar()
