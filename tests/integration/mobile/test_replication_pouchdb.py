"""Interop with PouchDB (npm `pouchdb`, leveldb adapter) through the engine, both directions."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mobile.replication import RemoteDB, replicate
from mobile.store import LocalStore
from tests.integration.mobile.helpers import local_snapshot, make_case, payload
from tests.integration.mobile.test_replication_local import seed_local

SCRIPT = Path(__file__).parent / "js" / "pouch.js"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


async def pouch(command: str, **args: Any) -> Any:
    """Run the PouchDB script and return its JSON answer."""
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(SCRIPT),
        command,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ},
    )
    out, err = await proc.communicate(json.dumps(args).encode())
    assert proc.returncode == 0, err.decode()[-2000:]
    return json.loads(out.decode().strip().splitlines()[-1])


def md5(data: bytes) -> str:
    return "md5-" + base64.b64encode(hashlib.md5(data).digest()).decode()


def as_report(store: LocalStore) -> dict[str, Any]:
    """The local store in the shape the PouchDB script reports."""
    out: dict[str, Any] = {}
    for doc_id, (rev, deleted, body, conflicts, atts) in local_snapshot(store).items():
        data = {name: store.get_attachment(doc_id, name, rev=rev) for name in atts}
        out[doc_id] = {
            "rev": rev,
            "deleted": deleted,
            "conflicts": sorted(conflicts),
            "body": body,
            "atts": {
                name: {"digest": atts[name], "md5": md5(blob), "length": len(blob)}
                for name, blob in data.items()
            },
        }
    return out


async def test_pouchdb_writes_and_we_pull(
    couchdb_url: str, make_db: Callable[[str], str], tmp_path: Path
) -> None:
    url = f"{couchdb_url}/{make_db('pouch')}"
    docs: list[dict[str, Any]] = [make_case(i) for i in range(15)]
    docs.append({**make_case(20), "then_delete": True})
    docs.append(
        make_case(
            21,
            _attachments={
                "signature.png": {
                    "content_type": "image/png",
                    "data": base64.b64encode(payload(25_000, 5)).decode(),
                },
                "id-1.jpg": {
                    "content_type": "image/jpeg",
                    "data": base64.b64encode(payload(60_000, 6)).decode(),
                },
            },
        )
    )
    conflicts = [
        {**make_case(30, status=s), "_rev": f"1-{tag}"}
        for s, tag in (("submitted", "a1"), ("withdrawn", "b2"))
    ]
    pushed = await pouch("seed-push", dir=str(tmp_path / "pouch"), url=url, docs=docs, conflicts=conflicts)
    store = LocalStore(tmp_path / "agent.sqlite")
    async with RemoteDB(url) as remote:
        summary = await replicate(remote, store)
    assert summary.conflicts_seen == 1
    report = pushed["report"]
    for entry in report.values():
        entry["body"].pop("then_delete", None)
    assert as_report(store) == report
    assert report[make_case(30)["_id"]]["conflicts"] == ["1-a1"]
    assert report[make_case(20)["_id"]]["deleted"] is True


async def test_we_push_and_pouchdb_pulls(
    couchdb_url: str, make_db: Callable[[str], str], tmp_path: Path
) -> None:
    url = f"{couchdb_url}/{make_db('pouch')}"
    store = LocalStore(tmp_path / "agent.sqlite")
    seed_local(store)
    async with RemoteDB(url) as remote:
        await replicate(store, remote)
    pulled = await pouch("pull-report", dir=str(tmp_path / "pouch"), url=url)
    assert pulled["report"] == as_report(store)
    assert pulled["report"][make_case(2)["_id"]]["atts"]["signature.png"]["md5"] == md5(payload(30_000, 7))
    assert len(pulled["report"][make_case(3)["_id"]]["conflicts"]) == 1
