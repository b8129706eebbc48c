"""Listing the outbox before the county worker installed its view (found by schemathesis)."""

from __future__ import annotations

import httpx
import pytest

from sync_server.couch import Couch, CouchError
from sync_server.county import outbox as ob


def couch_answering(status: int) -> Couch:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"error": "not_found", "reason": "missing"})

    return Couch("http://couch", transport=httpx.MockTransport(handler))


async def test_entries_without_the_view_are_none_not_the_engines_404() -> None:
    couch = couch_answering(404)
    try:
        assert await ob.entries(couch, ob.OutboxState.DEAD) == []
    finally:
        await couch.aclose()


async def test_other_engine_errors_still_raise() -> None:
    couch = couch_answering(500)
    try:
        with pytest.raises(CouchError):
            await ob.entries(couch, ob.OutboxState.DEAD)
    finally:
        await couch.aclose()
