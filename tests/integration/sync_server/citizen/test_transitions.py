"""The citizen transitions the workers run: tracking index, server-side delivery check."""

from __future__ import annotations

from typing import Any

from shared.delivery import issue_token
from sync_server.citizen.transitions import DeliveryCheck, TrackingIndex
from sync_server.workers.transition import Change
from tests.integration.sync_server.citizen.conftest import World, later, make_case, make_event


def change(db: str, doc: dict[str, Any]) -> Change:
    return Change(db=db, id=doc["_id"], rev="1-x", seq=1, doc=doc)


def agent_delivery(case: dict[str, Any], token: str) -> dict[str, Any]:
    event = make_event(case["_id"], "delivered", "village_agent", "2026-11-25T02:00:00Z")
    event["data"] = {"token": token, "token_id": "ignored", "receiver": "张三丰"}
    return event


async def test_tracking_index_transition(world: World) -> None:
    case = make_case()
    transition = TrackingIndex(world.couch, world.server)
    assert transition.filter(change(world.village, case))
    assert not transition.filter(change(world.village, make_event(case["_id"], "accepted", "township_staff")))
    await world.couch.put_doc(world.village, case)
    await transition.apply(change(world.village, case))
    await transition.apply(change(world.village, case))  # replayed: nothing new
    assert (await world.track(case["tracking_code"])).status_code == 200


async def test_delivery_check_spends_the_token_and_flags_a_replay(world: World) -> None:
    case = await world.add_case(status="result_ready")
    token = issue_token(world.key, case_id=case["_id"], tracking_code=case["tracking_code"],
                        now=world.clock(), token_id=b"\x01" * 8)
    check = DeliveryCheck(world.couch, world.key.public_key(), world.server, clock=world.clock)
    first = agent_delivery(case, token)
    assert check.filter(change(world.village, first))
    world.clock.now += later(40)  # synced after the expiry: the device time counts
    await check.apply(change(world.village, first))
    await check.apply(change(world.village, first))  # the feed replays the same event
    assert await world.couch.get_doc(world.server, f"delivery-refused:{first['_id']}") is None
    assert await world.couch.get_doc(world.server, "delivery-token:" + "01" * 8) is not None

    replay = agent_delivery(case, token)
    await check.apply(change(world.village, replay))
    refused = await world.couch.get_doc(world.server, f"delivery-refused:{replay['_id']}")
    assert refused is not None and refused["error"] == "token_used"

    other = await world.add_case(status="result_ready")
    wrong = agent_delivery(other, token)
    await check.apply(change(world.village, wrong))
    refused = await world.couch.get_doc(world.server, f"delivery-refused:{wrong['_id']}")
    assert refused is not None and refused["error"] == "token_wrong_case"

    citizen_event = {**first, "role": "citizen"}
    assert not check.filter(change(world.village, citizen_event))
