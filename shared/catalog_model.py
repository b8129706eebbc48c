"""Service catalog model (政务服务事项目录): items, situations and material requirements.

An item (事项) is handled at one level (village, township or county) and has the same
code and name at every level (三级四同). Each situation (情形) of an item has its own
checklist of materials (照单抓药). A material requirement that names a reusable `kind`
(e.g. `id_card`, `hukou`) can be satisfied by a material of that kind the citizen already
has in the material library (材料库), so nobody is asked for the same document twice.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

from shared.divisions import Level


class Complexity(StrEnum):
    """Ordinary items (即办/简单) have a 3-working-day limit by default, complex ones 7."""

    ORDINARY = "ordinary"
    COMPLEX = "complex"


# docs/design.md §Domain rules: promised time limits in working days unless the item says otherwise.
DEFAULT_TIME_LIMIT: Final = {Complexity.ORDINARY: 3, Complexity.COMPLEX: 7}


class MaterialForm(StrEnum):
    """What the citizen hands over: the original (原件), a copy (复印件), or both to compare."""

    ORIGINAL = "original"
    COPY = "copy"
    ORIGINAL_AND_COPY = "original_and_copy"


@dataclass(frozen=True)
class Category:
    """Category of items (事项类别), e.g. `SB` social insurance."""

    code: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class MaterialKind:
    """A kind of reusable material (可复用材料类型); `valid_months` None means no expiry."""

    code: str
    name_zh: str
    name_en: str
    valid_months: int | None = None

    def valid_until(self, captured_on: date) -> date | None:
        """Last day a material of this kind captured on `captured_on` may be reused; None = no expiry."""
        if self.valid_months is None:
            return None
        return months_later(captured_on, self.valid_months)


def months_later(day: date, months: int) -> date:
    """The same day of the month `months` later, clamped to the month's end (Aug 31 + 6 → Feb 28/29)."""
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Material:
    """A material requirement (申请材料) of a situation's checklist."""

    code: str
    name_zh: str
    name_en: str
    copies: int = 1
    form: MaterialForm = MaterialForm.ORIGINAL
    required: bool = True
    kind: str | None = None
    validity_note_zh: str = ""
    validity_note_en: str = ""


@dataclass(frozen=True)
class Situation:
    """A situation (情形) of an item with its material checklist."""

    code: str
    name_zh: str
    name_en: str
    materials: tuple[Material, ...]

    def material(self, code: str) -> Material:
        for material in self.materials:
            if material.code == code:
                return material
        raise KeyError(f"situation {self.code} has no material {code!r}")

    @property
    def required_codes(self) -> tuple[str, ...]:
        return tuple(m.code for m in self.materials if m.required)


@dataclass(frozen=True)
class Item:
    """A service item (政务服务事项)."""

    code: str
    name_zh: str
    name_en: str
    category: str
    level: Level
    complexity: Complexity
    time_limit_days: int
    legal_basis: tuple[str, ...]
    conditions_zh: str
    conditions_en: str
    fee_zh: str
    fee_en: str
    situations: tuple[Situation, ...]
    # 受审分离: who accepted a case (受理) may not decide it (审批); docs/catalog.md, ADR 0122.
    # Off only for on-the-spot items (即办件) where one window accepts and issues at once.
    separate_intake_approval: bool = True

    def situation(self, code: str) -> Situation:
        for situation in self.situations:
            if situation.code == code:
                return situation
        raise KeyError(f"item {self.code} has no situation {code!r}")

    @property
    def materials(self) -> tuple[Material, ...]:
        """Every material requirement of the item once, in first-use order."""
        seen: dict[str, Material] = {}
        for situation in self.situations:
            for material in situation.materials:
                seen.setdefault(material.code, material)
        return tuple(seen.values())


@dataclass(frozen=True)
class Catalog:
    """The whole catalog: a version label, categories, reusable kinds and items."""

    version: str
    categories: tuple[Category, ...]
    kinds: tuple[MaterialKind, ...]
    items: tuple[Item, ...]

    def item(self, code: str) -> Item:
        for item in self.items:
            if item.code == code:
                return item
        raise KeyError(f"no item {code!r} in catalog {self.version}")

    def kind(self, code: str) -> MaterialKind:
        for kind in self.kinds:
            if kind.code == code:
                return kind
        raise KeyError(f"no material kind {code!r} in catalog {self.version}")

    def items_at(self, level: Level | str) -> tuple[Item, ...]:
        """Items handled at `level`."""
        return tuple(item for item in self.items if item.level == Level(level))
