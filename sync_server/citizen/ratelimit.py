"""Rate limits (限流) for the citizen look-ups: a sliding window per key, in memory.

Four characters of an ID number are a weak secret (about 11,000 values), so guessing is
made slow: per tracking code and per client address. The counters live in the process:
with several server processes behind a load balancer each keeps its own, which multiplies
the allowance by the number of processes — still far from a practical guessing rate.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

MAX_KEYS = 50_000  # bounds memory under a flood of distinct keys; the oldest keys go first


@dataclass(frozen=True)
class Limit:
    """At most `count` hits in `window` seconds."""

    count: int
    window: float


class RateLimiter:
    """Counts hits per key; `hit` answers 0 when allowed, else the seconds to wait."""

    def __init__(self, limit: Limit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def hit(self, key: str) -> int:
        """Record a hit for `key`; 0 when allowed, else the whole seconds until one is allowed."""
        wait = self.check(key)
        if wait == 0:
            self._hits.setdefault(key, deque()).append(self.clock())
            self._hits.move_to_end(key)
            while len(self._hits) > MAX_KEYS:
                self._hits.popitem(last=False)
        return wait

    def check(self, key: str) -> int:
        """Like `hit` without recording: the seconds to wait, 0 when a hit is allowed."""
        hits = self._hits.get(key)
        if hits is None:
            return 0
        now = self.clock()
        while hits and hits[0] <= now - self.limit.window:
            hits.popleft()
        if len(hits) < self.limit.count:
            return 0
        return max(1, math.ceil(hits[0] + self.limit.window - now))
