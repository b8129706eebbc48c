"""Capacity (容量): how many devices one server process and one engine serve on this machine.

Run: `python -m bench.capacity COUCHDB_URL [--window 20] [--agents 60] [--speedups 5,10,20,40]`.
Not a test: it prints JSON.

The schedule of issue 19: every village agent syncs every 10 minutes, bringing a few new or
changed cases and one or two 150 KB scans; township staff sync every minute (a pull of each
village of their township). Waiting ten real minutes per step is not possible, so time is
compressed: `--agents` devices (each its own `LocalStore`, driven by the app's replicator through
the gateway `/sync/{db}`, as phones do) sync `speedup` times as often as the schedule says, which
loads the server like `agents × speedup` devices on the real schedule. Staff: one per 10 agents,
likewise compressed. Each device first syncs once untimed (its cold start), then the step runs an
open-loop schedule for `--window` seconds: each sync starts at its planned instant whether or not
the previous ones finished, and its time counts from that instant, so a server falling behind
shows as growing latency rather than as a slower schedule.

Per step: village databases synced (push then pull, as `mobile.sync_plan` does), p50/p95
seconds of an agent's sync and of each village of a staff round (the app syncs them one after the
other, so a round of 10 villages takes about ten times as long), errors (exceptions and refused
documents), and CPU seconds per village sync of the server process (from `/proc`) and of this client
process — the client shares the machine's two cores with the server and the engine, so the
devices served here are a floor. The steps stop at the first one that misses p95 ≤ 2 s or has an
error; "served" is the largest passing `agents × speedup` (plus its staff).

Simplifications, stated: the devices of one village share its database (a pool of villages,
`--villages`), all sync with a township staff token (the gateway's checks are the same work), and
the shared load of one village database is therefore higher than in a county, where each village
database serves one agent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.gateway import PASSWORD, _case, _start_server, _token
from mobile.replication import RemoteDB, replicate
from mobile.store import LocalStore
from mobile.sync_plan import FILTER_ID, village_filter
from shared.divisions import Division
from sync_server.admin import cmd_add_user
from sync_server.couch import Couch
from sync_server.provision import provision, village_db
from sync_server.registry import add_division

AGENT_PERIOD_S = 600.0  # every 10 minutes
STAFF_PERIOD_S = 60.0  # every minute
AGENTS_PER_STAFF = 10
VILLAGES_PER_TOWNSHIP = 10
SCAN_BYTES = 150_000
P95_LIMIT_S = 2.0


@dataclass
class Device:
    """One simulated phone: its store, its village(s) and what it did."""

    name: str
    store: LocalStore
    villages: list[str]
    staff: bool
    rng: random.Random
    token: str = ""
    own: list[str] = field(default_factory=list)  # case ids it created, edited later


def _new_case(device: Device, village: str) -> dict[str, Any]:
    doc = _case(village, device.rng.randrange(10**8))
    doc.pop("_rev")
    doc.pop("_revisions")
    return doc


def _work(device: Device) -> None:
    """What an agent did since the last sync: 1–3 new cases, maybe an edit, one or two scans."""
    village = device.villages[0]
    for _ in range(device.rng.randint(1, 3)):
        doc = _new_case(device, village)
        device.store.put(doc)
        device.own.append(doc["_id"])
    if len(device.own) > 3 and device.rng.random() < 0.5:
        doc = device.store.get(device.rng.choice(device.own[:-3]))
        doc["answers"] = {**doc["answers"], "household": device.rng.randint(1, 6)}
        device.store.put(doc)
    for _ in range(device.rng.randint(1, 2)):
        current = device.store.get(device.own[-1])
        scan = b"\xff\xd8\xff\xe0" + device.rng.randbytes(SCAN_BYTES - 4)
        name = f"scan-{device.rng.randrange(10**6)}.jpg"
        device.store.put_attachment(current["_id"], current["_rev"], name, scan, "image/jpeg")


async def _sync(device: Device, server: str, started: float) -> tuple[list[float], int]:
    """One sync as the app runs it: push then pull, village after village.

    Returns the seconds of each village's sync (the first counted from `started`, the planned
    instant, so waiting for the server shows) and how many documents were refused.
    """
    refused = 0
    seconds: list[float] = []
    for village in device.villages:
        async with RemoteDB(f"{server}/sync/{village_db(village)}", token=device.token) as remote:
            db = village_db(village)  # only this village's documents go up, as the app routes them
            route = await asyncio.to_thread(village_filter, device.store, db)
            pushed = await replicate(
                device.store, remote, doc_filter=route, filter_id=FILTER_ID.format(db=db)
            )
            refused += len(pushed.doc_write_failures)
            refused += len((await replicate(remote, device.store)).doc_write_failures)
        now = time.perf_counter()
        seconds.append(now - started)
        started = now
    return seconds, refused


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _step(
    devices: list[Device], server: str, pid: int, speedup: float, window: float
) -> dict[str, Any]:
    plan: list[tuple[float, Device]] = []
    agents = [d for d in devices if not d.staff]
    staff = [d for d in devices if d.staff]
    for group, period in ((agents, AGENT_PERIOD_S / speedup), (staff, STAFF_PERIOD_S / speedup)):
        for i, device in enumerate(group):
            at = period * i / len(group)
            while at < window:
                plan.append((at, device))
                at += period
    plan.sort(key=lambda p: p[0])
    times: dict[bool, list[float]] = {False: [], True: []}
    errors: list[str] = []
    locks = {d.name: asyncio.Lock() for d in devices}  # one sync at a time per phone, as the app does

    async def run(at: float, device: Device) -> None:
        await asyncio.sleep(max(0.0, start + at - time.perf_counter()))
        planned = start + at
        async with locks[device.name]:
            try:
                if not device.staff:
                    await asyncio.to_thread(_work, device)
                seconds, refused = await _sync(device, server, planned)
            except Exception as exc:  # every failure counts as an error
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
                return
        if refused:
            errors.append(f"{device.name}: {refused} documents refused")
        times[device.staff].extend(seconds)

    server0, client0 = _cpu_seconds(pid), time.process_time()
    start = time.perf_counter()
    await asyncio.gather(*(run(at, d) for at, d in plan))
    elapsed = time.perf_counter() - start
    syncs = len(times[False]) + len(times[True])  # village databases synced
    server_cpu = _cpu_seconds(pid) - server0
    client_cpu = time.process_time() - client0
    figures: dict[str, Any] = {
        "speedup": speedup,
        "devices_equivalent": {"agents": round(len(agents) * speedup), "staff": round(len(staff) * speedup)},
        "syncs": syncs,
        "village_syncs_per_s": round(syncs / window, 2),
        "seconds": round(elapsed, 1),
        "errors": len(errors),
        "first_errors": errors[:3],
        "server_cpu_per_sync_ms": round(1000 * server_cpu / max(1, syncs), 1),
        "client_cpu_per_sync_ms": round(1000 * client_cpu / max(1, syncs), 1),
        "server_cpu_share": round(server_cpu / elapsed, 2),
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }
    # staff: per village database of their round (the app syncs them one after the other)
    for staff_flag, label in ((False, "agent"), (True, "staff_village")):
        samples = sorted(times[staff_flag])
        if samples:
            figures[f"{label}_sync_p50_s"] = round(statistics.median(samples), 2)
            figures[f"{label}_sync_p95_s"] = round(samples[math.ceil(len(samples) * 0.95) - 1], 2)
    figures["passed"] = not errors and all(
        figures.get(f"{label}_sync_p95_s", 0) <= P95_LIMIT_S for label in ("agent", "staff_village")
    )
    return figures


async def bench_capacity(
    couchdb_url: str, data_dir: Path, *, agents: int, villages: int, speedups: list[float], window: float
) -> dict[str, Any]:
    tag = f"{int(time.time()) % 900 + 100:03d}"
    first = int(time.time()) % 900 + 50  # new townships each run (codes are 9 digits: county + 3)
    count = max(1, -(-villages // VILLAGES_PER_TOWNSHIP))
    townships = [f"330213{(first + t) % 1000:03d}" for t in range(count)]
    codes = [
        f"{townships[v // VILLAGES_PER_TOWNSHIP]}{v % VILLAGES_PER_TOWNSHIP + 1:03d}" for v in range(villages)
    ]
    couch = Couch(couchdb_url)
    try:
        await provision(couch)
        for code in ("330213", *townships, *codes):
            await add_division(couch, Division(code, f"容量{code}", ""))
        for township in townships:
            await cmd_add_user(couch, f"cap{tag}-{township}", "township_staff", [township], PASSWORD)
    finally:
        await couch.aclose()
    proc, server = _start_server(couchdb_url, data_dir / "server")
    try:
        async with httpx.AsyncClient(base_url=server, timeout=60) as client:
            tokens = {t: await _token(client, f"cap{tag}-{t}") for t in townships}
        devices = [
            Device(
                f"agent-{n}",
                LocalStore(data_dir / f"agent-{n}.sqlite"),
                [codes[n % villages]],
                False,
                random.Random(n),
                tokens[codes[n % villages][:9]],
            )
            for n in range(agents)
        ]
        for n in range(max(1, agents // AGENTS_PER_STAFF)):
            which = n % len(townships)
            mine = [c for c in codes if c.startswith(townships[which])]
            devices.append(
                Device(
                    f"staff-{n}",
                    LocalStore(data_dir / f"staff-{n}.sqlite"),
                    mine,
                    True,
                    random.Random(10_000 + n),
                    tokens[townships[which]],
                )
            )
        for device in devices:  # cold start, untimed: each phone's first sync
            if not device.staff:
                await asyncio.to_thread(_work, device)
            await _sync(device, server, time.perf_counter())
        steps = []
        for speedup in speedups:
            figures = await _step(devices, server, proc.pid, speedup, window)
            print(json.dumps(figures, ensure_ascii=False), file=sys.stderr, flush=True)
            steps.append(figures)
            if not figures["passed"]:
                break
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    passing = [s for s in steps if s["passed"]]
    best = passing[-1] if passing else None
    result: dict[str, Any] = {
        "agents": agents,
        "staff": agents // AGENTS_PER_STAFF,
        "villages_pool": villages,
        "window_s": window,
        "schedule": "agent every 600 s (1-3 new cases, maybe an edit, 1-2 scans of 150 KB); staff every 60 s",
        "steps": steps,
        "served": best["devices_equivalent"] if best else None,
        "server_cpu_per_sync_ms": best["server_cpu_per_sync_ms"] if best else None,
    }
    result["limit_reached"] = len(passing) < len(steps)
    if best:
        # A county of 300 villages: 300 agents every 10 minutes (0.5 village syncs/s) and, at one
        # staff phone per 10 villages, 30 staff rounds of 10 villages a minute (5 village syncs/s).
        county_rate = 300 / AGENT_PERIOD_S + 30 * VILLAGES_PER_TOWNSHIP / STAFF_PERIOD_S
        result["county_300_villages"] = {
            "village_syncs_per_s": county_rate,
            "server_cpu_cores": round(county_rate * best["server_cpu_per_sync_ms"] / 1000, 2),
            "measured_rate_over_county_rate": round(best["village_syncs_per_s"] / county_rate, 2),
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url", nargs="?", default=os.environ.get("COUCHDB_URL"))
    parser.add_argument("--agents", type=int, default=60)
    parser.add_argument("--villages", type=int, default=20)
    parser.add_argument("--window", type=float, default=20.0)
    parser.add_argument("--speedups", default="5,10,20,40")
    args = parser.parse_args()
    if not args.url:
        sys.exit("usage: python -m bench.capacity COUCHDB_URL (or set COUCHDB_URL)")
    speedups = [float(s) for s in args.speedups.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        figures = asyncio.run(
            bench_capacity(
                args.url.rstrip("/"),
                Path(tmp),
                agents=args.agents,
                villages=args.villages,
                speedups=speedups,
                window=args.window,
            )
        )
    print(json.dumps(figures, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
