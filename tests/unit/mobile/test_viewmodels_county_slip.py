"""County home and result slip view-models without a server: what the screens say offline,
and which cases count as results to send back. (With the real server:
tests/integration/mobile/test_county_home_and_slip.py.)"""

from __future__ import annotations

from datetime import UTC, datetime

from mobile.services.i18n import Translator
from mobile.services.staff_api import StaffApi
from mobile.viewmodels.county import CountyViewModel
from mobile.viewmodels.result_slip import ResultSlipViewModel

OFFLINE = "http://127.0.0.1:9"  # the discard port: nothing answers, as in a village
T = Translator("zh")


def offline_api() -> StaffApi:
    return StaffApi(OFFLINE, "tok")


async def test_county_home_offline_says_it_needs_the_network() -> None:
    vm = CountyViewModel(offline_api, T, lambda code: code)
    await vm.load()
    assert not vm.loaded and "需要网络" in vm.error and "Needs the network" in vm.error
    assert vm.handed_off() == [] and vm.dead_letters() == [] and vm.results() == []


def test_results_to_send_back_are_county_outcomes_not_yet_delivered() -> None:
    vm = CountyViewModel(offline_api, T, lambda code: f"item {code}")
    rows = [
        {"case_id": f"case:{status}", "state": state,
         "case": {"status": status, "tracking_code": f"T-{status}", "item_code": "X", "village": "v",
                  "applicant": "王**"}}
        for state, status in (("acked", "approved"), ("acked", "result_ready"), ("acked", "delivered"),
                              ("acked", "rejected"), ("dead", "forwarded"), ("pending", "forwarded"))
    ]
    vm.entries = [vm._entry(row) for row in rows]
    assert [e.status for e in vm.results()] == ["approved", "result_ready"]
    assert [e.case_id for e in vm.dead_letters()] == ["case:forwarded"]
    assert vm.results()[1].next_step.startswith("待村代办员送达")
    assert vm.entries[0].item == "item X" and vm.entries[0].state_label.startswith("县级已接收")
    assert "已移交 6" in vm.counts() and "failed 1" in vm.counts()


async def test_slip_offline_or_not_ready_issues_nothing() -> None:
    case = {"_id": "case:1", "status": "result_ready", "tracking_code": "ABCD-EFGH-JKMN", "item_code": "X",
            "applicant": {"name": "李建国", "id_number": "330212195001021234"}}
    now = lambda: datetime(2026, 12, 7, tzinfo=UTC)  # noqa: E731
    vm = ResultSlipViewModel(case, offline_api, T, item_name=str, issued_by="st1", now=now)
    await vm.load()
    assert not vm.ready and "需要网络" in vm.error
    early = ResultSlipViewModel({**case, "status": "approved"}, offline_api, T, item_name=str,
                                issued_by="st1", now=now)
    await early.load()
    assert not early.ready and "not ready" in early.error
    assert vm.file_name() == "result-slip-ABCD-EFGH-JKMN.pdf"


def test_slip_and_county_home_name_the_village() -> None:
    places = {"330212001001": "青山村"}.get
    case = {"_id": "case:1", "status": "result_ready", "tracking_code": "ABCD-EFGH-JKMN", "item_code": "X",
            "division": {"village": "330212001001"}, "applicant": {"name": "李建国", "id_number": ""}}
    now = lambda: datetime(2026, 12, 7, tzinfo=UTC)  # noqa: E731
    slip = ResultSlipViewModel(case, offline_api, T, item_name=str, issued_by="st1", now=now,
                               place=lambda code: places(code) or code)
    assert slip.data().village == "青山村"
    county = CountyViewModel(offline_api, T, str, lambda code: places(code) or code)
    row = {"case_id": "case:1", "state": "acked", "case": {"status": "approved", "village": "330212001001"}}
    unknown = {**row, "case": {"status": "approved", "village": "330212009999"}}
    assert county._entry(row).village == "青山村"
    assert county._entry(unknown).village == "330212009999"  # no name known: the code, never hidden
