"""The outbox worker (推送任务): hands due outbox entries to the county platform.

Entries are made by the workers' transition (`transition.OutboxEnqueue`). Each round, for
every due `pending` entry:
1. claim it — bump `attempts` and push `next_attempt_at` past `CLAIM_TIMEOUT` in one write
   with the entry's `_rev`, so of several server processes exactly one sends it, and an
   entry whose sender died mid-way becomes due again;
2. read the case (with attachment stubs), its events and reused materials; a case that is
   no longer ready is postponed (waiting for review) or cancelled (withdrawn);
3. POST the record (`handoff.py`); on the county's case number write the `county_ack`
   event and `county_ref` into the village database first, then mark the entry `acked` —
   if we die in between, the retry re-posts under the same idempotency key and the ack is
   applied once;
4. on failure schedule the next attempt with backoff and jitter, or after `max_attempts`
   (or a refusal) make it a dead letter holding the error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random as random_module
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from shared.documents import event_prefix
from shared.forms import Form, FormDefinitionError, form_from_json
from sync_server.couch import JSON, Couch, CouchError
from sync_server.county import CallbackRefused, HandoffFailed
from sync_server.county import outbox as ob
from sync_server.county.backoff import Backoff
from sync_server.county.eligibility import not_ready_reason
from sync_server.county.file_link import file_link
from sync_server.county.handoff import Receipt, post_record
from sync_server.county.outcome import Outcome, OutcomeKind, apply_outcome
from sync_server.county.record import CaseRecord, build_record
from sync_server.county.replay import purge_seen
from sync_server.forms.store import form_doc_id
from sync_server.gateway.answers import form_key

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# A county platform answering a multi-megabyte record over the government extranet can be slow.
REQUEST_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
# Longer than REQUEST_TIMEOUT plus the writes around it, so a live sender never loses its claim.
CLAIM_TIMEOUT = timedelta(seconds=120)
# A case waiting for a conflict review is looked at again this often.
POSTPONE = timedelta(minutes=5)
# Remembered callback signatures are few (one per county statement); hourly clean-up is plenty.
PURGE_EVERY = timedelta(hours=1)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class OutboxWorker:
    """Sends due outbox entries; `clock`, `random` and `backoff` are injectable for tests."""

    couch: Couch
    county_url: str
    public_url: str
    secret: bytes
    backoff: Backoff = field(default_factory=Backoff)
    clock: Clock = utc_now
    random: Callable[[], float] = random_module.random
    http: httpx.AsyncClient | None = None
    batch: int = 50
    # Only entries of these village databases (None: all) — e.g. one worker per county.
    databases: frozenset[str] | None = None

    async def run_once(self) -> int:
        """One round: attempt every due entry. Returns the number of attempts made."""
        due = await ob.entries(self.couch, ob.OutboxState.PENDING, until=self.clock(), limit=self.batch)
        attempted = 0
        for entry in due:
            if self.databases is not None and entry.get("database") not in self.databases:
                continue
            if await self.attempt(entry):
                attempted += 1
        return attempted

    async def run(self, stop: asyncio.Event, interval: float = 2.0) -> None:
        """Rounds every `interval` seconds until `stop` is set; CouchDB outages are waited out."""
        last_purge: datetime | None = None
        while not stop.is_set():
            try:
                await self.run_once()
                if last_purge is None or self.clock() - last_purge > PURGE_EVERY:
                    last_purge = self.clock()
                    await purge_seen(self.couch, last_purge)
            except CouchError as exc:  # CouchDB down or restarting: keep our place, try again
                log.warning("outbox round failed: %s", exc.error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)

    async def attempt(self, entry: JSON) -> bool:
        """Claim and send one entry; False when another process claimed it first."""
        now = self.clock()
        entry = {**entry, "attempts": int(entry.get("attempts", 0)) + 1,
                 "next_attempt_at": ob.iso(now + CLAIM_TIMEOUT)}
        try:
            entry = await ob.save(self.couch, entry, now)
        except CouchError as exc:
            if exc.status == 409:
                return False
            raise
        db, case_id = entry["database"], entry["case_id"]
        case = await self.couch.get_doc(db, case_id, conflicts=True)
        reason = "case not found 办件不存在" if case is None else not_ready_reason(case)
        if case is None or reason is not None:
            await self._not_ready(entry, reason or "", case)
            return True
        try:
            record = await self._record(db, case)
            receipt = await post_record(self._client(), self.county_url, record)
        except HandoffFailed as exc:
            await self._failed(entry, exc)
            return True
        await self._taken(entry, receipt)
        return True

    async def _record(self, db: str, case: JSON) -> CaseRecord:
        now = self.clock()
        prefix = event_prefix(case["_id"])
        events = await self._all_docs(db, startkey=prefix, endkey=prefix + "\ufff0")
        ids = [m["material_id"] for m in case.get("materials") or [] if m.get("material_id")]
        materials = {doc["_id"]: doc for doc in await self._docs(db, ids)} if ids else {}
        stamp = int(now.timestamp())

        def link(database: str, doc_id: str, name: str) -> str:
            return file_link(self.public_url, self.secret, database, doc_id, name, stamp)

        return build_record(case, events, materials, db=db, item_name=await self._item_name(case),
                            link=link, now=ob.iso(now), form=await self._form(case))

    async def _form(self, case: JSON) -> Form | None:
        """The form version the case was filled with (None without one, or when it is not stored)."""
        key = form_key(case)
        if key is None:
            return None
        doc = await self.couch.get_doc("ot-catalog", form_doc_id(*key))
        try:
            return form_from_json((doc or {}).get("definition") or {})
        except FormDefinitionError:
            log.warning("form %s@%s of %s is not stored: hand-off without typed answers", *key, case["_id"])
            return None

    async def _item_name(self, case: JSON) -> str:
        code = str(case.get("item_code", ""))
        item = await self.couch.get_doc("ot-catalog", f"item:{code}") if code else None
        name = (item or {}).get("name_zh") or (item or {}).get("name")
        return str(name or code)

    async def _all_docs(self, db: str, **params: Any) -> list[JSON]:
        rows = (await self.couch.get_json(f"/{db}/_all_docs", include_docs=True, **params))["rows"]
        return [row["doc"] for row in rows if row.get("doc")]

    async def _docs(self, db: str, ids: list[str]) -> list[JSON]:
        response = await self.couch.request("POST", f"/{db}/_all_docs", params={"include_docs": True},
                                            json_body={"keys": ids})
        return [row["doc"] for row in response.json()["rows"] if row.get("doc")]

    def _client(self) -> httpx.AsyncClient:
        if self.http is None:
            self.http = httpx.AsyncClient(timeout=REQUEST_TIMEOUT)
        return self.http

    async def _not_ready(self, entry: JSON, reason: str, case: JSON | None) -> None:
        now = self.clock()
        waiting = case is not None and case.get("status") in ("forwarded", "accepted")
        if waiting:  # under review or conflicted: not an attempt, look again later
            entry.update(attempts=entry["attempts"] - 1, next_attempt_at=ob.iso(now + POSTPONE))
        else:
            entry.update(state=ob.OutboxState.CANCELLED.value)
        entry.update(last_error=reason, history=ob.record_attempt(entry, now, reason))
        await self._save_quietly(entry, now)

    async def _failed(self, entry: JSON, exc: HandoffFailed) -> None:
        now = self.clock()
        attempts = int(entry["attempts"])
        if not exc.retryable or self.backoff.exhausted(attempts):
            entry.update(state=ob.OutboxState.DEAD.value)
            log.warning("outbox %s dead after %d attempts", entry["case_id"], attempts)
        else:
            entry.update(next_attempt_at=ob.iso(now + self.backoff.delay(attempts, self.random)))
        entry.update(last_error=exc.reason, history=ob.record_attempt(entry, now, exc.reason))
        await self._save_quietly(entry, now)

    async def _taken(self, entry: JSON, receipt: Receipt) -> None:
        now = self.clock()
        entry.update(sent_at=entry.get("sent_at") or ob.iso(now), last_error=None)
        if receipt.county_ref:
            outcome = Outcome(OutcomeKind.ACK, entry["case_id"], receipt.county_ref,
                              county_event_id=f"receipt:{receipt.county_ref}",
                              time=receipt.received_at or now, opinion="县级平台已接收")
            try:
                await apply_outcome(self.couch, entry["database"], outcome, now)
            except CallbackRefused as exc:  # e.g. the case vanished: keep the number anyway
                log.warning("ack of %s not applied: %s", entry["case_id"], exc.error)
            entry.update(state=ob.OutboxState.ACKED.value, county_ref=receipt.county_ref,
                         acked_at=ob.iso(now))
        else:
            entry.update(state=ob.OutboxState.SENT.value)
        entry.update(history=ob.record_attempt(entry, now, f"taken {receipt.county_ref or ''}".strip()))
        await self._save_quietly(entry, now)
        log.info("outbox %s %s", entry["case_id"], entry["state"])

    async def _save_quietly(self, entry: JSON, now: datetime) -> None:
        """Save; on a conflict (staff retried meanwhile) leave it: the claim expires and it reruns."""
        try:
            await ob.save(self.couch, entry, now)
        except CouchError as exc:
            if exc.status != 409:
                raise
            log.info("outbox %s changed meanwhile; left for the next round", entry["case_id"])
