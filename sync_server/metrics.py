"""`GET /metrics` (运行指标): Prometheus text format, written by hand (no client library).

Who may read it: a request from loopback that did not come through a proxy (no
`X-Forwarded-For` / `X-Real-IP` / `Forwarded` header — nginx sets one, so the public side
never qualifies), or a county operator whose counties hold every village registered on this
server (the figures are the whole server's; an operator of another county is refused, issue
15 F14). Everyone else: 401/403.

Two kinds of figures:

- per process, since it started (`sync_server.counters`): requests by route class and
  status, bytes through the gateway, documents the gateway accepted or refused, refused logins;
  and now, the records in this process's audit journal not yet in ot-server (ADR 0049);
- from the documents, the same for every process: county outbox entries per state and
  supervision cards (yellow = due soon, red = overdue) from ot-server, cached `SERVER_TTL`;
  conflicts the workers resolved (`conflict_resolved` events) and reviews still open, read
  from every village database, cached `VILLAGE_TTL` because that costs one request per
  village. A scrape never waits for more than one refresh at a time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shared.documents import EventKind, county_of
from sync_server.auth.accounts import AccountRole
from sync_server.auth.current import require_role
from sync_server.context import ServerContext, context_of
from sync_server.couch import Couch, CouchError
from sync_server.counters import Counters
from sync_server.errors import ApiError
from sync_server.provision import SERVER_DB, village_db
from sync_server.registry import load_registry

log = logging.getLogger(__name__)

SERVER_TTL = 5.0  # seconds: a few ot-server requests per refresh, cheap at any scrape interval
VILLAGE_TTL = 30.0  # seconds: one or two requests per village database per refresh
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OUTBOX_STATES = ("pending", "sent", "acked", "dead", "cancelled")
CARDS = ("yellow", "red")
JOURNAL_STATES = ("planned", "unshipped", "refused")
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
PROXY_HEADERS = ("x-forwarded-for", "x-real-ip", "forwarded")


@dataclass
class _Cached:
    values: dict[str, Counter[str]] = field(default_factory=dict)
    at: float = float("-inf")
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


async def _rows(couch: Couch, path: str, **params: object) -> list[dict[str, Any]]:
    try:
        rows: list[dict[str, Any]] = (await couch.get_json(path, **params))["rows"]
    except CouchError as exc:
        if exc.status == 404:  # a view or database not created yet: nothing to count
            return []
        raise
    return rows


async def server_counts(couch: Couch) -> dict[str, Counter[str]]:
    """Outbox entries per state and supervision cards per colour, from ot-server."""
    outbox = Counter(str(row["key"][0]) for row in await _rows(
        couch, f"/{SERVER_DB}/_design/county/_view/outbox_by_state"))
    cards: Counter[str] = Counter()
    for row in await _rows(couch, f"/{SERVER_DB}/_all_docs", include_docs=True, startkey="supervision:",
                           endkey="supervision:\ufff0"):
        doc = row.get("doc")
        if isinstance(doc, dict) and doc.get("card"):
            cards[str(doc["card"])] += 1
    return {"outbox": outbox, "cards": cards}


async def village_counts(couch: Couch) -> dict[str, Counter[str]]:
    """Conflicts resolved and reviews open, summed over every registered village database."""
    totals: Counter[str] = Counter()
    villages = [d.code for d in await load_registry(couch) if len(d.code) == 12]
    for village in villages:
        db = village_db(village)
        try:
            found = (await couch.request("POST", f"/{db}/_find", json_body={
                "selector": {"_id": {"$gt": "event:", "$lt": "event:\ufff0"},
                             "kind": EventKind.CONFLICT_RESOLVED.value},
                "fields": ["_id"], "limit": 1_000_000})).json()
            totals["conflicts_resolved"] += len(found.get("docs", []))
        except CouchError as exc:
            if exc.status != 404:
                raise
        for row in await _rows(couch, f"/{db}/_all_docs", include_docs=True, startkey="review:",
                               endkey="review:\ufff0"):
            doc = row.get("doc")
            if isinstance(doc, dict) and doc.get("status") == "open":
                totals["reviews_open"] += 1
    totals["villages"] = len(villages)
    return {"villages": totals}


class StoredCounts:
    """The document-derived figures, each group refreshed at most once per its TTL."""

    def __init__(self, couch_of: Callable[[], Couch],
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.couch_of = couch_of
        self.monotonic = monotonic
        self._server = _Cached()
        self._villages = _Cached()

    async def _get(self, cached: _Cached, ttl: float,
                   load: Callable[[Couch], Awaitable[dict[str, Counter[str]]]]) -> dict[str, Counter[str]]:
        if self.monotonic() - cached.at < ttl:
            return cached.values
        async with cached.lock:
            if self.monotonic() - cached.at >= ttl:  # another scrape may have refreshed meanwhile
                try:
                    cached.values = await load(self.couch_of())
                except (CouchError, OSError) as exc:
                    log.warning("metrics: counting stored documents failed: %s", exc)
                cached.at = self.monotonic()
        return cached.values

    async def read(self) -> dict[str, Counter[str]]:
        return {**await self._get(self._server, SERVER_TTL, server_counts),
                **await self._get(self._villages, VILLAGE_TTL, village_counts)}


def _labels(**labels: object) -> str:
    if not labels:
        return ""
    text = ",".join(f'{k}="{str(v).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
                    for k, v in labels.items())
    return "{" + text + "}"


def _family(name: str, kind: str, help_text: str,
            samples: Iterable[tuple[dict[str, object], float]]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    lines += [f"{name}{_labels(**labels)} {value:g}" for labels, value in samples]
    return lines


def render(counters: Counters, stored: dict[str, Counter[str]]) -> str:
    """The exposition text: one family per figure, labels in a fixed order."""
    outbox, cards = stored.get("outbox", Counter()), stored.get("cards", Counter())
    villages = stored.get("villages", Counter())
    journal = stored.get("audit_journal", Counter())
    lines = _family("onetrip_http_requests_total", "counter", "HTTP requests by route class and status.",
                    (({"route": r, "status": s}, n) for (r, s), n in sorted(counters.requests.items())))
    lines += _family("onetrip_sync_bytes_total", "counter", "Body bytes through the sync gateway.",
                     (({"direction": d}, counters.sync_bytes[d]) for d in ("in", "out")))
    lines += _family("onetrip_sync_documents_total", "counter",
                     "Documents written through the gateway, accepted or refused by its rules.",
                     (({"result": r}, counters.sync_docs[r]) for r in ("accepted", "refused")))
    lines += _family("onetrip_login_failures_total", "counter", "Refused logins by reason.",
                     (({"reason": r}, counters.logins_refused[r])
                      for r in ("password", "rate_limited", "device_revoked")))
    lines += _family("onetrip_audit_journal_records", "gauge",
                     "Audit records in this process's journal not yet in ot-server (refused: need a look).",
                     (({"state": s}, journal[s]) for s in JOURNAL_STATES))
    lines += _family("onetrip_conflicts_resolved", "gauge",
                     "conflict_resolved events in the village databases (every merge the workers made).",
                     [({}, villages["conflicts_resolved"])])
    lines += _family("onetrip_reviews_open", "gauge", "Conflicts waiting for a township decision.",
                     [({}, villages["reviews_open"])])
    lines += _family("onetrip_outbox_entries", "gauge", "County hand-offs per outbox state.",
                     (({"state": s}, outbox[s]) for s in OUTBOX_STATES))
    lines += _family("onetrip_deadline_cards", "gauge", "Open cases per supervision card (red = overdue).",
                     (({"card": c}, cards[c]) for c in CARDS))
    return "\n".join(lines) + "\n"


def local_and_direct(request: Request) -> bool:
    """From loopback and not forwarded by a proxy on the same host."""
    host = request.client.host if request.client else ""
    return host in LOOPBACK and not any(h in request.headers for h in PROXY_HEADERS)


async def covers_every_village(couch: Couch, counties: Iterable[str]) -> bool:
    """True when every registered village lies in one of `counties` (and there is one at least).

    The figures are summed over the whole server: an operator of another county served by the
    same server (or of a county registered without villages) would learn about the others.
    """
    mine = set(counties)
    villages = [d.code for d in await load_registry(couch) if len(d.code) == 12]
    return bool(villages) and all(county_of(code) in mine for code in villages)


def routes(ctx: ServerContext) -> list[BaseRoute]:
    stored = StoredCounts(lambda: ctx.couch)

    async def metrics(request: Request) -> Response:
        ctx = context_of(request)
        if not local_and_direct(request):
            user = await require_role(request, AccountRole.COUNTY_OPERATOR)
            if not await covers_every_village(ctx.couch, user.divisions):
                raise ApiError(403, "运行指标涵盖本服务器的所有县 / the metrics cover every county this "
                               "server serves: your account is not an operator of all of them")
        figures = {**await stored.read(), "audit_journal": Counter(await ctx.journal.counts())}
        text = render(ctx.counters, figures)
        return Response(text, media_type=CONTENT_TYPE)

    return [Route("/metrics", metrics, methods=["GET"])]

