"""Rate limits (限流) for the citizen look-ups: slow-downs, never lock-outs.

Four characters of an ID number are a weak secret (3 digits and a check character: 11,000
values), so guessing is made slow — but a code must never be locked: anyone holding a
receipt could otherwise shut its citizen out. Three limits apply (ADR 0128):

- every request, per client address: a sliding window (`RateLimiter`), a flood guard;
- failed tries, per client address: after `free` of them each further one makes the address
  wait `base · 2^k` s, at most `cap` (`FailureLimiter`, in process memory);
- failed tries, per tracking code, whoever sends them: the same exponential slow-down
  (`SlowDown`), kept for every server process together in `ot-server` (ADR 0111).

While a code waits, every try on it — the right digits too — is answered 429 with
`Retry-After` and is not counted, so the wait never grows past `cap`; the first try after
the wait is checked normally, and the right digits get in. A success takes back only its
own count: the guesses of others stay counted.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from shared.jsontypes import JSON
from sync_server.auth.ratelimit import FailureLimiter
from sync_server.shared_limits import Backoff

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


@dataclass(frozen=True)
class SlowDown(Backoff):
    """`Backoff` whose success takes back only its own attempt, not the others' failures:
    the rightful citizen getting in must not hand a guesser a fresh set of free tries."""

    def forgive(self, state: JSON, now: float) -> JSON | None:
        failures = int(state.get("failures", 0)) - 1
        if failures <= 0:
            return None
        # This attempt set `blocked_until` when it was the last one counted (`last == now`);
        # before it the key was free (it was admitted), so free it again. A later failure
        # (someone else's guess) keeps the wait it set.
        ours = float(state.get("last", 0.0)) == now
        blocked = 0.0 if ours else float(state.get("blocked_until", 0.0))
        return {**state, "failures": failures, "blocked_until": blocked}

    def local(self) -> FailureLimiter:
        """The same slow-down in process memory: the fast path refusing a waiting key without I/O."""
        return FailureLimiter(free=self.free, base=self.base, cap=self.cap, forget=self.forget)


HOUR = 3600.0
DAY = 24 * HOUR
# Per tracking code: 5 tries at once, then 1, 2, 4, 8 min, then one every 15 min. A guesser
# with any number of addresses gets ≤ 4 tries an hour (96 a day): ≈ 57 days on average and
# ≈ 115 days to exhaust 11,000 values. The rightful citizen waits at most 15 minutes.
PER_CODE = SlowDown("track-code-slow", free=4, base=60.0, cap=15 * 60.0, forget=DAY)
# Per client address, over all codes: 10 tries at once (a family, a village office behind one
# NAT), then 1, 2, 4 … s, at most 10 min: ≤ 144 tries a day from one address.
PER_ADDRESS_FAILURES = SlowDown("track-address-slow", free=9, base=1.0, cap=10 * 60.0, forget=DAY)
