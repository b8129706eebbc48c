"""Local store benchmark: does a township's case list (20,000 cases) open at once?

Run: `.venv/bin/python -m bench.store_bench [--cases 20000] [--dir DIR] [--rounds N]`. Not a test: it
prints the rate of loading the cases (bulk_docs, as a pull writes them) — and, in the same
run, PouchDB's (node, leveldb adapter, from engine/node_modules) writing the same replicated
documents, and SQLite alone writing the rows the store wrote (the floor of the store's own
write: its statements without any Python work per document, ADR 0144) — then milliseconds for
the list screen's queries, each the median of several runs.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mobile.store import LocalStore, query, schema

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"
STATUSES = ["draft", "submitted", "needs_materials", "accepted", "forwarded", "approved", "delivered"]
VILLAGES = [f"330212001{n:03d}" for n in range(1, 21)]
BATCH = 500  # documents per bulk_docs, about what one replication batch writes
ENGINE = Path(__file__).resolve().parents[1] / "engine"
POUCHDB_WRITE = """
const PouchDB = require('pouchdb');
const fs = require('fs');
(async () => {
  const input = JSON.parse(fs.readFileSync(0, 'utf8'));
  const db = new PouchDB(input.path);
  const seconds = [];
  for (const docs of [input.docs, input.updates]) {
    const started = Date.now();
    const cpu = process.cpuUsage();  // the whole process: leveldb's threads too
    for (let i = 0; i < docs.length; i += input.batch) {
      await db.bulkDocs(docs.slice(i, i + input.batch), {new_edits: false});
    }
    const used = process.cpuUsage(cpu);
    seconds.push((Date.now() - started) / 1000, (used.user + used.system) / 1e6);
  }
  process.stdout.write(seconds.join(' '));
  await db.close();
})().catch((err) => { console.error(err); process.exit(1); });
"""


def make_case(n: int, rng: random.Random) -> dict[str, Any]:
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
    village = rng.choice(VILLAGES)
    return {
        "_id": f"case:{n:026d}",
        "type": "case",
        "item_code": "330212-dibao",
        "situation": "first",
        "division": {"village": village, "township": village[:9], "county": village[:6]},
        "applicant": {
            "name": name,
            "id_number": f"330212{rng.randint(1950, 2005)}0101{n % 10000:04d}",
            "phone": "138" + f"{rng.randrange(10**8):08d}",
        },
        "answers": {"household_size": rng.randint(1, 6), "income": rng.randint(0, 3000), "note": "x" * 600},
        "materials": [{"requirement": "id_card", "attachment": "id_card-1.jpg", "source": "captured"}],
        "missing": [],
        "status": rng.choice(STATUSES),
        "tracking_code": f"K{n:07d}",
        "agent": "agent1",
        "created_at": "2026-11-01T06:30:00Z",
        "updated_at": f"2026-11-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00Z",
        "needs_review": rng.random() < 0.02,
        "meta": {"fields": {}},
    }


def _as_replicated(doc: dict[str, Any], n: int) -> dict[str, Any]:
    """The same case as a pull hands it over: three revisions of history."""
    ids = [f"{n:08x}{g:024x}" for g in (3, 2, 1)]
    return {**doc, "_rev": f"3-{ids[0]}", "_revisions": {"start": 3, "ids": ids}}


def _next_revision(doc: dict[str, Any], n: int) -> dict[str, Any]:
    """The case's next revision made on another replica (a pull after the first): a linear extension."""
    ids = [f"{n:08x}{4:024x}", *doc["_revisions"]["ids"]]
    return {**doc, "status": "approved", "_rev": f"4-{ids[0]}", "_revisions": {"start": 4, "ids": ids}}


def _pouchdb_seconds(
    docs: list[dict[str, Any]], updates: list[dict[str, Any]], path: Path
) -> tuple[float, float, float, float] | None:
    """Seconds and CPU seconds PouchDB (leveldb) takes for the same bulk_docs, new documents then
    their next revisions; None without node or the engine."""
    node = shutil.which("node")
    if node is None or not (ENGINE / "node_modules" / "pouchdb").exists():
        return None
    done = subprocess.run(
        [node, "-e", POUCHDB_WRITE],
        input=json.dumps({"path": str(path), "docs": docs, "updates": updates, "batch": BATCH}),
        capture_output=True,
        text=True,
        cwd=ENGINE,
        env={"NODE_PATH": str(ENGINE / "node_modules"), "PATH": str(Path(node).parent)},
        check=True,
    )
    first, first_cpu, second, second_cpu = (float(part) for part in done.stdout.split())
    return first, first_cpu, second, second_cpu


def _timed_writes(store: LocalStore, docs: list[dict[str, Any]]) -> tuple[float, float]:
    """Seconds and CPU seconds of writing `docs` replicated, a pull's batches."""
    cpu, started = time.process_time(), time.perf_counter()
    for i in range(0, len(docs), BATCH):
        store.bulk_docs(docs[i : i + BATCH], new_edits=False)
    return time.perf_counter() - started, time.process_time() - cpu


def _sqlite_alone(source: Path, target: Path) -> tuple[float, float]:
    """Seconds and CPU seconds SQLite takes to write the rows `source` holds into a new store file
    with the store's statements, batches and pragmas, the rows already made: the store's floor."""
    with sqlite3.connect(source) as cx:
        docs = cx.execute("SELECT id, seq, winner, deleted, tree FROM docs ORDER BY seq").fetchall()
        revs = {r[0]: r for r in cx.execute("SELECT doc_id, rev, deleted, body FROM revs")}
        index = {r[0]: r for r in cx.execute(f"SELECT {', '.join(query.INDEX_COLUMNS)} FROM doc_index")}
    cx = schema.connect(str(target))
    try:
        cx.execute("PRAGMA synchronous = NORMAL")  # as the store writes replicated batches
        cpu, started = time.process_time(), time.perf_counter()
        for i in range(0, len(docs), BATCH):
            chunk = docs[i : i + BATCH]
            cx.execute("BEGIN IMMEDIATE")
            cx.execute("SELECT COALESCE(MAX(seq), 0) FROM docs").fetchone()
            cx.executemany(
                "INSERT OR REPLACE INTO revs (doc_id, rev, deleted, body) VALUES (?, ?, ?, ?)",
                [revs[row[0]] for row in chunk],
            )
            cx.executemany("INSERT INTO docs (id, seq, winner, deleted, tree) VALUES (?, ?, ?, ?, ?)", chunk)
            query.write_index(cx, {row[0]: index.get(row[0]) for row in chunk})
            cx.execute("COMMIT")
        return time.perf_counter() - started, time.process_time() - cpu
    finally:
        cx.close()


def _replicated_round(
    folder: Path, cases: int, replicated: list[dict[str, Any]], updates: list[dict[str, Any]]
) -> tuple[float, float] | None:
    """One round of the replicated rows, the store then PouchDB on the same documents: prints
    them and returns PouchDB's time ÷ ours for both rows (None without PouchDB)."""
    folder.mkdir()
    with LocalStore(folder / "pulled.sqlite") as pulled:
        pull_s, pull_cpu = _timed_writes(pulled, replicated)
        floor_s, floor_cpu = _sqlite_alone(folder / "pulled.sqlite", folder / "floor.sqlite")
        update_s, update_cpu = _timed_writes(pulled, updates)
    print(
        f"write {cases} replicated cases: {pull_s:.2f} s, CPU {pull_cpu:.2f} s "
        f"({cases / pull_s:.0f} docs/s); load average {_load():.1f}"
    )
    print(
        f"SQLite alone, the same rows and statements: {floor_s:.2f} s, CPU {floor_cpu:.2f} s "
        f"(the store's Python work: CPU {pull_cpu - floor_cpu:.2f} s)"
    )
    print(
        f"write their next revisions: {update_s:.2f} s, CPU {update_cpu:.2f} s "
        f"({cases / update_s:.0f} docs/s)"
    )
    pouch = _pouchdb_seconds(replicated, updates, folder / "pouch")
    if pouch is None:
        return None
    print(
        f"PouchDB writes the same: {pouch[0]:.2f} s, CPU {pouch[1]:.2f} s "
        f"({cases / pouch[0]:.0f} docs/s); ours/PouchDB {pouch[0] / pull_s:.2f}"
    )
    print(
        f"PouchDB writes the next revisions: {pouch[2]:.2f} s, CPU {pouch[3]:.2f} s "
        f"({cases / pouch[2]:.0f} docs/s); ours/PouchDB {pouch[2] / update_s:.2f}"
    )
    # on a loaded machine wall time is mostly waiting for a core: the CPU ratio is the steadier one
    print(
        f"CPU, PouchDB's (all its threads) / ours: replicated cases {pouch[1] / pull_cpu:.2f}, "
        f"next revisions {pouch[3] / update_cpu:.2f}"
    )
    return pouch[0] / pull_s, pouch[2] / update_s


def _load() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")


def median_ms(action: Callable[[], object], runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="repeat the replicated rows (store, then PouchDB) and print medians",
    )
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        path = Path(folder) / "bench.sqlite"
        with LocalStore(path) as db:
            docs = [make_case(n, rng) for n in range(args.cases)]
            started = time.perf_counter()
            for i in range(0, len(docs), BATCH):
                db.bulk_docs(docs[i : i + BATCH])
            load_s = time.perf_counter() - started
            print(f"load {args.cases} cases: {load_s:.1f} s ({args.cases / load_s:.0f} docs/s)")
            replicated = [_as_replicated(doc, n) for n, doc in enumerate(docs)]
            updates = [_next_revision(doc, n) for n, doc in enumerate(replicated)]
            ratios: list[tuple[float, float]] = []
            for round_ in range(args.rounds):
                ratio = _replicated_round(Path(folder) / f"round-{round_}", args.cases, replicated, updates)
                if ratio is not None:
                    ratios.append(ratio)
            if len(ratios) > 1:
                firsts, nexts = [r[0] for r in ratios], [r[1] for r in ratios]
                print(
                    f"{len(ratios)} rounds, our rate / PouchDB's: replicated cases median "
                    f"{statistics.median(firsts):.2f} (min {min(firsts):.2f}), next revisions median "
                    f"{statistics.median(nexts):.2f} (min {min(nexts):.2f})"
                )
            figures = {
                "first page, all cases": lambda: db.find_cases(limit=50),
                "count all cases": lambda: db.count_cases(),
                "first page, one status": lambda: db.find_cases(status="submitted"),
                "first page, one village": lambda: db.find_cases(village=VILLAGES[3]),
                "review queue": lambda: db.find_cases(needs_review=True),
                "search by name": lambda: db.find_cases(text="王伟"),
                "search by pinyin initials": lambda: db.find_cases(text="wf"),
                "search by ID tail": lambda: db.find_cases(text="1234"),
                "search by tracking code": lambda: db.find_cases(text="K0012345"),
                "page 200 (offset 10,000)": lambda: db.find_cases(offset=10_000),
                "changes since 0, limit 100": lambda: db.changes(limit=100),
                "get one case": lambda: db.get("case:" + "1".zfill(26)),
            }
            for label, action in figures.items():
                print(f"{label:32s} {median_ms(action):8.2f} ms")
        print(f"file size: {path.stat().st_size / 1e6:.1f} MB" if path.exists() else "")


if __name__ == "__main__":
    main()
