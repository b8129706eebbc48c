"""Retry with exponential backoff (指数退避) for network errors and 5xx answers."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """How often and how patiently a request is retried.

    Defaults: 6 retries from 0.25 s doubling up to 8 s wait about 16 s in all — long enough to ride out
    a gateway restart or a village mobile link dropping for a few seconds, short enough that a sync bar
    shows the failure instead of spinning while the network is really gone.
    """

    retries: int = 6
    initial: float = 0.25  # seconds before the first retry
    factor: float = 2.0
    maximum: float = 8.0  # seconds; the cap of a single wait
    jitter: float = 0.25  # fraction of randomness, so many devices coming back do not retry in step

    def delay(self, attempt: int, rnd: random.Random) -> float:
        base = min(self.maximum, self.initial * self.factor**attempt)
        return base * (1.0 + self.jitter * (rnd.random() * 2.0 - 1.0))


async def with_retries(
    call: Callable[[], Awaitable[T]],
    backoff: Backoff,
    retryable: Callable[[BaseException], bool],
    rnd: random.Random | None = None,
) -> T:
    """Run `call`, retrying while `retryable(error)` and attempts remain; the last error propagates."""
    rnd = rnd or random.Random()
    attempt = 0
    while True:
        try:
            return await call()
        except Exception as exc:
            if attempt >= backoff.retries or not retryable(exc):
                raise
            await asyncio.sleep(backoff.delay(attempt, rnd))
            attempt += 1
