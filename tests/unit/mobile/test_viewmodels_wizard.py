"""New application wizard: steps, validation messages, checklist, reuse, one-time notice,
signature, submit, and drafts that survive a restart at every step."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from mobile.services.i18n import Translator
from mobile.store import LocalStore
from mobile.sync_plan import village_filter
from mobile.viewmodels.casebook import DocStore
from mobile.viewmodels.catalog_adapter import item_choices
from mobile.viewmodels.wizard import Step, WizardViewModel
from shared.catalog import load_catalog
from tests.unit.mobile.factories import VILLAGE, id_number, make_book, make_store, sample_items
from tests.unit.mobile.images import jpeg_bytes, text_page

T = Translator("zh")
TODAY = date(2026, 11, 24)
STROKES = [[(40.0 + i * 10, 80.0) for i in range(20)], [(140.0, 30.0 + i * 8) for i in range(15)]]


def step_of(vm: WizardViewModel) -> Step:
    """The step now. Read through a call because mypy would keep an `assert vm.step is X`
    narrowing across the calls that change the step, and skip the rest of the test as unreachable."""
    return vm.step


def make_vm(store: DocStore, recent: list[str] | None = None) -> WizardViewModel:
    remembered: list[str] = []
    vm = WizardViewModel(
        make_book(store),
        sample_items(),
        T,
        village=VILLAGE,
        today=lambda: TODAY,
        recent=recent or [],
        remember_item=remembered.append,
        random_bytes=lambda n: bytes(range(n)),
    )
    vm.remembered = remembered  # type: ignore[attr-defined]  # the test's window on remember_item
    return vm


def page() -> bytes:
    return jpeg_bytes(text_page(900, 1200))


def fill_applicant(vm: WizardViewModel, number: str | None = None) -> None:
    vm.set_applicant(name="王秀英", id_number=number or id_number(), phone="13912345678")


def test_whole_flow_to_submit(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    vm = make_vm(store)
    assert not vm.next() and "请先选择事项" in vm.error
    vm.choose_item("pension-enrol")
    assert step_of(vm) is Step.SITUATION
    vm.choose_situation("first")
    assert step_of(vm) is Step.APPLICANT
    fill_applicant(vm)
    assert vm.id_ok and "正确" in vm.id_message
    assert vm.next() and step_of(vm) is Step.MATERIALS
    assert vm.add_scan("id_card", page())
    assert vm.add_scan("hukou", page())
    rows = {r.requirement.code: r for r in vm.material_rows()}
    assert rows["id_card"].received and rows["id_card"].source == "captured"
    assert vm.thumbnail(rows["id_card"].material_id)
    assert [r.code for r in vm.missing] == ["bank_card"]  # the optional photo is not demanded
    assert vm.next() and step_of(vm) is Step.NOTICE
    assert vm.next() and step_of(vm) is Step.SIGNATURE
    assert not vm.next() and "签名" in vm.error
    assert not vm.sign([[(1.0, 1.0), (2.0, 2.0)]], 400, 200) and "太短" in vm.error
    assert vm.sign(STROKES, 400, 200)
    assert vm.next() and step_of(vm) is Step.REVIEW
    summary = dict(vm.summary())
    assert "********" in summary["身份证号 ID number"]
    assert vm.submit() and step_of(vm) is Step.DONE
    assert vm.case is not None
    case = store.get(vm.case["_id"])
    assert case["status"] == "submitted" and case["missing"] == ["bank_card"]
    assert len(case["tracking_code"]) == 14 and case["submitted_at"]
    assert "signature.png" in case["_attachments"]
    assert "applicant.name" in case["meta"]["fields"]
    material = store.get(case["materials"][0]["material_id"])
    assert material["division"]["village"] == VILLAGE and material["owner_hash"] != id_number()
    # The headless sync's village filter (the same code the app syncs with) sends it along.
    assert village_filter(store, f"ot-v-{VILLAGE}")(material)
    kinds = [e["kind"] for e in vm.book.events(case["_id"])]
    assert kinds == ["created", "submitted"]
    assert vm.remembered == ["pension-enrol"]  # type: ignore[attr-defined]


def test_id_number_messages_say_which_part_is_wrong(tmp_path: Path) -> None:
    vm = make_vm(make_store(tmp_path))
    vm.choose_item("old-age-allowance")
    assert step_of(vm) is Step.APPLICANT  # one situation: chosen for the agent
    good = id_number()
    vm.set_applicant(name="王秀英", id_number=good[:10])
    assert not vm.id_ok and "18" in vm.id_message
    wrong_check = good[:17] + ("0" if good[17] != "0" else "1")
    vm.set_applicant(id_number=wrong_check)
    assert not vm.id_ok and "第18位校验码" in vm.id_message and "check character" in vm.id_message
    assert not vm.next()
    vm.set_applicant(id_number=good[:6] + "20991301" + good[14:])
    assert not vm.id_ok and "出生日期" in vm.id_message
    vm.set_applicant(id_number=good.lower(), phone="123")
    assert vm.id_ok
    assert not vm.next() and "11" in vm.error
    vm.set_applicant(phone="")
    assert vm.next()


def test_blurred_photo_warns_and_retake_replaces(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    vm = make_vm(store)
    vm.choose_item("old-age-allowance")
    fill_applicant(vm)
    vm.next()
    assert vm.add_scan("id_card", jpeg_bytes(text_page(blur=5)))
    first = next(r for r in vm.material_rows() if r.requirement.code == "id_card")
    assert first.blurry
    assert vm.add_scan("id_card", page())
    second = next(r for r in vm.material_rows() if r.requirement.code == "id_card")
    assert not second.blurry and second.material_id != first.material_id
    # The case now points at the retake; the blurred capture stays an unreferenced material
    # (materials are immutable, a deletion would be refused by the gateway: ADR 0064).
    assert vm.case is not None
    assert [m["material_id"] for m in vm.case["materials"]] == [second.material_id]
    assert not vm.add_scan("bank_card", b"not a picture")
    row = next(r for r in vm.material_rows() if r.requirement.code == "bank_card")
    assert not row.received and "图片" in row.error


def test_known_citizen_materials_are_offered_for_reuse(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    first = make_vm(store)
    first.choose_item("old-age-allowance")
    fill_applicant(first)
    first.next()
    first.add_scan("id_card", page())
    first.next()
    first.next()
    first.sign(STROKES, 400, 200)
    first.next()
    first.submit()
    second = make_vm(store)
    second.choose_item("pension-enrol")
    second.choose_situation("transfer")
    fill_applicant(second)
    assert "1" in second.id_message and "复用" in second.id_message
    second.next()
    rows = {r.requirement.code: r for r in second.material_rows()}
    assert rows["id_card"].reusable and not rows["hukou"].reusable
    second.reuse("id_card")
    rows = {r.requirement.code: r for r in second.material_rows()}
    assert rows["id_card"].received and rows["id_card"].source == "reused"
    assert store.count_docs("material") == 1


def test_draft_survives_restart_at_every_step(tmp_path: Path) -> None:
    path = tmp_path / "agent.sqlite"
    vm = make_vm(LocalStore(path))
    vm.choose_item("pension-enrol")
    assert vm.case is not None
    case_id = vm.case["_id"]

    def reopened() -> WizardViewModel:
        again = make_vm(LocalStore(path))
        again.resume(case_id)
        return again

    assert reopened().step is Step.SITUATION
    vm.choose_situation("first")
    vm.set_applicant(name="王秀英")
    assert reopened().step is Step.APPLICANT
    vm.set_applicant(id_number=id_number())
    again = reopened()
    assert step_of(again) is Step.MATERIALS and again.applicant["name"] == "王秀英" and again.id_ok
    vm.next()
    vm.add_scan("id_card", page())
    assert reopened().material_rows()[0].received
    vm.next()
    vm.next()
    vm.sign(STROKES, 400, 200)
    assert reopened().step is Step.REVIEW


def test_changing_the_item_resets_situation_and_materials(tmp_path: Path) -> None:
    vm = make_vm(make_store(tmp_path))
    vm.choose_item("pension-enrol")
    vm.choose_situation("transfer")
    vm.back()
    vm.back()
    assert step_of(vm) is Step.ITEM
    vm.choose_item("old-age-allowance")
    assert vm.situation is not None and vm.situation.code == "default"


def test_item_search_categories_and_recent(tmp_path: Path) -> None:
    vm = make_vm(make_store(tmp_path), recent=["old-age-allowance", "gone"])
    assert [i.code for i in vm.recent_items()] == ["old-age-allowance"]
    vm.search = "养老"
    assert [i.code for i in vm.visible_items()] == ["pension-enrol"]
    vm.search = "gljt"  # pinyin initials of 高龄津贴
    assert [i.code for i in vm.visible_items()] == ["old-age-allowance"]
    vm.search = "allowance"
    assert len(vm.visible_items()) == 1
    vm.search = "gaoling"  # full pinyin, as typed on a phone keyboard
    assert [i.code for i in vm.visible_items()] == ["old-age-allowance"]
    vm.search = "Gao Ling Jin"
    assert [i.code for i in vm.visible_items()] == ["old-age-allowance"]
    vm.search = ""
    vm.category = vm.categories[0]
    assert [i.code for i in vm.visible_items()] == ["pension-enrol"]


def test_applicant_problem_names_the_field_the_error_shows_under(tmp_path: Path) -> None:
    vm = make_vm(make_store(tmp_path))
    vm.choose_item("old-age-allowance")
    good = id_number()
    vm.set_applicant(name="", id_number=good)
    assert not vm.next() and vm.applicant_problem() == ("name", vm.error)
    vm.set_applicant(name="王秀英", id_number=good[:10])
    assert not vm.next() and vm.applicant_problem() == ("id_number", vm.error) and "18" in vm.error
    vm.set_applicant(id_number=good, phone="123")
    assert not vm.next() and vm.applicant_problem() == ("phone", vm.error)
    vm.set_applicant(phone="13912345678")
    assert vm.applicant_problem() == ("", "") and vm.next()


def test_item_facts_show_conditions_fee_and_legal_basis_from_the_seed_catalog() -> None:
    seed = Path(__file__).resolve().parents[3] / "assets" / "catalog" / "seed.json"
    items = {i.code: i for i in item_choices(load_catalog(seed.read_text(encoding="utf-8")))}
    facts = dict(items["JZ-001"].facts(T))
    assert "人均收入低于当地最低生活保障标准" in facts["受理条件 Conditions"]
    assert "below the local minimum living standard" in facts["受理条件 Conditions"]
    assert facts["收费 Fee"] == "免费 Free"
    assert facts["设定依据 Legal basis"].splitlines() == ["《社会救助暂行办法》（国务院令第649号）",
                                                      "《最低生活保障审核确认办法》（民发〔2021〕57号）"]
    assert items["LN-002"].separate_intake_approval is False and items["JZ-001"].separate_intake_approval
