"""The embedded CouchDB-compatible engine (内置数据库): pouchdb-server, supervised.

pouchdb-server is installed by `make` from `engine/package-lock.json` into `engine/node_modules`.
It is started bound to 127.0.0.1 with its files under `$ONETRIP_DATA/engine`, with an admin
user whose generated password lives in `$ONETRIP_DATA/secrets/couchdb-admin.json`, so there is
never an "admin party". Its quirks handled here (ADR 0001):

- it writes `config.json` and `log.txt` into its working directory → started inside the
  data folder, with `-n` so the request log stays off stdout;
- an unauthenticated `PUT /newdb` once an admin exists crashes the process → it only ever
  listens on loopback, and a supervisor thread restarts it when it dies;
- every multipart document PUT leaves its attachments as files in the process's temporary
  folder, never deleted (express-pouchdb parses with multiparty into `os.tmpdir()`) — on a
  busy day gigabytes in /tmp → its `TMPDIR` is `engine/tmp`, emptied at each start and
  pruned of files older than `UPLOAD_TTL` by the supervisor.

A running engine records its port in `engine/engine.json` so that admin commands can reach
the engine `onetrip up` started instead of starting a second one on the same files.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import quote

import httpx

log = logging.getLogger(__name__)

ADMIN_USER = "admin"
START_TIMEOUT = 30.0  # seconds; a cold start on a 2-core machine takes about 1 s
SUPERVISE_INTERVAL = 0.5  # seconds between liveness checks of the child process
# Seconds an upload file in engine/tmp may live: express-pouchdb reads it back as soon as the
# request body has arrived (from the gateway on loopback: well under a second for 32 MB).
UPLOAD_TTL = 300.0
PRUNE_INTERVAL = 60.0  # seconds between prunings of engine/tmp


class EngineError(RuntimeError):
    """The embedded engine could not be installed, started or reached."""


def project_engine_dir() -> Path:
    """Folder holding `package.json`, the lock file and `node_modules` of the engine."""
    override = os.environ.get("ONETRIP_ENGINE_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[1] / "engine"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def admin_password(secrets_dir: Path) -> str:
    """The engine's admin password, generated on first use and kept in the data folder."""
    path = secrets_dir / "couchdb-admin.json"
    if path.exists():
        return str(json.loads(path.read_text())["password"])
    secrets_dir.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"username": ADMIN_USER, "password": password}, fh)
    return password


def running_engine_url(data_dir: Path) -> str | None:
    """URL (with admin credentials) of an engine already serving `data_dir`, if any answers."""
    state = data_dir / "engine" / "engine.json"
    if not state.exists():
        return None
    try:
        port = int(json.loads(state.read_text())["port"])
    except (ValueError, KeyError, json.JSONDecodeError):
        return None
    url = _url(port, admin_password(data_dir / "secrets"))
    return url if _answers(url) else None


def _url(port: int, password: str) -> str:
    return f"http://{ADMIN_USER}:{quote(password, safe='')}@127.0.0.1:{port}"


def _answers(url: str) -> bool:
    try:
        return httpx.get(url + "/_session", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


class Engine:
    """One pouchdb-server process with its data under `data_dir/engine`."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.home = data_dir / "engine"
        self.tmp = self.home / "tmp"  # the engine's TMPDIR: its upload leftovers (module docstring)
        self.port = port or free_port()
        self.password = admin_password(data_dir / "secrets")
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._supervisor: threading.Thread | None = None
        self.restarts = 0

    @property
    def url(self) -> str:
        """Base URL with admin credentials, e.g. `http://admin:…@127.0.0.1:5984`."""
        return _url(self.port, self.password)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self) -> str:
        """Start the engine, wait until it answers, and supervise it. Returns `url`."""
        self._stopping.clear()
        self._spawn()
        self._supervisor = threading.Thread(target=self._supervise, name="engine-supervisor", daemon=True)
        self._supervisor.start()
        return self.url

    def stop(self) -> None:
        """Stop the engine cleanly (SIGTERM, then SIGKILL after 5 s)."""
        self._stopping.set()
        with self._lock:
            proc, self._proc = self._proc, None
        if proc and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        state = self.home / "engine.json"
        state.unlink(missing_ok=True)
        self.prune_uploads(max_age=0)

    def __enter__(self) -> Engine:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _command(self) -> list[str]:
        node = shutil.which("node")
        if node is None or shutil.which("npm") is None:
            raise EngineError(
                "Node.js (≥ 18) and npm are needed for the embedded CouchDB engine: install them "
                "(e.g. `apt-get install nodejs npm`), or set COUCHDB_URL to an Apache CouchDB 3.x server."
            )
        script = project_engine_dir() / "node_modules" / "pouchdb-server" / "bin" / "pouchdb-server"
        if not script.exists():
            raise EngineError(
                f"pouchdb-server is not installed in {script.parents[2]}: run `make run` "
                "(or `cd engine && npm ci`), or set COUCHDB_URL."
            )
        return [node, str(script), "-o", "127.0.0.1", "-p", str(self.port), "-n",
                "-d", str(self.home / "db"), "-c", str(self.home / "config.json")]

    def _write_config(self) -> None:
        # The plain password is replaced by a pbkdf2 hash by pouchdb-server at start-up.
        config_path = self.home / "config.json"
        config = json.loads(config_path.read_text()) if config_path.exists() else {}
        config.setdefault("admins", {})[ADMIN_USER] = self.password
        config.setdefault("log", {})["file"] = str(self.home / "log.txt")
        config.setdefault("couchdb", {})["database_dir"] = str(self.home / "db")
        config_path.write_text(json.dumps(config, indent=2))

    def prune_uploads(self, max_age: float = UPLOAD_TTL) -> int:
        """Delete the engine's upload leftovers older than `max_age` seconds; how many."""
        cutoff = time.time() - max_age
        removed = 0
        for path in self.tmp.glob("*") if self.tmp.is_dir() else ():
            try:
                if path.is_file() and path.stat().st_mtime <= cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed

    def _spawn(self) -> None:
        command = self._command()
        (self.home / "db").mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.prune_uploads(max_age=0)  # a previous process's leftovers
        self._write_config()
        out = open(self.home / "stdout.txt", "ab")  # noqa: SIM115 - owned by the child
        with self._lock:
            self._proc = subprocess.Popen(command, cwd=self.home, stdout=out, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, start_new_session=True,
                                          env={**os.environ, "TMPDIR": str(self.tmp)})
        out.close()
        self._wait_ready()
        (self.home / "engine.json").write_text(json.dumps({"port": self.port, "pid": self.pid}))
        log.info("engine started on 127.0.0.1:%d (pid %s)", self.port, self.pid)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            proc = self._proc
            if proc is None or proc.poll() is not None:
                raise EngineError(f"pouchdb-server exited at start-up: {self._tail()}")
            if _answers(self.url):
                return
            time.sleep(0.1)
        raise EngineError(f"pouchdb-server did not answer within {START_TIMEOUT:.0f} s: {self._tail()}")

    def _tail(self) -> str:
        path = self.home / "stdout.txt"
        text = path.read_text(errors="replace") if path.exists() else ""
        return text.strip()[-600:] or "(no output)"

    def _supervise(self) -> None:
        next_prune = time.monotonic() + PRUNE_INTERVAL
        while not self._stopping.wait(SUPERVISE_INTERVAL):
            if time.monotonic() >= next_prune:
                next_prune = time.monotonic() + PRUNE_INTERVAL
                self.prune_uploads()
            proc = self._proc
            if proc is None or proc.poll() is None:
                continue
            log.warning("engine exited with %s; restarting", proc.returncode)
            try:
                self._spawn()
                self.restarts += 1
            except EngineError as exc:
                log.error("engine restart failed: %s", exc)
