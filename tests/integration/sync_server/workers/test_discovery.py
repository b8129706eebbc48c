"""Village databases are discovered from `_db_updates` where the engine has it, else by polling."""

from __future__ import annotations

import asyncio
import uuid

from sync_server.couch import Couch
from sync_server.provision import provision
from sync_server.workers.discovery import Discovery


async def test_a_new_database_is_announced_by_the_feed_or_found_by_polling(couch: Couch) -> None:
    await provision(couch)  # on Apache CouchDB: the system databases the feed needs
    prefix = f"ot-disc-{uuid.uuid4().hex[:8]}-"
    discovery = Discovery(couch, prefix, poll=0.2, feed_timeout_ms=2_000)
    assert await discovery.databases() == []
    assert discovery.follows_feed == await couch.has_db_updates()

    waiting = asyncio.create_task(discovery.wait())
    db = prefix + "330212001001"
    await couch.create_db(db)
    try:
        # The feed returns on the creation; polling returns after `poll`: either way, soon.
        await asyncio.wait_for(waiting, timeout=30)
        assert await discovery.databases() == [db]
    finally:
        await couch.request("DELETE", f"/{db}")


async def test_on_apache_couchdb_idle_feed_waits_for_a_creation(couch: Couch) -> None:
    """With the feed, an unrelated database or a document write does not wake the runner."""
    if not await couch.has_db_updates():
        assert not Discovery(couch, "ot-v-", poll=0.1).follows_feed
        return
    await provision(couch)
    prefix = f"ot-disc-{uuid.uuid4().hex[:8]}-"
    discovery = Discovery(couch, prefix, poll=0.1, feed_timeout_ms=500)
    await discovery.databases()
    assert discovery.follows_feed
    waiting = asyncio.create_task(discovery.wait())
    other = f"ot-other-{uuid.uuid4().hex[:8]}"
    await couch.create_db(other)
    try:
        done, _ = await asyncio.wait({waiting}, timeout=3)  # several feed timeouts and polls
        assert not done, "woke on a database outside the prefix"
        mine = prefix + "330212001002"
        await couch.create_db(mine)
        await asyncio.wait_for(waiting, timeout=30)
        await couch.request("DELETE", f"/{mine}")
    finally:
        waiting.cancel()
        await couch.request("DELETE", f"/{other}")
