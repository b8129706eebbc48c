"""Quiet logs under a flood (限流日志): the same message at most a few times a minute.

A flood (thousands of bad connections, a CouchDB outage seen by every request) used to write a
line — often a traceback — per event: 323 MB in a minute (issue 15 F13). `QuietFilter` on the
log handlers lets each message template (logger, level, format string) through `burst` times
per `window` seconds; the rest are counted, and the next record of that template that passes
says how many were left out. Only the first record of a template per window keeps its
traceback. Nothing is lost silently: the count is logged.

    install()     # on the root logger's handlers (`onetrip up` does it)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

BURST = 10  # records of one template per window
WINDOW = 60.0  # seconds
MAX_TEMPLATES = 10_000  # bound on memory: templates are the code's format strings


@dataclass
class _Window:
    start: float
    passed: int = 0
    dropped: int = 0


class QuietFilter(logging.Filter):
    def __init__(self, burst: int = BURST, window: float = WINDOW,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.burst, self.window, self.clock = burst, window, clock
        self._windows: dict[tuple[str, int, str], _Window] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(record.msg))
        now = self.clock()
        entry = self._windows.get(key)
        if entry is None or now - entry.start >= self.window:
            if len(self._windows) >= MAX_TEMPLATES:
                self._windows.clear()
            dropped = entry.dropped if entry is not None else 0
            entry = self._windows[key] = _Window(now)
            if dropped:
                record.msg = f"{record.msg} [{dropped} more like this not logged]"
        if entry.passed >= self.burst:
            entry.dropped += 1
            return False
        if entry.passed > 0 and record.exc_info:  # one traceback per template and window is enough
            record.exc_info, record.exc_text = None, None
            record.msg = f"{record.msg} (traceback as above)"
        entry.passed += 1
        return True


def install(logger: logging.Logger | None = None) -> QuietFilter:
    """Put one `QuietFilter` on every handler of `logger` (default: the root logger)."""
    quiet = QuietFilter()
    for handler in (logger or logging.getLogger()).handlers:
        handler.addFilter(quiet)
    return quiet
