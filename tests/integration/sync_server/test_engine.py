"""The embedded engine starts with an admin password, restarts when it dies, stops cleanly."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from sync_server.engine import Engine, EngineError, running_engine_url
from tests.waiting import wait_for


def test_engine_requires_admin_and_restarts_after_a_crash(tmp_path: Path) -> None:
    with Engine(tmp_path) as engine:
        assert (tmp_path / "secrets" / "couchdb-admin.json").stat().st_mode & 0o077 == 0
        anonymous = engine.url.replace(f"admin:{engine.password}@", "")
        assert httpx.get(anonymous + "/_session").json()["userCtx"]["name"] is None
        assert httpx.put(engine.url + "/kept").status_code == 201
        assert httpx.put(engine.url + "/kept/doc", json={"a": 1}).status_code == 201
        assert running_engine_url(tmp_path) == engine.url
        time.sleep(1)  # let LevelDB flush before the crash
        first_pid = engine.pid
        assert first_pid is not None
        os.kill(first_pid, signal.SIGKILL)
        wait_for(lambda: engine.restarts == 1, timeout=20)
        assert engine.pid != first_pid
        assert httpx.get(engine.url + "/kept/doc").json()["a"] == 1
    assert running_engine_url(tmp_path) is None


def test_missing_engine_install_gives_one_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONETRIP_ENGINE_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(EngineError, match="npm ci"):
        Engine(tmp_path).start()


def test_multipart_uploads_leave_nothing_behind(tmp_path: Path) -> None:
    """pouchdb-server keeps every multipart attachment as a file in its TMPDIR: ours, pruned."""
    body = (b"--XYZ\r\nContent-Type: application/json\r\n\r\n"
            b'{"_id":"doc","_attachments":{"a.bin":{"content_type":"application/octet-stream",'
            b'"length":5,"follows":true}}}\r\n--XYZ\r\nContent-Disposition: attachment; filename="a.bin"\r\n'
            b"Content-Type: application/octet-stream\r\nContent-Length: 5\r\n\r\nhello\r\n--XYZ--")
    with Engine(tmp_path) as engine:
        assert httpx.put(engine.url + "/up").status_code == 201
        answer = httpx.put(engine.url + "/up/doc", content=body,
                           headers={"Content-Type": "multipart/related; boundary=XYZ"})
        assert answer.status_code == 201, answer.text
        assert httpx.get(engine.url + "/up/doc/a.bin").content == b"hello"
        leftovers = list(engine.tmp.iterdir())
        assert leftovers, "the upload went to the engine's own temporary folder"
        assert engine.prune_uploads() == 0  # young files stay (an upload may be under way)
        assert engine.prune_uploads(max_age=0) == len(leftovers)
        assert not list(engine.tmp.iterdir())
