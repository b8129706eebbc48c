"""Service catalog: the seed catalog, round trips, and broken files with line-precise errors."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from shared.catalog import (
    Complexity,
    MaterialForm,
    MaterialKind,
    catalog_from_docs,
    catalog_to_docs,
    catalog_to_json,
    item_doc_id,
    load_catalog,
)
from shared.divisions import Level
from shared.errors import CatalogError
from shared.jsonpos import line_of, locate

SEED = Path(__file__).resolve().parents[3] / "assets" / "catalog" / "seed.json"


@pytest.fixture(scope="module")
def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


def test_seed_catalog_is_valid_and_complete(seed_text: str) -> None:
    catalog = load_catalog(seed_text, source="seed.json")
    assert 18 <= len(catalog.items) <= 25
    assert len({i.code for i in catalog.items}) == len(catalog.items)
    assert {i.level for i in catalog.items} == {Level.VILLAGE, Level.TOWNSHIP, Level.COUNTY}
    for item in catalog.items:
        assert re.fullmatch(r"[A-Z]{2}-\d{3}", item.code) and item.code.startswith(item.category)
        assert item.name_zh and item.name_en and item.legal_basis and item.fee_zh and item.fee_en
        assert item.conditions_zh and item.conditions_en
        assert item.time_limit_days >= 1
        for situation in item.situations:
            assert situation.materials and situation.name_en
            assert all(m.name_en for m in situation.materials)
    names = " ".join(i.name_zh for i in catalog.items)
    for expected in (
        "养老保险",
        "医疗保险",
        "最低生活保障",
        "临时救助",
        "残疾人证",
        "高龄津贴",
        "生育登记",
        "宅基地",
    ):
        assert expected in names
    kinds = {m.kind for i in catalog.items for m in i.materials if m.kind}
    assert {"id_card", "hukou", "bank_card"} <= kinds


def test_seed_lookups(seed_text: str) -> None:
    catalog = load_catalog(seed_text)
    dibao = catalog.item("JZ-001")
    assert dibao.complexity is Complexity.COMPLEX and dibao.time_limit_days == 30
    first = dibao.situation("first")
    assert first.material("id_card").kind == "id_card"
    assert "hardship_proof" not in first.required_codes  # optional material
    assert catalog.kind("photo").valid_months == 6
    assert catalog.item("SB-001").time_limit_days == 3  # ordinary default
    assert catalog.item("JZ-002").time_limit_days == 7  # complex default
    assert all(i.level is Level.VILLAGE for i in catalog.items_at("village"))
    with pytest.raises(KeyError):
        catalog.item("XX-999")
    with pytest.raises(KeyError):
        dibao.situation("nope")


def test_round_trips(seed_text: str) -> None:
    catalog = load_catalog(seed_text)
    assert load_catalog(json.dumps(catalog_to_json(catalog), ensure_ascii=False)) == catalog
    docs = catalog_to_docs(catalog)
    assert (
        docs[0]["_id"] == "catalog" and docs[1]["_id"] == item_doc_id(catalog.items[0].code) == "item:SB-001"
    )
    assert all(d["type"] in ("catalog", "item") for d in docs)
    # As read back from CouchDB: sorted by id, with revisions, a design doc and a deleted item.
    stored = sorted(({"_rev": "1-abc"} | d for d in docs), key=lambda d: d["_id"])
    stored += [{"_id": "_design/x", "views": {}}, {"_id": "item:ZZ-001", "_deleted": True}]
    assert catalog_from_docs(stored) == catalog


def test_broken_docs_are_reported_with_the_source(seed_text: str) -> None:
    docs = catalog_to_docs(load_catalog(seed_text))
    docs[2] = docs[2] | {"level": "province"}
    docs[0] = docs[0] | {"version": ""}
    with pytest.raises(CatalogError) as caught:
        catalog_from_docs(docs)
    first, second = caught.value.entries
    assert first.startswith("ot-catalog/catalog: ") and "version" in first
    assert second.startswith("ot-catalog/item:SB-002: ") and "province" in second


def test_docs_without_a_head_are_reported() -> None:
    with pytest.raises(CatalogError) as caught:
        catalog_from_docs([])
    assert any(e.startswith("ot-catalog/catalog: ") and "items" in e for e in caught.value.entries)


def base() -> dict[str, Any]:
    return {
        "format": 1,
        "version": "test",
        "categories": [{"code": "SB", "name_zh": "社会保险", "name_en": "Social insurance"}],
        "material_kinds": [{"code": "id_card", "name_zh": "居民身份证", "name_en": "ID card"}],
        "items": [
            {
                "code": "SB-001",
                "name_zh": "参保登记",
                "name_en": "Enrolment",
                "category": "SB",
                "level": "village",
                "legal_basis": ["《中华人民共和国社会保险法》"],
                "materials": [
                    {"code": "id_card", "name_zh": "身份证", "name_en": "ID card", "kind": "id_card"},
                    {"code": "form", "name_zh": "登记表", "name_en": "Form", "form": "original"},
                ],
                "situations": [
                    {
                        "code": "self",
                        "name_zh": "本人申请",
                        "name_en": "In person",
                        "materials": ["id_card", "form"],
                    }
                ],
            },
            {
                "code": "SB-002",
                "name_zh": "待遇领取",
                "name_en": "Pension claim",
                "category": "SB",
                "level": "township",
                "complexity": "complex",
                "legal_basis": ["《中华人民共和国社会保险法》"],
                "materials": [{"code": "id_card", "name_zh": "身份证", "name_en": "ID card", "copies": 2}],
                "situations": [{"code": "self", "name_zh": "本人申请", "materials": ["id_card"]}],
            },
        ],
    }


def test_minimal_catalog_and_defaults() -> None:
    catalog = load_catalog(json.dumps(base(), ensure_ascii=False, indent=2))
    one, two = catalog.items
    assert one.time_limit_days == 3 and two.time_limit_days == 7
    assert one.fee_zh == "免费" and one.fee_en == "Free"
    material = one.situation("self").material("id_card")
    assert (material.copies, material.form, material.required) == (1, MaterialForm.ORIGINAL, True)
    assert two.situation("self").materials[0].copies == 2


def test_separation_of_intake_and_approval_is_on_unless_switched_off_and_round_trips() -> None:
    data = base()
    one, two = load_catalog(json.dumps(data, ensure_ascii=False)).items
    assert (one.separate_intake_approval, two.separate_intake_approval) == (True, True)
    data["items"][0]["separate_intake_approval"] = False
    catalog = load_catalog(json.dumps(data, ensure_ascii=False))
    assert catalog.item("SB-001").separate_intake_approval is False
    assert catalog_to_json(catalog)["items"][0]["separate_intake_approval"] is False
    assert catalog_from_docs(catalog_to_docs(catalog)) == catalog


def test_only_the_on_the_spot_senior_card_lets_its_acceptor_decide(seed_text: str) -> None:
    relaxed = [i.code for i in load_catalog(seed_text).items if not i.separate_intake_approval]
    assert relaxed == ["LN-002"]


Mutation = Callable[[dict[str, Any]], None]


def item(n: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda data: data["items"][n]


def setter(path: Callable[[dict[str, Any]], dict[str, Any]], key: str, value: Any) -> Mutation:
    return lambda data: path(data).__setitem__(key, value)


def situation(data: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = data["items"][0]["situations"][0]
    return result


def material(data: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = data["items"][0]["materials"][0]
    return result


def add_situation(data: dict[str, Any]) -> None:
    data["items"][0]["situations"].append({"code": "self", "name_zh": "重复情形", "materials": ["form"]})


def drop_name(data: dict[str, Any]) -> None:
    del data["items"][1]["name_zh"]


# (name, mutation, marker, fragment): the error is expected on the line where the marker regex
# first matches (where its group 1 starts, when it has one).
BROKEN: list[tuple[str, Mutation, str, str]] = [
    (
        "duplicate item code",
        setter(item(1), "code", "SB-001"),
        r'("code": "SB-001"),\s*"name_zh": "待遇领取"',
        "事项代码重复：SB-001",
    ),
    ("situation without materials", setter(situation, "materials", []), r'"materials": \[\]', "至少 1 项"),
    ("invalid level", setter(item(0), "level", "city"), '"level": "city"', "level 的取值无效"),
    ("zero time limit", setter(item(0), "time_limit_days", 0), '"time_limit_days": 0', "正整数"),
    ("text time limit", setter(item(0), "time_limit_days", "3"), '"time_limit_days": "3"', "正整数"),
    ("boolean time limit", setter(item(1), "time_limit_days", True), '"time_limit_days": true', "正整数"),
    ("empty zh name", setter(item(0), "name_zh", " "), '"name_zh": " "', "name_zh"),
    ("unknown field", setter(item(0), "time_limt_days", 3), '"time_limt_days"', "未知字段"),
    ("undefined category", setter(item(0), "category", "QQ"), '"category": "QQ"', "未定义的类别"),
    ("code outside its category", setter(item(0), "code", "JZ-001"), '"code": "JZ-001"', "应以类别 SB- 开头"),
    ("malformed item code", setter(item(0), "code", "SB1"), '"code": "SB1"', "事项 item 代码无效"),
    ("undefined material", setter(situation, "materials", ["id_card", "photo"]), '"photo"', "未定义的材料"),
    (
        "material listed twice",
        setter(situation, "materials", ["id_card", "id_card", "form"]),
        r'"id_card",\s*("id_card")',
        "重复",
    ),
    ("unused material", setter(situation, "materials", ["id_card"]), '"code": "form"', "未被任何情形使用"),
    ("undefined kind", setter(material, "kind", "passport"), '"kind": "passport"', "未定义的材料类型"),
    ("bad material code", setter(material, "code", "ID Card"), '"code": "ID Card"', "材料 material 代码无效"),
    ("zero copies", setter(material, "copies", 0), '"copies": 0', "正整数"),
    ("bad form", setter(material, "form", "scan"), '"form": "scan"', "form 的取值无效"),
    ("non-boolean required", setter(material, "required", "yes"), '"required": "yes"', "true 或 false"),
    (
        "non-boolean separation",
        setter(item(0), "separate_intake_approval", "yes"),
        '"separate_intake_approval": "yes"',
        "separate_intake_approval 应为 true 或 false",
    ),
    ("duplicate situation", add_situation, r'("code": "self"),\s*"name_zh": "重复情形"', "情形代码重复"),
    ("missing zh name", drop_name, r'(\{)\s*"code": "SB-002"', "name_zh"),
    ("empty legal basis", setter(item(1), "legal_basis", []), r'"legal_basis": \[\]', "legal_basis"),
    ("blank legal basis", setter(item(1), "legal_basis", [""]), r'"legal_basis": \[\s*("")', "设定依据"),
    ("wrong format", lambda d: d.__setitem__("format", 2), '"format": 2', "format 应为 1"),
    ("no items", lambda d: d.__setitem__("items", []), r'"items": \[\]', "items"),
    ("item not an object", lambda d: d["items"].__setitem__(1, "SB-002"), '"SB-002"', "应为对象"),
]


@pytest.mark.parametrize(("name", "mutate", "marker", "fragment"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_catalog_names_file_and_line(name: str, mutate: Mutation, marker: str, fragment: str) -> None:
    data = copy.deepcopy(base())
    mutate(data)
    text = json.dumps(data, ensure_ascii=False, indent=2)
    match = re.search(marker, text)
    assert match, marker
    start = match.start(1) if match.re.groups else match.start()
    line = text[:start].count("\n") + 1
    with pytest.raises(CatalogError) as caught:
        load_catalog(text, source="broken.json")
    entries = caught.value.entries
    assert any(e.startswith(f"broken.json:{line}: ") and fragment in e for e in entries), entries
    assert all(" / " in e for e in entries)  # Chinese / English


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('{\n  "format": 1,\n  "items": [\n    {"code": "SB-001",}\n  ]\n}', 4),
        ('{\n  "format": 1\n  "items": []\n}', 3),
        ("", 1),
    ],
)
def test_json_syntax_error_gives_the_line(text: str, line: int) -> None:
    with pytest.raises(CatalogError) as caught:
        load_catalog(text, source="bad.json")
    assert caught.value.entries[0].startswith(f"bad.json:{line}: JSON 语法错误")


def test_all_problems_are_reported_at_once_in_line_order() -> None:
    data = base()
    data["items"][0]["level"] = "city"
    data["items"][1]["time_limit_days"] = -1
    data["items"][1]["code"] = "SB-001"
    text = json.dumps(data, ensure_ascii=False, indent=2)
    with pytest.raises(CatalogError) as caught:
        load_catalog(text, source="c.json")
    lines = [int(e.split(":")[1]) for e in caught.value.entries]
    assert len(lines) == 3 and lines == sorted(lines)
    assert str(caught.value).startswith("事项目录有 3 处错误")


@pytest.mark.parametrize(
    ("months", "captured", "until"),
    [
        (None, "2026-03-15", None),
        (6, "2026-03-15", "2026-09-15"),
        (6, "2026-08-31", "2027-02-28"),
        (6, "2027-08-31", "2028-02-29"),
        (12, "2026-12-01", "2027-12-01"),
        (1, "2026-12-31", "2027-01-31"),
    ],
)
def test_material_kind_validity(months: int | None, captured: str, until: str | None) -> None:
    kind = MaterialKind("photo", "照片", "Photo", months)
    expected = date.fromisoformat(until) if until else None
    assert kind.valid_until(date.fromisoformat(captured)) == expected


@pytest.mark.parametrize(
    ("text", "path", "line"),
    [
        ('{"a": 1}', ("a",), 1),
        ('{\n "a": [\n  1,\n  {"b": "x\\"\\n"}\n ],\n "c": {}\n}', ("a", 1, "b"), 4),
        ('{\n "a": [\n  1,\n  {"b": "x\\"\\n"}\n ],\n "c": {}\n}', ("c",), 6),
        ("[\n true,\n null,\n -1.5e3\n]", (2,), 4),
        ('{\n "a": {\n }\n}', ("a", "missing"), 2),  # nearest recorded ancestor
    ],
)
def test_json_positions(text: str, path: tuple[str | int, ...], line: int) -> None:
    assert line_of(locate(text), path) == line
