"""Case list view-model over a real LocalStore: filters, search, badges, unsynced, paging."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from mobile.services.i18n import Translator
from mobile.store import LocalStore
from mobile.viewmodels.badges import BadgeLevel, deadline_badge
from mobile.viewmodels.case_list import CaseFilter, CaseListViewModel
from mobile.viewmodels.sync import SyncSnapshot, SyncViewModel
from tests.unit.mobile.factories import id_number, make_book, make_case, make_store

T = Translator("zh")
TODAY = date(2026, 11, 24)  # a Tuesday


def make_vm(store: LocalStore, **kw: Any) -> CaseListViewModel:
    return CaseListViewModel(
        store, T, SyncViewModel(T), item_name=lambda code: f"item {code}", today=lambda: TODAY, **kw
    )


def test_filters_split_cases_by_status(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    book = make_book(store)
    make_case(book)
    make_case(book, status="submitted")
    make_case(book, status="accepted")
    make_case(book, status="needs_materials")
    make_case(book, status="result_ready")
    make_case(book, status="delivered")
    vm = make_vm(store)
    counts = {}
    for f in vm.filters:
        if f is CaseFilter.WAITING_SYNC:
            continue
        vm.select(f)
        counts[f] = vm.total
    assert counts == {
        CaseFilter.ALL: 6,
        CaseFilter.DRAFTS: 1,
        CaseFilter.SUBMITTED: 2,
        CaseFilter.NEEDS_MATERIALS: 1,
        CaseFilter.RESULT_READY: 1,
        CaseFilter.FINISHED: 1,
    }
    vm.select(CaseFilter.SUBMITTED)
    assert {r.status_label for r in vm.rows} == {"已提交 Submitted", "已受理 Accepted"}


def test_search_by_name_initials_id_and_tracking_code(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    book = make_book(store)
    number = id_number(457)
    make_case(
        book,
        status="submitted",
        applicant={"name": "李小龙", "id_number": number, "phone": ""},
        tracking_code="K7Q2M9XA4B",
    )
    make_case(book, status="submitted")
    vm = make_vm(store)
    vm.select(CaseFilter.SUBMITTED)
    for text in ("小龙", "lxl", number, number[-6:], "k7q2-m9xa-4b"):
        vm.set_search(text)
        assert [r.name for r in vm.rows] == ["李小龙"], text
    assert vm.rows[0].id_masked == number[:6] + "********" + number[-4:]
    vm.set_search("")
    assert vm.total == 2


def test_search_by_full_pinyin_and_part_of_the_code_as_the_placeholder_promises(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    book = make_book(store)
    make_case(book, status="submitted", applicant={"name": "张德福", "id_number": id_number(11), "phone": ""},
              tracking_code="Q3RT-BW8K-7HNC")
    make_case(book, status="submitted", applicant={"name": "李四", "id_number": id_number(12), "phone": ""},
              tracking_code="K7QM-9XRT-2HNC")

    def changed(seq: int | str) -> list[str]:
        return [row["id"] for row in store.changes(since=seq)["results"]]

    vm = make_vm(store, changed_since=changed)  # nothing pushed yet: both cases wait to sync
    for case_filter in (CaseFilter.ALL, CaseFilter.WAITING_SYNC):  # the store's search and the feed's
        vm.select(case_filter)
        for text in ("zhangdefu", "zhang de fu", "BW8K", "bw8k7h", "zdf"):
            vm.set_search(text)
            assert [r.name for r in vm.rows] == ["张德福"], (case_filter, text)
        vm.set_search("zhangsan")
        assert vm.rows == [], case_filter


def test_deadline_badges_only_while_the_clock_runs(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    book = make_book(store)
    make_case(book, status="accepted", deadline="2026-11-20")
    make_case(book, status="accepted", deadline="2026-11-25")
    make_case(book, status="accepted", deadline="2026-12-10")
    make_case(book, status="needs_materials", deadline="2026-11-20")
    vm = make_vm(store)
    vm.select(CaseFilter.SUBMITTED)
    assert sorted(r.badge.level.value for r in vm.rows) == ["none", "red", "yellow"]
    red = next(r for r in vm.rows if r.badge.level is BadgeLevel.RED)
    assert "红牌" in red.badge.text and "overdue" in red.badge.text


def test_badge_falls_back_to_weekdays_for_unknown_years() -> None:
    from shared.errors import CalendarError
    from shared.text import Message

    def unknown(a: date, b: date) -> int:
        raise CalendarError(Message("无", "none"))

    badge = deadline_badge("accepted", "2031-01-07", date(2031, 1, 6), T, unknown)
    assert badge.level is BadgeLevel.YELLOW


def test_waiting_to_sync_lists_changes_after_the_pushed_sequence(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    book = make_book(store)
    make_case(book, status="submitted")
    pushed = store.info()["update_seq"]
    later = make_case(book, status="submitted")

    def changed(seq: int | str) -> list[str]:
        return [row["id"] for row in store.changes(since=seq)["results"]]

    vm = make_vm(store, pushed_seq=lambda: pushed, changed_since=changed)
    vm.select(CaseFilter.WAITING_SYNC)
    assert [r.case_id for r in vm.rows] == [later["_id"]]
    assert vm.rows[0].unsynced
    assert vm.sync_bar().pending >= 1


def test_paging_loads_more(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    book = make_book(store)
    for _ in range(5):
        make_case(book)
    vm = make_vm(store, page_size=2)
    vm.select(CaseFilter.DRAFTS)
    assert len(vm.rows) == 2 and vm.has_more
    vm.more()
    vm.more()
    assert len(vm.rows) == 5 and not vm.has_more


def test_sync_bar_says_what_happens_in_words() -> None:
    sync = SyncViewModel(T)
    assert "从未同步" in sync.bar().text
    sync.update(SyncSnapshot(online=False, pending=3))
    bar = sync.bar()
    assert bar.level.value == "offline" and "3" in bar.text and "Offline" in bar.text
    sync.update(SyncSnapshot(pending=2))
    assert sync.bar().level.value == "pending" and "2" in sync.bar().text
    sync.update(SyncSnapshot(running=True, progress=0.5, pending=3))
    assert sync.bar().progress == 0.5
    sync.update(SyncSnapshot(error="服务器拒绝 Server refused"))
    assert (sync.bar().head, sync.bar().detail) == ("同步失败 Sync failed", "服务器拒绝 Server refused")
    sync.update(SyncSnapshot(error="服务器拒绝 Server refused", pending=2))
    assert sync.bar().head == "同步失败 Sync failed · 2条待同步 2 to sync"
    assert sync.bar().level.value == "error"


@pytest.mark.usefixtures("device_in_california")
def test_sync_bar_shows_the_last_sync_in_beijing_time() -> None:
    sync = SyncViewModel(T)
    sync.update(SyncSnapshot(last_sync=datetime(2026, 12, 2, 10, 28, tzinfo=UTC)))
    # The time once, after both languages' words; date and hour never split across lines.
    assert sync.bar().text == "上次同步 Last sync 12-02\u00a018:28"
    sync.update(SyncSnapshot(last_sync=datetime(2026, 12, 31, 16, 30, tzinfo=UTC), pending=1))
    assert sync.bar().head.endswith(" 01-01\u00a000:30")  # past midnight in Beijing: the next day


def test_sync_bar_says_the_state_then_what_waits() -> None:
    """Two parts, which the case list shows as two lines beside its sync button."""
    sync = SyncViewModel(T)
    sync.update(SyncSnapshot(last_sync=datetime(2026, 12, 2, 10, 28, tzinfo=UTC)))
    assert sync.bar().detail == ""
    sync.update(SyncSnapshot(pending=4))
    bar = sync.bar()
    assert (bar.head, bar.detail) == ("从未同步 Never synced", "4条待同步 4 to sync")
    assert bar.text == "从未同步 Never synced · 4条待同步 4 to sync"


def test_staff_chips_list_each_filter_once(tmp_path: Path) -> None:
    """Issue 17: 已提交 showed twice in the staff's chips (their first chip and the agents' list)."""
    vm = make_vm(make_store(tmp_path), staff=True)
    assert len(vm.filters) == len(set(vm.filters))
    assert vm.filters[0] is CaseFilter.SUBMITTED
    assert [vm.label(f) for f in vm.filters].count(vm.label(CaseFilter.SUBMITTED)) == 1
    assert CaseFilter.NEEDS_MATERIALS in vm.filters and CaseFilter.ALL in vm.filters
