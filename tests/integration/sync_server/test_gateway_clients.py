"""Real replicators through the gateway: PouchDB (node), and the app's own LocalStore replicator."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from sync_server.couch import Couch
from sync_server.engine import project_engine_dir
from tests.integration.sync_server.gateway_helpers import JPEG, make_case, make_event
from tests.integration.sync_server.server_fixtures import RunningServer, Township, token_for

SCRIPT = Path(__file__).with_name("pouchdb_sync.js")


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is needed for the PouchDB client")
async def test_pouchdb_syncs_through_the_gateway_with_a_bearer_token(
    api_server: RunningServer, township: Township, couchdb_url: str, tmp_path: Path
) -> None:
    db, village = township.dbs[0], township.villages[0]
    case = make_case(village, _attachments={"signature.jpg": {"content_type": "image/jpeg",
                                                              "data": base64.b64encode(JPEG).decode()}})
    foreign = make_case(township.villages[1])
    docs = [case, make_event(case["_id"], by=township.agents[0]), foreign]
    config = {"remote": f"{api_server.url}/sync/{db}", "token": token_for(api_server.url, township.agents[0]),
              "dir": str(tmp_path), "docs": docs}
    env = {**os.environ, "NODE_PATH": str(project_engine_dir() / "node_modules")}
    run = subprocess.run(["node", str(SCRIPT), json.dumps(config)], capture_output=True, text=True, env=env,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["pushed"] == 2 and result["push_failures"] == 1  # the other village's case is refused
    assert sorted(result["ids"]) == sorted([case["_id"], docs[1]["_id"]])
    assert result["attachments"] == {f"{case['_id']}/signature.jpg": len(base64.b64encode(JPEG))}
    couch = Couch(couchdb_url)
    try:
        assert await couch.get_doc(db, foreign["_id"]) is None
        assert await couch.get_doc(f"ot-v-{township.villages[1]}", foreign["_id"]) is None
    finally:
        await couch.aclose()


async def test_local_store_replicates_through_the_gateway(
    api_server: RunningServer, township: Township, couchdb_url: str, tmp_path: Path
) -> None:
    from mobile.replication import RemoteDB, replicate
    from mobile.store import LocalStore

    db, village = township.dbs[0], township.villages[0]
    url = f"{api_server.url}/sync/{db}"
    phone = LocalStore(tmp_path / "agent.sqlite")
    case = make_case(village)
    rev = phone.put(case)["rev"]
    scan = JPEG + bytes(300_000)
    phone.put_attachment(case["_id"], rev, "hukou-1.jpg", scan, "image/jpeg")
    phone.put(make_event(case["_id"], by=township.agents[0]))
    phone.put(make_case(township.villages[1]))  # refused by the gateway, kept on the phone
    remote = RemoteDB(url, token=token_for(api_server.url, township.agents[0]))
    pushed = await replicate(phone, remote)
    assert pushed.docs_written == 2 and len(pushed.doc_write_failures) == 1
    assert pushed.doc_write_failures[0]["error"] == "forbidden"

    tablet = LocalStore(tmp_path / "staff.sqlite")
    pulled = await replicate(RemoteDB(url, token=token_for(api_server.url, township.staff)), tablet)
    assert pulled.docs_written == 2
    assert tablet.get_attachment(case["_id"], "hukou-1.jpg") == scan
    again = await replicate(phone, remote)  # resumes from its checkpoint: nothing new to send
    assert again.docs_written == 0
    couch = Couch(couchdb_url)
    try:
        stored = await couch.get_doc(db, case["_id"])
        assert stored is not None and "hukou-1.jpg" in stored["_attachments"]
    finally:
        await couch.aclose()
