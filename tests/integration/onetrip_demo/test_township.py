"""The demo township: seeding an empty folder through the real paths yields every status,
a conflict waiting for review, a dead letter, reused materials and working logins."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from mobile.store import LocalStore
from onetrip_demo.answers import FORM_ITEMS, FORM_VERSION
from onetrip_demo.township import seed_demo_cases
from shared.divisions import Division
from shared.workdays import Card, china_date
from sync_server.admin import cmd_add_user, now_iso
from sync_server.app import ROUTE_PARTS
from sync_server.calendar import default_calendar
from sync_server.catalog_store import SEED_CATALOG, load_catalog_file
from sync_server.couch import Couch
from sync_server.demo import DemoTownship, DemoUser, demo_users
from sync_server.forms.store import load_shipped_forms
from sync_server.provision import provision
from sync_server.registry import add_division
from sync_server.workers.runner import WorkerConfig, Workers
from tests.integration.sync_server.server_fixtures import RunningServer, start_server

STATUSES = {"draft", "submitted", "needs_materials", "accepted", "forwarded", "approved", "result_ready",
            "delivered", "withdrawn", "rejected"}


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo-data")


@pytest.fixture(scope="module")
def demo_server(couchdb_url: str, demo_data: Path) -> Iterator[RunningServer]:
    server = start_server(demo_data, couchdb_url, parts=ROUTE_PARTS)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
async def seeded(couchdb_url: str, demo_server: RunningServer,
                 demo_data: Path) -> AsyncIterator[dict[str, Any]]:
    """A fresh township (random codes, suffixed user names) seeded once for the module."""
    # A county no other test uses, so the workers started here follow only this township.
    county = "330298"
    township = f"{county}{random.randrange(1, 1000):03d}"
    place = DemoTownship(county, township, tuple(f"{township}{n:03d}" for n in (1, 2, 3)))
    suffix = f"{random.randrange(10**6):06d}"
    couch = Couch(couchdb_url)
    users: list[DemoUser] = []
    for user in demo_users(place):
        users.append({**user, "username": f"{user['username']}-{suffix}"})
    stop = asyncio.Event()
    workers = asyncio.create_task(Workers(couch, WorkerConfig(prefix=f"ot-v-{township}")).run(stop))
    try:
        await provision(couch)
        for code in (county, township, *place.villages):
            await add_division(couch, Division(code, f"演示{code}", ""))
        await provision(couch, list(place.villages))
        await load_catalog_file(couch, SEED_CATALOG)  # as seed_demo does before the users
        await load_shipped_forms(couch, now_iso())
        for user in users:
            await cmd_add_user(couch, user["username"], user["role"], user["divisions"], user["password"])
        now = datetime.now(UTC)
        started = asyncio.get_running_loop().time()
        settings = demo_server.ctx.settings
        # A seed of its own: the seed decides the tracking codes, and a server kept between runs
        # (COUCHDB_URL) still holds the codes of the last run in its tracking index.
        seed = random.randrange(10**9)
        cases = await seed_demo_cases(couch, settings, demo_server.url, users, now=now, seed=seed)
        print(f"seeded {len(cases)} demo cases (seed {seed}) in "
              f"{asyncio.get_running_loop().time() - started:.1f} s")
        yield {"couch": couch, "place": place, "users": users, "now": now,
               "demo": json.loads((demo_data / "demo.json").read_text())}
    finally:
        stop.set()
        await workers
        await couch.aclose()


def login(url: str, user: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{url}/api/auth/login", timeout=30, json={
        "username": user["username"], "password": user["password"], "device_id": "demo-test"})


def token(url: str, user: dict[str, Any]) -> dict[str, str]:
    answer = login(url, user)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def test_every_status_is_seeded(seeded: dict[str, Any]) -> None:
    cases = seeded["demo"]["cases"]
    assert 50 <= len(cases) <= 70
    assert {c["status"] for c in cases} >= STATUSES
    couch: Couch = seeded["couch"]
    for case in cases:
        assert set(case) >= {"id", "database", "tracking_code", "id_last4", "status"}
        if case["status"] == "draft":
            continue
        doc = await couch.get_doc(case["database"], case["id"])
        assert doc is not None and doc["status"] == case["status"], case
        assert doc["applicant"]["name"].endswith("（样本）") or case["story"] == "conflict"
        assert doc["applicant"]["id_number"].endswith(case["id_last4"])
        if doc["item_code"] in FORM_ITEMS:  # the form step answered the item's form (issue 18)
            assert doc["form"] == {"id": doc["item_code"], "version": FORM_VERSION} and doc["answers"], case


async def test_deadline_cards_and_the_one_time_list(seeded: dict[str, Any]) -> None:
    couch: Couch = seeded["couch"]
    today, calendar = china_date(seeded["now"]), default_calendar()
    cards: dict[str, set[Card]] = {}
    for case in seeded["demo"]["cases"]:
        if case["story"] in ("accepted", "due_soon", "overdue"):
            doc = await couch.get_doc(case["database"], case["id"])
            assert doc is not None
            deadline = datetime.fromisoformat(doc["deadline"]).date()
            cards.setdefault(case["story"], set()).add(calendar.card(deadline, today))
        if case["status"] == "needs_materials":
            doc = await couch.get_doc(case["database"], case["id"])
            assert doc is not None and doc["missing"]
    assert cards == {"accepted": {Card.GREEN}, "due_soon": {Card.YELLOW}, "overdue": {Card.RED}}


async def test_conflict_and_dead_letter_through_the_apps_apis(seeded: dict[str, Any],
                                                              demo_server: RunningServer) -> None:
    staff = next(u for u in seeded["users"] if u["role"] == "township_staff")
    township = seeded["place"].township
    headers = token(demo_server.url, staff)
    reviews = httpx.get(f"{demo_server.url}/api/reviews", params={"township": township},
                        headers=headers).json()
    conflict = next(c for c in seeded["demo"]["cases"] if c["story"] == "conflict")
    assert [r["case_id"] for r in reviews["reviews"]] == [conflict["id"]]
    assert len(set(reviews["reviews"][0]["fields"]["applicant.name"])) == 2
    dead = httpx.get(f"{demo_server.url}/api/county/outbox", params={"state": "dead"}, headers=headers).json()
    dead_case = next(c for c in seeded["demo"]["cases"] if c["story"] == "dead_letter")
    assert [e["case_id"] for e in dead["entries"]] == [dead_case["id"]]
    assert dead["entries"][0]["last_error"]
    couch: Couch = seeded["couch"]
    for case in seeded["demo"]["cases"]:
        if case["story"] == "forwarded":
            doc = await couch.get_doc(case["database"], case["id"])
            assert doc is not None and doc["status"] == "forwarded" and doc["county_ref"]


async def test_materials_reused_ratings_and_drafts_on_the_phone(seeded: dict[str, Any],
                                                                demo_data: Path) -> None:
    couch: Couch = seeded["couch"]
    reused, used, rated = [], [], 0
    for case in seeded["demo"]["cases"]:
        if case["status"] == "draft":
            store = LocalStore(demo_data / "devices" / case["agent"] / "store.sqlite")
            try:
                assert store.get(case["id"])["status"] == "draft"
            finally:
                store.close()
            continue
        doc = await couch.get_doc(case["database"], case["id"])
        assert doc is not None
        reused += [m["material_id"] for m in doc["materials"] if m["source"] == "reused"]
        used += [m["material_id"] for m in doc["materials"]]
        if case["status"] == "delivered":
            ulid = case["id"].removeprefix("case:")
            rows = (await couch.get_json(f"/{case['database']}/_all_docs", include_docs=True,
                                         startkey=f"event:{ulid}:", endkey=f"event:{ulid}:\ufff0"))["rows"]
            kinds = [r["doc"]["kind"] for r in rows]
            assert "delivered" in kinds
            rated += kinds.count("rated")
    delivered = sum(c["status"] == "delivered" for c in seeded["demo"]["cases"])
    assert rated == delivered - 1  # one left for the visitor to rate
    assert reused and all(used.count(m) >= 2 for m in reused)  # a second application reused them
    dbs = {c["database"] for c in seeded["demo"]["cases"]}
    material = [doc for db in dbs if (doc := await couch.get_doc(db, reused[0]))]
    assert material and material[0]["_attachments"]["scan.jpg"]["content_type"] == "image/jpeg"


def test_demo_logins_work(seeded: dict[str, Any], demo_server: RunningServer) -> None:
    roles = set()
    for user in seeded["demo"]["users"]:
        answer = login(demo_server.url, user)
        assert answer.status_code == 200, user["username"]
        roles.add(answer.json()["user"]["role"])
    assert roles == {"village_agent", "township_staff", "county_operator"}
    agents = [u for u in seeded["demo"]["users"] if u["role"] == "village_agent"]
    assert sorted(len(u["divisions"]) for u in agents) == [1, 2]  # one agent serves two villages


async def test_the_county_operator_home_shows_the_demo_hand_offs(
    seeded: dict[str, Any], demo_server: RunningServer, tmp_path: Path
) -> None:
    """`make run`'s county operator signs in to a home with hand-offs, a dead letter and results."""
    from dataclasses import replace

    from mobile.config import load_config
    from mobile.viewmodels.context import AppContext

    operator = next(u for u in seeded["users"] if u["role"] == "county_operator")
    ctx = AppContext(replace(load_config(environ={}), data_dir=tmp_path, server_url=demo_server.url))
    ctx.session.username, ctx.session.password = operator["username"], operator["password"]
    assert await ctx.session.sign_in(), ctx.session.error
    assert ctx.is_county
    home = ctx.county()
    await home.load()
    assert home.loaded, home.error
    stories: dict[str, set[str]] = {}
    for case in seeded["demo"]["cases"]:
        stories.setdefault(case["story"], set()).add(case["id"])
    # The county is this module's, but a server kept between runs (COUCHDB_URL) still holds the
    # dead letters of the townships seeded before: only this township's cases are compared.
    ours = set().union(*stories.values())
    assert {e.case_id for e in home.dead_letters()} & ours == stories["dead_letter"]
    assert {e.case_id for e in home.results()} >= stories["county_result"] | stories["county_approved"]
    assert {e.case_id for e in home.handed_off()} >= stories["forwarded"]
    ctx.close()
