"""Server context (服务上下文): what request handlers share, built by `create_app`.

Route modules receive it in `routes(ctx)`; handlers reach it as `request.app.state.ctx`.
The CouchDB client and the audit journal are opened by the app's lifespan, so `ctx.couch`
and `ctx.journal` are only usable while the app runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from anyio import CapacityLimiter
from starlette.requests import Request

from shared.timestamps import iso_utc_at
from sync_server.auth.cache import AccountCache
from sync_server.auth.keyring import KeyRing
from sync_server.auth.keys import SigningKey
from sync_server.auth.ratelimit import LoginLimits, default_limits
from sync_server.couch import Couch
from sync_server.counters import Counters
from sync_server.gateway.absence import AbsentIds
from sync_server.gateway.answers import FormCache
from sync_server.gateway.feeds import Feeds
from sync_server.gateway.journal import AuditJournal
from sync_server.settings import Settings
from sync_server.shared_limits import SharedLimits


@dataclass
class ServerContext:
    settings: Settings
    couchdb_url: str
    key: SigningKey
    limits: LoginLimits = field(default_factory=default_limits)
    clock: Callable[[], float] = time.time
    counters: Counters = field(default_factory=Counters)  # for /metrics
    keys: KeyRing | None = None  # built from `key` and the data folder's ring when not given
    # None: every request re-reads its user and device (strict; tests that build their own context).
    accounts: AccountCache | None = None
    absent: AbsentIds = field(default_factory=AbsentIds)  # ids learnt absent by `_revs_diff` (ADR 0048)
    verifications: CapacityLimiter | None = None  # argon2id checks at once (made in the running loop)
    feeds: Feeds = field(default_factory=Feeds)  # longpolls held, per user and in total (ADR 0104)
    forms: FormCache = field(default_factory=FormCache)  # form versions cases name (gateway/answers.py)
    shared_limits: SharedLimits = field(init=False)  # counts every server process sees (ADR 0111)
    _couch: Couch | None = None
    _journal: AuditJournal | None = None

    def __post_init__(self) -> None:
        self.shared_limits = SharedLimits(lambda: self.couch)
        if self.keys is None:
            self.keys = KeyRing(self.settings.secrets_dir, self.key)

    @property
    def ring(self) -> KeyRing:
        """The key ring: sign with `ring.current()`, verify with `ring` (follows rotations)."""
        if self.keys is None:  # only when someone set it to None after construction
            self.keys = KeyRing(self.settings.secrets_dir, self.key)
        return self.keys

    @property
    def couch(self) -> Couch:
        if self._couch is None:
            raise RuntimeError("the CouchDB client is opened by the app's lifespan: is the app running?")
        return self._couch

    @property
    def journal(self) -> AuditJournal:
        """This process's audit journal in the data folder (ADR 0049)."""
        if self._journal is None:
            raise RuntimeError("the audit journal is opened by the app's lifespan: is the app running?")
        return self._journal

    async def open(self) -> None:
        self._couch = Couch(self.couchdb_url)
        journal = AuditJournal(self.settings.data_dir / "audit-journal", lambda: self.couch)
        await journal.open()
        self._journal = journal

    async def close(self) -> None:
        if self.accounts is not None:
            await self.accounts.close()
        if self._journal is not None:  # ships what is left while CouchDB is still reachable
            await self._journal.close()
            self._journal = None
        if self._couch is not None:
            await self._couch.aclose()
            self._couch = None

    def now_iso(self) -> str:
        return iso_utc_at(self.clock())


def context_of(request: Request) -> ServerContext:
    ctx: ServerContext = request.app.state.ctx
    return ctx
