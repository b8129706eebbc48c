"""Three Apache CouchDB nodes on this machine, joined into one cluster, for the `cluster` suite.

The nodes come from the release script `COUCHDB_SH` (`couchdb.sh start DIR PORT PASSWORD NAME`
prints the admin URL last; `couchdb.sh stop DIR` stops the node and keeps its files), so a test
can stop a node and start it again on the same files. Every database gets three copies (n=3):
with one node down, reads and writes go on through the other two.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from sync_server.engine import free_port
from tests.waiting import wait_for

START_TIMEOUT = 120  # seconds for one `couchdb.sh start` (about 2 s here; a cold unpack is longer)


@dataclass
class Node:
    dir: Path
    port: int
    name: str
    url: str = ""


@dataclass
class Cluster:
    """Three joined nodes; `stop(i)` and `start(i)` take node i down and bring it back."""

    script: str
    password: str
    nodes: list[Node] = field(default_factory=list)

    def url(self, i: int) -> str:
        return self.nodes[i].url

    def start(self, i: int) -> None:
        node = self.nodes[i]
        done = subprocess.run([self.script, "start", str(node.dir), str(node.port), self.password, node.name],
                              capture_output=True, text=True, timeout=START_TIMEOUT)
        log = (node.dir / "couchdb.log").read_text(errors="replace") if done.returncode else ""
        assert done.returncode == 0, done.stderr + log[-2000:]
        node.url = done.stdout.strip().splitlines()[-1]

    def stop(self, i: int) -> None:
        subprocess.run([self.script, "stop", str(self.nodes[i].dir)], check=True, timeout=60)

    def members(self, i: int) -> set[str]:
        try:
            answer = httpx.get(f"{self.url(i)}/_membership", timeout=5)
        except httpx.HTTPError:
            return set()
        return set(answer.json().get("cluster_nodes", [])) if answer.status_code == 200 else set()


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    script = os.environ.get("COUCHDB_SH", "")
    if not script or not os.access(script, os.X_OK):
        pytest.fail("the cluster suite needs COUCHDB_SH: Apache CouchDB's couchdb.sh (make test-cluster)")
    top = tmp_path_factory.mktemp("cluster")
    tag = secrets.token_hex(3)  # Erlang node names are per machine: two runs side by side differ
    found = Cluster(script, secrets.token_hex(12))
    for i in range(3):
        found.nodes.append(Node(top / f"c{i + 1}", free_port(), f"ot{tag}n{i + 1}"))
    try:
        for i in range(3):
            found.start(i)
        names = {f"{node.name}@127.0.0.1" for node in found.nodes}
        for node in found.nodes[1:]:
            joined = httpx.put(f"{found.url(0)}/_node/_local/_nodes/{node.name}@127.0.0.1", json={},
                               timeout=30)
            assert joined.status_code in (201, 202, 409), joined.text
        wait_for(lambda: all(found.members(i) == names for i in range(3)), timeout=60,
                 what="all three nodes in every node's cluster_nodes")
        yield found
    finally:
        for i in range(3):
            subprocess.run([script, "stop", str(found.nodes[i].dir)], timeout=60, check=False)


@pytest.fixture(scope="session")
def couchdb_url(cluster: Cluster) -> str:
    """The suite's admin URL: the first node (any node answers for the whole cluster)."""
    return cluster.url(0)


@pytest.fixture
def fresh_node(tmp_path: Path) -> Iterator[str]:
    """An empty single Apache CouchDB node (what a new county starts with); its admin URL."""
    script = os.environ.get("COUCHDB_SH", "")
    if not script:
        pytest.fail("needs COUCHDB_SH (make test-cluster)")
    node = tmp_path / "single"
    done = subprocess.run([script, "start", str(node)], capture_output=True, text=True, timeout=START_TIMEOUT)
    assert done.returncode == 0, done.stderr
    try:
        yield done.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([script, "stop", str(node)], timeout=60, check=False)
