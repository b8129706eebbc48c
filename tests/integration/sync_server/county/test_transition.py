"""The workers' outbox transition enqueues a ready case once, and ignores the rest."""

from __future__ import annotations

from sync_server.county import outbox as ob
from sync_server.county.transition import OutboxEnqueue
from sync_server.workers.transition import Change
from tests.integration.sync_server.county.conftest import Loop, put_forwarded_case


def change_of(db: str, doc: dict[str, object]) -> Change:
    return Change.from_row(db, {"id": doc["_id"], "seq": 1, "doc": doc, "changes": [{"rev": doc["_rev"]}]})


async def test_the_transition_enqueues_ready_cases_once(loop: Loop) -> None:
    transition = OutboxEnqueue(loop.couch, clock=loop.clock)
    ready = await put_forwarded_case(loop.couch, loop.db)
    waiting = await put_forwarded_case(loop.couch, loop.db, needs_review=True)
    accepted = await put_forwarded_case(loop.couch, loop.db, status="accepted")
    assert transition.filter(change_of(loop.db, ready))
    assert not transition.filter(change_of(loop.db, waiting))
    assert not transition.filter(change_of(loop.db, accepted))
    await transition.apply(change_of(loop.db, ready))
    await transition.apply(change_of(loop.db, ready))  # a replayed change: still one entry
    entry = await ob.get_entry(loop.couch, ready["_id"])
    assert entry is not None and entry["state"] == "pending" and entry["database"] == loop.db
    assert await ob.get_entry(loop.couch, waiting["_id"]) is None
