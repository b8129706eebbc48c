"""Township staff: conflict review choice per field, supervision lines, offline messages.

The server side is a small stand-in of `/api/reviews` and `/api/supervision` answering
the shapes documented in sync_server/workers/api.py."""

from __future__ import annotations

import json

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


def server(decided: list[dict]) -> httpx.MockTransport:  # type: ignore[type-arg]
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


def api_for(transport: httpx.AsyncBaseTransport):  # type: ignore[no-untyped-def]
    return lambda: StaffApi("http://server", "tok", transport)


async def test_review_needs_a_choice_for_every_field() -> None:
    decided: list[dict] = []  # type: ignore[type-arg]
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
    assert lines["满意度 Satisfaction"] == "4.6 (12)"
    assert "红 1" in lines["村 Village 330212001001"]


async def test_offline_staff_screens_say_they_need_the_network() -> None:
    def offline(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("down", request=request)

    vm = ReviewsViewModel(api_for(httpx.MockTransport(offline)), "330212001", T)
    await vm.load()
    assert "需要网络" in vm.error and vm.reviews == []
    sup = SupervisionViewModel(api_for(httpx.MockTransport(offline)), "330212001")
    await sup.load()
    assert sup.lines() == [] and "network" in sup.error
