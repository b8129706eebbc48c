"""POST /api/track and the rating, against the real engine."""

from __future__ import annotations

import httpx

from sync_server.citizen.index import backfill
from sync_server.couch import CouchError
from tests.integration.sync_server.citizen.conftest import ID_NUMBER, PHONE, World, make_event

PROGRESS = (("submitted", "village_agent"), ("accepted", "township_staff"), ("forwarded", "township_staff"),
            ("field_edited", "township_staff"), ("approved", "county_operator"))


def assert_private(response: httpx.Response) -> None:
    """No full ID number, phone, username or device in anything a citizen receives."""
    text = response.text
    for secret in (ID_NUMBER, PHONE, "li.staff", "wang.agent", "tablet-7", "张三丰"):
        assert secret not in text, secret


async def test_track_shows_item_status_timeline_deadline(world: World) -> None:
    case = await world.add_case(status="approved", events=PROGRESS)
    response = await world.track(case["tracking_code"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["item"] == {"code": "V-OLDAGE", "zh": "高龄津贴申领", "en": "Old-age allowance"}
    assert body["status"]["code"] == "approved" and body["status"]["zh"]
    assert [s["kind"] for s in body["timeline"]] == ["submitted", "accepted", "forwarded", "approved"]
    assert body["timeline"][-1]["office"]["zh"] == "县政务服务中心"
    assert body["deadline"] == "2026-11-26" and body["timing"]["code"] == "on_time"
    assert body["applicant"] == "张**"
    assert response.headers["cache-control"] == "no-store"
    assert_private(response)


async def test_code_is_typed_loosely(world: World) -> None:
    case = await world.add_case()
    loose = case["tracking_code"].replace("-", " ").lower()
    assert (await world.track(loose, ID_NUMBER[-4:].lower())).status_code == 200


async def test_wrong_code_and_wrong_digits_give_the_same_answer(world: World) -> None:
    case = await world.add_case()
    code = case["tracking_code"]
    wrong_digits = await world.track(code, "0000")
    other = "0000-0000-0000"  # a well-formed code (check symbol 0) that no case has
    wrong_code = await world.track(other)
    garbage = await world.track("not-a-code")
    assert wrong_digits.status_code == wrong_code.status_code == garbage.status_code == 404
    assert wrong_digits.content == wrong_code.content == garbage.content
    assert wrong_digits.json()["error"] == "not_found"


async def test_missing_digits_is_a_clear_400(world: World) -> None:
    response = await world.track("0000-0000-0000", "12")
    assert response.status_code == 400
    assert "最后 4 位" in response.json()["reason"] and "last 4" in response.json()["reason"]


async def test_rate_limit_per_code(world: World) -> None:
    case = await world.add_case()
    code = case["tracking_code"]
    for _ in range(5):  # the fixture allows 5 failed tries per code
        assert (await world.track(code, "9999")).status_code == 404
    limited = await world.track(code)  # even the right digits now wait (a minute, not an hour)
    assert limited.status_code == 429
    assert 0 < int(limited.headers["retry-after"]) <= 60
    assert limited.json()["error"] == "too_many_requests"
    other = await world.add_case()
    assert (await world.track(other["tracking_code"])).status_code == 200  # other codes unaffected


async def test_rate_limit_per_address(world: World) -> None:
    from sync_server.citizen.ratelimit import Limit, RateLimiter

    world.service._address = RateLimiter(Limit(3, 600))
    case = await world.add_case()
    for _ in range(3):
        assert (await world.track(case["tracking_code"])).status_code == 200
    limited = await world.track(case["tracking_code"])
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0


async def test_unindexed_case_is_found_through_backfill(world: World) -> None:
    case = await world.add_case(index=False)
    assert (await world.track(case["tracking_code"])).status_code == 200
    # the checkpoint makes the next backfill a no-op
    assert await backfill(world.couch, server_db=world.server, prefix=world.village) == 0


async def test_rating_once_after_delivery(world: World) -> None:
    case = await world.add_case(status="result_ready")
    code, last4 = case["tracking_code"], ID_NUMBER[-4:]
    url = f"/api/track/{code}/rating"
    early = await world.client.post(url, json={"id_last4": last4, "score": 5})
    assert early.status_code == 409 and early.json()["error"] == "not_delivered"

    current = await world.couch.get_doc(world.village, case["_id"])
    assert current is not None
    await world.couch.put_doc(world.village, {**current, "status": "delivered"})
    assert (await world.track(code)).json()["can_rate"] is True
    bad = await world.client.post(url, json={"id_last4": last4, "score": 6})
    assert bad.status_code == 400
    wrong = await world.client.post(url, json={"id_last4": "0000", "score": 4})
    assert wrong.status_code == 404

    rated = await world.client.post(url, json={"id_last4": last4, "score": 4, "comment": "  很好，\n谢谢 "})
    assert rated.status_code == 200, rated.text
    assert rated.json()["rated"] is True and rated.json()["can_rate"] is False
    again = await world.client.post(url, json={"id_last4": last4, "score": 1})
    assert again.status_code == 409 and again.json()["error"] == "already_rated"

    rows = (await world.couch.get_json(f"/{world.village}/_all_docs", include_docs=True))["rows"]
    ratings = [r["doc"] for r in rows if r["doc"].get("kind") == "rated"]
    assert len(ratings) == 1
    assert ratings[0]["data"] == {"score": 4, "comment": "很好， 谢谢"}
    assert ratings[0]["case_id"] == case["_id"] and ratings[0]["role"] == "citizen"
    assert ratings[0]["_id"].startswith(f"event:{case['_id'][5:]}:")


async def test_needs_materials_lists_what_to_bring_by_catalog_name(world: World) -> None:
    await world.couch.put_doc(world.catalog, {
        "_id": "item:V-HUKOU", "type": "item", "name_zh": "户口迁移", "name_en": "Household move",
        "materials": [{"code": "hukou", "name_zh": "户口簿", "name_en": "Household register"},
                      {"code": "photo", "name_zh": "近期免冠照片", "name_en": "Recent photo"}]})
    case = await world.add_case(item_code="V-HUKOU", status="needs_materials", missing=["photo", "hukou"],
                                events=(("submitted", "village_agent"),
                                        ("materials_requested", "township_staff")))
    body = (await world.track(case["tracking_code"])).json()
    assert [m["zh"] for m in body["missing"]] == ["近期免冠照片", "户口簿"]
    assert [m["en"] for m in body["missing"]] == ["Recent photo", "Household register"]
    assert "村代办员" in body["todo"]["zh"] and body["reason"] == ""


async def test_rejected_case_says_why_and_not_that_the_clock_has_not_started(world: World) -> None:
    case = await world.add_case(status="rejected", deadline=None, accepted_at=None,
                                events=(("submitted", "village_agent"),))
    refusal = make_event(case["_id"], "rejected", "township_staff", "2026-11-23T03:00:00Z")
    refusal["data"] = {"from": "submitted", "to": "rejected", "reason": "申请人未满80周岁，不符合条件"}
    await world.couch.put_doc(world.village, refusal)
    response = await world.track(case["tracking_code"])
    body = response.json()
    assert body["reason"] == "申请人未满80周岁，不符合条件"
    assert body["timing"]["code"] == "closed"
    assert "尚未受理" not in response.text
    assert_private(response)


async def test_a_lone_surrogate_stored_before_the_gateway_refused_it_is_no_server_error(world: World) -> None:
    """Data the gateway would now refuse (ADR 0105) may sit in an engine that took it; the page
    still answers. Apache CouchDB refuses such JSON itself."""
    case = await world.add_case(status="rejected", deadline=None, accepted_at=None,
                                events=(("submitted", "village_agent"),))
    refusal = make_event(case["_id"], "rejected", "township_staff", "2026-11-23T03:00:00Z")
    refusal["data"] = {"from": "submitted", "to": "rejected", "reason": "材料不全\ud800"}
    try:
        await world.couch.put_doc(world.village, refusal)
    except CouchError as exc:
        assert exc.status == 400  # Apache CouchDB: invalid UTF-8 JSON
        return
    response = await world.track(case["tracking_code"])
    assert response.status_code == 200, response.text
    assert response.json()["reason"].startswith("材料不全")
