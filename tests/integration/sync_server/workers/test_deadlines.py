"""Deadlines and supervision records against the real engine, with a pinned clock."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from ulid import ULID

from sync_server.couch import Couch
from sync_server.workers.deadlines import Deadlines
from sync_server.workers.supervision import supervision_id
from tests.integration.sync_server.workers.helpers import caught_up, make_case, new_case_id, running
from tests.integration.sync_server.workers.helpers import worker_config as config_for
from tests.waiting import wait_until


def at(day: str, hour: int = 10) -> float:
    """Seconds of `day` at `hour`:00 China time."""
    return datetime.fromisoformat(f"{day}T{hour - 8:02d}:00:00+00:00").replace(tzinfo=UTC).timestamp()


def event(case_id: str, kind: str, when: str, **data: Any) -> dict[str, Any]:
    ulid = case_id.split(":")[1]
    moment = datetime.fromisoformat(when.replace("Z", "+00:00")).timestamp()
    return {
        "_id": f"event:{ulid}:{ULID.from_timestamp(moment)}",
        "type": "event",
        "case_id": case_id,
        "kind": kind,
        "by": "staff1",
        "role": "township_staff",
        "device": "d",
        "device_time": when,
        "server_time": when,
        "data": data,
    }


async def setup(couch: Couch, make_db: Callable[..., str]) -> tuple[str, str, str]:
    db, server_db, catalog = (
        make_db(f"ot-v-t{uuid.uuid4().hex[:8]}"),
        make_db("ot-server"),
        make_db("ot-catalog"),
    )
    await couch.put_doc(
        catalog,
        {
            "_id": "item:330212-001",
            "type": "item",
            "time_limit_days": 3,
            "level": "township",
            "complexity": "ordinary",
        },
    )
    return db, server_db, catalog


@pytest.mark.parametrize(
    ("today", "card"), [("2026-11-24", "green"), ("2026-11-25", "yellow"), ("2026-11-27", "red")]
)
async def test_card_for_a_fixed_today(
    couch: Couch, make_db: Callable[..., str], today: str, card: str
) -> None:
    db, server_db, catalog = await setup(couch, make_db)
    case_id = new_case_id()
    # Accepted Monday 2026-11-23 (China time); 3 working days → deadline Thursday 11-26.
    await couch.put_doc(db, make_case(case_id, status="accepted", accepted_at="2026-11-23T02:00:00Z"))
    deadlines = Deadlines(couch, server_db, catalog_db=catalog, clock=lambda: at(today))
    record = await deadlines.update(db, case_id, datetime.fromisoformat(today).date())
    assert record is not None
    assert (record["deadline"], record["card"]) == ("2026-11-26", card)
    stored = await couch.get_doc(server_db, supervision_id(db, case_id))
    assert stored is not None and stored["card"] == card
    case = await couch.get_doc(db, case_id)
    assert case is not None and case["deadline"] == "2026-11-26"  # recorded on the case for the app
    assert "deadline" in case["meta"]["fields"]


async def test_worker_excludes_the_wait_for_materials(couch: Couch, make_db: Callable[..., str]) -> None:
    db, server_db, catalog = await setup(couch, make_db)
    case_id = new_case_id()
    await couch.put_doc(db, make_case(case_id, status="accepted", accepted_at="2026-11-23T02:00:00Z"))
    await couch.bulk_docs(
        db,
        [
            event(case_id, "accepted", "2026-11-23T02:00:00Z"),
            event(case_id, "materials_requested", "2026-11-24T02:00:00Z"),
            event(case_id, "submitted", "2026-11-25T02:00:00Z"),
            event(case_id, "rated", "2026-11-25T03:00:00Z", score=4),
        ],
    )
    prefix = db.rsplit("-", 1)[0]

    def transitions(c: Couch, cfg: object) -> list[Deadlines]:
        return [Deadlines(c, server_db, catalog_db=catalog, clock=lambda: at("2026-11-27"))]

    async with running(couch, config_for(prefix, server_db), transitions):
        await wait_until(lambda: caught_up(couch, server_db, db), what="the checkpoint")
    stored = await couch.get_doc(server_db, supervision_id(db, case_id))
    assert stored is not None
    # The day waiting for materials (11-25) is not counted: deadline moves to Friday 11-27.
    assert (stored["deadline"], stored["paused_days"], stored["card"]) == ("2026-11-27", 1, "yellow")
    assert stored["ratings"] == [4] and stored["accepted_by"] == "staff1"


async def test_the_morning_sweep_turns_cards(couch: Couch, make_db: Callable[..., str]) -> None:
    db, server_db, catalog = await setup(couch, make_db)
    case_id = new_case_id()
    await couch.put_doc(db, make_case(case_id, status="accepted", accepted_at="2026-11-23T02:00:00Z"))
    now = [at("2026-11-24")]
    prefix = db.rsplit("-", 1)[0]

    def transitions(c: Couch, cfg: object) -> list[Deadlines]:
        return [Deadlines(c, server_db, catalog_db=catalog, clock=lambda: now[0])]

    async def card_is(card: str) -> bool:
        doc = await couch.get_doc(server_db, supervision_id(db, case_id))
        return doc is not None and doc["card"] == card

    async with running(couch, config_for(prefix, server_db), transitions, clock=lambda: now[0]):
        await wait_until(lambda: card_is("green"), what="the green card")
        now[0] = at("2026-11-27", hour=8)  # the next morning with no change to the case at all
        await wait_until(lambda: card_is("red"), what="the red card after the sweep")
