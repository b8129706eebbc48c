"""Fixtures of the app's unit tests."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest


@pytest.fixture
def device_in_california() -> Iterator[None]:
    """The process's local zone set to UTC-8, 16 hours from Beijing: code that formats with the
    device's zone (`astimezone()`) instead of China time shows the wrong day and hour.

    A POSIX rule ("PST8"), so it needs no tzdata; `time.tzset` is Unix-only, as is the app's CI.
    """
    before = os.environ.get("TZ")
    os.environ["TZ"] = "PST8"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()
