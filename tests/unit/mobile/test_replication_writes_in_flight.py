"""Two writes in flight to a near engine (ADR 0151): batches are handed on in order, and a failed
write stops the hand-over there, so no checkpoint covers a later batch even if it landed; which
databases count as never written to (asked no `_revs_diff`)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx

from mobile.replication.endpoint import JSON
from mobile.replication.errors import Unreachable
from mobile.replication.remote import RemoteDB
from mobile.replication.replicator import Written, _empty_near, transfer_batches
from mobile.replication.transfer import Batch


class Ends:
    """Source and target in one: batch n holds the document `doc-n`; the write of `doc-0` waits
    until the write of `doc-1` has started, which only two writes in flight allow."""

    def __init__(self, fail: set[str] | None = None) -> None:
        self.second_started = asyncio.Event()
        self.landed: list[str] = []
        self.fail = fail or set()

    async def bulk_get(self, wanted: list[tuple[str, str]]) -> list[JSON]:
        return [{"_id": doc_id, "_rev": rev} for doc_id, rev in wanted]

    async def missing_attachments(self, docs: list[JSON], ancestors: Mapping[str, Any]) -> set[Any]:
        return set()

    async def write_docs(self, docs: list[JSON]) -> list[JSON]:
        doc_id = docs[0]["_id"]
        if doc_id == "doc-1":
            self.second_started.set()
        if doc_id == "doc-0":
            await self.second_started.wait()
        if doc_id in self.fail:
            raise Unreachable(f"{doc_id} lost")
        self.landed.append(doc_id)
        return []

    async def conflicted(self, ids: list[str]) -> set[str]:
        return set()


def _batch(n: int) -> Batch:
    return Batch([{"id": f"doc-{n}", "changes": [{"rev": "1-a"}]}], {f"doc-{n}": {"missing": ["1-a"]}}, n)


async def _run(ends: Ends, batches: int) -> list[Written | Exception | None]:
    inbox: asyncio.Queue[Batch | Exception | None] = asyncio.Queue()
    outbox: asyncio.Queue[Written | Exception | None] = asyncio.Queue()
    for n in range(batches):
        inbox.put_nowait(_batch(n))
    inbox.put_nowait(None)
    stage = transfer_batches(ends, ends, None, inbox, outbox, asyncio.Event(), in_flight=2)  # type: ignore[arg-type]
    await asyncio.wait_for(stage, 60)  # a guard against a hang, not a measure
    out: list[Written | Exception | None] = []
    while not outbox.empty():
        out.append(outbox.get_nowait())
    return out


async def test_two_writes_overlap_and_are_handed_on_in_order() -> None:
    ends = Ends()
    out = await _run(ends, 4)
    assert [w.batch.last_seq for w in out if isinstance(w, Written)] == [0, 1, 2, 3]
    assert out[-1] is None
    assert ends.landed[:2] == ["doc-1", "doc-0"]  # the second write finished while the first waited


async def test_a_failed_write_stops_the_hand_over_before_the_batches_after_it() -> None:
    ends = Ends(fail={"doc-0"})
    out = await _run(ends, 3)
    assert isinstance(out[0], Unreachable) and len(out) == 1  # nothing after it is checkpointed
    assert "doc-1" in ends.landed  # the write already under way landed (the next run skips it)


async def test_an_empty_database_is_asked_nothing_only_when_near_and_never_written_to() -> None:
    answers = {
        "/fresh": {"doc_count": 0, "update_seq": 0},
        "/couch": {"doc_count": 0, "doc_del_count": 0, "update_seq": "0-g1AAAA"},
        "/deleted": {"doc_count": 0, "update_seq": 2},
        "/held": {"doc_count": 3, "update_seq": "3-g1AAAA"},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path.rstrip("/")
        if path == "/secret":
            return httpx.Response(400, json={"error": "bad_request", "reason": "no"})
        return httpx.Response(200, json=answers[path])

    async def empty(path: str, near: bool = True) -> bool:
        transport = httpx.MockTransport(handler)
        async with RemoteDB(f"http://engine{path}", transport=transport, inline_attachments=near) as remote:
            return await _empty_near(remote)

    assert await empty("/fresh") and await empty("/couch")
    assert not await empty("/deleted") and not await empty("/held") and not await empty("/secret")
    assert not await empty("/fresh", near=False)  # through the gateway or a slow link: always asked
