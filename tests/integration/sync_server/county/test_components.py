"""`onetrip up`'s county components over real sockets: server, simulator and outbox worker, all running."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from sync_server.couch import Couch
from sync_server.county import callback as county_callback
from sync_server.county.components import CountyOutbox, CountySimulator, county_url
from sync_server.county.transition import enqueue_if_ready
from sync_server.county.worker import utc_now
from sync_server.engine import free_port
from sync_server.settings import settings_from_env
from sync_server.stack import StackContext
from tests.integration.sync_server.county.conftest import fresh_village_db, put_forwarded_case
from tests.integration.sync_server.server_fixtures import Township, start_server


async def test_the_stack_hands_off_a_forwarded_case_and_the_simulator_decides(
        couchdb_url: str, tmp_path: Path, county_township: Township) -> None:
    couch = Couch(couchdb_url)
    db = await fresh_village_db(couch, county_township.code)
    server = start_server(tmp_path, couchdb_url, parts=(county_callback.routes,))
    settings = settings_from_env({"ONETRIP_DATA": str(tmp_path), "COUCHDB_URL": couchdb_url,
                                  "ONETRIP_PORT": server.url.rsplit(":", 1)[1],
                                  "ONETRIP_COUNTY_PORT": str(free_port())})
    ctx = StackContext(settings=settings, couchdb_url=couchdb_url)
    simulator, outbox = CountySimulator(decide_after=0.05), CountyOutbox(databases=frozenset({db}))
    try:
        await simulator.start(ctx)
        await outbox.start(ctx)
        case = await put_forwarded_case(couch, db)
        assert await enqueue_if_ready(couch, db, case, utc_now())  # as the workers' transition does
        deadline = time.monotonic() + 30
        while True:
            stored = await couch.get_doc(db, case["_id"])
            if stored is not None and stored["status"] == "result_ready":
                break
            assert time.monotonic() < deadline, f"case stuck in {stored and stored['status']}"
            await asyncio.sleep(0.1)
        assert stored["county_ref"]
        async with httpx.AsyncClient() as client:
            cases = (await client.get(ctx.urls["county simulator"])).json()["cases"]
        assert [(c["case_id"], c["decisions"]) for c in cases] == [
            (case["_id"], ["approved", "result_ready"])]
        assert county_url(settings) == f"http://127.0.0.1:{settings.county_port}/api/cases"
        assert not ctx.failure
    finally:
        await outbox.stop()
        await simulator.stop()
        await couch.request("DELETE", f"/{db}")
        await couch.aclose()
        server.stop()
