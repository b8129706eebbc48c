"""The demo's county loop (演示县级流转): forwarded cases handed off through the real outbox.

The seeder's own county platform simulator answers hand-offs and decides only on command,
so the cases meant to wait at the county keep waiting; the simulator `onetrip up` starts
later decides every hand-off on a timer (ADR 0100). One record is refused (HTTP 422), so
the outbox holds a dead letter with its error, as staff would find it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

import httpx

from onetrip_demo.plan import COUNTY_STORIES, Case, Story
from shared.divisions import village_db_name
from sync_server.couch import Couch
from sync_server.county import outbox as ob
from sync_server.county.components import run_simulator
from sync_server.county.signature import load_secret
from sync_server.county.simulator import HANDOFF_PATH, create_simulator_app
from sync_server.county.transition import enqueue_if_ready
from sync_server.county.worker import OutboxWorker
from sync_server.engine import free_port
from sync_server.settings import Settings


class CountyLoopError(RuntimeError):
    """A demo hand-off or decision did not go through."""


async def county_loop(couch: Couch, settings: Settings, server_url: str, seeded: Sequence[tuple[Case, str]],
                      now: datetime) -> None:
    """Hand-offs to a private simulator (step 5 of the seeding); one refused, two decided.

    The outbox worker stamps its own clock: the county's acknowledgement and decisions carry
    today's time, not the plan's (a documented limit of seeding through the real path).
    """
    secret = load_secret(settings.secrets_dir)
    app = create_simulator_app(server_url + "/api/county/callback", secret, decide_after=None)
    port = free_port()
    stop, started = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run_simulator(app, port, stop, started))
    await started.wait()
    sim_url = f"http://127.0.0.1:{port}"
    worker = OutboxWorker(couch, county_url=sim_url + HANDOFF_PATH, public_url=settings.public_url,
                          secret=secret)
    try:
        await ob.prepare(couch)
        async with httpx.AsyncClient(timeout=60) as client:
            for case, case_id in seeded:
                story = case.story
                if story not in COUNTY_STORIES:
                    continue
                db = village_db_name(case.village)
                await enqueue_if_ready(couch, db, await couch.get_doc(db, case_id) or {}, now)
                queued = await ob.get_entry(couch, case_id)
                if queued is None or queued.get("state") != ob.OutboxState.PENDING.value:
                    raise CountyLoopError(f"demo: {story} case was not queued for the county")
                if story is Story.DEAD_LETTER:  # the county refuses the record: no retry can help
                    await client.post(f"{sim_url}/sim/fail", json={"next": 1, "status": 422})
                await worker.attempt(queued)
                ref = ((await ob.get_entry(couch, case_id)) or {}).get("county_ref")
                decisions = {Story.COUNTY_APPROVED: ("approved",),
                             Story.COUNTY_RESULT: ("approved", "result_ready")}.get(story, ())
                for kind in decisions:
                    answer = await client.post(f"{sim_url}/sim/decide/{ref}", json={"kind": kind})
                    if answer.status_code != 200 or answer.json().get("callback_status") != 200:
                        raise CountyLoopError(f"county decision {kind} not applied: {answer.text[:200]}")
    finally:
        stop.set()
        await task
        if worker.http is not None:
            await worker.http.aclose()
