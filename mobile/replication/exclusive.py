"""One run per pair (独占复制): a replication of a given (source, target) pair never runs twice at once.

Whoever starts it — the app's round, a tap on "sync now", the catalog pull — takes the pair's
lock (`pair_lock`), so a second run waits for the first instead of racing it over the same
checkpoint.
"""

from __future__ import annotations

import asyncio
from typing import Any

from mobile.replication.endpoint import Endpoint
from mobile.replication.replicator import replicate
from mobile.replication.summary import ReplicationSummary

_locks: dict[tuple[int, str, str], asyncio.Lock] = {}


async def pair_lock(source: Endpoint, target: Endpoint) -> asyncio.Lock:
    """The lock of the (source, target) pair in the running event loop."""
    key = (id(asyncio.get_running_loop()), await source.identity(), await target.identity())
    return _locks.setdefault(key, asyncio.Lock())


async def replicate_exclusive(source: Endpoint, target: Endpoint, **options: Any) -> ReplicationSummary:
    """`replicate`, waiting for any other run of the same pair to finish first."""
    async with await pair_lock(source, target):
        return await replicate(source, target, **options)
