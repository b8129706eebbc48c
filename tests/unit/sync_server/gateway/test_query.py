"""Query strings re-emitted by the gateway (ADR 0104): the forms it sends upstream."""

from __future__ import annotations

import pytest

from sync_server.errors import ApiError
from sync_server.gateway.feeds import Feeds
from sync_server.gateway.paths import Endpoint
from sync_server.gateway.query import MAX_FEED_WAIT_MS, bulk_get_docs, changes_request, parse_query


def test_a_longpoll_timeout_is_capped_and_its_heartbeat_not_forwarded() -> None:
    query = parse_query(b"feed=longpoll&timeout=600000&heartbeat=10000&since=now", Endpoint.CHANGES, "GET")
    sent = changes_request(query, "GET")
    assert sent.longpoll and dict(sent.params) == {"feed": "longpoll", "since": "now",
                                                   "timeout": str(MAX_FEED_WAIT_MS)}
    plain = changes_request(parse_query(b"heartbeat=5&timeout=5&style=all_docs", Endpoint.CHANGES, "GET"),
                            "GET")
    assert not plain.longpoll and plain.params == [("style", "all_docs")]


def test_values_are_re_serialized_not_copied() -> None:
    query = parse_query(b"open_revs=%5B%20%221-abc%22%20%5D&revs=true", Endpoint.DOCUMENT, "GET")
    assert query.items() == [("open_revs", '["1-abc"]'), ("revs", "true")]
    assert parse_query(b"limit=007", Endpoint.CHANGES, "GET").get("limit") == "7"
    assert bulk_get_docs({"docs": [{"id": "a", "rev": "1-x"}]}) == [{"id": "a", "rev": "1-x"}]


@pytest.mark.parametrize("raw", [b"a=1", b"since=1&since=2", b"feed=continuous", b"x", b"since=%ff"])
def test_refusals_are_400(raw: bytes) -> None:
    with pytest.raises(ApiError) as refused:
        parse_query(raw, Endpoint.CHANGES, "GET")
    assert refused.value.status == 400 and refused.value.error == "bad_request"


def test_feeds_are_bounded_per_user_and_in_total() -> None:
    feeds = Feeds(per_user=2, total=3)
    slots = [feeds.admit("a"), feeds.admit("a")]
    with pytest.raises(ApiError) as per_user:
        feeds.admit("a")
    slots.append(feeds.admit("b"))
    with pytest.raises(ApiError) as total:
        feeds.admit("c")
    assert per_user.value.status == total.value.status == 429
    assert total.value.headers["Retry-After"]
    slots[0].release()
    slots[0].release()  # idempotent
    assert feeds.held == 2
    slots.append(feeds.admit("c"))
    for slot in slots:
        slot.release()
    assert feeds.held == 0
