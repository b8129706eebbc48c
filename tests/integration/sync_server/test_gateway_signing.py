"""How the applicant signed (ADR 0120), through the gateway on a real engine: a case signed by a
proxy with a valid ID number, or with a fingerprint photo, is stored; a forged proxy is refused."""

from __future__ import annotations

from datetime import date

from shared.idnumber import make_id_number
from sync_server.couch import Couch
from tests.integration.sync_server.gateway_helpers import JPEG, PNG, attachment, make_case
from tests.integration.sync_server.server_fixtures import RunningServer, Township
from tests.integration.sync_server.test_server_facts import Actors, bulk, forbidden, write

PROXY_ID = make_id_number("330212", date(1972, 8, 19), 41)


async def test_a_proxy_signed_or_fingerprinted_case_is_stored(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    a = Actors(api_server, township)
    proxy = {"method": "proxy", "proxy": {"name": "赵建华", "id_number": PROXY_ID, "relation": "儿子"}}
    signed = write(a.agent, a.db, make_case(a.village, "submitted", signing=proxy,
                                           _attachments={"signature.png": attachment(PNG, "image/png")}))
    stored = await couch.get_doc(a.db, signed["_id"])
    assert stored is not None and stored["signing"] == proxy and "signature.png" in stored["_attachments"]
    pressed = write(a.agent, a.db, make_case(a.village, "submitted", signing={"method": "fingerprint"},
                                            _attachments={"fingerprint.jpg": attachment(JPEG, "image/jpeg")}))
    stored = await couch.get_doc(a.db, pressed["_id"])
    assert stored is not None and stored["signing"] == {"method": "fingerprint"}


async def test_a_forged_proxy_or_method_is_refused_and_nothing_is_stored(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    """The attack: a device names a proxy who does not exist (a made-up ID number), or
    invents a way of signing, to pass off an unsigned application as signed."""
    a = Actors(api_server, township)
    made_up = PROXY_ID[:17] + ("0" if PROXY_ID[17] != "0" else "1")
    signings = [
        {"method": "proxy", "proxy": {"name": "某人", "id_number": made_up}},
        {"method": "proxy", "proxy": {"name": "", "id_number": PROXY_ID}},
        {"method": "verbal"},
        "proxy",
    ]
    docs = [make_case(a.village, "submitted", signing=signing) for signing in signings]
    answers = bulk(a.agent, a.db, docs)
    assert forbidden(answers), answers
    assert "代签人身份证号" in answers[0]["reason"]
    for doc in docs:
        assert await couch.get_doc(a.db, doc["_id"]) is None
