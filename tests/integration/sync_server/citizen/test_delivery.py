"""Delivery tokens on the server: issue, check, confirm once, every refusal."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.delivery import issue_token, token_from_url
from tests.integration.sync_server.citizen.conftest import World, later
from tests.integration.sync_server.citizen.test_track import assert_private


async def issue(world: World, code: str) -> dict[str, Any]:
    response = await world.client.post(f"/api/delivery/{code}/token")
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def events_of(world: World, kind: str) -> list[dict[str, Any]]:
    rows = (await world.couch.get_json(f"/{world.village}/_all_docs", include_docs=True))["rows"]
    return [r["doc"] for r in rows if r["doc"].get("kind") == kind]


async def test_citizen_confirms_receipt_once(world: World) -> None:
    case = await world.add_case(status="result_ready")
    code = case["tracking_code"]
    issued = await issue(world, code)
    assert issued["url"].startswith(f"https://ot.example/t/{code}?d=")
    assert token_from_url(issued["url"]) == (code, issued["token"])

    check = await world.client.post("/api/delivery/check", json={"code": code, "token": issued["token"]})
    assert check.status_code == 200, check.text
    assert check.json()["can_confirm"] is True and check.json()["used"] is False
    assert check.json()["summary"]["status"]["code"] == "result_ready"
    assert_private(check)

    confirm = await world.client.post("/api/delivery/confirm", json={"code": code, "token": issued["token"]})
    assert confirm.status_code == 200, confirm.text
    assert confirm.json()["status"]["code"] == "delivered"
    assert confirm.json()["can_rate"] is True
    assert_private(confirm)
    stored = await world.couch.get_doc(world.village, case["_id"])
    assert stored is not None and stored["status"] == "delivered"
    assert stored["meta"]["fields"]["status"]["vv"] == {"server": 1}  # the merge sees the server's edit
    delivered = await events_of(world, "delivered")
    assert len(delivered) == 1 and delivered[0]["data"]["token_id"] == issued["token_id"]

    replay = await world.client.post("/api/delivery/confirm", json={"code": code, "token": issued["token"]})
    assert replay.status_code == 409 and replay.json()["error"] == "token_used"
    assert "已" in replay.json()["reason"] and "already" in replay.json()["reason"]
    after = await world.client.post("/api/delivery/check", json={"code": code, "token": issued["token"]})
    assert after.json()["can_confirm"] is False and after.json()["used"] is True
    assert len(await events_of(world, "delivered")) == 1


async def test_a_second_token_cannot_deliver_twice(world: World) -> None:
    case = await world.add_case(status="result_ready")
    code = case["tracking_code"]
    first, second = await issue(world, code), await issue(world, code)
    assert first["token_id"] != second["token_id"]
    ok = await world.client.post("/api/delivery/confirm", json={"code": code, "token": first["token"]})
    assert ok.status_code == 200
    again = await world.client.post("/api/delivery/confirm", json={"code": code, "token": second["token"]})
    assert again.status_code == 409 and again.json()["error"] == "token_used"
    assert len(await events_of(world, "delivered")) == 1


async def test_refusals(world: World) -> None:
    case = await world.add_case(status="result_ready")
    other = await world.add_case(status="result_ready")
    code = case["tracking_code"]
    token = (await issue(world, code))["token"]

    async def confirm(code: str, token: str) -> tuple[int, str]:
        response = await world.client.post("/api/delivery/confirm", json={"code": code, "token": token})
        return response.status_code, response.json().get("error", "")

    assert await confirm(other["tracking_code"], token) == (409, "token_wrong_case")
    forged = issue_token(Ed25519PrivateKey.generate(), case_id=case["_id"], tracking_code=code,
                         now=world.clock(), token_id=bytes(8))
    assert await confirm(code, forged) == (400, "token_forged")
    altered = token[:40] + ("A" if token[40] != "A" else "B") + token[41:]
    assert (await confirm(code, altered))[0] == 400
    assert await confirm(code, "garbage!") == (400, "token_malformed")
    world.clock.now += later(31)
    assert await confirm(code, token) == (410, "token_expired")
    stored = await world.couch.get_doc(world.village, case["_id"])
    assert stored is not None and stored["status"] == "result_ready"
    assert await events_of(world, "delivered") == []


async def test_issue_needs_result_ready_and_staff(world: World) -> None:
    case = await world.add_case(status="approved")
    early = await world.client.post(f"/api/delivery/{case['tracking_code']}/token")
    assert early.status_code == 409 and early.json()["error"] == "not_ready"
    ready = await world.add_case(status="result_ready")
    world.allow_issue[0] = False
    denied = await world.client.post(f"/api/delivery/{ready['tracking_code']}/token")
    assert denied.status_code == 403
    unknown = await world.client.post("/api/delivery/0000-0000-0000/token")
    assert unknown.status_code == 404
