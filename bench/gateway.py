"""Gateway overhead (网关开销): the same replication requests through `/sync/…` and directly.

    from bench.gateway import bench_gateway
    figures = asyncio.run(bench_gateway(couchdb_url, Path("/tmp/bench-data")))

Starts the server as a separate process (`uvicorn --factory sync_server.app:app_from_env`) on
a free port over `couchdb_url`, creates a township with two agents, then measures in one run:

- `_bulk_docs` with `new_edits: false` of N case documents in batches, direct vs gateway;
- `_changes?include_docs=true&style=all_docs` reading them back, direct vs gateway (gzip on);
- D simulated devices at once, each pushing a batch and reading the feed, through the
  gateway and then directly: throughput and p50/p95 latency per request kind, errors;
- a whole replication with the app's replicator (`mobile.replication`), cases plus
  incompressible scans like `bench.replication`'s data: pull and push, direct vs gateway.

Command line: `python -m bench.gateway COUCHDB_URL [DOCS] [DEVICES]`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from ulid import ULID

from mobile.replication import RemoteDB, replicate
from mobile.store import LocalStore
from shared.divisions import Division
from sync_server.admin import cmd_add_user
from sync_server.couch import Couch, split_credentials
from sync_server.engine import free_port
from sync_server.provision import provision, village_db
from sync_server.registry import add_division

PASSWORD = "bench password 1"
ROUNDS = 5


def _case(village: str, n: int) -> dict[str, Any]:
    rev_hash = uuid.uuid4().hex
    return {"_id": f"case:{ULID()}", "_rev": f"1-{rev_hash}", "_revisions": {"start": 1, "ids": [rev_hash]},
            "type": "case", "item_code": "330212-001", "situation": "first", "status": "submitted",
            "division": {"village": village, "township": village[:9], "county": village[:6]},
            "applicant": {"name": "张三", "id_number": "330212199001011234", "phone": f"138{n:08d}"},
            "answers": {"household": 3, "notes": "x" * 200}, "materials": [], "missing": [],
            "tracking_code": "ABCD-EFGH-JKLM", "agent": "bench", "meta": {"fields": {}}}


async def _setup(couch: Couch, tag: str) -> tuple[str, str, str]:
    township = f"330212{tag}"
    villages = (f"{township}001", f"{township}002")
    await provision(couch)
    for code in ("330212", township, *villages):
        await add_division(couch, Division(code, f"基准{code}", ""))
    for n, village in enumerate(villages, start=1):
        await cmd_add_user(couch, f"bench{tag}-{n}", "village_agent", [village], PASSWORD)
    await cmd_add_user(couch, f"bench{tag}-staff", "township_staff", [township], PASSWORD)
    return township, villages[0], villages[1]


def _start_server(couchdb_url: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "COUCHDB_URL": couchdb_url, "ONETRIP_DATA": str(data_dir), "ONETRIP_PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "sync_server.app:app_from_env",
                             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
                             "--no-access-log"], env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("the server did not start")


async def _token(client: httpx.AsyncClient, username: str) -> str:
    response = await client.post("/api/auth/login", json={"username": username, "password": PASSWORD,
                                                           "device_id": f"bench-{uuid.uuid4().hex[:8]}"})
    response.raise_for_status()
    return str(response.json()["access_token"])


async def _push(client: httpx.AsyncClient, base: str, docs: list[dict[str, Any]], batch: int) -> float:
    start = time.perf_counter()
    for i in range(0, len(docs), batch):
        body = {"docs": docs[i:i + batch], "new_edits": False}
        response = await client.post(f"{base}/_bulk_docs", json=body)
        if response.status_code != 201 or response.json():
            raise RuntimeError(f"push failed: {response.status_code} {response.text[:200]}")
    return time.perf_counter() - start


async def _pull(client: httpx.AsyncClient, base: str, expected: int, encoding: str = "gzip") -> float:
    start = time.perf_counter()
    response = await client.get(f"{base}/_changes", params={"include_docs": "true", "style": "all_docs"},
                                headers={"Accept-Encoding": encoding})
    if len(response.json()["results"]) != expected:
        raise RuntimeError("pull read a different number of documents")
    return time.perf_counter() - start


def _compare(pairs: list[tuple[float, float]], docs: int) -> dict[str, float]:
    """Median seconds per round, direct and through the gateway, and the median of the ratios."""
    return {"docs_per_round": docs,
            "direct_s": round(statistics.median(d for d, _ in pairs), 3),
            "gateway_s": round(statistics.median(g for _, g in pairs), 3),
            "ratio": round(statistics.median(g / d for d, g in pairs), 2)}


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(1000 * statistics.median(ordered), 1),
            "p95_ms": round(1000 * ordered[max(0, int(len(ordered) * 0.95) - 1)], 1)}


async def _devices(base_url: str, headers: dict[str, str], auth: httpx.BasicAuth | None, village: str,
                   devices: int, docs_each: int) -> dict[str, Any]:
    push_times: list[float] = []
    pull_times: list[float] = []
    errors = 0

    async def device(n: int) -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=base_url, timeout=120, headers=headers, auth=auth) as c:
            docs = [_case(village, n * 1000 + i) for i in range(docs_each)]
            t0 = time.perf_counter()
            pushed = await c.post("/_bulk_docs", json={"docs": docs, "new_edits": False})
            push_times.append(time.perf_counter() - t0)
            t1 = time.perf_counter()
            pulled = await c.get("/_changes", params={"limit": "100", "style": "all_docs"})
            pull_times.append(time.perf_counter() - t1)
            if pushed.status_code != 201 or pushed.json() or pulled.status_code != 200:
                errors += 1

    start = time.perf_counter()
    await asyncio.gather(*(device(n) for n in range(devices)))
    elapsed = time.perf_counter() - start
    return {"devices": devices, "docs_per_device": docs_each, "seconds": round(elapsed, 2),
            "docs_per_s": round(devices * docs_each / elapsed), "errors": errors,
            "bulk_docs": _percentiles(push_times), "changes": _percentiles(pull_times)}


REPLICATION_CASES, REPLICATION_SCANS, SCAN_BYTES = 1000, 60, 150_000


def _replication_docs(village: str) -> list[dict[str, Any]]:
    docs = []
    for n in range(REPLICATION_CASES + REPLICATION_SCANS):
        doc = _case(village, n)
        doc.pop("_rev"), doc.pop("_revisions")
        doc["answers"]["note"] = f"{n} " + "代办说明 " * 120  # ~2 KB, as bench.replication
        if n >= REPLICATION_CASES:
            scan = b"\xff\xd8\xff\xe0" + os.urandom(SCAN_BYTES - 4)  # incompressible, like a JPEG
            doc["_attachments"] = {"id-1.jpg": {"content_type": "image/jpeg",
                                                "data": base64.b64encode(scan).decode()}}
        docs.append(doc)
    return docs


async def _seed(client: httpx.AsyncClient, db: str, docs: list[dict[str, Any]]) -> None:
    for i in range(0, len(docs), 50):
        (await client.post(f"/{db}/_bulk_docs", json={"docs": docs[i:i + 50]})).raise_for_status()


async def _replicate(source: Any, target: Any) -> float:
    start = time.perf_counter()
    summary = await replicate(source, target)
    if summary.doc_write_failures:
        raise RuntimeError(f"replication failures: {summary.doc_write_failures[:3]}")
    return time.perf_counter() - start


async def _replication(couchdb_url: str, url: str, token: str, pull_village: str, push_village: str,
                       tmp: Path) -> dict[str, Any]:
    """Pull the same database directly and through the gateway; push the same store both ways."""
    base, auth = split_credentials(couchdb_url)
    pull_db, push_db = village_db(pull_village), village_db(push_village)
    scratch = f"bench-gw-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=base, auth=auth, timeout=300) as admin:
        await _seed(admin, pull_db, _replication_docs(pull_village))
        (await admin.put(f"/{scratch}")).raise_for_status()
        await _seed(admin, scratch, _replication_docs(push_village))
        (await admin.put(f"/{scratch}-target")).raise_for_status()
    try:
        async with RemoteDB(f"{couchdb_url}/{scratch}") as seed_source:
            seeded = LocalStore(tmp / "push-direct.sqlite")
            await replicate(seed_source, seeded)
            seeded.close()
        shutil.copy(tmp / "push-direct.sqlite", tmp / "push-gateway.sqlite")
        direct_url, gateway_url = f"{couchdb_url}/{pull_db}", f"{url}/sync/{pull_db}"
        figures: dict[str, float] = {}
        async with RemoteDB(direct_url) as direct, RemoteDB(gateway_url, token=token) as gateway:
            figures["pull_direct_s"] = await _replicate(direct, LocalStore(tmp / "pull-direct.sqlite"))
            figures["pull_gateway_s"] = await _replicate(gateway, LocalStore(tmp / "pull-gateway.sqlite"))
        async with RemoteDB(f"{couchdb_url}/{scratch}-target") as direct, \
                RemoteDB(f"{url}/sync/{push_db}", token=token) as gateway:
            figures["push_direct_s"] = await _replicate(LocalStore(tmp / "push-direct.sqlite"), direct)
            figures["push_gateway_s"] = await _replicate(LocalStore(tmp / "push-gateway.sqlite"), gateway)
    finally:
        async with httpx.AsyncClient(base_url=base, auth=auth, timeout=60) as admin:
            await admin.delete(f"/{scratch}")
            await admin.delete(f"/{scratch}-target")
    return {"docs": REPLICATION_CASES + REPLICATION_SCANS, "scans": REPLICATION_SCANS,
            "mb": round((REPLICATION_CASES * 2_300 + REPLICATION_SCANS * SCAN_BYTES) / 1e6, 1),
            **{k: round(v, 2) for k, v in figures.items()},
            "pull_ratio": round(figures["pull_gateway_s"] / figures["pull_direct_s"], 2),
            "push_ratio": round(figures["push_gateway_s"] / figures["push_direct_s"], 2)}


async def bench_gateway(couchdb_url: str, data_dir: Path, *, docs: int = 2000, batch: int = 100,
                        devices: int = 100, docs_each: int = 20) -> dict[str, Any]:
    tag = f"{int(time.time()) % 900 + 100:03d}"
    couch = Couch(couchdb_url)
    try:
        township, direct_village, gateway_village = await _setup(couch, tag)
        pull_village, push_village = f"{township}003", f"{township}004"
        for code in (pull_village, push_village):
            await add_division(couch, Division(code, f"基准{code}", ""))
    finally:
        await couch.aclose()
    proc, url = _start_server(couchdb_url, data_dir)
    try:
        base, auth = split_credentials(couchdb_url)
        async with httpx.AsyncClient(base_url=base, auth=auth, timeout=120) as direct, \
                httpx.AsyncClient(base_url=url, timeout=120) as api:
            token = await _token(api, f"bench{tag}-2")
            api.headers["Authorization"] = f"Bearer {token}"
            direct_db, gateway_db = village_db(direct_village), village_db(gateway_village)
            # Alternating rounds and medians: the machine is shared, single runs are noise.
            per_round = docs // ROUNDS
            pushes: list[tuple[float, float]] = []
            for r in range(ROUNDS):
                direct_docs = [_case(direct_village, r * per_round + i) for i in range(per_round)]
                gateway_docs = [_case(gateway_village, r * per_round + i) for i in range(per_round)]
                pushes.append((await _push(direct, f"/{direct_db}", direct_docs, batch),
                               await _push(api, f"/sync/{gateway_db}", gateway_docs, batch)))
            pulls = [(await _pull(direct, f"/{direct_db}", per_round * ROUNDS),
                      await _pull(api, f"/sync/{gateway_db}", per_round * ROUNDS)) for _ in range(ROUNDS)]
            # The same without gzip: on loopback compression is pure cost, on a village link it pays.
            plain = [(await _pull(direct, f"/{direct_db}", per_round * ROUNDS, "identity"),
                      await _pull(api, f"/sync/{gateway_db}", per_round * ROUNDS, "identity"))
                     for _ in range(ROUNDS)]
            staff = await _token(api, f"bench{tag}-staff")
        crowd = await _devices(f"{url}/sync/{gateway_db}", {"Authorization": f"Bearer {staff}"}, None,
                               gateway_village, devices, docs_each)
        crowd_direct = await _devices(f"{base}/{direct_db}", {}, auth, direct_village, devices, docs_each)
        replication = await _replication(couchdb_url, url, staff, pull_village, push_village, data_dir)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return {
        "docs": docs, "batch": batch, "rounds": ROUNDS,
        "bulk_docs": _compare(pushes, per_round),
        "changes": _compare(pulls, per_round * ROUNDS),
        "changes_without_gzip": _compare(plain, per_round * ROUNDS),
        "concurrent": crowd,
        "concurrent_direct": crowd_direct,
        "replication": replication,
    }


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: python -m bench.gateway COUCHDB_URL [DOCS] [DEVICES]")
    docs = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    devices = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    with tempfile.TemporaryDirectory() as tmp:
        figures = asyncio.run(bench_gateway(sys.argv[1], Path(tmp), docs=docs, devices=devices))
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
