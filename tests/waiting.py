"""Polling waits for tests (等待条件): poll a condition until a deadline, never a bare sleep.

`wait_for` is for plain conditions from threads or sync tests; `wait_until` is for async tests and
takes a condition that returns a value or an awaitable one. Both return the first truthy value.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any

# Short enough to notice a change quickly, long enough not to hammer the engine.
INTERVAL = 0.05


def wait_for(condition: Callable[[], Any], *, timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll `condition` until it returns something truthy (returned); fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(INTERVAL)


async def wait_until(
    condition: Callable[[], Awaitable[Any] | Any], *, timeout: float = 30.0, what: str = "condition"
) -> Any:
    """Async `wait_for`: `condition` may be a coroutine function or a plain callable."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(INTERVAL)
