"""Factories and comparisons shared by the replication tests."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import httpx

from mobile.replication.endpoint import JSON

VILLAGE = "330212001001"


def make_case(n: int, **overrides: Any) -> JSON:
    """A case document of about 2 KB, like the app writes."""
    doc: JSON = {
        "_id": f"case:{n:026d}",
        "type": "case",
        "item_code": "330212-001",
        "situation": "first",
        "division": {"village": VILLAGE, "township": VILLAGE[:9], "county": VILLAGE[:6]},
        "applicant": {"name": f"张{n}", "id_number": "33021219800101001X", "phone": "13800000000"},
        "answers": {"note": "代办说明 " * 120},
        "materials": [],
        "missing": [],
        "status": "draft",
        "created_at": "2026-11-24T06:30:00Z",
        "updated_at": "2026-11-24T06:30:00Z",
    }
    doc.update(overrides)
    return doc


def payload(size: int, seed: int) -> bytes:
    """Incompressible bytes standing in for a JPEG scan."""
    out = bytearray()
    block = hashlib.sha256(f"{seed}".encode()).digest()
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:size]) if seed >= 0 else os.urandom(size)


async def remote_snapshot(url: str) -> dict[str, tuple[Any, ...]]:
    """id → (winning rev, deleted, body, conflicts, attachment digests) of a CouchDB database."""
    async with httpx.AsyncClient(timeout=60) as client:
        rows = (
            await client.get(
                f"{url}/_changes", params={"style": "all_docs", "include_docs": "true", "conflicts": "true"}
            )
        ).json()["results"]
    return {row["id"]: summarize(row["doc"]) for row in rows}


def local_snapshot(store: Any) -> dict[str, tuple[Any, ...]]:
    rows = store.changes(style="all_docs", include_docs=True, conflicts=True)["results"]
    return {row["id"]: summarize(row["doc"]) for row in rows}


def summarize(doc: JSON) -> tuple[Any, ...]:
    body = {k: v for k, v in doc.items() if not k.startswith("_")}
    atts = {name: att.get("digest") for name, att in (doc.get("_attachments") or {}).items()}
    return (doc["_rev"], bool(doc.get("_deleted")), body, tuple(sorted(doc.get("_conflicts", []))), atts)


async def put_docs(url: str, docs: list[JSON], *, new_edits: bool = True) -> list[JSON]:
    async with httpx.AsyncClient(timeout=60) as client:
        response = await client.post(f"{url}/_bulk_docs", json={"docs": docs, "new_edits": new_edits})
        response.raise_for_status()
        result: list[JSON] = response.json()
        return result
