"""`GET /metrics`: who may read it, the process counters, and the counts read from the documents."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from ulid import ULID

from shared.divisions import Division
from sync_server import health, metrics
from sync_server.admin import cmd_add_user
from sync_server.auth import routes as auth_routes
from sync_server.couch import Couch
from sync_server.county import outbox
from sync_server.gateway import routes as gateway_routes
from sync_server.metrics import StoredCounts
from sync_server.provision import SERVER_DB
from sync_server.registry import add_division, load_registry
from tests.integration.sync_server.server_fixtures import (
    PASSWORD,
    RunningServer,
    Township,
    login,
    running_server,
    token_for,
)

PARTS = (health.routes, auth_routes.routes, gateway_routes.routes, metrics.routes)
SAMPLE = re.compile(r'^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.e+]+$')


@pytest.fixture(scope="module")
def server(couchdb_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("metrics-data"), couchdb_url, PARTS) as running:
        yield running


def value(text: str, sample: str) -> float:
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_loopback_reads_it_and_the_text_is_prometheus(server: RunningServer) -> None:
    response = httpx.get(server.url + "/metrics", timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    for line in response.text.splitlines():
        assert line.startswith(("# HELP ", "# TYPE ")) or SAMPLE.match(line), line
    for family in ("onetrip_http_requests_total", "onetrip_sync_bytes_total", "onetrip_outbox_entries",
                   "onetrip_deadline_cards", "onetrip_conflicts_resolved", "onetrip_login_failures_total",
                   "onetrip_audit_journal_records"):
        assert f"# TYPE {family} " in response.text


async def test_through_a_proxy_only_a_county_operator_reads_it(server: RunningServer, township: Township,
                                                               couch: Couch) -> None:
    proxied = {"X-Forwarded-For": "203.0.113.9"}
    assert httpx.get(server.url + "/metrics", headers=proxied, timeout=30).status_code == 401
    agent = token_for(server.url, township.agents[0])
    assert httpx.get(server.url + "/metrics", timeout=30,
                     headers={**proxied, "Authorization": f"Bearer {agent}"}).status_code == 403
    county = token_for(server.url, await _operator_of_every_county(couch))
    assert httpx.get(server.url + "/metrics", timeout=30,
                     headers={**proxied, "Authorization": f"Bearer {county}"}).status_code == 200


async def _operator_of_every_county(couch: Couch) -> str:
    """A county operator of every county with a village on this (shared) engine."""
    counties = sorted({d.code[:6] for d in await load_registry(couch) if len(d.code) == 12})
    for code in counties:
        await add_division(couch, Division(code, f"测试{code}", ""))
    name = f"co-all-{random.randrange(10**6):06d}"
    await cmd_add_user(couch, name, "county_operator", counties, PASSWORD)
    return name


async def test_an_operator_of_another_county_is_refused(server: RunningServer, couch: Couch) -> None:
    """F14: the figures are the whole server's; an operator of a county it does not serve reads nothing."""
    proxied = {"X-Forwarded-For": "203.0.113.9"}
    await add_division(couch, Division("330283", "测试其他县", ""))
    other = f"co-other-{random.randrange(10**6):06d}"
    await cmd_add_user(couch, other, "county_operator", ["330283"], PASSWORD)
    refused = httpx.get(server.url + "/metrics", timeout=30,
                        headers={**proxied, "Authorization": f"Bearer {token_for(server.url, other)}"})
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == "forbidden"


def test_requests_logins_and_gateway_writes_are_counted(server: RunningServer, township: Township) -> None:
    before = httpx.get(server.url + "/metrics", timeout=30).text
    assert login(server.url, township.agents[0], password="wrong password!").status_code == 401
    token = token_for(server.url, township.agents[0])
    db = township.dbs[0]
    foreign = township.dbs[1]
    bad = {"_id": f"case:{ULID()}", "type": "case", "division": {"village": township.villages[1]}}
    written = httpx.post(f"{server.url}/sync/{db}/_bulk_docs", headers={"Authorization": f"Bearer {token}"},
                         json={"docs": [bad]}, timeout=30)
    assert written.status_code == 201 and written.json()[0]["error"] == "forbidden"
    assert httpx.get(f"{server.url}/sync/{foreign}/", headers={"Authorization": f"Bearer {token}"},
                     timeout=30).status_code == 403
    after = httpx.get(server.url + "/metrics", timeout=30).text
    for sample, grew in (('onetrip_login_failures_total{reason="password"}', 1),
                         ('onetrip_sync_documents_total{result="refused"}', 1),
                         ('onetrip_http_requests_total{route="sync",status="403"}', 1),
                         ('onetrip_http_requests_total{route="auth",status="401"}', 1)):
        assert value(after, sample) - value(before, sample) == grew, sample
    assert value(after, 'onetrip_sync_bytes_total{direction="in"}') > value(
        before, 'onetrip_sync_bytes_total{direction="in"}')


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_stored_counts_follow_the_documents_and_are_cached(couchdb_url: str,
                                                                 township: Township) -> None:
    couch = Couch(couchdb_url)
    ticks = Ticks()
    counts = StoredCounts(lambda: couch, monotonic=ticks)
    try:
        await outbox.prepare(couch)
        before = await counts.read()
        case = f"case:{ULID()}"
        await outbox.enqueue(couch, case, township.dbs[0], datetime.now(UTC))
        entry = await outbox.get_entry(couch, case)
        assert entry is not None
        await couch.put_doc(SERVER_DB, {**entry, "state": "dead"})
        await couch.put_doc(SERVER_DB, {"_id": f"supervision:{township.dbs[0]}:{case}", "type": "supervision",
                                        "card": "red"})
        ulid = str(ULID())
        await couch.bulk_docs(township.dbs[0], [
            {"_id": f"event:{ulid}:{ULID()}", "type": "event", "kind": "conflict_resolved", "case_id": case},
            {"_id": f"review:{ulid}", "type": "review", "status": "open", "fields": {}}])
        assert await counts.read() == before  # cached
        ticks.now += 60
        after = await counts.read()
        assert after["outbox"]["dead"] == before["outbox"]["dead"] + 1
        assert after["cards"]["red"] == before["cards"]["red"] + 1
        assert after["villages"]["conflicts_resolved"] == before["villages"]["conflicts_resolved"] + 1
        assert after["villages"]["reviews_open"] == before["villages"]["reviews_open"] + 1
    finally:
        await couch.aclose()
