"""`python -m onetrip_demo`: seed the demo township's cases into a running stack.

Started by `onetrip up` once the server and the workers run. Reads the same settings as
`onetrip up` from the environment, the CouchDB admin URL from `COUCHDB_URL` (never from the
command line, where `ps` would show the password), the demo users from
`$ONETRIP_DATA/demo.json`, and the server's URL from `--server`. SIGTERM stops it at the
next case; a half-seeded demo folder is still a working data folder.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from types import FrameType

from onetrip_demo.township import DemoStopped, seed_in_thread
from sync_server.demo import DEMO_FILE
from sync_server.settings import settings_from_env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m onetrip_demo", description=__doc__)
    parser.add_argument("--server", required=True, help="the running server, e.g. http://127.0.0.1:8000")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore", "mobile"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = settings_from_env()
    couchdb_url = os.environ.get("COUCHDB_URL", "")
    if not couchdb_url:
        print("COUCHDB_URL must name the stack's CouchDB", file=sys.stderr)
        return 2
    users = json.loads((settings.data_dir / DEMO_FILE).read_text(encoding="utf-8"))["users"]
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        cases = seed_in_thread(couchdb_url, settings, args.server.rstrip("/"), users, stop)
    except DemoStopped:
        logging.getLogger(__name__).info("demo seeding stopped")
        return 0
    logging.getLogger(__name__).info("demo township: %d cases seeded", len(cases))
    return 0


if __name__ == "__main__":
    sys.exit(main())
