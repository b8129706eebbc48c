"""How the county platform's answers are sorted: taken, retry later, or refused for good."""

from __future__ import annotations

import json

import httpx
import pytest

from sync_server.county import HandoffFailed
from sync_server.county.handoff import Receipt, post_record
from sync_server.county.record import CaseRecord, build_record
from tests.unit.sync_server.county.factories import make_case


def a_record() -> CaseRecord:
    return build_record(make_case(), [], {}, db="ot-v-330212001001", item_name="x",
                        link=lambda db, doc, name: "http://f", now="2026-11-24T06:00:00Z")


async def answer(response: httpx.Response | Exception) -> tuple[list[httpx.Request], object]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if isinstance(response, Exception):
            raise response
        return response

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        try:
            return seen, await post_record(client, "http://county/api/cases", a_record())
        except HandoffFailed as exc:
            return seen, exc


async def test_a_taken_record_gives_the_county_number_and_carries_the_idempotency_key() -> None:
    taken = httpx.Response(201, json={"county_ref": "R-1", "received_at": "2026-11-24T06:00:01Z"})
    seen, receipt = await answer(taken)
    assert isinstance(receipt, Receipt) and receipt.county_ref == "R-1" and receipt.received_at is not None
    sent = json.loads(seen[0].content)
    assert seen[0].headers["Idempotency-Key"] == sent["case_id"]
    assert sent["schema"] == "onetrip.county-handoff/1"
    _, later = await answer(httpx.Response(202))
    assert isinstance(later, Receipt) and later.county_ref is None


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (429, True), (408, True),
                                                   (409, True), (400, False), (401, False), (422, False)])
async def test_failures_are_retryable_unless_the_record_was_refused(status: int, retryable: bool) -> None:
    _, failure = await answer(httpx.Response(status, text="nope"))
    assert isinstance(failure, HandoffFailed) and failure.retryable is retryable
    assert failure.reason == f"HTTP {status}: nope"


async def test_no_answer_at_all_is_retried() -> None:
    _, failure = await answer(httpx.ConnectError("refused"))
    assert isinstance(failure, HandoffFailed) and failure.retryable and "ConnectError" in failure.reason
