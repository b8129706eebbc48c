"""Limits shared by every server process (跨进程限流): attempt counts kept in `ot-server`.

Several server processes run behind one load balancer (docs/deploy.md), so a limit kept in
one process's memory multiplies by the process count: an attacker alternating between two
processes gets twice the guesses. The limits that guard a secret — failed logins per
username, failed last-4 tries per tracking code — are therefore also kept in CouchDB, one
small document per key:

    {"_id": "limit:<sha256 of kind and key>", "type": "limit", "state": {…policy's state…}}

An attempt is **admitted and counted in one compare-and-set write** (`admit`): the document is
read, the policy decides from its state, and the new state is written with the read `_rev`; a
409 means another process counted at the same moment, so the attempt is decided again on the
fresh state. Concurrent attempts on different processes therefore see each other's counts. A
success takes its count back (`forgive`). The per-process limiters stay in front as the fast
path (an address flooding one process is refused without any I/O).

Policies are pure: `admit(state, now)` → (seconds to wait, state after counting this attempt).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from shared.jsontypes import JSON
from sync_server.couch import Couch, CouchError
from sync_server.provision import SERVER_DB

log = logging.getLogger(__name__)

ATTEMPTS = 8  # compare-and-set rounds before giving up (each lost round means another attempt counted)


class Policy(Protocol):
    @property
    def name(self) -> str: ...

    def admit(self, state: JSON, now: float) -> tuple[float, JSON]: ...

    def forgive(self, state: JSON, now: float) -> JSON | None: ...


def blocked_until(failures: int, now: float, *, free: int, base: float, cap: float) -> float:
    """When a key with `failures` may try again: after `free` of them, `base · 2^k` s from `now`
    for the k-th further one, at most `cap`; 0.0 while still free."""
    extra = failures - free - 1
    return now + min(cap, base * 2 ** min(extra, 30)) if extra >= 0 else 0.0


@dataclass(frozen=True)
class Backoff:
    """After `free` failures, each further one blocks the key `base · 2^k` s, at most `cap`;
    attempts while blocked are refused without counting; forgotten after `forget` s quiet.
    A success clears the key. (The shared form of `auth.ratelimit.FailureLimiter`.)"""

    name: str
    free: int
    base: float
    cap: float
    forget: float

    def admit(self, state: JSON, now: float) -> tuple[float, JSON]:
        if now - float(state.get("last", 0.0)) > self.forget:
            state = {}
        blocked = float(state.get("blocked_until", 0.0))
        if blocked > now:
            return blocked - now, state
        failures = int(state.get("failures", 0)) + 1
        until = blocked_until(failures, now, free=self.free, base=self.base, cap=self.cap)
        return 0.0, {"failures": failures, "last": now, "blocked_until": until}

    def forgive(self, state: JSON, now: float) -> JSON | None:
        return None


@dataclass(frozen=True)
class Window:
    """At most `count` counted attempts in any `window` seconds; a success is not counted."""

    name: str
    count: int
    window: float

    def admit(self, state: JSON, now: float) -> tuple[float, JSON]:
        hits = [float(t) for t in state.get("hits", []) if now - float(t) < self.window]
        if len(hits) >= self.count:
            return max(1.0, hits[0] + self.window - now), {"hits": hits}
        return 0.0, {"hits": [*hits, now]}

    def forgive(self, state: JSON, now: float) -> JSON | None:
        hits = [float(t) for t in state.get("hits", [])]
        if now in hits:
            hits.remove(now)
        return {"hits": hits} if hits else None


class SharedLimits:
    """Admits and counts attempts per key for every process; `couch_of()` gives the client."""

    def __init__(self, couch_of: Callable[[], Couch], *, db: str = SERVER_DB) -> None:
        self.couch_of, self.db = couch_of, db

    @staticmethod
    def doc_id(policy: Policy, key: str) -> str:
        # Hashed: the keys are usernames and tracking codes, which need not sit in ot-server.
        return "limit:" + hashlib.sha256(f"{policy.name}\0{key}".encode()).hexdigest()[:40]

    async def admit(self, policy: Policy, key: str, now: float) -> float:
        """0 when this attempt may go on (it is counted), else the seconds to wait."""
        couch, doc_id = self.couch_of(), self.doc_id(policy, key)
        for _ in range(ATTEMPTS):
            stored = await couch.get_doc(self.db, doc_id) or {"_id": doc_id, "type": "limit"}
            wait, state = policy.admit(dict(stored.get("state") or {}), now)
            if wait > 0:
                return wait
            try:
                await couch.put_doc(self.db, {**stored, "state": state})
            except CouchError as exc:
                if exc.status == 409:
                    continue
                raise
            return 0.0
        log.warning("limit %s: %d concurrent attempts in a row; refused", policy.name, ATTEMPTS)
        return 1.0

    async def forgive(self, policy: Policy, key: str, now: float) -> None:
        """Take back the attempt counted at `now` (it succeeded)."""
        couch, doc_id = self.couch_of(), self.doc_id(policy, key)
        for _ in range(ATTEMPTS):
            stored = await couch.get_doc(self.db, doc_id)
            if stored is None:
                return
            state = policy.forgive(dict(stored.get("state") or {}), now)
            try:
                if state is None:
                    await couch.request("DELETE", f"/{self.db}/{doc_id}", params={"rev": stored["_rev"]})
                else:
                    await couch.put_doc(self.db, {**stored, "state": state})
            except CouchError as exc:
                if exc.status in (404, 409):
                    continue
                raise
            return
