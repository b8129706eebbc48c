"""The project's time format: ISO-8601 UTC with a Z, whole seconds (`2026-11-24T06:30:00Z`).

Documents, events, leases and the county hand-off store times as such strings; they sort
like the times they name. Pure: the caller passes the moment.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Final

ISO_UTC: Final = "%Y-%m-%dT%H:%M:%SZ"


def iso_utc(moment: datetime) -> str:
    """`moment` in the project's format (a naive datetime is taken as local time, as `astimezone` does)."""
    return moment.astimezone(UTC).strftime(ISO_UTC)


def iso_utc_at(seconds: float) -> str:
    """A POSIX time (seconds, as `time.time()` returns) in the project's format."""
    return time.strftime(ISO_UTC, time.gmtime(seconds))
