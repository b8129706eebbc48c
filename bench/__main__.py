"""`make bench` (基准测试): every benchmark, one after the other, against one engine.

Uses `COUCHDB_URL` when set, else starts the embedded engine in a temporary folder. A benchmark
that fails is reported and the others still run; the exit status says whether all succeeded.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

# (module, arguments after the engine URL); each runs as `python -m bench.<module> URL …`.
BENCHES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("replication", ()),
    ("gateway", ()),
    ("workers", ()),
    ("store_bench", ()),
    ("scan", ()),
    ("capacity", ()),
    ("link", ()),
)
NEEDS_URL = {"replication", "gateway", "workers", "capacity", "link"}


def run_all(url: str) -> int:
    failed = []
    for module, extra in BENCHES:
        if not (Path(__file__).parent / f"{module}.py").exists():
            continue
        print(f"\n=== bench.{module} ===", flush=True)
        args = [sys.executable, "-m", f"bench.{module}", *([url] if module in NEEDS_URL else []), *extra]
        if subprocess.run(args, env={**os.environ, "COUCHDB_URL": url}).returncode != 0:
            failed.append(module)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def main() -> int:
    url = os.environ.get("COUCHDB_URL")
    if url:
        return run_all(url.rstrip("/"))
    from sync_server.engine import Engine

    with tempfile.TemporaryDirectory() as data, Engine(Path(data)) as engine:
        return run_all(engine.url)


if __name__ == "__main__":
    sys.exit(main())
