"""Names, not codes: people, villages, databases and roles as a person reads them (issue 17)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import httpx

from mobile.config import ASSETS_DIR, load_config
from mobile.services.device_state import DeviceState, DeviceStateFile, pairs
from mobile.services.i18n import Translator
from mobile.services.staff_api import StaffApi
from mobile.viewmodels.case_detail import CaseDetailViewModel
from mobile.viewmodels.context import AppContext
from mobile.viewmodels.names import Names, shipped_places
from mobile.viewmodels.staff import ReviewsViewModel, SupervisionViewModel
from shared.ids import new_tracking_code
from tests.unit.mobile.factories import make_book, make_case, make_store, sample_items
from tests.unit.mobile.fakes import AGENT, STAFF, FakeAuth

T = Translator("zh")
SHIPPED = shipped_places(ASSETS_DIR / "divisions.json")
DIRECTORY = replace(
    STAFF,
    people=(("agent1", "李晓燕"), ("staff1", "王站长")),
    places=(("330212001001", "青山村"), ("330212001009", "新村")),
)


def test_people_places_databases_and_roles_by_name() -> None:
    names = Names(T, DIRECTORY, SHIPPED)
    assert names.person("agent1") == "李晓燕"
    assert names.person("stranger") == "stranger"  # unknown: as stored, never hidden
    assert names.role("village_agent") == "村代办员 Village agent"
    assert names.role("township_staff") == "乡镇工作人员 Township staff"
    assert names.role("county_operator") == "县级操作员 County operator"
    assert names.place("330212001009") == "新村"  # the server's directory
    assert names.place("330212001002") == "白水村(示例)"  # the shipped divisions file
    assert names.place("330212001001") == "青山村"  # the server's name wins over the file's
    assert names.database("ot-v-330212001002") == "白水村(示例)"
    assert names.database("ot-catalog") == "事项目录 Service catalog"
    assert names.person_with_role("agent1", "village_agent") == "李晓燕 · 村代办员 Village agent"


def test_the_signed_in_users_own_name_without_a_directory() -> None:
    names = Names(Translator("en"), AGENT, {})
    assert names.person("agent1") == "李代办"
    assert names.role("village_agent") == "Village agent"


def test_the_directory_survives_a_restart(tmp_path: Path) -> None:
    file = DeviceStateFile(tmp_path)
    file.save(DeviceState(device_id="dev-1", account=DIRECTORY))
    assert file.load().account == DIRECTORY
    assert pairs({"b": "乙", "a": "甲", "c": " "}) == (("a", "甲"), ("b", "乙"))  # no blank names


# `lambda: None` for the date and for the staff API below: these tests check names only, and
# the supervision ones set `vm.data` themselves instead of asking the server.


def test_timeline_says_who_by_name_and_role(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    case = make_case(make_book(store), status="submitted", situation="first")
    book = make_book(store, account=STAFF)
    vm = CaseDetailViewModel(
        book, sample_items(), T, today=lambda: None, deadline_of=lambda d, n: d,  # type: ignore[arg-type,return-value]
        names=Names(T, DIRECTORY, SHIPPED),
    )
    vm.load(case["_id"])
    assert vm.timeline()[0].who == "李晓燕 · 村代办员 Village agent"
    assert all("agent1" not in row.who and "village_agent" not in row.who for row in vm.timeline())


def test_supervision_names_villages_and_people() -> None:
    vm = SupervisionViewModel(lambda: None, "330212001", names=Names(T, DIRECTORY, SHIPPED))  # type: ignore[arg-type,return-value]
    vm.data = {
        "overdue": [], "due_soon": [], "satisfaction": {},
        "villages": {"330212001001": {"overdue": 1, "due_soon": 0, "open": 2}},
        "staff": {"agent1": {"overdue": 0, "due_soon": 1, "finished": 3}},
    }
    labels = [label for label, _ in vm.lines()]
    assert "村 Village 青山村" in labels and "人员 Staff 李晓燕" in labels
    assert not any("330212001001" in label or "agent1" in label for label in labels)



def test_supervision_cases_name_their_village_and_status() -> None:
    vm = SupervisionViewModel(lambda: None, "330212001", names=Names(T, DIRECTORY, SHIPPED))  # type: ignore[arg-type,return-value]
    case = {"case_id": "case:RED00001", "village": "330212001001", "state": "open", "card": "red",
            "item_code": "SB-001", "status": "accepted", "deadline": "2026-11-20"}
    vm.data = {"cases": [case]}
    (red,) = vm.drill("red")
    assert "村 Village 青山村" in red.note and T("status_accepted") in red.note
    assert "330212001001" not in red.note and "· accepted" not in red.note


async def test_conflict_versions_name_who_sent_them() -> None:
    review = {"case_id": "case:C1", "database": "ot-v-330212001001", "village": "330212001001",
              "fields": {"applicant.name": ["张三", "张山"]},
              "sources": {"applicant.name": [{"by": "staff1", "pushed_from": "phone-a"},
                                             {"by": "stranger", "pushed_from": "phone-b"}]}}

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"township": "330212001", "reviews": [review]})

    api = StaffApi("http://server", "tok", httpx.MockTransport(handle))
    vm = ReviewsViewModel(lambda: api, "330212001", T, names=Names(T, DIRECTORY, SHIPPED))
    await vm.load()
    (name,) = vm.choices(vm.reviews[0])
    assert name.sources[0].startswith("王站长\n设备 Device phone-a")  # the name, not the login
    assert name.sources[1].startswith("stranger\n")  # no name known: the login, never hidden

async def test_a_receipt_names_the_agent_who_took_the_application(tmp_path: Path) -> None:
    """Opened again by the township staff, the receipt still names the agent the citizen met,
    by name (not agent1, nor the staff member who opened it)."""
    config = replace(load_config(environ={}), data_dir=tmp_path, server_url="http://127.0.0.1:9")
    ctx = AppContext(config, auth=FakeAuth(account=DIRECTORY))
    ctx.session.username, ctx.session.password = "staff1", "secret-pw"
    assert await ctx.session.sign_in()
    agent_book = make_book(ctx.store)  # agent1's phone, replicated here
    case = make_case(agent_book, item_code="SB-001", situation="self", status="submitted",
                     tracking_code=new_tracking_code(bytes(16)))
    agent_book.add_event(case, "submitted", {"tracking_code": case["tracking_code"]})
    assert ctx.receipt(case["_id"]).data().agent == "李晓燕"
