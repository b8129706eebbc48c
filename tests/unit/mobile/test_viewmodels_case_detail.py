"""Case detail: fields masked, timeline, role actions from the status machine, one-time notice."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from mobile.services.i18n import Translator
from mobile.store import LocalStore
from mobile.viewmodels.case_detail import CaseDetailViewModel
from mobile.viewmodels.casebook import CaseBook
from mobile.viewmodels.items import ItemChoice
from shared.status import Status
from tests.unit.mobile.factories import Clock, make_book, make_case, make_store, sample_items
from tests.unit.mobile.fakes import STAFF
from tests.unit.mobile.images import jpeg_bytes, text_page

T = Translator("zh")
STAFF2 = replace(STAFF, username="staff2", display_name="赵科员")
TODAY = date(2026, 11, 24)


def plus_days(start: date, days: int) -> date:
    return start + timedelta(days=days)


def detail(book: CaseBook) -> CaseDetailViewModel:
    return CaseDetailViewModel(book, sample_items(), T, today=lambda: TODAY, deadline_of=plus_days)


def test_agent_sees_masked_fields_and_only_agent_actions(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    book = make_book(store)
    case = make_case(book, status="submitted", situation="first", tracking_code="K7QM-9XRT-2HNC")
    vm = detail(book)
    vm.load(case["_id"])
    fields = dict(vm.fields())
    assert "********" in fields["身份证号 ID number"]
    assert fields["查询码 Tracking code"] == "K7QM-9XRT-2HNC"
    assert [a.target for a in vm.actions()] == [Status.WITHDRAWN]
    assert not vm.perform(Status.ACCEPTED)
    assert "village_agent" in vm.error and vm.error_target is None  # no form of its own


def test_staff_accepts_with_deadline_and_timeline(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    case = make_case(make_book(store), status="submitted", situation="first")
    staff = make_book(store, account=STAFF)
    vm = detail(staff)
    vm.load(case["_id"])
    targets = [a.target for a in vm.actions()]
    assert targets == [Status.NEEDS_MATERIALS, Status.ACCEPTED, Status.REJECTED, Status.WITHDRAWN]
    assert vm.perform(Status.ACCEPTED)
    assert vm.case["status"] == "accepted" and vm.case["accepted_at"]
    assert vm.case["deadline"] == "2026-11-27"  # 3 days for pension-enrol (calendar injected)
    labels = [row.label for row in vm.timeline()]
    assert labels == ["新建 Created", "受理 Accepted"]
    # A village-level item is approved by the township (by someone else: 受审分离), never forwarded.
    assert Status.APPROVED not in [a.target for a in vm.actions()]
    assert Status.FORWARDED not in [a.target for a in vm.actions()]
    other = detail(make_book(store, account=STAFF2))
    other.load(case["_id"])
    assert Status.APPROVED in [a.target for a in other.actions()]


def test_reject_and_withdraw_need_a_reason(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    case = make_case(make_book(store), status="submitted", situation="first")
    vm = detail(make_book(store, account=STAFF))
    vm.load(case["_id"])
    assert not vm.perform(Status.REJECTED) and "原因" in vm.error
    assert vm.error_target is Status.REJECTED  # shown under the reject form, not the screen's top
    assert vm.perform(Status.REJECTED, reason="不符合条件 Not eligible")
    assert vm.error == "" and vm.error_target is None
    assert "不符合条件" in vm.timeline()[-1].note


def test_one_time_notice_can_be_given_once_and_agent_supplements(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    agent_book = make_book(store)
    case = make_case(agent_book, status="submitted", situation="first")
    vm = detail(make_book(store, account=STAFF))
    vm.load(case["_id"])
    assert not vm.perform(Status.NEEDS_MATERIALS)  # an empty list is no notice
    assert "勾选" in vm.error and "Tick" in vm.error and vm.error_target is Status.NEEDS_MATERIALS
    assert vm.perform(Status.NEEDS_MATERIALS, missing=["bank_card", "hukou"])
    assert vm.case["missing"] == ["bank_card", "hukou"]
    assert "银行卡" in vm.timeline()[-1].note
    agent = detail(agent_book)
    agent.load(case["_id"])
    assert agent.can_supplement() and not vm.can_supplement()
    assert agent.still_missing() == [
        ("bank_card", "银行卡 Bank card"),
        ("hukou", "户口簿 Household register"),
    ]
    assert [a.target for a in agent.actions()] == [Status.SUBMITTED, Status.WITHDRAWN]
    assert agent.supplement("bank_card", jpeg_bytes(text_page(600, 800)))
    assert agent.case["missing"] == ["hukou"]
    assert not agent.supplement("hukou", b"junk") and "图片" in agent.error
    assert agent.perform(Status.SUBMITTED)
    vm.load(case["_id"])
    # The citizen already had the one complete list: no second request.
    assert Status.NEEDS_MATERIALS not in [a.target for a in vm.actions()]
    assert Status.ACCEPTED in [a.target for a in vm.actions()]


def test_request_for_materials_keeps_what_the_agent_marked_missing(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    case = make_case(make_book(store), status="submitted", situation="first", missing=["hukou"])
    vm = detail(make_book(store, account=STAFF))
    vm.load(case["_id"])
    choices = {r.code: marked for r, marked in vm.request_choices()}
    assert choices["hukou"] is True and choices["bank_card"] is False  # pre-ticked from intake
    assert vm.perform(Status.NEEDS_MATERIALS, missing=["bank_card"])
    assert vm.case["missing"] == ["hukou", "bank_card"]  # merged: hukou never drops off
    assert "户口簿" in vm.timeline()[-1].note and "银行卡" in vm.timeline()[-1].note


def test_request_for_materials_with_only_the_intake_list_is_a_notice(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    case = make_case(make_book(store), status="submitted", situation="first", missing=["hukou"])
    vm = detail(make_book(store, account=STAFF))
    vm.load(case["_id"])
    assert vm.perform(Status.NEEDS_MATERIALS, missing=["hukou", "hukou"])
    assert vm.case["missing"] == ["hukou"]


def test_result_ready_offers_delivery_to_the_agent(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    book = make_book(store)
    case = make_case(book, status="result_ready", situation="first")
    vm = detail(book)
    vm.load(case["_id"])
    delivery = [a for a in vm.actions() if a.target is Status.DELIVERED]
    assert delivery and delivery[0].opens_delivery


@pytest.mark.usefixtures("device_in_california")
def test_timeline_and_acceptance_day_are_beijing_time(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    # Created at 23:50 in Beijing, accepted just after midnight there (each clock call adds 1 s).
    agent = make_book(store, clock=Clock(datetime(2026, 12, 2, 15, 50, tzinfo=UTC)))
    case = make_case(agent, status="submitted", situation="first")
    vm = detail(make_book(store, account=STAFF, clock=Clock(datetime(2026, 12, 2, 16, 0, tzinfo=UTC))))
    vm.load(case["_id"])
    assert vm.perform(Status.ACCEPTED)
    assert vm.case["accepted_at"].startswith("2026-12-02T16:00:")  # stored as UTC
    assert vm.case["deadline"] == "2026-12-06"  # counted from 2026-12-03, the day in China
    assert [row.time for row in vm.timeline()] == ["2026-12-02 23:50", "2026-12-03 00:00"]


def accepted_by_staff1(tmp_path: Path, items: list[ItemChoice] | None = None) -> tuple[str, LocalStore]:
    store = make_store(tmp_path)
    case = make_case(make_book(store), status="submitted", situation="first")
    vm = CaseDetailViewModel(make_book(store, account=STAFF), items or sample_items(), T, today=lambda: TODAY,
                             deadline_of=plus_days)
    vm.load(case["_id"])
    assert vm.perform(Status.ACCEPTED)
    return str(case["_id"]), store


def test_the_acceptor_is_not_offered_approval_and_is_told_why(tmp_path: Path) -> None:
    case_id, store = accepted_by_staff1(tmp_path)
    vm = detail(make_book(store, account=STAFF))
    vm.load(case_id)
    targets = [a.target for a in vm.actions()]
    assert Status.APPROVED not in targets and Status.REJECTED not in targets  # 不予许可 is a decision too
    assert Status.NEEDS_MATERIALS in targets and Status.WITHDRAWN in targets
    note = vm.separation_note()
    assert "受审分离" in note and "another staff member" in note
    assert not vm.perform(Status.APPROVED)  # nor can it be made another way
    assert "受审分离" in vm.error and vm.case["status"] == "accepted"


def test_another_staff_member_is_asked_to_confirm_decisions(tmp_path: Path) -> None:
    case_id, store = accepted_by_staff1(tmp_path)
    vm = detail(make_book(store, account=STAFF2))
    vm.load(case_id)
    assert vm.separation_note() == ""
    by_target = {a.target: a for a in vm.actions()}
    approve = by_target[Status.APPROVED]
    assert "确定办结" in approve.confirm and "Approve this case" in approve.confirm
    refuse = by_target[Status.REJECTED]
    assert refuse.label == "不予许可 Refuse" and "确定不予办理" in refuse.confirm and refuse.needs_reason
    assert by_target[Status.NEEDS_MATERIALS].confirm == ""
    assert vm.perform(Status.APPROVED)
    assert vm.case["status"] == "approved"
    assert [row.who.split(" · ")[0] for row in vm.timeline()][-2:] == ["staff1", "赵科员"]  # names shown


def test_an_item_without_separation_offers_approval_to_the_acceptor(tmp_path: Path) -> None:
    items = [replace(i, separate_intake_approval=False) for i in sample_items()]
    case_id, store = accepted_by_staff1(tmp_path, items)
    vm = CaseDetailViewModel(make_book(store, account=STAFF), items, T, today=lambda: TODAY,
                             deadline_of=plus_days)
    vm.load(case_id)
    assert Status.APPROVED in [a.target for a in vm.actions()] and vm.separation_note() == ""
    assert vm.perform(Status.APPROVED) and vm.case["status"] == "approved"
