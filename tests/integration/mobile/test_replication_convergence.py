"""Convergence: three devices and the server, random edits and syncs in random order; after a full
sync every replica holds the same winning revision, body, attachments and conflict set."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mobile.replication import RemoteDB, replicate
from mobile.store import LocalStore, NotFound
from tests.integration.mobile.helpers import local_snapshot, make_case, payload, remote_snapshot

DEVICES = 3
DOCS = 4

op = st.one_of(
    st.tuples(st.just("edit"), st.integers(0, DEVICES - 1), st.integers(0, DOCS - 1), st.integers(0, 9)),
    st.tuples(st.just("delete"), st.integers(0, DEVICES - 1), st.integers(0, DOCS - 1), st.just(0)),
    st.tuples(st.just("attach"), st.integers(0, DEVICES - 1), st.integers(0, DOCS - 1), st.integers(0, 3)),
    st.tuples(st.just("push"), st.integers(0, DEVICES - 1), st.just(0), st.just(0)),
    st.tuples(st.just("pull"), st.integers(0, DEVICES - 1), st.just(0), st.just(0)),
)
ops = st.lists(op, min_size=1, max_size=14)


def apply(store: LocalStore, kind: str, n: int, value: int) -> None:
    doc_id = make_case(n)["_id"]
    try:
        current = store.get(doc_id)
    except NotFound:
        current = None
    if kind == "edit":
        body = make_case(n, status=f"s{value}", answers={"v": value})
        if current is not None:
            body["_rev"] = current["_rev"]
            if "_attachments" in current:
                body["_attachments"] = current["_attachments"]
        store.put(body)
    elif kind == "delete" and current is not None:
        store.remove(doc_id, current["_rev"])
    elif kind == "attach" and current is not None:
        store.put_attachment(
            doc_id, current["_rev"], f"scan-{value}.jpg", payload(3_000 + value, value), "image/jpeg"
        )


async def scenario(url: str, folder: Path, steps: list[tuple[str, int, int, int]]) -> None:
    stores = [LocalStore(folder / f"d{i}.sqlite") for i in range(DEVICES)]
    async with RemoteDB(url) as remote:
        for kind, device, n, value in steps:
            if kind == "push":
                await replicate(stores[device], remote)
            elif kind == "pull":
                await replicate(remote, stores[device])
            else:
                apply(stores[device], kind, n, value)
        for store in stores:
            await replicate(store, remote)
        for store in stores:
            await replicate(remote, store)
    expected = await remote_snapshot(url)
    for store in stores:
        assert local_snapshot(store) == expected
        store.close()


def check(couchdb_url: str, steps: list[tuple[str, int, int, int]]) -> None:
    url = f"{couchdb_url}/conv-{uuid.uuid4().hex[:12]}"
    httpx.put(url, timeout=30).raise_for_status()
    try:
        with tempfile.TemporaryDirectory() as folder:
            asyncio.run(scenario(url, Path(folder), steps))
    finally:
        httpx.delete(url, timeout=30)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    print_blob=True,
)
@given(steps=ops)
def test_replicas_converge(couchdb_url: str, steps: list[tuple[str, int, int, int]]) -> None:
    check(couchdb_url, steps)


@pytest.mark.soak
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    print_blob=True,
)
@given(steps=st.lists(op, min_size=1, max_size=40))
def test_replicas_converge_soak(couchdb_url: str, steps: list[tuple[str, int, int, int]]) -> None:
    check(couchdb_url, steps)
