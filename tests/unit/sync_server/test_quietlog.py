"""QuietFilter: a few records per message template and window, a count of the rest."""

from __future__ import annotations

import logging

from sync_server.quietlog import QuietFilter


def _record(msg: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = (ValueError, ValueError("x"), None) if exc else None
    return logging.LogRecord("t", logging.WARNING, __file__, 1, msg, args, exc_info)


def test_a_flood_passes_a_burst_then_a_count() -> None:
    now = [0.0]
    quiet = QuietFilter(burst=3, window=60, clock=lambda: now[0])
    passed = [r for r in (_record("conn %s lost", i, exc=True) for i in range(1000)) if quiet.filter(r)]
    assert len(passed) == 3
    assert passed[0].exc_info is not None and passed[1].exc_info is None  # one traceback per window
    assert quiet.filter(_record("another message"))  # templates are counted apart
    now[0] = 61.0
    later = _record("conn %s lost", 5)
    assert quiet.filter(later) and "997 more like this" in later.getMessage()
