"""One hand-off (推送) of a case record to the county platform, over HTTP.

`post_record` POSTs the record with `Idempotency-Key: <case id>` — the county platform keeps
one case per key, so a retry after a lost answer never creates a second county case — and
sorts the answer into accepted (with or without the county case number yet) or failed,
retryable or not:

    200/201 {"county_ref": …}    taken, county case number known → acked
    202 (no county_ref)          taken, the number will come on the callback → sent
    408, 409, 425, 429, 5xx      busy or broken: try again later
    other 4xx                    the record was refused: retrying cannot help → dead letter
    no answer (connect, timeout) try again later
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

import httpx

from sync_server.county import HandoffFailed
from sync_server.county.record import CaseRecord

log = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "Idempotency-Key"
RETRYABLE_STATUSES = frozenset({408, 409, 425, 429})
# Kept in the outbox entry for staff to read; the county's error text, never our record.
ERROR_TEXT_LIMIT = 300


@dataclass(frozen=True)
class Receipt:
    """The county's answer to a hand-off it took (回执)."""

    county_ref: str | None
    received_at: datetime | None


async def post_record(client: httpx.AsyncClient, url: str, record: CaseRecord) -> Receipt:
    """POST `record` to `url`; `HandoffFailed` when the county did not take it."""
    body = json.dumps(record, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", IDEMPOTENCY_HEADER: record["case_id"]}
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise HandoffFailed(f"county platform unreachable 县级平台无法连接: {type(exc).__name__}",
                            retryable=True) from exc
    status = response.status_code
    if status >= 300:
        text = response.text[:ERROR_TEXT_LIMIT]
        retryable = status >= 500 or status in RETRYABLE_STATUSES
        raise HandoffFailed(f"HTTP {status}: {text}", retryable=retryable)
    try:
        answer = response.json() if response.content else {}
    except ValueError:
        answer = {}
    ref = answer.get("county_ref") if isinstance(answer, dict) else None
    received = answer.get("received_at") if isinstance(answer, dict) else None
    return Receipt(county_ref=str(ref) if ref else None, received_at=_parse_time(received))


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
