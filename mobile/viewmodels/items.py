"""Service items as the wizard shows them (事项、情形、材料清单), independent of the catalog's file format.

`shared.catalog` is the source of truth; `mobile.viewmodels.catalog_adapter` turns it into
these small values. Names are bilingual texts ready to show.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pypinyin import Style, lazy_pinyin


@dataclass(frozen=True)
class Requirement:
    """One line of a situation's checklist (材料清单)."""

    code: str
    name: str
    required: bool = True
    note: str = ""
    kind: str = ""
    valid_months: int | None = None

    @property
    def reuse_key(self) -> str:
        """Materials are reused by kind (an ID card serves every item), else by requirement code."""
        return self.kind or self.code


@dataclass(frozen=True)
class Situation:
    """A situation (情形) with its own checklist (照单抓药)."""

    code: str
    name: str
    requirements: tuple[Requirement, ...]


@dataclass(frozen=True)
class ItemChoice:
    """A service item (政务服务事项) as offered in the wizard."""

    code: str
    name: str
    category: str
    level: str
    time_limit_days: int
    situations: tuple[Situation, ...]
    fee: str = ""
    keywords: tuple[str, ...] = field(default=())
    conditions: str = ""  # 受理条件, what agents tell citizens before they apply
    legal_basis: tuple[str, ...] = ()  # 设定依据
    separate_intake_approval: bool = True  # 受审分离: who accepts does not approve (ADR 0122)

    def situation(self, code: str) -> Situation | None:
        return next((s for s in self.situations if s.code == code), None)

    def facts(self, t: Callable[[str], str]) -> list[tuple[str, str]]:
        """(label, text) agents tell citizens first: 受理条件, 收费, 设定依据 (empty ones left out)."""
        rows = [
            (t("item_conditions"), self.conditions),
            (t("item_fee"), self.fee),
            (t("item_legal_basis"), "\n".join(self.legal_basis)),
        ]
        return [(label, text) for label, text in rows if text]

    def matches(self, text: str) -> bool:
        """Search by name (Chinese or English), pinyin initials or full pinyin ("yanglao"),
        code or keyword."""
        needle = text.strip().lower()
        if not needle:
            return True
        initials = "".join(p[:1] for p in lazy_pinyin(self.name, style=Style.FIRST_LETTER)).lower()
        hay = " ".join([self.name.lower(), self.code.lower(), *(k.lower() for k in self.keywords)])
        spelled = "".join(lazy_pinyin(self.name)).lower()
        return needle in hay or needle in initials or needle.replace(" ", "") in spelled


def categories(items: Sequence[ItemChoice]) -> list[str]:
    """Categories in catalog order, each once."""
    seen: list[str] = []
    for item in items:
        if item.category not in seen:
            seen.append(item.category)
    return seen
