"""The account cache: revocations still reach a running server, within the documented bound."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sync_server.admin import cmd_revoke_device
from sync_server.admin_accounts import cmd_disable_user
from sync_server.auth.cache import STALE_BOUND, AccountCache
from sync_server.couch import Couch
from sync_server.provision import AUTH_DB
from tests.integration.sync_server.server_fixtures import (
    RunningServer,
    Township,
    login,
    running_server,
    start_server,
)
from tests.waiting import wait_for, wait_until

# The bound the module documents, plus slack for a loaded test machine.
DEADLINE = STALE_BOUND + 10
BOUND = "the answer within the cache's bound"


@pytest.fixture(scope="module")
def cached_server(couchdb_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_server(tmp_path_factory.mktemp("cache-data"), couchdb_url, account_cache=True)
    try:
        yield server
    finally:
        server.stop()


def me(server: RunningServer, token: str) -> int:
    return httpx.get(f"{server.url}/api/auth/me", headers={"Authorization": f"Bearer {token}"},
                     timeout=30).status_code


async def test_a_revoked_device_is_refused_within_the_bound(cached_server: RunningServer, township: Township,
                                                            couchdb_url: str) -> None:
    accounts = cached_server.ctx.accounts
    assert accounts is not None
    phone, tablet = f"cached-phone-{township.code}", f"cached-tablet-{township.code}"  # own device ids
    pair = login(cached_server.url, township.agents[0], device=phone).json()
    hits = accounts.hits
    # Once the feed runs, the device is answered from memory: the revocation must reach that copy.
    await asyncio.to_thread(wait_for, lambda: me(cached_server, pair["access_token"]) == 200
                            and accounts.hits > hits + 1, timeout=DEADLINE, what=BOUND)
    couch = Couch(couchdb_url)
    try:
        assert await cmd_revoke_device(couch, phone)
        await asyncio.to_thread(wait_for, lambda: me(cached_server, pair["access_token"]) == 401,
                                timeout=DEADLINE, what=BOUND)
        other = login(cached_server.url, township.agents[1], device=tablet).json()
        hits = accounts.hits
        await asyncio.to_thread(wait_for, lambda: me(cached_server, other["access_token"]) == 200
                                and accounts.hits > hits + 1, timeout=DEADLINE, what=BOUND)
        await cmd_disable_user(couch, township.agents[1], "2026-11-24T07:00:00Z")
        await asyncio.to_thread(wait_for, lambda: me(cached_server, other["access_token"]) == 401,
                                timeout=DEADLINE, what=BOUND)
    finally:
        await couch.aclose()


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_changes_evict_and_a_stale_feed_turns_the_cache_off(couchdb_url: str, township: Township,
                                                                  tmp_path: Path) -> None:
    couch = Couch(couchdb_url)
    ticks = Ticks()
    cache = AccountCache(lambda: couch, monotonic=ticks)
    user_id = f"user:{township.staff}"
    try:
        await cache.get([user_id])
        await wait_until(lambda: cache.following, timeout=DEADLINE, what="the feed")  # starts on first use
        await cache.get([user_id])
        hits = cache.hits
        first = (await cache.get([user_id]))[0]
        assert cache.hits == hits + 1 and first is not None
        await couch.put_doc(AUTH_DB, {**first, "disabled": True})

        async def disabled() -> bool:
            return bool(((await cache.get([user_id]))[0] or {}).get("disabled"))

        await wait_until(disabled, timeout=DEADLINE, what="the change to reach the cache")
        # A feed that has not answered within the bound is not trusted: every call reads CouchDB.
        ticks.now += STALE_BOUND + 1
        misses = cache.misses
        await cache.get([user_id])
        assert cache.misses == misses + 1 and not cache.following
    finally:
        await cache.close()
        await couch.aclose()


async def test_a_revocation_through_one_server_reaches_the_other_servers_cache(
        couchdb_url: str, township: Township, tmp_path: Path) -> None:
    """Two server processes, each with its own cache: the device is revoked through the first
    (its admin command writes ot-auth) and the second, which answered it from memory, refuses it."""
    with running_server(tmp_path / "data", couchdb_url, account_cache=True) as first, \
            running_server(tmp_path / "data", couchdb_url, account_cache=True) as second:
        accounts = second.ctx.accounts
        assert accounts is not None
        phone = f"two-servers-{township.code}"
        pair = login(first.url, township.agents[0], device=phone).json()
        hits = accounts.hits
        await asyncio.to_thread(wait_for, lambda: me(second, pair["access_token"]) == 200
                                and accounts.hits > hits + 1, timeout=DEADLINE, what=BOUND)
        couch = Couch(couchdb_url)
        try:
            assert await cmd_revoke_device(couch, phone)
        finally:
            await couch.aclose()
        await asyncio.to_thread(wait_for, lambda: me(second, pair["access_token"]) == 401,
                                timeout=DEADLINE, what=BOUND)
        assert me(first, pair["access_token"]) == 401
