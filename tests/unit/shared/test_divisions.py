"""Division codes, the registry and village database names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.divisions import (
    Division,
    DivisionRegistry,
    Level,
    ancestors,
    division_level,
    is_division_code,
    is_within,
    parent_division,
    validate_division_code,
    village_db_name,
    village_of_db,
)
from shared.errors import DivisionError

ASSETS = Path(__file__).resolve().parents[3] / "assets"


@pytest.mark.parametrize(
    ("code", "level", "parent", "ancestry"),
    [
        ("330212", Level.COUNTY, None, ()),
        ("330212001", Level.TOWNSHIP, "330212", ("330212",)),
        ("330212001001", Level.VILLAGE, "330212001", ("330212", "330212001")),
        ("110105", Level.COUNTY, None, ()),
        ("441900003", Level.TOWNSHIP, "441900", ("441900",)),  # 东莞: towns directly under the city
        ("820001", Level.COUNTY, None, ()),
    ],
)
def test_levels_and_parents(code: str, level: Level, parent: str | None, ancestry: tuple[str, ...]) -> None:
    assert validate_division_code(code) == code
    assert division_level(code) is level
    assert parent_division(code) == parent
    assert ancestors(code) == ancestry


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("", "数字"),
        ("33021a", "数字"),
        ("３３０２１２", "数字"),  # full-width digits are not ASCII digits
        ("3302120", "6、9 或 12 位"),
        ("33021200100", "6、9 或 12 位"),
        ("990212", "省级代码"),
        ("000000", "省级代码"),
        ("330212000", "乡镇级代码不能是 000"),
        ("330212001000", "村级代码不能是 000"),
        ("330212000001", "乡镇级代码不能是 000"),
    ],
)
def test_invalid_codes(code: str, fragment: str) -> None:
    with pytest.raises(DivisionError) as caught:
        validate_division_code(code)
    assert fragment in caught.value.message.zh and caught.value.message.en
    assert not is_division_code(code)


@pytest.mark.parametrize(
    ("child", "parent", "inside"),
    [
        ("330212001001", "330212001", True),
        ("330212001001", "330212", True),
        ("330212001", "330212", True),
        ("330212001", "330212001", True),
        ("330212001001", "330212001001", True),
        ("330212001001", "330212002", False),
        ("330212002001", "330212001", False),
        ("330212", "330212001", False),
        ("330213001001", "330212", False),
    ],
)
def test_is_within(child: str, parent: str, inside: bool) -> None:
    assert is_within(child, parent) is inside


def test_is_within_refuses_bad_codes() -> None:
    with pytest.raises(DivisionError):
        is_within("330212001001", "3302")


@pytest.mark.parametrize(
    ("code", "db"), [("330212001001", "ot-v-330212001001"), ("110105002003", "ot-v-110105002003")]
)
def test_village_db_name_round_trip(code: str, db: str) -> None:
    assert village_db_name(code) == db
    assert village_of_db(db) == code


@pytest.mark.parametrize("code", ["330212", "330212001", "nope"])
def test_only_villages_have_databases(code: str) -> None:
    with pytest.raises(DivisionError):
        village_db_name(code)


@pytest.mark.parametrize(
    "name",
    ["ot-catalog", "ot-v-", "ot-v-330212001", "ot-v-330212001001x", "v-330212001001", "ot-v-990212001001"],
)
def test_other_databases_are_not_villages(name: str) -> None:
    with pytest.raises(DivisionError):
        village_of_db(name)


def test_demo_registry_from_asset() -> None:
    data = json.loads((ASSETS / "divisions.json").read_text(encoding="utf-8"))
    assert data["demo"] is True
    registry = DivisionRegistry.from_json(data)
    assert len(registry) == 5
    assert registry.get("330212").name_zh == "鄞州区(示例)"
    assert [d.code for d in registry.children("330212")] == ["330212001"]
    assert [d.code for d in registry.children("330212001")] == [
        "330212001001",
        "330212001002",
        "330212001003",
    ]
    assert registry.children("330212001001") == ()
    assert [d.code for d in registry.villages_within("330212")] == [
        "330212001001",
        "330212001002",
        "330212001003",
    ]
    assert all(d.name_en.endswith("(demo)") for d in registry)
    assert DivisionRegistry.from_json(registry.to_json()).to_json() == registry.to_json()
    assert "330212001002" in registry and "330212001009" not in registry
    with pytest.raises(DivisionError):
        registry.get("330212001009")


def test_with_division_adds_and_renames() -> None:
    registry = DivisionRegistry([Division("330212", "鄞州区", "Yinzhou")])
    grown = registry.with_division(Division("330212002", "新镇", "New Town"))
    renamed = grown.with_division(Division("330212", "鄞州", "Yinzhou"))
    assert len(registry) == 1 and len(renamed) == 2
    assert renamed.get("330212").name_zh == "鄞州"
    assert renamed.get("330212002").level is Level.TOWNSHIP
    assert renamed.get("330212002").parent == "330212"


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ([], "divisions"),
        ({"divisions": {}}, "divisions"),
        ({"divisions": ["330212"]}, "不是对象"),
        ({"divisions": [{"code": "330212"}]}, "中文名称"),
        ({"divisions": [{"code": "330212", "name_zh": "  "}]}, "中文名称"),
        ({"divisions": [{"code": 330212, "name_zh": "鄞州"}]}, "中文名称"),
        ({"divisions": [{"code": "33021", "name_zh": "鄞州"}]}, "6、9 或 12 位"),
        (
            {"divisions": [{"code": "330212", "name_zh": "甲"}, {"code": "330212", "name_zh": "乙"}]},
            "重复",
        ),
    ],
)
def test_bad_registry_data(data: object, fragment: str) -> None:
    with pytest.raises(DivisionError) as caught:
        DivisionRegistry.from_json(data)
    assert fragment in caught.value.message.zh
