"""Longpoll admission (长轮询限额): per user and in total, below the feeds' pool.

A longpoll holds a connection upstream for up to a minute (`query.MAX_FEED_WAIT_MS`). Held
ones are counted per user and in total; one over either bound is answered 429 with
`Retry-After` at once, so a device opening hundreds cannot take the connections the others'
replication needs. The total stays below `couch.FEED_POOL`, so an admitted feed never waits
for a connection, and feeds have a pool of their own apart from other forwards (ADR 0104).
Counts are per process, in memory, like the login limits (ADR 0042).

    slot = feeds.admit(user.username)     # ApiError(429) when over a bound
    ...                                   # forward the longpoll
    slot.release()                        # idempotent
"""

from __future__ import annotations

import logging
from collections import Counter

from sync_server.couch import FEED_POOL
from sync_server.errors import ApiError

log = logging.getLogger(__name__)

MAX_PER_USER = 8  # a PouchDB client live-syncing a few databases; the app polls, holding none
MAX_TOTAL = FEED_POOL - 8  # 64 held at once per process
RETRY_AFTER = 30  # seconds: about half a longpoll


class Slot:
    """One admitted longpoll; `release` gives its place back (once)."""

    def __init__(self, feeds: Feeds, user: str) -> None:
        self._feeds, self._user, self._held = feeds, user, True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._feeds._release(self._user)


class Feeds:
    def __init__(self, per_user: int = MAX_PER_USER, total: int = MAX_TOTAL) -> None:
        self.per_user, self.total = per_user, total
        self._by_user: Counter[str] = Counter()
        self._count = 0

    @property
    def held(self) -> int:
        return self._count

    def admit(self, user: str) -> Slot:
        if self._by_user[user] >= self.per_user:
            raise _busy(f"每个用户至多 {self.per_user} 个长轮询 / at most {self.per_user} longpoll feeds "
                        "per user are held at once")
        if self._count >= self.total:
            log.warning("longpoll refused: %d feeds held (the bound)", self._count)
            raise _busy("服务器长轮询已满 / the server holds as many longpoll feeds as it may")
        self._by_user[user] += 1
        self._count += 1
        return Slot(self, user)

    def _release(self, user: str) -> None:
        self._count -= 1
        self._by_user[user] -= 1
        if self._by_user[user] <= 0:
            del self._by_user[user]


def _busy(reason: str) -> ApiError:
    return ApiError(429, f"{reason}: retry in {RETRY_AFTER} s", error="too_many_requests",
                    headers={"Retry-After": str(RETRY_AFTER)})
