"""A tiny app around the citizen routes and the real engine, plus case factories."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette
from starlette.requests import Request
from ulid import ULID

from shared.idnumber import check_char
from shared.ids import new_tracking_code
from sync_server.citizen import citizen_routes
from sync_server.citizen.ratelimit import Limit
from sync_server.citizen.service import CitizenService
from sync_server.couch import JSON, Couch

NOW = datetime(2026, 11, 24, 6, 30, tzinfo=UTC)
ID17 = "33021219500101123"
ID_NUMBER = ID17 + check_char(ID17)
PHONE = "13812345678"
ITEM = {"_id": "item:V-OLDAGE", "type": "item", "name_zh": "高龄津贴申领", "name_en": "Old-age allowance"}


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    """One test's databases, service and HTTP client."""

    couch: Couch
    village: str
    server: str
    catalog: str
    service: CitizenService
    client: httpx.AsyncClient
    clock: Clock
    key: Ed25519PrivateKey
    allow_issue: list[bool] = field(default_factory=lambda: [True])

    async def add_case(self, *, index: bool = True, events: tuple[tuple[str, str], ...] = (),
                       **overrides: Any) -> JSON:
        case = make_case(**overrides)
        await self.couch.put_doc(self.village, case)
        for kind, role in events:
            await self.couch.put_doc(self.village, make_event(case["_id"], kind, role))
        if index:
            from sync_server.citizen import index_case

            await index_case(self.couch, self.village, case, server_db=self.server)
        return case

    async def track(self, code: str, last4: str = ID_NUMBER[-4:], **kw: Any) -> httpx.Response:
        return await self.client.post("/api/track", json={"code": code, "id_last4": last4}, **kw)


def make_case(**overrides: Any) -> JSON:
    case: JSON = {
        "_id": f"case:{ULID()}", "type": "case", "item_code": "V-OLDAGE", "situation": "first",
        "division": {"village": "330212001001", "township": "330212001", "county": "330212"},
        "applicant": {"name": "张三丰", "id_number": ID_NUMBER, "phone": PHONE},
        "answers": {}, "materials": [], "missing": [], "status": "accepted",
        "tracking_code": new_tracking_code(os.urandom(7)), "agent": "wang.agent",
        "created_at": "2026-11-23T01:00:00Z", "updated_at": "2026-11-23T01:00:00Z",
        "accepted_at": "2026-11-23T02:00:00Z", "deadline": "2026-11-26", "paused_days": 0,
        "needs_review": False, "meta": {"fields": {}},
    }
    case.update(overrides)
    return case


def make_event(case_id: str, kind: str, role: str, at: str = "2026-11-23T02:00:00Z") -> JSON:
    return {"_id": f"event:{case_id.removeprefix('case:')}:{ULID()}", "type": "event", "case_id": case_id,
            "kind": kind, "by": "li.staff", "role": role, "device": "tablet-7", "device_time": at,
            "server_time": at, "data": {}}


@pytest.fixture
async def world(couchdb_url: str, make_db: Callable[..., str]) -> AsyncIterator[World]:
    # "tcv" prefix: the service's backfill scans only this test's kind of database.
    village, server, catalog = make_db("tcv"), make_db("tcs"), make_db("tcc")
    couch = Couch(couchdb_url)
    await couch.put_doc(catalog, dict(ITEM))
    clock = Clock()
    key = Ed25519PrivateKey.generate()
    service = CitizenService(couch_of=lambda: couch, signing_key=key, public_url="https://ot.example",
                             server_db=server, catalog_db=catalog, village_prefix=village, clock=clock,
                             per_address=Limit(1000, 600), backfill_interval=0)
    allow = [True]

    async def authorize(_request: Request) -> Callable[[str], bool] | None:
        return lambda db: allow[0] and db == village

    app = Starlette(routes=citizen_routes(service, authorize_issue=authorize))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://ot.example")
    try:
        yield World(couch, village, server, catalog, service, client, clock, key, allow)
    finally:
        await client.aclose()
        await couch.aclose()


def later(days: float) -> timedelta:
    return timedelta(days=days)
