"""Village link through the gateway (村级链路): sync time against the link's bound, as devices sync.

A real sync server (the gateway `/sync/{db}`, bearer tokens from `/api/auth/login`) over the
engine of the run, reached through `bench.shaping`'s proxy (2 Mbit/s, 150 ms each way), measures:

- pull and push of the two data sets of issue 19 — 200 cases of 2 KB + 10 scans of 150 KB
  (210 docs, 1.9 MB) and 500 + 30 (530 docs, 5.4 MB) — by our replicator and by PouchDB through
  the same shaped gateway (its HTTP adapter's `fetch` option adds the bearer token, `link.js`);
- a township staff device's cold first sync: every village database of a township (10 villages
  of 20–56 cases, one in eight with a scan) through `mobile.sync_plan.sync_round`, as the app runs it.

Each figure is time ÷ bound, bound = scan bytes ÷ bandwidth, with the bytes on the wire (both
directions, at the proxy) and our request count. Every client run is a child process (`--child`)
so that `--baseline TREE` (a checkout of the code before a change) runs the same rounds,
alternating with this tree's code.

    python -m bench.link [COUCHDB_URL] [--rounds 2] [--sets small,large,township] [--no-pouch]
                         [--baseline TREE] [--only pull,push]

Without a URL (or `COUCHDB_URL`) an embedded engine is started. Prints one JSON line per run on
stderr and the summary as JSON on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ulid import ULID

RATE = 2_000_000 / 8  # 2 Mbit/s in bytes per second
LATENCY = 0.150  # seconds each way
SCAN_BYTES = 150_000
SETS = {"small": (200, 10), "large": (500, 30)}  # cases of 2 KB, scans of 150 KB (one doc each)
TOWNSHIP_VILLAGES = 10
ROOT = Path(__file__).resolve().parents[1]
LINK_JS = Path(__file__).resolve().parent / "link.js"


def village_docs(village: str, cases: int, scans: int) -> list[dict[str, Any]]:
    """`cases` case documents of about 2 KB, then `scans` more each holding one incompressible scan."""
    docs = []
    for n in range(cases + scans):
        doc: dict[str, Any] = {
            "_id": f"case:{ULID()}", "type": "case", "item_code": "330212-001",
            "situation": "first", "status": "submitted",
            "division": {"village": village, "township": village[:9], "county": village[:6]},
            "applicant": {"name": "张三", "id_number": "330212199001011234", "phone": f"138{n:08d}"},
            "answers": {"household": 3, "note": f"{n} " + "代办说明 " * 120}, "materials": [],
            "missing": [], "tracking_code": "ABCD-EFGH-JKLM", "agent": "bench", "meta": {"fields": {}}}
        if n >= cases:
            data = b"\xff\xd8\xff\xe0" + os.urandom(SCAN_BYTES - 4)
            doc["_attachments"] = {"id-1.jpg": {"content_type": "image/jpeg",
                                                "data": base64.b64encode(data).decode()}}
        docs.append(doc)
    return docs


def township_counts(villages: int = TOWNSHIP_VILLAGES) -> list[tuple[int, int]]:
    """(cases, scans) per village: 20, 24, … 56 cases, one in eight of them with a scan."""
    return [(20 + 4 * v, (20 + 4 * v) // 8) for v in range(villages)]


# -- the child: one client run, importing `mobile` from the tree under test -------------------------


async def child(args: dict[str, Any]) -> dict[str, Any]:
    from mobile.replication import RemoteDB, replicate
    from mobile.store import LocalStore

    store = LocalStore(Path(args["store"]))
    try:
        if args["kind"] == "township":
            from mobile.sync_plan import Gateway, sync_round

            async def refresh() -> None:
                raise RuntimeError("the token expired during the benchmark")

            gateway = Gateway(args["server"], lambda: str(args["token"]), refresh)
            started = time.perf_counter()
            result = await sync_round(store, gateway, args["dbs"])
            seconds = time.perf_counter() - started
            docs = sum(r.pull.docs_written for r in result.databases)
            failures = sum(len(r.pull.doc_write_failures) for r in result.databases)
            return {"seconds": seconds, "docs": docs, "failures": failures}
        async with RemoteDB(args["url"], token=args["token"]) as remote:
            source, target = (remote, store) if args["kind"] == "pull" else (store, remote)
            started = time.perf_counter()
            summary = await replicate(source, target)
            seconds = time.perf_counter() - started
            return {"seconds": seconds, "docs": summary.docs_written, "requests": remote.traffic.requests,
                    "failures": len(summary.doc_write_failures)}
    finally:
        store.close()


async def run_child(tree: Path, args: dict[str, Any]) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(args),
        env={**os.environ, "PYTHONPATH": str(tree)}, cwd=str(tree),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"client run failed: {err.decode()[-2000:]}")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def run_pouch(command: str, **args: Any) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        "node", str(LINK_JS), command, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "ONETRIP_ENGINE_DIR": str(ROOT / "engine")})
    out, err = await proc.communicate(json.dumps(args).encode())
    if proc.returncode != 0:
        raise RuntimeError(f"PouchDB run failed: {err.decode()[-2000:]}")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


# -- the parent: server, data, proxy, rounds -------------------------------------------------------


class Link:
    """A fresh shaped link to the server for each run: its own pipes, so bytes and timing are the run's."""

    def __init__(self, server: str) -> None:
        from urllib.parse import urlsplit

        from bench.shaping import ShapingProxy

        parts = urlsplit(server)
        self.proxy = ShapingProxy(parts.hostname or "127.0.0.1", parts.port or 80, RATE, LATENCY)
        self.url = ""

    async def __aenter__(self) -> Link:
        self.url = f"http://127.0.0.1:{await self.proxy.start()}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.proxy.stop()

    def wire(self) -> dict[str, float]:
        down, up = self.proxy.down.bytes, self.proxy.up.bytes
        return {"down_mb": round(down / 1e6, 3), "up_mb": round(up / 1e6, 3)}


class Bench:
    def __init__(self, couchdb_url: str, tmp: Path, trees: dict[str, Path], pouch: bool) -> None:
        self.couchdb_url = couchdb_url
        self.tmp = tmp
        self.trees = trees
        self.pouch = pouch
        self.server = ""
        self.token = ""
        tag = int(time.time()) % 900 + 100
        self.county = "330215"
        self.township = f"{self.county}{tag:03d}"
        self._codes = iter(f"{self.township}{n:03d}" for n in range(1, 999))
        self.runs: list[dict[str, Any]] = []

    async def village(self, docs: list[dict[str, Any]] | None = None) -> str:
        """A new village of the township, its database filled with `docs` directly in the engine."""
        from shared.divisions import Division
        from sync_server.couch import Couch
        from sync_server.registry import add_division

        code = next(self._codes)
        couch = Couch(self.couchdb_url)
        try:
            await add_division(couch, Division(code, f"链路{code}", ""))
        finally:
            await couch.aclose()
        if docs:
            await self.fill(code, docs)
        return code

    def db_url(self, base: str, village: str) -> str:
        from sync_server.provision import village_db

        return f"{base}/sync/{village_db(village)}"

    def record(self, run: dict[str, Any]) -> None:
        print(json.dumps(run, ensure_ascii=False), file=sys.stderr, flush=True)
        self.runs.append(run)

    async def data_set(self, name: str, cases: int, scans: int, rounds: int, only: set[str]) -> None:
        bound = scans * SCAN_BYTES / RATE
        source = await self.village()
        await self.fill(source, village_docs(source, cases, scans))
        for r in range(rounds):
            if "pull" in only:
                for label, tree in self.trees.items():
                    store = str(self.tmp / f"{name}-pull-{label}-{r}.sqlite")
                    await self.one(name, f"{label}_pull", bound, tree,
                                   {"kind": "pull", "village": source, "store": store})
                if self.pouch and r == 0:
                    await self.pouch_run(name, "pull", bound, source, self.tmp / f"{name}-pouch-pull")
            if "push" in only:
                for label, tree in self.trees.items():
                    target = await self.village()
                    store = await self.filled_store(target, cases, scans, r)
                    await self.one(name, f"{label}_push", bound, tree,
                                   {"kind": "push", "village": target, "store": store})
                if self.pouch and r == 0:
                    target = await self.village()
                    scratch = await self.village(village_docs(target, cases, scans))
                    folder = self.tmp / f"{name}-pouch-push"
                    await run_pouch("pull", dir=str(folder), url=self.direct_url(scratch))
                    await self.pouch_run(name, "push", bound, target, folder)

    async def fill(self, village: str, docs: list[dict[str, Any]]) -> None:
        import httpx

        from sync_server.couch import split_credentials
        from sync_server.provision import village_db

        base, auth = split_credentials(self.couchdb_url)
        async with httpx.AsyncClient(base_url=base, auth=auth, timeout=300) as admin:
            for i in range(0, len(docs), 50):
                body = {"docs": docs[i:i + 50]}
                response = await admin.post(f"/{village_db(village)}/_bulk_docs", json=body)
                response.raise_for_status()

    def direct_url(self, village: str) -> str:
        from sync_server.provision import village_db

        return f"{self.couchdb_url}/{village_db(village)}"

    async def filled_store(self, target: str, cases: int, scans: int, r: int) -> str:
        """A local store holding new documents of `target`, never pushed: pulled from a scratch village."""
        from mobile.replication import RemoteDB, replicate
        from mobile.store import LocalStore

        scratch = await self.village(village_docs(target, cases, scans))
        path = self.tmp / f"push-{target}.sqlite"
        store = LocalStore(path)
        async with RemoteDB(self.direct_url(scratch)) as remote:
            await replicate(remote, store)
        store.close()
        return str(path)

    async def one(self, name: str, run: str, bound: float, tree: Path, args: dict[str, Any]) -> None:
        async with Link(self.server) as link:
            payload = {**args, "token": self.token, "server": link.url,
                       "url": self.db_url(link.url, args["village"]) if "village" in args else None}
            result = await run_child(tree, payload)
            self.record({"set": name, "run": run, "seconds": round(result["seconds"], 2),
                         "over_bound": round(result["seconds"] / bound, 3), "docs": result["docs"],
                         "failures": result["failures"], "requests": result.get("requests"), **link.wire()})

    async def pouch_run(self, name: str, command: str, bound: float, village: str, folder: Path) -> None:
        async with Link(self.server) as link:
            result = await run_pouch(command, dir=str(folder), url=self.db_url(link.url, village),
                                     token=self.token)
            self.record({"set": name, "run": f"pouchdb_{command}", "seconds": round(result["seconds"], 2),
                         "over_bound": round(result["seconds"] / bound, 3), "docs": result["docs_written"],
                         "failures": len(result.get("failures") or []), **link.wire()})

    async def township_sync(self, rounds: int) -> None:
        from sync_server.provision import village_db

        counts = township_counts()
        villages = [await self.village() for _ in counts]
        for village, (cases, scans) in zip(villages, counts, strict=True):
            await self.fill(village, village_docs(village, cases, scans))
        bound = sum(scans for _, scans in counts) * SCAN_BYTES / RATE
        dbs = [village_db(v) for v in villages]
        for r in range(rounds):
            for label, tree in self.trees.items():
                store = str(self.tmp / f"township-{label}-{r}.sqlite")
                await self.one("township", f"{label}_cold_sync", bound, tree,
                               {"kind": "township", "dbs": dbs, "store": store})

    def summary(self, sets: dict[str, tuple[int, int]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in {r["set"] for r in self.runs}:
            rows = [r for r in self.runs if r["set"] == name]
            if name == "township":
                counts = township_counts()
                scans = sum(s for _, s in counts)
                data = {"villages": len(counts), "docs": sum(c + s for c, s in counts), "scans": scans}
            else:
                cases, scans = sets[name]
                data = {"docs": cases + scans, "scans": scans}
            figures: dict[str, Any] = {**data, "bound_s": round(scans * SCAN_BYTES / RATE, 1)}
            for run in sorted({r["run"] for r in rows}):
                mine = [r for r in rows if r["run"] == run]
                figures[run] = {"seconds": [r["seconds"] for r in mine],
                                "over_bound_median":
                                    round(statistics.median(r["over_bound"] for r in mine), 2),
                                "wire_mb": round(mine[0]["down_mb"] + mine[0]["up_mb"], 3),
                                "requests": mine[0].get("requests")}
            out[name] = figures
        return out


async def bench_link(couchdb_url: str, tmp: Path, *, rounds: int, sets: list[str], pouch: bool,
                     baseline: Path | None, only: set[str]) -> dict[str, Any]:
    from bench.gateway import PASSWORD, _start_server, _token
    from shared.divisions import Division
    from sync_server.admin import cmd_add_user
    from sync_server.couch import Couch
    from sync_server.provision import provision
    from sync_server.registry import add_division

    trees = {"ours": ROOT, **({"baseline": baseline} if baseline else {})}
    bench = Bench(couchdb_url, tmp, trees, pouch)
    couch = Couch(couchdb_url)
    try:
        await provision(couch)
        for code in (bench.county, bench.township):
            await add_division(couch, Division(code, f"链路{code}", ""))
        staff = f"link{bench.township}"
        await cmd_add_user(couch, staff, "township_staff", [bench.township], PASSWORD)
    finally:
        await couch.aclose()
    proc, bench.server = _start_server(couchdb_url, tmp / "server")
    started = time.time()
    try:
        import httpx

        async with httpx.AsyncClient(base_url=bench.server, timeout=60) as client:
            bench.token = await _token(client, staff)
        for name in sets:
            if name == "township":
                await bench.township_sync(rounds)
            else:
                await bench.data_set(name, *SETS[name], rounds, only)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return {"link": "2 Mbit/s, 150 ms each way, through the gateway", "rounds": rounds,
            "minutes": round((time.time() - started) / 60, 1),
            "load_average": [round(x, 1) for x in os.getloadavg()],
            **bench.summary(SETS)}


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        print(json.dumps(asyncio.run(child(json.loads(sys.argv[2])))))
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("url", nargs="?", default=os.environ.get("COUCHDB_URL"))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--sets", default="small,large,township")
    parser.add_argument("--only", default="pull,push")
    parser.add_argument("--no-pouch", action="store_true")
    parser.add_argument("--baseline", type=Path)
    args = parser.parse_args()
    options = {"rounds": args.rounds, "sets": args.sets.split(","), "pouch": not args.no_pouch,
               "baseline": args.baseline.resolve() if args.baseline else None,
               "only": set(args.only.split(","))}
    with tempfile.TemporaryDirectory() as tmp:
        if args.url:
            figures = asyncio.run(bench_link(args.url.rstrip("/"), Path(tmp), **options))
        else:
            from sync_server.engine import Engine

            with Engine(Path(tmp) / "engine") as engine:
                figures = asyncio.run(bench_link(engine.url, Path(tmp), **options))
    print(json.dumps(figures, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
