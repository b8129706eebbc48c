"""Administrative divisions (行政区划) by their statistical codes (统计用区划代码).

A county is 6 digits (`330212`), a township the county plus 3 (`330212001`), a village
the township plus 3 (`330212001001`). The first two digits are the province. A
`DivisionRegistry` is built from parsed JSON the caller read, in the format of
`assets/divisions.json`::

    {"divisions": [{"code": "330212", "name_zh": "…", "name_en": "…"}, …]}

Each village has one CouchDB database, `ot-v-<12-digit code>`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from shared.errors import DivisionError
from shared.text import Message


class Level(StrEnum):
    """Level of a division, and the handling level of a service item (办理层级)."""

    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"


_LENGTHS: Final = {6: Level.COUNTY, 9: Level.TOWNSHIP, 12: Level.VILLAGE}

# Province-level codes of GB/T 2260, plus 81/82 (Hong Kong, Macao) and 83 (Taiwan), which
# residence permits for their residents use in GB 11643 numbers.
PROVINCES: Final = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46}
    | {50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83}
)

DB_PREFIX: Final = "ot-v-"
_DIGITS: Final = re.compile(r"[0-9]+")


def _fail(zh: str, en: str) -> DivisionError:
    return DivisionError(Message(zh, en))


def validate_division_code(code: str) -> str:
    """Return `code` when it is a well-formed county, township or village code; else raise."""
    if not _DIGITS.fullmatch(code):
        raise _fail(f"区划代码只能由数字组成：{code!r}", f"A division code has digits only: {code!r}")
    if len(code) not in _LENGTHS:
        raise _fail(
            f"区划代码应为 6、9 或 12 位（县、乡镇、村），现为 {len(code)} 位：{code}",
            f"A division code has 6, 9 or 12 digits (county, township, village), not {len(code)}: {code}",
        )
    if int(code[:2]) not in PROVINCES:
        raise _fail(
            f"区划代码的省级代码 {code[:2]} 不存在：{code}", f"No province has code {code[:2]}: {code}"
        )
    # No "county part must not end in 00" rule: cities without counties (东莞 441900, 中山 442000)
    # have townships directly under a code ending in 00.
    for start, zh, en in ((6, "乡镇", "township"), (9, "村", "village")):
        if len(code) > start and code[start : start + 3] == "000":
            raise _fail(f"{zh}级代码不能是 000：{code}", f"The {en} part cannot be 000: {code}")
    return code


def is_division_code(code: str) -> bool:
    """True when `code` is a well-formed division code."""
    try:
        validate_division_code(code)
    except DivisionError:
        return False
    return True


def division_level(code: str) -> Level:
    """County, township or village, from the code's length."""
    return _LENGTHS[len(validate_division_code(code))]


def parent_division(code: str) -> str | None:
    """The township of a village, the county of a township; None for a county."""
    validate_division_code(code)
    return None if len(code) == 6 else code[: len(code) - 3]


def ancestors(code: str) -> tuple[str, ...]:
    """The divisions containing `code`, county first (`("330212", "330212001")` for a village)."""
    validate_division_code(code)
    return tuple(code[:n] for n in (6, 9) if n < len(code))


def is_within(child: str, parent: str) -> bool:
    """True when `child` is `parent` or lies inside it (a village in its township or county)."""
    validate_division_code(child)
    validate_division_code(parent)
    return child.startswith(parent)


def village_db_name(code: str) -> str:
    """The CouchDB database of a village: `ot-v-<12-digit code>`."""
    if division_level(code) is not Level.VILLAGE:
        raise _fail(f"只有村才有自己的数据库：{code}", f"Only a village has a database of its own: {code}")
    return DB_PREFIX + code


def village_of_db(name: str) -> str:
    """The village code of a database named `ot-v-<code>`; raise for any other name."""
    code = name[len(DB_PREFIX) :] if name.startswith(DB_PREFIX) else ""
    if not code or not is_division_code(code) or len(code) != 12:
        raise _fail(f"不是村数据库的名称：{name!r}", f"Not a village database name: {name!r}")
    return code


@dataclass(frozen=True)
class Division:
    """One division with its names."""

    code: str
    name_zh: str
    name_en: str

    @property
    def level(self) -> Level:
        return _LENGTHS[len(self.code)]

    @property
    def parent(self) -> str | None:
        return None if len(self.code) == 6 else self.code[: len(self.code) - 3]


class DivisionRegistry:
    """The divisions the system serves, with children lookup. Immutable once built."""

    def __init__(self, divisions: Iterable[Division]) -> None:
        by_code: dict[str, Division] = {}
        for division in divisions:
            validate_division_code(division.code)
            if division.code in by_code:
                raise _fail(f"区划代码重复：{division.code}", f"Division code listed twice: {division.code}")
            by_code[division.code] = division
        self._by_code: Mapping[str, Division] = by_code
        children: dict[str, list[str]] = {}
        for code in sorted(by_code):
            parent = by_code[code].parent
            if parent is not None:
                children.setdefault(parent, []).append(code)
        self._children = {k: tuple(v) for k, v in children.items()}

    @classmethod
    def from_json(cls, data: object) -> DivisionRegistry:
        """Build from parsed JSON `{"divisions": [{"code", "name_zh", "name_en"}, …]}`."""
        entries = data.get("divisions") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise _fail("区划数据应包含 divisions 列表", 'Division data needs a "divisions" list')
        divisions = []
        for n, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise _fail(f"第 {n + 1} 个区划不是对象", f"Division #{n + 1} is not an object")
            code, zh, en = entry.get("code"), entry.get("name_zh"), entry.get("name_en", "")
            if (
                not isinstance(code, str)
                or not isinstance(zh, str)
                or not zh.strip()
                or not isinstance(en, str)
            ):
                raise _fail(
                    f"第 {n + 1} 个区划缺少代码或中文名称",
                    f"Division #{n + 1} needs a code and a Chinese name",
                )
            divisions.append(Division(code, zh.strip(), en.strip()))
        return cls(divisions)

    def to_json(self) -> dict[str, list[dict[str, str]]]:
        """The parsed-JSON form `from_json` reads."""
        return {"divisions": [{"code": d.code, "name_zh": d.name_zh, "name_en": d.name_en} for d in self]}

    def __iter__(self) -> Iterator[Division]:
        return iter(self._by_code[code] for code in sorted(self._by_code))

    def __len__(self) -> int:
        return len(self._by_code)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def get(self, code: str) -> Division:
        """The division with `code`; raise `DivisionError` when it is not registered."""
        try:
            return self._by_code[code]
        except KeyError:
            raise _fail(f"未登记的区划：{code}", f"Division not registered: {code}") from None

    def children(self, code: str) -> tuple[Division, ...]:
        """Registered divisions directly inside `code`, by code."""
        return tuple(self._by_code[c] for c in self._children.get(code, ()))

    def villages_within(self, code: str) -> tuple[Division, ...]:
        """Registered villages inside `code` (or `code` itself when it is a village)."""
        return tuple(d for d in self if d.level is Level.VILLAGE and d.code.startswith(code))

    def with_division(self, division: Division) -> DivisionRegistry:
        """A new registry with `division` added or renamed."""
        return DivisionRegistry([*(d for d in self if d.code != division.code), division])
