"""Small factories and waits for the workers' integration tests (no sleeps: poll with a deadline)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from ulid import ULID

from shared.edits import record_edit
from sync_server.couch import Couch
from sync_server.workers.conflicts import ConflictResolution
from sync_server.workers.follower import FeedOptions
from sync_server.workers.runner import TransitionFactory, WorkerConfig, Workers

NOW = 1_795_933_800.0  # 2026-11-28T03:10:00Z


def conflicts_only(couch: Couch, config: object) -> list[ConflictResolution]:
    """Transitions for `running`: only the conflict worker, on the fixed clock."""
    return [ConflictResolution(couch, clock=lambda: NOW)]


def new_case_id() -> str:
    return f"case:{ULID()}"


def make_case(case_id: str, **overrides: Any) -> dict[str, Any]:
    case: dict[str, Any] = {
        "_id": case_id,
        "type": "case",
        "item_code": "330212-001",
        "situation": "first",
        "status": "submitted",
        "division": {"village": "330212001001", "township": "330212001", "county": "330212"},
        "applicant": {"name": "张三", "id_number": "330212199001011234", "phone": "13800000000"},
        "answers": {"household": 3},
        "materials": [],
        "agent": "agent1",
        "created_at": "2026-11-24T06:30:00Z",
        "updated_at": "2026-11-24T06:30:00Z",
    }
    case.update(overrides)
    return case


def edited(case: dict[str, Any], device: str, changes: dict[str, Any], offset_ms: int = 0) -> dict[str, Any]:
    for path, value in changes.items():
        case = record_edit(case, path, value, device=device, wall_ms=int(NOW * 1000) + offset_ms)
    return case


def attachment(data: bytes, content_type: str = "image/jpeg") -> dict[str, Any]:
    return {"content_type": content_type, "data": base64.b64encode(data).decode()}


def _rev_hash(doc: dict[str, Any]) -> str:
    return hashlib.md5(repr(sorted(doc.items())).encode() + uuid.uuid4().bytes).hexdigest()


async def put_conflict(couch: Couch, db: str, base: dict[str, Any], *leaves: dict[str, Any]) -> list[str]:
    """Write `base` as rev 1 and each leaf as a different rev-2 child of it (`new_edits=false`)."""
    base_hash = _rev_hash(base)
    docs = [{**base, "_rev": f"1-{base_hash}", "_revisions": {"start": 1, "ids": [base_hash]}}]
    revs = []
    for leaf in leaves:
        leaf_hash = _rev_hash(leaf)
        docs.append(
            {**leaf, "_rev": f"2-{leaf_hash}", "_revisions": {"start": 2, "ids": [leaf_hash, base_hash]}}
        )
        revs.append(f"2-{leaf_hash}")
    await couch.bulk_docs(db, docs, new_edits=False)
    return revs


async def caught_up(couch: Couch, server_db: str, db: str) -> bool:
    """True when the saved checkpoint of `db` has nothing after it (seqs stay opaque)."""
    checkpoint = await couch.get_doc(server_db, f"checkpoint:{db}")
    if checkpoint is None:
        return False
    answer = await couch.changes(db, since=checkpoint["seq"], limit=1)
    return not answer["results"]


def worker_config(prefix: str, server_db: str, **overrides: Any) -> WorkerConfig:
    values: dict[str, Any] = {
        "server_db": server_db,
        "prefix": prefix,
        "lease_ttl": 2.0,
        "discovery_poll": 0.3,
        "max_backoff": 0.5,
        "feed": FeedOptions(longpoll_ms=300, limit=100),
    }
    values.update(overrides)
    return WorkerConfig(**values)


@contextlib.asynccontextmanager
async def running(
    couch: Couch,
    config: WorkerConfig,
    transitions: TransitionFactory | None = None,
    clock: Callable[[], float] = time.time,
) -> AsyncIterator[Workers]:
    workers = Workers(couch, config, transitions=transitions, clock=clock)
    stop = asyncio.Event()
    task = asyncio.create_task(workers.run(stop))
    try:
        yield workers
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=15)
