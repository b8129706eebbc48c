"""Township staff: conflict review choice per field, supervision lines, offline messages.

The server side is a small stand-in of `/api/reviews` and `/api/supervision` answering
the shapes documented in sync_server/workers/api.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from mobile.services.i18n import Translator
from mobile.services.staff_api import StaffApi
from mobile.viewmodels.staff import ReviewsViewModel, SupervisionViewModel

T = Translator("zh")
REVIEW = {
    "case_id": "case:01J9Z8Y7X6W5V4T3S2R1Q0P9N8",
    "database": "ot-v-330212001001",
    "village": "330212001001",
    "fields": {"applicant.name": ["张三", "张山"], "situation": ["self", "proxy"]},
}


def server(decided: list[dict[str, Any]]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "Bearer tok"
        if request.url.path == "/api/reviews":
            assert request.url.params["township"] == "330212001"
            return httpx.Response(200, json={"township": "330212001", "reviews": [REVIEW]})
        if request.url.path.startswith("/api/reviews/"):
            decided.append(json.loads(request.content))
            return httpx.Response(200, json={"ok": True})
        if request.url.path == "/api/supervision":
            return httpx.Response(
                200,
                json={
                    "overdue": [{"case_id": "c1"}],
                    "due_soon": [],
                    "villages": {"330212001001": {"open": 3, "overdue": 1, "due_soon": 0, "finished": 5}},
                    "staff": {"st1": {"open": 3, "overdue": 1, "due_soon": 0, "finished": 5}},
                    "average_handling_days": 2.5,
                    "local_share": 0.8,
                    "satisfaction": {"average": 4.6, "count": 12},
                },
            )
        return httpx.Response(404, json={"error": "not_found", "reason": "没有 / none"})

    return httpx.MockTransport(handle)


def api_for(transport: httpx.AsyncBaseTransport) -> Callable[[], StaffApi]:
    return lambda: StaffApi("http://server", "tok", transport)


async def test_review_needs_a_choice_for_every_field() -> None:
    decided: list[dict[str, Any]] = []
    vm = ReviewsViewModel(api_for(server(decided)), "330212001", T)
    await vm.load()
    review = vm.reviews[0]
    choices = vm.choices(review)
    assert [c.values for c in choices] == [("张三", "张山"), ("self", "proxy")]
    assert vm.label("applicant.name") == "姓名 Name"
    vm.choose(review, "applicant.name", 1)
    assert not await vm.decide(review) and "每个字段" in vm.error
    vm.choose(review, "situation", 0)
    assert await vm.decide(review)
    assert decided == [
        {"database": "ot-v-330212001001", "fields": {"applicant.name": "张山", "situation": "self"}}
    ]
    assert vm.reviews == []


async def test_supervision_lines_spell_out_the_cards() -> None:
    vm = SupervisionViewModel(api_for(server([])), "330212001")
    await vm.load()
    lines = dict(vm.lines())
    assert lines["红牌（超期）Red: overdue"] == "1"
    assert lines["本地办结比例 Finished locally"] == "80%"
    assert lines["平均办理天数 Average handling days"] == "2.5 天 days"
    assert lines["满意度 Satisfaction"] == "4.6 / 5（12 人评价 ratings）"
    assert "红 1" in lines["村 Village 330212001001"]


def test_supervision_figures_carry_their_unit_or_a_dash_when_not_known() -> None:
    vm = SupervisionViewModel(api_for(server([])), "330212001")
    vm.data = {"average_handling_days": 3.2857, "satisfaction": {"average": None, "count": 0}}
    lines = dict(vm.lines())
    assert lines["平均办理天数 Average handling days"] == "3.3 天 days"
    assert lines["满意度 Satisfaction"] == "—"


async def test_offline_staff_screens_say_they_need_the_network() -> None:
    def offline(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("down", request=request)

    vm = ReviewsViewModel(api_for(httpx.MockTransport(offline)), "330212001", T)
    await vm.load()
    assert "需要网络" in vm.error and vm.reviews == []
    sup = SupervisionViewModel(api_for(httpx.MockTransport(offline)), "330212001")
    assert sup.figures() == []  # before the answer: nothing to drill into, no error
    await sup.load()
    assert sup.lines() == [] and sup.figures() == [] and "network" in sup.error


async def test_review_versions_say_who_which_device_and_when() -> None:
    sourced = {**REVIEW, "sources": {
        "applicant.name": [
            {"rev": "2-a", "device": "phone-a", "edited_at": "2026-11-24T01:00:00Z", "by": "agent1",
             "pushed_from": "agent-phone-1", "received_at": "2026-11-24T02:30:00Z"},
            {"rev": "2-b", "device": "tablet-b", "edited_at": "2026-11-24T03:05:00Z"},
        ]}}

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"township": "330212001", "reviews": [sourced]})

    vm = ReviewsViewModel(api_for(httpx.MockTransport(handle)), "330212001", T)
    await vm.load()
    name, situation = vm.choices(vm.reviews[0])
    # The server's record first (who pushed, from which device, when it arrived; Beijing time).
    assert name.sources[0] == "agent1\n设备 Device agent-phone-1\n2026-11-24 10:30"
    # No audit record yet: the device's own word about the edit.
    assert name.sources[1] == "提交人未知 unknown user\n设备 Device tablet-b\n2026-11-24 11:05"
    assert situation.sources == ("提交人未知 unknown user\n设备 Device —\n时间未知 unknown time",) * 2


def supervision_with_cases() -> SupervisionViewModel:
    vm = SupervisionViewModel(api_for(server([])), "330212001")
    ref = {"db": "ot-v-330212001001", "item_code": "SB-001", "status": "accepted", "deadline": "2026-11-20",
           "agent": "agent1", "accepted_by": "st1", "rated": False}
    vm.data = {
        "overdue": [{"case_id": "case:RED00001"}],
        "due_soon": [{"case_id": "case:YEL00002"}],
        "villages": {"330212001001": {"open": 2, "overdue": 1, "due_soon": 1, "finished": 1}},
        "staff": {"st1": {"open": 2, "overdue": 1, "due_soon": 1, "finished": 1}},
        "cases": [
            {**ref, "case_id": "case:RED00001", "village": "330212001001", "state": "open", "card": "red"},
            {**ref, "case_id": "case:YEL00002", "village": "330212001001", "state": "open", "card": "yellow"},
            {**ref, "case_id": "case:FIN00003", "village": "330212001001", "state": "finished", "card": None,
             "status": "approved", "rated": True},
            {**ref, "case_id": "case:WDN00004", "village": "330212001002", "state": "other", "card": None,
             "accepted_by": None, "agent": "agent2", "status": "withdrawn"},
        ],
    }
    return vm


def test_every_supervision_figure_drills_down_to_its_cases() -> None:
    vm = supervision_with_cases()
    figures = {f.label: f for f in vm.figures()}

    def ids(label: str) -> list[str]:
        return [c.case_id for c in vm.drill(figures[label].key)]

    assert ids("红牌（超期）Red: overdue") == ["case:RED00001"]
    assert ids("黄牌（剩1天）Yellow: 1 day left") == ["case:YEL00002"]
    assert ids("平均办理天数 Average handling days") == ["case:FIN00003"]
    assert ids("满意度 Satisfaction") == ["case:FIN00003"]
    assert ids("村 Village 330212001001") == ["case:RED00001", "case:YEL00002"]
    assert ids("人员 Staff st1") == ["case:RED00001", "case:YEL00002", "case:FIN00003"]
    red = vm.drill("red")[0]
    assert "SB-001" in red.title and "红牌 Red" in red.note and "2026-11-20" in red.note
    # The number on a card's line is the length of its list.
    assert figures["红牌（超期）Red: overdue"].value == str(len(ids("红牌（超期）Red: overdue")))
    vm.toggle("red")
    assert vm.opened == "red"
    vm.toggle("red")
    assert vm.opened == ""
