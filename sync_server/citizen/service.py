"""The citizen service (群众服务): look-ups, ratings and delivery, over CouchDB.

HTTP lives in `routes.py`; this module holds what happens, so the workers and the gateway
can reuse it. Errors are `CitizenError`s carrying an HTTP status, a code and a bilingual
reason; token refusals are `shared.delivery.TokenError`s.

    CitizenError          status, error, reason (Chinese, then English)
    ├── NotFound          wrong code or wrong digits — one answer for both
    ├── BadRequest        a malformed request the page should not send
    ├── RateLimited       too many tries; retry_after seconds
    └── Refused           the case is not in a state that allows it (409)
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared import delivery
from shared.catalog import item_doc_id
from shared.divisions import DB_PREFIX
from shared.documents import EventKind
from sync_server.auth.keyring import KeyRing
from sync_server.auth.ratelimit import FailureLimiter
from sync_server.citizen import index, records
from sync_server.citizen.ratelimit import PER_ADDRESS_FAILURES, PER_CODE, Limit, RateLimiter, SlowDown
from sync_server.citizen.summary import Coded, Summary, Text, build_summary
from sync_server.couch import JSON, Couch
from sync_server.provision import CATALOG_DB, SERVER_DB
from sync_server.shared_limits import SharedLimits

LAST4 = re.compile(r"^[0-9]{3}[0-9Xx]$")
PER_ADDRESS = Limit(60, 600)  # a family checking a few cases, reloading now and then
MAX_COMMENT = 500  # characters; a rating comment is a sentence or two, not a letter


class CitizenError(Exception):
    """An answer other than success, with its HTTP status and a bilingual reason."""

    status = 400
    error = "bad_request"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotFound(CitizenError):
    """The same answer for an unknown code and for wrong digits."""

    status = 404
    error = "not_found"

    def __init__(self) -> None:
        super().__init__("查询码或身份证号后四位不正确，请核对回执后重试。"
                         " The tracking code or the last 4 characters of the ID number are wrong;"
                         " check the receipt and try again.")


class BadRequest(CitizenError):
    """A malformed request."""


class RateLimited(CitizenError):
    """Too many tries from one address or on one code."""

    status = 429
    error = "too_many_requests"

    def __init__(self, retry_after: int) -> None:
        if retry_after < 60:
            zh, en = f"{retry_after} 秒", f"{retry_after} s"
        else:
            minutes = (retry_after + 59) // 60
            zh, en = f"{minutes} 分钟", f"{minutes} min"
        super().__init__(f"尝试次数过多，请 {zh}后再试，届时输入正确即可查询。"
                         f" Too many tries; try again in {en} — the right digits will work then.")
        self.retry_after = retry_after


class Refused(CitizenError):
    """Not allowed in the case's current state."""

    status = 409
    error = "conflict"

    def __init__(self, error: str, reason: str) -> None:
        super().__init__(reason)
        self.error = error


def item_names(item_code: str, doc: JSON) -> Coded:
    zh = str(doc.get("name_zh") or doc.get("name") or item_code)
    en = str(doc.get("name_en") or zh)
    return {"code": item_code, "zh": zh, "en": en}


def material_names(doc: JSON) -> dict[str, Text]:
    """Requirement code → its names, from an item document's `materials`."""
    out: dict[str, Text] = {}
    for m in doc.get("materials") or []:
        if isinstance(m, dict) and m.get("code"):
            zh = str(m.get("name_zh") or m["code"])
            out[str(m["code"])] = {"zh": zh, "en": str(m.get("name_en") or zh)}
    return out


@dataclass
class CitizenService:
    """Everything the citizen endpoints need; one per app."""

    couch_of: Callable[[], Couch]  # the app opens its client in the lifespan, after routes are built
    signing_key: Ed25519PrivateKey | None
    public_url: str
    server_db: str = SERVER_DB
    catalog_db: str = CATALOG_DB
    village_prefix: str = DB_PREFIX
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    random_bytes: Callable[[int], bytes] = os.urandom
    per_address: Limit = PER_ADDRESS  # every request, per client address: a flood guard
    per_code: SlowDown = PER_CODE  # failed tries per tracking code, every process together
    per_address_failures: SlowDown = PER_ADDRESS_FAILURES  # failed tries per client address
    backfill_interval: float = 30.0  # seconds between index catch-ups triggered by misses
    token_ttl: timedelta = delivery.DEFAULT_TTL
    # With the server's key ring: sign with its current key, verify with the key a token names.
    keys: KeyRing | None = None
    _address: RateLimiter = field(init=False)
    _code: FailureLimiter = field(init=False)
    _guesser: FailureLimiter = field(init=False)
    _backfill_lock: asyncio.Lock = field(init=False, default_factory=asyncio.Lock)
    _last_backfill: float | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        # One clock for every limit: the service's (tests advance it; never a sleep).
        self._address = RateLimiter(self.per_address, clock=self._now)
        self._code = self.per_code.local()
        self._guesser = self.per_address_failures.local()
        self._shared = SharedLimits(self.couch_of, db=self.server_db)

    def _now(self) -> float:
        return self.clock().timestamp()

    @property
    def couch(self) -> Couch:
        return self.couch_of()

    # -- look-up ----------------------------------------------------------------------

    def limit_address(self, address: str) -> None:
        wait = self._address.hit(address)
        if wait:
            raise RateLimited(wait)

    async def find(self, code: str, last4: str, address: str = "unknown") -> JSON:
        """The index entry of `code` when `last4` matches; `NotFound`, `RateLimited` otherwise.

        Slowed down per client `address` and per code (ADR 0128): while either waits, the try
        is refused (429) without being checked or counted; afterwards it is checked normally."""
        if not LAST4.match(last4 or ""):
            raise BadRequest("请输入身份证号最后 4 位（数字或 X）。"
                             " Enter the last 4 characters of the ID number (digits or X).")
        canonical = index.canonical_code(code)
        key = canonical or code
        now = self._now()
        wait = max(self._guesser.retry_after(address, now), self._code.retry_after(key, now))
        if wait:
            raise RateLimited(_seconds(wait))
        # Counted before the look-up in every process's shared count and taken back when right,
        # so alternating between server processes gives no more tries (ADR 0111).
        shared_wait = await self._shared.admit(self.per_code, key, now)
        if shared_wait:
            raise RateLimited(_seconds(shared_wait))
        entry = await self._lookup(canonical, last4) if canonical else None
        if entry is None:
            self._code.failure(key, now)
            self._guesser.failure(address, now)
            raise NotFound()
        await self._shared.forgive(self.per_code, key, now)
        return entry

    async def track(self, code: str, last4: str, address: str = "unknown") -> Summary:
        return await self.summary(await self.find(code, last4, address))

    async def summary(self, entry: JSON) -> Summary:
        db, case_id = entry["db"], entry["case_id"]
        case = await self.couch.get_doc(db, case_id)
        if case is None:
            raise NotFound()
        events = await records.case_events(self.couch, db, case_id)
        doc = await self._item_doc(str(case.get("item_code", "")))
        return build_summary(case, events, item=item_names(str(case.get("item_code", "")), doc),
                             materials=material_names(doc), now=self.clock())

    async def item(self, item_code: str) -> Coded:
        """Item names from the catalog (`item:<code>`, docs/catalog.md); the bare code when unknown."""
        return item_names(item_code, await self._item_doc(item_code))

    async def _item_doc(self, item_code: str) -> JSON:
        doc = await self.couch.get_doc(self.catalog_db, item_doc_id(item_code)) if item_code else None
        return doc or {}

    async def _lookup(self, code: str, last4: str) -> JSON | None:
        entry = await index.lookup(self.couch, code, last4, server_db=self.server_db)
        if entry is None and await self._catch_up():
            entry = await index.lookup(self.couch, code, last4, server_db=self.server_db)
        return entry

    async def _catch_up(self) -> bool:
        """Backfill the index at most every `backfill_interval` s; True when it ran."""
        async with self._backfill_lock:
            now = time.monotonic()
            if self._last_backfill is not None and now - self._last_backfill < self.backfill_interval:
                return False
            self._last_backfill = now
            await index.backfill(self.couch, server_db=self.server_db, prefix=self.village_prefix)
            return True

    # -- rating -----------------------------------------------------------------------

    async def rate(self, code: str, last4: str, score: object, comment: object,
                   address: str = "unknown") -> Summary:
        """Record the citizen's rating (好差评) once, after delivery."""
        if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
            raise BadRequest("评分须为 1 到 5。 The score must be 1 to 5.")
        if comment is not None and not isinstance(comment, str):
            raise BadRequest("评价内容须为文字。 The comment must be text.")
        text = " ".join((comment or "").split())[:MAX_COMMENT]
        entry = await self.find(code, last4, address)
        db, case_id = entry["db"], entry["case_id"]
        case = await self.couch.get_doc(db, case_id)
        if case is None or case.get("status") != "delivered":
            raise Refused("not_delivered", "送达后才能评价。"
                                           " You can rate the service once the result is delivered.")
        now = self.clock()
        if not await records.claim(self.couch, self.server_db, f"rated:{case_id}",
                                   {"type": "claim", "db": db, "case_id": case_id, "at": records.iso(now)}):
            raise Refused("already_rated", "本办件已评价过，谢谢！"
                                           " This case has already been rated, thank you!")
        event = records.new_event(case_id, EventKind.RATED, now=now, data={"score": score, "comment": text})
        await self.couch.put_doc(db, event)
        return await self.summary(entry)

    # -- delivery ---------------------------------------------------------------------

    async def issue(self, code: str, entry: JSON | None = None) -> JSON:
        """A delivery token for a case whose result is ready: {token, url, token_id, expires_at}."""
        key = self._key()
        entry = entry or await self.entry(code)
        case = await self.couch.get_doc(entry["db"], entry["case_id"])
        if case is None or case.get("status") != "result_ready":
            raise Refused("not_ready", "结果尚未办结，不能生成送达二维码。"
                                       " The result is not ready; no delivery QR code can be issued yet.")
        code = str(entry["_id"]).removeprefix("track:")
        token = delivery.issue_token(key, case_id=entry["case_id"], tracking_code=code, now=self.clock(),
                                     token_id=self.random_bytes(delivery.TOKEN_ID_BYTES), ttl=self.token_ttl)
        content = delivery.read_token(token, key.public_key())
        return {"token": token, "url": delivery.delivery_url(self.public_url, code, token),
                "token_id": content.token_id, "expires_at": records.iso(content.expires_at)}

    async def check_token(self, code: str, token: str) -> tuple[delivery.DeliveryToken, JSON]:
        """The token's content and index entry when it is valid now for `code`; `TokenError` otherwise."""
        key = self._key()
        now = self.clock().timestamp()
        public = key.public_key() if self.keys is None else self.keys.delivery_key(token, now)
        content = delivery.verify_token(token, public, now=self.clock(),
                                        expected_case=index.canonical_code(code) or code)
        entry = await self.entry(code)
        if entry["case_id"] != content.case_id:
            raise delivery.TokenWrongCase()
        return content, entry

    async def token_used(self, content: delivery.DeliveryToken) -> bool:
        return await self.couch.get_doc(self.server_db, f"delivery-token:{content.token_id}") is not None

    async def confirm(self, code: str, token: str) -> Summary:
        """The citizen confirms receipt (确认收到): one `delivered` event, the status, the token used up."""
        content, entry = await self.check_token(code, token)
        db, case_id = entry["db"], entry["case_id"]
        case = await self.couch.get_doc(db, case_id)
        status = (case or {}).get("status")
        if status == "delivered":
            raise delivery.TokenUsed("case already delivered")
        if status != "result_ready":
            raise Refused("not_ready", "结果尚未办结，暂不能确认收到。 The result is not ready yet.")
        now = self.clock()
        if not await records.claim(self.couch, self.server_db, f"delivery-token:{content.token_id}",
                                   {"type": "claim", "db": db, "case_id": case_id, "at": records.iso(now)}):
            raise delivery.TokenUsed()
        if await records.set_status(self.couch, db, case_id, "delivered", now=now,
                                    only_from={"result_ready"}) is None:
            raise delivery.TokenUsed("case no longer waiting for delivery")
        event = records.new_event(case_id, EventKind.DELIVERED, now=now,
                                  data={"token_id": content.token_id, "confirmed_by": "citizen"})
        await self.couch.put_doc(db, event)
        return await self.summary(entry)

    async def entry(self, code: str) -> JSON:
        """The index entry of `code` (no digits asked: for staff and token holders); `NotFound`."""
        canonical = index.canonical_code(code)
        if canonical is None:
            raise NotFound()
        entry = await self.couch.get_doc(self.server_db, f"track:{canonical}")
        if entry is None and await self._catch_up():
            entry = await self.couch.get_doc(self.server_db, f"track:{canonical}")
        if entry is None:
            raise NotFound()
        return entry

    def _key(self) -> Ed25519PrivateKey:
        if self.keys is not None:
            return self.keys.current().private
        if self.signing_key is None:
            raise Refused("no_key", "服务器未配置签名密钥。 The server has no signing key configured.")
        return self.signing_key


def _seconds(wait: float) -> int:
    """Whole seconds for `Retry-After`, rounded up so the try after it is allowed."""
    return max(1, math.ceil(wait))
