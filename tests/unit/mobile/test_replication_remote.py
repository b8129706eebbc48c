"""RemoteDB's HTTP behaviour: no retry on 401/403, backoff on 5xx and network errors, gzip probing,
and the multipart/related body. The CouchDB protocol itself is tested against the real engine."""

from __future__ import annotations

import asyncio
import email
import email.policy
import gzip
import json
from collections.abc import Iterator

import httpx
import pytest

from mobile.replication import Backoff, RemoteDB, Unauthorized, Unreachable
from mobile.replication.multipart import encode_related
from mobile.replication.remote import LAN_RTT, NEAR_RTT
from mobile.store.attachments import digest_of

FAST = Backoff(retries=3, initial=0.001, maximum=0.002)
# The retry tests count requests: no gzip probe (sent when a client opens) among them.
NO_PROBE = False
HANG_S = 30


async def test_401_is_raised_at_once() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(401, json={"error": "unauthorized", "reason": "token expired"})

    async with RemoteDB("http://gw/sync/db", token="t", transport=httpx.MockTransport(handler),
                        backoff=FAST, compress_requests=NO_PROBE) as remote:
        with pytest.raises(Unauthorized) as raised:
            await remote.info()
    assert raised.value.status == 401 and calls == ["/sync/db/"]


async def test_5xx_and_network_errors_are_retried_then_succeed() -> None:
    answers: Iterator[httpx.Response | Exception] = iter([httpx.ConnectError("down"), httpx.Response(503),
                    httpx.Response(200, json={"db_name": "db"})])

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "Bearer t"
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async with RemoteDB("http://gw/sync/db", token="t", transport=httpx.MockTransport(handler),
                        backoff=FAST, compress_requests=NO_PROBE) as remote:
        assert await remote.info() == {"db_name": "db"}
        assert remote.traffic.requests == 3


async def test_retries_end_in_unreachable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="bad gateway")

    async with RemoteDB("http://gw/db", transport=httpx.MockTransport(handler), backoff=FAST,
                        compress_requests=NO_PROBE) as remote:
        with pytest.raises(Unreachable):
            await remote.info()
        assert remote.traffic.requests == 4


@pytest.mark.parametrize(("probe_status", "gzipped"), [(200, True), (415, False), (400, False)])
async def test_large_bodies_are_gzipped_only_when_the_probe_says_so(probe_status: int, gzipped: bool) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("_revs_diff") and request.content == gzip.compress(b"{}"):
            return httpx.Response(probe_status, json={} if probe_status == 200 else {"error": "bad_request"})
        seen.append(request)
        body = request.content
        if request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        assert len(json.loads(body)["docs"]) == 40
        return httpx.Response(201, json=[])

    async with RemoteDB("http://h/db", transport=httpx.MockTransport(handler)) as remote:
        await remote.write_docs([{"_id": f"d{i}", "_rev": "1-a", "pad": "x" * 100} for i in range(40)])
    assert (seen[-1].headers.get("Content-Encoding") == "gzip") is gzipped


async def test_no_body_waits_for_the_gzip_probe_sent_when_the_client_opens() -> None:
    """The probe goes out as the client opens; a body of any size sent before its answer goes plain
    (ADR 0159), the next one after it gzipped."""
    answer_probe = asyncio.Event()
    seen: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("_revs_diff") and request.content == gzip.compress(b"{}"):
            seen.append("probe")
            await answer_probe.wait()
            return httpx.Response(200, json={})
        seen.append(request.headers.get("Content-Encoding", "plain"))
        return httpx.Response(201, json=[])

    docs = [{"_id": f"d{i}", "_rev": "1-a", "pad": "x" * 100} for i in range(400)]  # ~50 KB
    async with RemoteDB("http://h/db", transport=httpx.MockTransport(handler)) as remote:
        # bounded only so that a body waiting for the held probe fails instead of hanging
        await asyncio.wait_for(remote.write_docs(docs), HANG_S)
        answer_probe.set()
        assert remote._probe is not None
        await remote._probe
        await remote.write_docs(docs)
    assert seen == ["probe", "plain", "gzip"]


def test_multipart_related_carries_json_then_raw_bytes() -> None:
    data = bytes(range(256)) * 4
    doc = {"_id": "case:1", "_rev": "2-b", "_attachments": {
        "scan 1.jpg": {"content_type": "image/jpeg", "data": data},
        "old.png": {"stub": True, "digest": "md5-x", "revpos": 1, "content_type": "image/png", "length": 3}}}
    body, content_type = encode_related(doc)
    message = email.message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body,
                                       policy=email.policy.HTTP)
    parts = list(message.iter_parts())
    head = json.loads(parts[0].get_content())
    # revpos and digest always travel (Apache CouchDB would store revpos 0 without them).
    expected = {"follows": True, "content_type": "image/jpeg", "length": 1024,
                "digest": digest_of(data), "revpos": 2}
    assert head["_attachments"]["scan 1.jpg"] == expected
    assert head["_attachments"]["old.png"]["stub"] is True
    assert parts[1].get_content() == data and parts[1].get_filename() == "scan 1.jpg"


@pytest.mark.parametrize(
    ("token", "rtt", "plain"),
    [
        ("t", None, False),  # nothing measured yet: gzip
        ("t", LAN_RTT / 4, True),  # the gateway on the township office's LAN
        ("t", (LAN_RTT + NEAR_RTT) / 2, False),  # the gateway over a mobile link
        ("t", NEAR_RTT * 3, False),  # a village link
        (None, (LAN_RTT + NEAR_RTT) / 2, True),  # an engine reached directly on loopback or LAN
        (None, NEAR_RTT * 3, False),
    ],
)
def test_answers_come_plain_only_over_a_lan_round_trip_through_the_gateway(
    token: str | None, rtt: float | None, plain: bool
) -> None:
    remote = RemoteDB("http://gw/sync/db", token=token)
    remote.rtt = rtt
    assert remote.plain_answers() is plain
    assert remote.near() is (token is None and rtt is not None and rtt < NEAR_RTT)  # scans stay binary
