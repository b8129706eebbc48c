"""Conflict-resolution throughput (冲突处理吞吐): N conflicted cases → merged by the worker.

    from bench.workers import bench_conflicts
    figures = asyncio.run(bench_conflicts(couchdb_url, cases=200))

Writes N cases, each with two concurrent leaves (phone on one device, notes and a scan on
the other), into a fresh village database with `_bulk_docs new_edits=false`, starts the
workers on it and times until the checkpoint has caught up. Figures: cases/s end to end
(feed + merge + bulk write + event), and the same for the merge function alone.
Command line: `python -m bench.workers COUCHDB_URL [N]`.
"""

from __future__ import annotations

import asyncio
import base64
import sys
import time
import uuid
from typing import Any

from ulid import ULID

from shared.edits import record_edit
from shared.merge import merge_leaves
from sync_server.couch import Couch
from sync_server.workers.follower import FeedOptions
from sync_server.workers.runner import WorkerConfig, Workers

NOW_MS = 1_795_933_800_000


def _leaves(i: int, accepted: bool = True) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    case_id = f"case:{ULID()}"
    status = {"status": "submitted"}
    if accepted:
        status = {"status": "accepted", "accepted_at": "2026-11-23T02:00:00Z"}
    base: dict[str, Any] = {
        "_id": case_id,
        "type": "case",
        "item_code": "330212-001",
        "situation": "first",
        **status,
        "division": {"village": "330212001001", "township": "330212001", "county": "330212"},
        "applicant": {"name": "张三", "id_number": "330212199001011234", "phone": "13800000000"},
        "answers": {"household": 3},
        "materials": [],
    }
    a = record_edit(base, "applicant.phone", f"139{i:08d}", device="tab-a", wall_ms=NOW_MS)
    b = record_edit(base, "notes", f"note {i}", device="tab-b", wall_ms=NOW_MS + 5)
    b["materials"] = [{"requirement": "hukou", "attachment": "hukou-1.jpg", "source": "captured"}]
    b["_attachments"] = {
        "hukou-1.jpg": {
            "content_type": "image/jpeg",
            "data": base64.b64encode(b"\xff\xd8" + bytes(2000)).decode(),
        }
    }
    return base, a, b


async def _write_conflicts(couch: Couch, db: str, cases: int, accepted: bool = True) -> list[str]:
    docs: list[dict[str, Any]] = []
    ids = []
    for i in range(cases):
        base, a, b = _leaves(i, accepted)
        ids.append(base["_id"])
        h0, h1, h2 = (uuid.uuid4().hex for _ in range(3))
        docs.append({**base, "_rev": f"1-{h0}", "_revisions": {"start": 1, "ids": [h0]}})
        docs.append({**a, "_rev": f"2-{h1}", "_revisions": {"start": 2, "ids": [h1, h0]}})
        docs.append({**b, "_rev": f"2-{h2}", "_revisions": {"start": 2, "ids": [h2, h0]}})
        if len(docs) >= 300:
            await couch.bulk_docs(db, docs, new_edits=False)
            docs = []
    if docs:
        await couch.bulk_docs(db, docs, new_edits=False)
    return ids


async def _caught_up(couch: Couch, server_db: str, db: str) -> bool:
    checkpoint = await couch.get_doc(server_db, f"checkpoint:{db}")
    if checkpoint is None:
        return False
    return not (await couch.changes(db, since=checkpoint["seq"], limit=1))["results"]


async def bench_conflicts(
    couchdb_url: str, cases: int = 200, *, accepted: bool = True, latency_samples: int = 10
) -> dict[str, Any]:
    """Measure; the databases it creates are deleted afterwards.

    `accepted` cases also run the deadlines transition (supervision record, deadline on the
    case), as a conflict between the township's acceptance and an agent's edit would.
    Latency: with the workers idle on their longpoll, one conflict is written and the time
    until its merged revision is readable is taken, `latency_samples` times (median, max)."""
    couch = Couch(couchdb_url)
    tag = uuid.uuid4().hex[:8]
    db, server_db = f"ot-v-bench{tag}-000000000000", f"ot-server-bench{tag}"
    try:
        await couch.create_db(db)
        await couch.create_db(server_db)
        await _write_conflicts(couch, db, cases, accepted)
        config = WorkerConfig(
            server_db=server_db,
            prefix=f"ot-v-bench{tag}",
            discovery_poll=0.2,
            feed=FeedOptions(longpoll_ms=500, limit=100),
        )
        workers, stop = Workers(couch, config), asyncio.Event()
        started = time.perf_counter()
        task = asyncio.create_task(workers.run(stop))
        while not await _caught_up(couch, server_db, db):
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        rows = (await couch.get_json(f"/{db}/_all_docs", startkey="event:", endkey="event:\ufff0"))["rows"]
        latencies = []
        for _ in range(latency_samples):
            [case_id] = await _write_conflicts(couch, db, 1, accepted)
            t0 = time.perf_counter()
            while (await couch.get_doc(db, case_id, conflicts=True) or {}).get("_conflicts"):
                await asyncio.sleep(0.005)
            latencies.append((time.perf_counter() - t0) * 1000)
        stop.set()
        await task
        samples = [_leaves(i)[1:] for i in range(cases)]
        for a, b in samples:
            a["_rev"], b["_rev"] = "2-a", "2-b"
        t0 = time.perf_counter()
        for a, b in samples:
            merge_leaves([a, b], now_ms=NOW_MS)
        pure = time.perf_counter() - t0
        latencies.sort()
        return {
            "cases": cases,
            "accepted": accepted,
            "events": len(rows),
            "latency_ms_median": round(latencies[len(latencies) // 2], 1) if latencies else None,
            "latency_ms_max": round(latencies[-1], 1) if latencies else None,
            "seconds": round(elapsed, 2),
            "cases_per_s": round(cases / elapsed, 1),
            "merge_only_cases_per_s": round(cases / pure, 0),
        }
    finally:
        for name in (db, server_db):
            await couch.request("DELETE", f"/{name}")
        await couch.aclose()


if __name__ == "__main__":
    url = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    print(asyncio.run(bench_conflicts(url, n)))
