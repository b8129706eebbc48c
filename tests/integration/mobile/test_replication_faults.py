"""Replication through a proxy that cuts, drops and delays: it resumes and never re-sends what arrived."""

from __future__ import annotations

import base64
import json
import os
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from mobile.replication import Backoff, RemoteDB, ReplicationError, replicate
from mobile.replication.summary import ReplicationSummary
from mobile.store import LocalStore
from tests.integration.mobile.helpers import local_snapshot, make_case, payload, put_docs, remote_snapshot
from tests.integration.mobile.proxy import Exchange, Fault, FaultProxy

ATTACHMENTS = 10
# `FAULT_SEEDS=100-399` soaks over those seeds instead (e.g. after changing what a cut run lands).
_FIRST, _, _LAST = os.environ.get("FAULT_SEEDS", "100-139").partition("-")
SOAK_SEEDS = [
    pytest.param(seed, marks=pytest.mark.soak) for seed in range(int(_FIRST), int(_LAST or _FIRST) + 1)
]
IMPATIENT = Backoff(retries=1, initial=0.01)  # so faults end runs and resumption is exercised


def fault_plan(rnd: random.Random) -> Callable[[Exchange], Fault]:
    """Mostly pass; cut, drop and delay at random; streaks that outlast the retries, one of them
    early, so every seed interrupts at least one run."""
    streak = [0]
    first_streak = rnd.randint(3, 20)

    def plan(exchange: Exchange) -> Fault:
        if streak[0] > 0:
            streak[0] -= 1
            return Fault("drop")
        if exchange.index == first_streak:
            streak[0] = 9  # long enough that even 4 concurrent requests each lose their retry too
            return Fault("drop")
        r = rnd.random()
        if r < 0.04:
            streak[0] = 2
            return Fault("drop")
        if r < 0.14:
            return Fault("cut", cut_fraction=rnd.random())
        if r < 0.18:
            return Fault("drop")
        if r < 0.25:
            return Fault("delay", delay=0.01)
        return Fault()

    return plan


@pytest.fixture
async def proxied(
    couchdb_url: str, make_db: Callable[[str], str]
) -> AsyncIterator[tuple[str, str, FaultProxy]]:
    """(direct URL, proxied URL, proxy) of a fresh database."""
    name = make_db("faults")
    parts = urlsplit(couchdb_url)
    proxy = FaultProxy(parts.hostname or "127.0.0.1", parts.port or 5984)
    port = await proxy.start()
    yield (
        f"{couchdb_url}/{name}",
        f"http://{parts.username}:{parts.password}@127.0.0.1:{port}/{name}",
        proxy,
    )
    await proxy.stop()


async def until_done(run: Callable[[], object]) -> tuple[int, ReplicationSummary]:
    """Run a replication again and again until one finishes; returns (runs, last summary)."""
    for runs in range(1, 200):
        try:
            summary = await run()  # type: ignore[misc]
        except ReplicationError:
            continue
        return runs, summary
    raise AssertionError("replication never finished")


def completed(proxy: FaultProxy, method: str, marker: str) -> list[Exchange]:
    return [e for e in proxy.exchanges if e.complete and e.method == method and marker in e.path]


def resent_after_arrival(proxy: FaultProxy, method: str, marker: str) -> set[str]:
    """Paths requested again after one exchange for them had completed."""
    arrived: set[str] = set()
    again: set[str] = set()
    for e in proxy.exchanges:
        if e.method == method and marker in e.path:
            if e.path in arrived:
                again.add(e.path)
            if e.complete:
                arrived.add(e.path)
    return again


def scans_asked(e: Exchange) -> set[str]:
    """Ids of the documents whose scans an exchange asked for (a GET of one, or a bulk read)."""
    if e.method == "GET" and e.path.split("?")[0].endswith("/scan.jpg"):
        return {unquote(e.path.split("?")[0].split("/")[-2])}
    if e.method == "POST" and "/_bulk_get" in e.path and "attachments=true" in e.path:
        return {doc_id for doc_id, _ in requested_revs([e])}
    return set()


def requested_revs(exchanges: list[Exchange]) -> list[tuple[str, str]]:
    revs: list[tuple[str, str]] = []
    for e in exchanges:
        for doc in json.loads(e.json_body())["docs"]:
            revs.append((doc.get("id") or doc["_id"], doc.get("rev") or doc["_rev"]))
    return revs


@pytest.mark.parametrize("seed", [11, 12, 13, *SOAK_SEEDS])
async def test_interrupted_pull_resumes_and_fetches_everything_once(
    proxied: tuple[str, str, FaultProxy], tmp_path: Path, seed: int
) -> None:
    direct, via_proxy, proxy = proxied
    print(f"fault seed {seed}")
    docs = [make_case(i) for i in range(60)]
    docs += [
        make_case(
            100 + i,
            _attachments={
                "scan.jpg": {
                    "content_type": "image/jpeg",
                    "data": base64.b64encode(payload(20_000, i)).decode(),
                }
            },
        )
        for i in range(ATTACHMENTS)
    ]
    await put_docs(direct, docs)
    proxy.plan = fault_plan(random.Random(seed))
    store = LocalStore(tmp_path / "agent.sqlite")

    async def run() -> ReplicationSummary:
        async with RemoteDB(via_proxy, backoff=IMPATIENT) as remote:
            return await replicate(remote, store, batch_size=8)

    runs, _ = await until_done(run)
    assert local_snapshot(store) == await remote_snapshot(direct)
    assert runs > 1 and any(e.fault != "pass" for e in proxy.exchanges)
    # Scans come one per GET or several per `_bulk_get?attachments=true` (ADR 0135): either way
    # each arrives once, and none is asked for again once a request carrying it completed.
    fetched = Counter(doc for e in proxy.exchanges if e.complete for doc in scans_asked(e))
    assert len(fetched) == ATTACHMENTS and set(fetched.values()) == {1}
    arrived: set[str] = set()
    for e in proxy.exchanges:
        assert not scans_asked(e) & arrived
        if e.complete:
            arrived |= scans_asked(e)
    stubs = [e for e in completed(proxy, "POST", "/_bulk_get") if "attachments=true" not in e.path]
    revs = Counter(requested_revs(stubs))
    assert len(revs) == len(docs)
    # A document is fetched again only when one of its scans was cut off: its JSON is re-read,
    # the scans that did arrive are not.
    with_scans = {d["_id"] for d in docs if "_attachments" in d}
    assert {doc_id for (doc_id, _), n in revs.items() if n > 1} <= with_scans


def agent_store(tmp_path: Path, cases: int) -> LocalStore:
    """A phone's store: `cases` cases, and ATTACHMENTS more with a 20 KB scan each."""
    store = LocalStore(tmp_path / "agent.sqlite")
    for i in range(cases):
        store.put(make_case(i))
    for i in range(ATTACHMENTS):
        res = store.put(make_case(100 + i))
        store.put_attachment(res["id"], res["rev"], "scan.jpg", payload(20_000, i), "image/jpeg")
    return store


def assert_nothing_answered_sent_again(sent: list[Exchange]) -> None:
    """No revision went again once a `_bulk_docs` carrying it had been answered."""
    answered: set[tuple[str, str]] = set()
    for e in sent:
        revs = set(requested_revs([e]))
        assert not revs & answered
        if e.complete:
            answered |= revs


@pytest.mark.parametrize("seed", [21, 22, *SOAK_SEEDS])
async def test_interrupted_push_resumes_and_sends_everything_once(
    proxied: tuple[str, str, FaultProxy], tmp_path: Path, seed: int
) -> None:
    direct, via_proxy, proxy = proxied
    print(f"fault seed {seed}")
    store = agent_store(tmp_path, cases=60)
    proxy.plan = fault_plan(random.Random(seed))

    async def run() -> ReplicationSummary:
        # binary scans, as a device sends them through the gateway (the inline form: below)
        async with RemoteDB(via_proxy, backoff=IMPATIENT, inline_attachments=False) as remote:
            return await replicate(store, remote, batch_size=8)

    runs, _ = await until_done(run)
    assert await remote_snapshot(direct) == local_snapshot(store)
    assert runs > 1
    assert (
        len({e.path for e in proxy.exchanges if e.method == "PUT" and "new_edits=false" in e.path})
        == ATTACHMENTS
    )
    assert resent_after_arrival(proxy, "PUT", "new_edits=false") == set()
    # Every case went in a _bulk_docs, and none went again once one carrying it had been answered.
    # (One whose answer was lost may go again; one the server applied without our hearing back is
    # then found by _revs_diff and skipped.)
    sent = [e for e in proxy.exchanges if e.method == "POST" and "/_bulk_docs" in e.path]
    assert len(set(requested_revs(sent))) == 60
    assert_nothing_answered_sent_again(sent)


@pytest.mark.parametrize("seed", [31, 32])
async def test_interrupted_inline_push_resumes_and_sends_nothing_answered_again(
    proxied: tuple[str, str, FaultProxy], tmp_path: Path, seed: int
) -> None:
    """Scans base64 in `_bulk_docs` (to a near engine, ADR 0142): the same guarantees as binary."""
    direct, via_proxy, proxy = proxied
    print(f"fault seed {seed}")
    store = agent_store(tmp_path, cases=30)
    proxy.plan = fault_plan(random.Random(seed))

    async def run() -> ReplicationSummary:
        async with RemoteDB(via_proxy, backoff=IMPATIENT, inline_attachments=True) as remote:
            return await replicate(store, remote, batch_size=8)

    runs, _ = await until_done(run)
    assert await remote_snapshot(direct) == local_snapshot(store)
    assert runs > 1
    assert not [e for e in proxy.exchanges if e.method == "PUT" and "new_edits=false" in e.path]
    sent = [e for e in proxy.exchanges if e.method == "POST" and "/_bulk_docs" in e.path]
    assert len(set(requested_revs(sent))) == 30 + ATTACHMENTS
    assert_nothing_answered_sent_again(sent)
