"""Gateway overhead (网关开销): the same replication requests through `/sync/…` and directly.

    from bench.gateway import bench_gateway
    figures = asyncio.run(bench_gateway(couchdb_url, Path("/tmp/bench-data")))

Starts the server as a separate process (`uvicorn --factory sync_server.app:app_from_env`) on
a free port over `couchdb_url`, creates a township with two agents, then measures in one run:

- `_bulk_docs` with `new_edits: false` of N case documents in batches, direct vs gateway;
- `_changes?include_docs=true&style=all_docs` reading them back, direct vs gateway (gzip on);
- D simulated devices at once, each asking `_revs_diff`, pushing a batch and reading the feed,
  through the gateway and directly in alternating rounds: throughput and p50/p95 latency per
  request kind, errors, and the median per-round ratios to direct;
- a whole replication with the app's replicator (`mobile.replication`), cases plus
  incompressible scans like `bench.replication`'s data: pull and push, direct vs gateway, and
  through a byte relay: the floor (below).

The floor (`relay`, ADR 0165): a minimal asyncio TCP relay in front of the engine, in its own
process like the server, that parses nothing and copies bytes both ways. The replicator reaches
the engine through it exactly as directly (same credentials, same requests), so relay ÷ direct is
what one more process hop costs on this machine, whatever that process does — the part of
gateway ÷ direct no gateway can remove while the phone, the engine and the server share the
cores. A reference, like PouchDB in `bench.replication`; `python -m bench.gateway --relay PORT
UPSTREAM` runs one alone.

Command line: `python -m bench.gateway COUCHDB_URL [DOCS] [DEVICES] [--baseline TREE] [--engine-pid PID]
[--parts requests,devices,replication] [--profile DIR] [--no-relay]`; with a baseline (a copy of the
source tree before a change) its server runs in the same alternating rounds; with the engine's process id its
CPU per replication is reported beside the server's. `--parts` runs only some parts (all by
default); `--profile` records each server process with py-spy (raw folded stacks, 200 Hz) into DIR;
`--no-relay` leaves the relay out of the replication rounds.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from ulid import ULID

from mobile.replication import RemoteDB, replicate
from mobile.store import LocalStore
from shared.divisions import Division
from shared.idnumber import make_id_number
from shared.ids import RANDOM_BYTES, new_tracking_code
from sync_server.admin import cmd_add_user
from sync_server.couch import Couch, split_credentials
from sync_server.engine import free_port
from sync_server.provision import provision, village_db
from sync_server.registry import add_division

PASSWORD = "bench password 1"
ROUNDS = 5


_ID_NUMBER = make_id_number("330212", date(1990, 1, 1), 123)


def _case(village: str, n: int) -> dict[str, Any]:
    rev_hash = uuid.uuid4().hex
    return {"_id": f"case:{ULID()}", "_rev": f"1-{rev_hash}", "_revisions": {"start": 1, "ids": [rev_hash]},
            "type": "case", "item_code": "330212-001", "situation": "first", "status": "submitted",
            "division": {"village": village, "township": village[:9], "county": village[:6]},
            "applicant": {"name": "张三", "id_number": _ID_NUMBER, "phone": f"138{n:08d}"},
            "answers": {"household": 3, "notes": "x" * 200}, "materials": [], "missing": [],
            # A valid code of its own, as a phone makes: the gateway then reads the tracking index
            # for it, as for every real submission (a code failing its check symbol is refused
            # before any read).
            "tracking_code": new_tracking_code(os.urandom(RANDOM_BYTES)), "agent": "bench",
            "meta": {"fields": {}}}


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


def _start_server(couchdb_url: str, data_dir: Path,
                  tree: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """The server on a free port; `tree` runs another checkout's code (the before of a before/after)."""
    port = free_port()
    env = {**os.environ, "COUCHDB_URL": couchdb_url, "ONETRIP_DATA": str(data_dir), "ONETRIP_PORT": str(port)}
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "sync_server.app:app_from_env",
                             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
                             "--no-access-log"], env=env, cwd=tree)
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


RELAY_BLOCK = 256 * 1024


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(RELAY_BLOCK):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


async def _relay(port: int, upstream_host: str, upstream_port: int) -> None:
    """Accept on `port`, open one upstream connection per client connection, copy bytes both ways."""

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(upstream_host, upstream_port)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    server = await asyncio.start_server(connection, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def run_relay(port: int, upstream: str) -> None:
    """The relay in this process until it is stopped (uvloop when installed, as uvicorn uses it)."""
    parts = urlsplit(upstream)
    try:
        import uvloop
    except ImportError:
        asyncio.run(_relay(port, parts.hostname or "127.0.0.1", parts.port or 80))
    else:
        uvloop.run(_relay(port, parts.hostname or "127.0.0.1", parts.port or 80))


def _start_relay(couchdb_url: str) -> tuple[subprocess.Popen[bytes], str]:
    """The relay on a free port in its own process; the engine's URL through it (credentials kept)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bench.gateway", "--relay", str(port), couchdb_url])
    parts = urlsplit(couchdb_url)
    credentials = parts.netloc.rpartition("@")[0]
    url = urlunsplit((parts.scheme, f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}",
                      parts.path, "", "")).rstrip("/")
    base, auth = split_credentials(url)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/", auth=auth, timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("the relay did not start")


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
            # As a replicator syncs: ask what the server lacks, then write it.
            diff = await c.post("/_revs_diff", json={d["_id"]: [d["_rev"]] for d in docs})
            pushed = await c.post("/_bulk_docs", json={"docs": docs, "new_edits": False})
            push_times.append(time.perf_counter() - t0)
            if diff.status_code != 200 or len(diff.json()) != docs_each:
                errors += 1
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
            "revs_diff_and_bulk_docs": _percentiles(push_times), "changes": _percentiles(pull_times)}


CROWD_ROUNDS = 3


async def _crowds(base: str, auth: httpx.BasicAuth | None, servers: dict[str, str], tokens: dict[str, str],
                  dbs: dict[str, str], villages: dict[str, str], devices: int,
                  docs_each: int) -> dict[str, Any]:
    """`_devices` for direct and each server in alternating rounds (who goes first rotates).

    Per kind: the round with the median throughput, and the medians of the per-round ratios
    to direct (docs/s, push p95), so load that comes and goes hits all kinds alike.
    """
    kinds = ["direct", *servers]
    rounds: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    for r in range(CROWD_ROUNDS):
        for kind in kinds[r % len(kinds):] + kinds[:r % len(kinds)]:
            if kind == "direct":
                result = await _devices(f"{base}{dbs[kind]}", {}, auth, villages[kind], devices, docs_each)
            else:
                bearer = {"Authorization": f"Bearer {tokens[kind]}"}
                result = await _devices(f"{servers[kind]}{dbs[kind]}", bearer, None, villages[kind],
                                        devices, docs_each)
            rounds[kind].append(result)
    crowd: dict[str, Any] = {"rounds": CROWD_ROUNDS}
    for kind in kinds:
        ordered = sorted(rounds[kind], key=lambda result: float(result["docs_per_s"]))
        crowd[kind] = {**ordered[len(ordered) // 2], "errors": sum(res["errors"] for res in rounds[kind]),
                       "docs_per_s_rounds": [res["docs_per_s"] for res in rounds[kind]]}
        if kind != "direct":
            pairs = list(zip(rounds["direct"], rounds[kind], strict=True))
            crowd[kind]["docs_per_s_ratio"] = round(statistics.median(
                g["docs_per_s"] / d["docs_per_s"] for d, g in pairs), 2)
            crowd[kind]["push_p95_ratio"] = round(statistics.median(
                g["revs_diff_and_bulk_docs"]["p95_ms"] / d["revs_diff_and_bulk_docs"]["p95_ms"]
                for d, g in pairs), 2)
    return crowd


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


REPLICATION_ROUNDS = 5


async def _seeded_store(couchdb_url: str, village: str, path: Path) -> None:
    """A local store holding the replication data of `village`, never pushed anywhere yet."""
    base, auth = split_credentials(couchdb_url)
    scratch = f"bench-gw-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=base, auth=auth, timeout=300) as admin:
        (await admin.put(f"/{scratch}")).raise_for_status()
        try:
            await _seed(admin, scratch, _replication_docs(village))
            async with RemoteDB(f"{couchdb_url}/{scratch}") as seed_source:
                store = LocalStore(path)
                await replicate(seed_source, store)
                store.close()
        finally:
            await admin.delete(f"/{scratch}")


def _cpu_s(pid: int | None) -> float:
    """CPU seconds (user + system) a local process has used so far; 0 without one."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _counted(run: Any, cpu: dict[str, list[float]], key: str, server: int | None,
                   engine: int | None) -> float:
    """`await run`, with the CPU it cost this process (the replicator), the server and the engine."""
    before = (time.process_time(), _cpu_s(server), _cpu_s(engine))
    elapsed: float = await run
    after = (time.process_time(), _cpu_s(server), _cpu_s(engine))
    for part, a, b in zip(("client", "server", "engine"), before, after, strict=True):
        cpu.setdefault(f"{key}_{part}", []).append(b - a)
    return elapsed


async def _replication(couchdb_url: str, servers: dict[str, str], token: dict[str, str], pull_village: str,
                       push_villages: list[str], tmp: Path, pids: dict[str, int],
                       engine_pid: int | None, relay: str | None = None) -> dict[str, Any]:
    """Pull the same database directly and through each server; push a store of new documents
    into a new, empty village database each time (a device's first push of its week's work).
    `relay`: the engine's URL through the byte relay (the floor), pulled and pushed like direct.

    Rounds alternate direct / relay / gateway (/ baseline), who goes first rotating, so that load on
    the shared machine hits all alike.
    CPU seconds per run of the replicator, each server (`pids`) and the engine (`engine_pid`, when
    it runs on this machine) are counted too: on a loaded machine they move far less than wall time.
    """
    base, auth = split_credentials(couchdb_url)
    pull_db = village_db(pull_village)
    async with httpx.AsyncClient(base_url=base, auth=auth, timeout=300) as admin:
        await _seed(admin, pull_db, _replication_docs(pull_village))
    engines = {"direct": couchdb_url, **({"relay": relay} if relay else {})}  # reached without the gateway
    kinds = [*engines, *servers]
    times: dict[str, list[float]] = {f"{d}_{k}": [] for d in ("pull", "push") for k in kinds}
    cpu: dict[str, list[float]] = {}
    pushes = iter(push_villages)
    plan = [[(kind, next(pushes)) for kind in kinds] for _ in range(REPLICATION_ROUNDS)]
    for runs in plan:  # seeded before any timing, one store per push
        for _, village in runs:
            await _seeded_store(couchdb_url, village, tmp / f"push-{village}.sqlite")
    n = 0
    for r, in_order in enumerate(plan):
        runs = in_order[r % len(in_order):] + in_order[:r % len(in_order)]  # who goes first rotates
        for kind, _ in runs:
            n += 1
            url = f"{engines[kind]}/{pull_db}" if kind in engines else f"{servers[kind]}/sync/{pull_db}"
            async with RemoteDB(url, token=token.get(kind)) as source:
                store = LocalStore(tmp / f"pull-{n}.sqlite")
                times[f"pull_{kind}"].append(await _counted(_replicate(source, store), cpu, f"pull_{kind}",
                                                            pids.get(kind), engine_pid))
        for kind, village in runs:
            push_db = village_db(village)
            url = f"{engines[kind]}/{push_db}" if kind in engines else f"{servers[kind]}/sync/{push_db}"
            # Binary scans both ways, as a device sends them: a direct push on loopback would
            # otherwise send them base64 in `_bulk_docs` (ADR 0142) and the ratio would compare
            # two upload forms instead of measuring the gateway.
            async with RemoteDB(url, token=token.get(kind), inline_attachments=False) as remote:
                store = LocalStore(tmp / f"push-{village}.sqlite")
                times[f"push_{kind}"].append(await _counted(_replicate(store, remote), cpu, f"push_{kind}",
                                                            pids.get(kind), engine_pid))
    figures: dict[str, Any] = {"docs": REPLICATION_CASES + REPLICATION_SCANS, "scans": REPLICATION_SCANS,
                               "mb": round((REPLICATION_CASES * 2_300
                                            + REPLICATION_SCANS * SCAN_BYTES) / 1e6, 1),
                               "rounds": REPLICATION_ROUNDS,
                               "rounds_s": {k: [round(t, 2) for t in v] for k, v in times.items()},
                               "cpu_s_median": {k: round(statistics.median(v), 3) for k, v in cpu.items()
                                                if any(v)}}
    for direction in ("pull", "push"):
        direct = times[f"{direction}_direct"]
        for kind in kinds[1:]:  # the relay's ratio is the floor printed beside the gateway's
            ratios = [g / d for g, d in zip(times[f"{direction}_{kind}"], direct, strict=True)]
            figures[f"{direction}_{kind}_ratio"] = round(statistics.median(ratios), 2)
        figures[f"{direction}_direct_s"] = round(statistics.median(direct), 2)
        for kind in kinds[1:]:
            figures[f"{direction}_{kind}_s"] = round(statistics.median(times[f"{direction}_{kind}"]), 2)
    return figures


PARTS = ("requests", "devices", "replication")


def _profilers(procs: dict[str, subprocess.Popen[bytes]], folder: Path) -> list[subprocess.Popen[bytes]]:
    """py-spy recording each server process until it stops (raw folded stacks, 200 Hz)."""
    folder.mkdir(parents=True, exist_ok=True)
    spy = Path(sys.executable).parent / "py-spy"
    if not spy.exists():
        raise SystemExit(f"--profile needs py-spy beside {sys.executable} (`pip install -e '.[dev]'`)")
    return [subprocess.Popen([str(spy), "record", "-r", "200", "-f", "raw", "--pid", str(proc.pid),
                              "-o", str(folder / f"{kind}.txt")], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
            for kind, proc in procs.items()]


async def _requests(clients: dict[str, httpx.AsyncClient], dbs: dict[str, str], villages: dict[str, str],
                    docs: int, batch: int) -> dict[str, dict[str, list[float]]]:
    """`_bulk_docs` pushes, then `_changes` reads with and without gzip, in alternating rounds."""
    # Alternating rounds and medians: the machine is shared, single runs are noise.
    per_round = docs // ROUNDS
    runs: dict[str, dict[str, list[float]]] = {part: {k: [] for k in dbs}
                                              for part in ("push", "pull", "plain")}
    for r in range(ROUNDS):
        for kind, db in dbs.items():
            batch_docs = [_case(villages[kind], r * per_round + i) for i in range(per_round)]
            runs["push"][kind].append(await _push(clients[kind], db, batch_docs, batch))
    for _ in range(ROUNDS):
        for kind, db in dbs.items():
            runs["pull"][kind].append(await _pull(clients[kind], db, per_round * ROUNDS))
    # The same without gzip: on loopback compression is pure cost, on a village link it pays.
    for _ in range(ROUNDS):
        for kind, db in dbs.items():
            runs["plain"][kind].append(await _pull(clients[kind], db, per_round * ROUNDS, "identity"))
    return runs


async def bench_gateway(couchdb_url: str, data_dir: Path, *, docs: int = 2000, batch: int = 100,
                        devices: int = 100, docs_each: int = 20,
                        baseline: Path | None = None, engine_pid: int | None = None,
                        parts: Sequence[str] = PARTS, profile: Path | None = None,
                        relay: bool = True) -> dict[str, Any]:
    """`baseline`: a copy of the tree before a change, run as a second server in the same rounds;
    `engine_pid`: the engine's process when it runs on this machine (its CPU is counted);
    `parts`: which of `PARTS` to run; `profile`: a folder for py-spy recordings of the servers;
    `relay`: the replication rounds also go through the byte relay (the floor)."""
    tag = f"{int(time.time()) % 900 + 100:03d}"
    kinds = ["gateway", *(["baseline"] if baseline else [])]
    couch = Couch(couchdb_url)
    try:
        township, direct_village, _ = await _setup(couch, tag)
        codes = iter(f"{township}{n:03d}" for n in range(3, 999))
        micro = {kind: next(codes) for kind in kinds}
        pull_village = next(codes)
        push_villages = [next(codes) for _ in range(REPLICATION_ROUNDS * (len(kinds) + 2))]
        for code in (*micro.values(), pull_village, *push_villages):
            await add_division(couch, Division(code, f"基准{code}", ""))
    finally:
        await couch.aclose()
    servers: dict[str, str] = {}
    procs: dict[str, subprocess.Popen[bytes]] = {}
    spies: list[subprocess.Popen[bytes]] = []
    figures: dict[str, Any] = {"docs": docs, "batch": batch, "rounds": ROUNDS}
    try:
        for kind in kinds:
            procs[kind], servers[kind] = _start_server(couchdb_url, data_dir / kind,
                                                       baseline if kind == "baseline" else None)
        if profile is not None:
            spies = _profilers(procs, profile)
        base, auth = split_credentials(couchdb_url)
        clients = {"direct": httpx.AsyncClient(base_url=base, auth=auth, timeout=120)}
        tokens: dict[str, str] = {}
        for kind in kinds:
            clients[kind] = httpx.AsyncClient(base_url=servers[kind], timeout=120)
            tokens[kind] = await _token(clients[kind], f"bench{tag}-staff")
            clients[kind].headers["Authorization"] = f"Bearer {tokens[kind]}"
        dbs = {"direct": f"/{village_db(direct_village)}",
               **{kind: f"/sync/{village_db(micro[kind])}" for kind in kinds}}
        villages = {"direct": direct_village, **micro}
        if "requests" in parts:
            runs = await _requests(clients, dbs, villages, docs, batch)
            per_round = docs // ROUNDS
            for kind in kinds:
                suffix = "" if kind == "gateway" else f"_{kind}"
                for name, part, count in (("bulk_docs", "push", per_round), ("changes", "pull", docs),
                                          ("changes_without_gzip", "plain", docs)):
                    figures[f"{name}{suffix}"] = _compare(
                        list(zip(runs[part]["direct"], runs[part][kind], strict=True)), count)
        for client in clients.values():
            await client.aclose()
        if "devices" in parts:
            figures["concurrent"] = await _crowds(base, auth, servers, tokens, dbs, villages, devices,
                                                  docs_each)
        if "replication" in parts:
            relay_url = None
            if relay:
                procs["relay"], relay_url = _start_relay(couchdb_url)
            pids = {kind: proc.pid for kind, proc in procs.items()}
            figures["replication"] = await _replication(couchdb_url, servers, tokens, pull_village,
                                                        push_villages, data_dir, pids, engine_pid, relay_url)
    finally:
        for proc in procs.values():
            proc.terminate()
            proc.wait(timeout=10)
        for spy in spies:
            spy.wait(timeout=60)  # py-spy writes its file when the process it records ends
    figures["load_average"] = os.getloadavg()
    return figures


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--relay"] and len(args) == 3:
        run_relay(int(args[1]), args[2])
        return
    relay = "--no-relay" not in args
    args = [a for a in args if a != "--no-relay"]
    baseline, engine_pid = None, None
    if "--baseline" in args:
        at = args.index("--baseline")
        baseline = Path(args[at + 1]).resolve()
        del args[at:at + 2]
    if "--engine-pid" in args:
        at = args.index("--engine-pid")
        engine_pid = int(args[at + 1])
        del args[at:at + 2]
    parts: Sequence[str] = PARTS
    if "--parts" in args:
        at = args.index("--parts")
        parts = args[at + 1].split(",")
        del args[at:at + 2]
        if not set(parts) <= set(PARTS):
            sys.exit(f"--parts takes some of {','.join(PARTS)}")
    profile = None
    if "--profile" in args:
        at = args.index("--profile")
        profile = Path(args[at + 1]).resolve()
        del args[at:at + 2]
    if not args:
        sys.exit("usage: python -m bench.gateway COUCHDB_URL [DOCS] [DEVICES] [--baseline TREE] "
                 "[--engine-pid PID] [--parts requests,devices,replication] [--profile DIR] [--no-relay]\n"
                 "       python -m bench.gateway --relay PORT UPSTREAM_URL")
    docs = int(args[1]) if len(args) > 1 else 2000
    devices = int(args[2]) if len(args) > 2 else 100
    with tempfile.TemporaryDirectory() as tmp:
        figures = asyncio.run(bench_gateway(args[0], Path(tmp), docs=docs, devices=devices,
                                            baseline=baseline, engine_pid=engine_pid, parts=parts,
                                            profile=profile, relay=relay))
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
