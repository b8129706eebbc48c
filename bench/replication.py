"""Replication benchmark (同步基准): ours against PouchDB, same data, same server, same run.

5,000 case documents of about 2 KB plus 300 with a 150 KB scan (incompressible, like JPEG). Pull:
server → fresh local database; push: local database → fresh server database. Ours is
`mobile.replication.replicate` with a `LocalStore`; PouchDB is npm `pouchdb` with its leveldb
adapter, driven by `tests/integration/mobile/js/pouch.js`. Then a run through a shaping proxy
(2 Mbit/s, 150 ms each way) on a smaller set, against the bound "bytes ÷ bandwidth".

    python -m bench.replication [COUCHDB_URL]      (without a URL an embedded engine is started)
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench.shaping import ShapingProxy
from mobile.replication import RemoteDB, replicate
from mobile.replication.remote import split_url
from mobile.store import LocalStore

POUCH = Path(__file__).resolve().parents[1] / "tests" / "integration" / "mobile" / "js" / "pouch.js"
CASES, SCANS, SCAN_BYTES = 5000, 300, 150_000
SHAPED_CASES, SHAPED_SCANS = 200, 10
RATE = 2_000_000 / 8  # 2 Mbit/s in bytes per second
LATENCY = 0.150  # seconds each way
ROUNDS = 2


def case(n: int) -> dict[str, Any]:
    village = "330212001001"
    return {"_id": f"case:{n:026d}", "type": "case", "item_code": "330212-001", "situation": "first",
            "division": {"village": village, "township": village[:9], "county": village[:6]},
            "applicant": {"name": f"张{n}", "id_number": "33021219800101001X", "phone": "13800000000"},
            "answers": {"note": f"{n} " + "代办说明 " * 120}, "materials": [], "status": "submitted"}


def scan(n: int) -> bytes:
    return b"\xff\xd8\xff\xe0" + os.urandom(SCAN_BYTES - 4)


async def seed(url: str, cases: int, scans: int) -> int:
    """Fill a server database; returns the bytes of JSON and scans written."""
    total = 0
    async with httpx.AsyncClient(timeout=300) as client:
        (await client.put(url)).raise_for_status()
        for start in range(0, cases, 500):
            docs = [case(n) for n in range(start, min(cases, start + 500))]
            total += sum(len(json.dumps(d, ensure_ascii=False).encode()) for d in docs)
            (await client.post(f"{url}/_bulk_docs", json={"docs": docs})).raise_for_status()
        for start in range(0, scans, 20):
            docs = []
            for n in range(start, min(scans, start + 20)):
                data = scan(n)
                total += len(data)
                docs.append({**case(100_000 + n), "_attachments": {
                    "id-1.jpg": {"content_type": "image/jpeg", "data": base64.b64encode(data).decode()}}})
            (await client.post(f"{url}/_bulk_docs", json={"docs": docs})).raise_for_status()
    return total


def pouch(command: str, **args: Any) -> dict[str, Any]:
    proc = subprocess.run(["node", str(POUCH), command], input=json.dumps(args), capture_output=True,
                          text=True, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


async def ours_pull(url: str, path: Path) -> tuple[float, int]:
    store = LocalStore(path)
    async with RemoteDB(url) as remote:
        started = time.perf_counter()
        summary = await replicate(remote, store)
        elapsed = time.perf_counter() - started
    store.close()
    return elapsed, summary.docs_written


async def ceiling_pull(url: str) -> float:
    """The engine's own ceiling for the pull (issue 19): the same reads done raw, nothing stored —
    `_changes` pages of 500, each page's revisions as stubs (`_bulk_get`), then its scans by
    `_bulk_get?attachments=true` of at most 6 documents (~1 MB), four in flight: multipart from
    CouchDB, base64 JSON from pouchdb-server; no gzip."""
    base, auth = split_url(url)
    headers = {"Accept": "application/json", "Accept-Encoding": "identity"}
    slots = asyncio.Semaphore(4)
    async with httpx.AsyncClient(base_url=base + "/", auth=auth, headers=headers, timeout=300) as client:

        async def scans(docs: list[dict[str, Any]]) -> None:
            async with slots:
                answer = await client.post("_bulk_get", params={"revs": "true", "attachments": "true"},
                                           json={"docs": [{"id": d["_id"], "rev": d["_rev"]} for d in docs]},
                                           headers={"Accept": "multipart/related"})
                if not answer.headers.get("content-type", "").startswith("multipart/"):
                    for row in answer.json()["results"]:
                        for att in row["docs"][0]["ok"]["_attachments"].values():
                            base64.b64decode(att["data"])

        started = time.perf_counter()
        since: Any = 0
        while True:
            params = {"style": "all_docs", "since": since, "limit": 500}
            page = (await client.get("_changes", params=params)).json()
            since = page["last_seq"]
            wanted = [{"id": row["id"], "rev": row["changes"][0]["rev"]} for row in page["results"]]
            if wanted:
                answer = await client.post("_bulk_get", params={"revs": "true"}, json={"docs": wanted})
                found = answer.json()
                docs = [d["ok"] for row in found["results"] for d in row["docs"] if "ok" in d]
                rich = [d for d in docs if d.get("_attachments")]
                await asyncio.gather(*(scans(rich[i:i + 6]) for i in range(0, len(rich), 6)))
            if len(page["results"]) < 500:
                return time.perf_counter() - started


async def ours_push(path: Path, url: str) -> tuple[float, int]:
    store = LocalStore(path)
    async with httpx.AsyncClient() as client:
        (await client.put(url)).raise_for_status()
    async with RemoteDB(url) as remote:
        started = time.perf_counter()
        summary = await replicate(store, remote)
        elapsed = time.perf_counter() - started
    store.close()
    return elapsed, summary.docs_written


def rates(seconds: float, docs: int, total_bytes: int) -> dict[str, float]:
    return {"seconds": round(seconds, 2), "docs_per_s": round(docs / seconds), "mb_per_s":
            round(total_bytes / seconds / 1e6, 1)}


def compare(ours: float, pouchdb: float, docs: int, total: int) -> dict[str, Any]:
    """Both rates and how many times longer PouchDB took than ours (> 1: ours is faster)."""
    return {"ours": rates(ours, docs, total), "pouchdb": rates(pouchdb, docs, total),
            "pouchdb_time_over_ours": round(pouchdb / ours, 2)}


async def full_run(server: str, tmp: Path, rounds: int = ROUNDS) -> dict[str, Any]:
    """`rounds` alternating runs of each side; the best time of each counts (the machine is shared)."""
    tag = uuid.uuid4().hex[:8]
    source = f"{server}/bench-src-{tag}"
    total = await seed(source, CASES, SCANS)
    docs = CASES + SCANS
    times: dict[str, list[float]] = {"ours_pull": [], "ours_push": [], "pouch_pull": [], "pouch_push": [],
                                     "ceiling_pull": []}
    async with httpx.AsyncClient(timeout=300) as client:
        for r in range(rounds):
            seconds, n1 = await ours_pull(source, tmp / f"ours{r}.sqlite")
            times["ours_pull"].append(seconds)
            times["ceiling_pull"].append(await ceiling_pull(source))
            pulled = await asyncio.to_thread(pouch, "pull", dir=str(tmp / f"pouch{r}"), url=source)
            times["pouch_pull"].append(pulled["seconds"])
            seconds, n2 = await ours_push(tmp / f"ours{r}.sqlite", f"{server}/bench-ours-{tag}-{r}")
            times["ours_push"].append(seconds)
            (await client.put(f"{server}/bench-pouch-{tag}-{r}")).raise_for_status()
            pushed = await asyncio.to_thread(pouch, "push", dir=str(tmp / f"pouch{r}"),
                                             url=f"{server}/bench-pouch-{tag}-{r}")
            times["pouch_push"].append(pushed["seconds"])
            assert n1 == n2 == docs == pulled["docs_written"] == pushed["docs_written"], (n1, n2)
            for name in ("ours", "pouch"):
                await client.delete(f"{server}/bench-{name}-{tag}-{r}")
        await client.delete(source)
    best = {k: min(v) for k, v in times.items()}
    return {
        "data": {"docs": docs, "scans": SCANS, "mb": round(total / 1e6, 1)},
        "rounds": {k: [round(t, 2) for t in v] for k, v in times.items()},
        "pull": {**compare(best["ours_pull"], best["pouch_pull"], docs, total),
                 "ours_over_ceiling": round(best["ours_pull"] / best["ceiling_pull"], 2)},
        "push": compare(best["ours_push"], best["pouch_push"], docs, total),
        "push_ceiling": await push_ceiling(server, tmp / "ours0.sqlite", best["ours_push"], rounds),
    }


def ceiling_bodies(path: Path, inline_bytes: int = 8 * 1024 * 1024) -> list[bytes]:
    """Every revision a push of the store at `path` sends, pre-encoded as `_bulk_docs` bodies
    (`new_edits=false`): cases 500 to a body, scans base64 with their digest and revpos, about
    `inline_bytes` of scans to a body, as our push to a near engine groups them (ADR 0142)."""
    store = LocalStore(path)
    try:
        feed = store.changes(since=0, limit=10 * (CASES + SCANS), style="all_docs")
        wanted = {r["id"]: [c["rev"] for c in r["changes"]] for r in feed["results"]}
        docs = store.bulk_open_revs(wanted, revs=True)
        datas = store.attachments_of([(d["_id"], d["_rev"]) for d in docs if d.get("_attachments")])
    finally:
        store.close()
    groups: list[list[dict[str, Any]]] = []
    plain = [d for d in docs if not d.get("_attachments")]
    groups += [plain[i : i + 500] for i in range(0, len(plain), 500)]
    size = inline_bytes
    for doc in (d for d in docs if d.get("_attachments")):
        atts = {name: {"content_type": att["content_type"], "digest": att["digest"], "revpos": att["revpos"],
                       "data": base64.b64encode(datas[(doc["_id"], doc["_rev"])][name]).decode()}
                for name, att in doc["_attachments"].items()}
        length = sum(int(att.get("length", 0)) for att in doc["_attachments"].values())
        if size + length > inline_bytes:
            groups.append([])
            size = 0
        groups[-1].append({**doc, "_attachments": atts})
        size += length
    return [json.dumps({"docs": g, "new_edits": False}, separators=(",", ":"), ensure_ascii=False).encode()
            for g in groups]


async def push_ceiling(server: str, path: Path, ours: float, rounds: int = ROUNDS) -> dict[str, Any]:
    """The engine's own ceiling for our push: the same revisions as pre-encoded `_bulk_docs`
    bodies, sent one after the other to a fresh database (best of `rounds`), and ours ÷ it."""
    bodies = await asyncio.to_thread(ceiling_bodies, path)
    times: list[float] = []
    async with httpx.AsyncClient(timeout=300) as client:
        for r in range(rounds):
            url = f"{server}/bench-ceiling-{uuid.uuid4().hex[:8]}-{r}"
            (await client.put(url)).raise_for_status()
            started = time.perf_counter()
            for body in bodies:
                response = await client.post(f"{url}/_bulk_docs", content=body,
                                             headers={"Content-Type": "application/json"})
                response.raise_for_status()
            times.append(time.perf_counter() - started)
            await client.delete(url)
    return {"requests": len(bodies), "rounds": [round(t, 2) for t in times], "seconds": round(min(times), 2),
            "ours_over_ceiling": round(ours / min(times), 2)}


async def shaped_run(server: str, tmp: Path) -> dict[str, Any]:
    """Ours and PouchDB through a 2 Mbit/s, 150 ms link, against the bound scan bytes ÷ bandwidth."""
    tag = uuid.uuid4().hex[:8]
    parts = urlsplit(server)
    proxy = ShapingProxy(parts.hostname or "127.0.0.1", parts.port or 5984, RATE, LATENCY)
    port = await proxy.start()
    shaped = f"http://{parts.username}:{parts.password}@127.0.0.1:{port}"
    total = await seed(f"{server}/shaped-src-{tag}", SHAPED_CASES, SHAPED_SCANS)
    bound = SHAPED_SCANS * SCAN_BYTES / RATE
    figures: dict[str, Any] = {"link": "2 Mbit/s, 150 ms each way", "docs": SHAPED_CASES + SHAPED_SCANS,
                               "data_mb": round(total / 1e6, 2),
                               "bound_scans_over_bandwidth_s": round(bound, 1)}

    def row(seconds: float, wire: int) -> dict[str, float]:
        return {"seconds": round(seconds, 1), "wire_mb": round(wire / 1e6, 2),
                "over_bound": round(seconds / bound, 2)}

    try:
        down = proxy.down.bytes
        seconds, _ = await ours_pull(f"{shaped}/shaped-src-{tag}", tmp / "shaped.sqlite")
        figures["ours_pull"] = row(seconds, proxy.down.bytes - down)
        up = proxy.up.bytes
        seconds, _ = await ours_push(tmp / "shaped.sqlite", f"{shaped}/shaped-ours-{tag}")
        figures["ours_push"] = row(seconds, proxy.up.bytes - up)
        down = proxy.down.bytes
        pulled = await asyncio.to_thread(pouch, "pull", dir=str(tmp / "shaped-pouch"),
                                         url=f"{shaped}/shaped-src-{tag}")
        figures["pouchdb_pull"] = row(pulled["seconds"], proxy.down.bytes - down)
        async with httpx.AsyncClient() as client:
            (await client.put(f"{server}/shaped-pouch-{tag}")).raise_for_status()
        up = proxy.up.bytes
        pushed = await asyncio.to_thread(pouch, "push", dir=str(tmp / "shaped-pouch"),
                                         url=f"{shaped}/shaped-pouch-{tag}")
        figures["pouchdb_push"] = row(pushed["seconds"], proxy.up.bytes - up)
    finally:
        await proxy.stop()
        async with httpx.AsyncClient() as client:
            for name in ("src", "ours", "pouch"):
                await client.delete(f"{server}/shaped-{name}-{tag}")
    return figures


def machine() -> dict[str, Any]:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown")
    return {"nproc": os.cpu_count(), "cpu": model, "date": time.strftime("%Y-%m-%d", time.gmtime()),
            "python": sys.version.split()[0],
            "node": subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()}


async def bench_replication(server: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        full = await full_run(server, Path(tmp))
        shaped = await shaped_run(server, Path(tmp))
    return {"machine": machine(), "full": full, "shaped": shaped}


def main(url: str | None = None) -> None:
    from sync_server.engine import Engine

    url = url or (sys.argv[1] if len(sys.argv) > 1 else None)
    if url:
        print(json.dumps(asyncio.run(bench_replication(url.rstrip("/"))), indent=2, ensure_ascii=False))
        return
    with tempfile.TemporaryDirectory() as data, Engine(Path(data)) as engine:
        print(json.dumps(asyncio.run(bench_replication(engine.url)), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
