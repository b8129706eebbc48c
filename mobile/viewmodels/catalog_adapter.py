"""The domain catalog (shared.catalog_model) as the wizard's bilingual item choices."""

from __future__ import annotations

from mobile.viewmodels.items import ItemChoice, Requirement, Situation
from shared.catalog_model import Catalog, Item


def bilingual(zh: str, en: str, language: str) -> str:
    """ "中文 English" (default) or English only."""
    if language == "en":
        return en or zh
    return f"{zh} {en}".strip() if en and en != zh else zh


def item_choices(catalog: Catalog, language: str = "zh") -> list[ItemChoice]:
    """Every item of the catalog, in catalog order."""
    names = {c.code: bilingual(c.name_zh, c.name_en, language) for c in catalog.categories}
    valid = {k.code: k.valid_months for k in catalog.kinds}
    return [_item(item, names.get(item.category, item.category), language, valid) for item in catalog.items]


def _item(item: Item, category: str, language: str, kinds_valid: dict[str, int | None]) -> ItemChoice:
    situations = tuple(
        Situation(
            code=s.code,
            name=bilingual(s.name_zh, s.name_en, language),
            requirements=tuple(
                Requirement(
                    code=m.code,
                    name=bilingual(m.name_zh, m.name_en, language),
                    required=m.required,
                    note=bilingual(m.validity_note_zh, m.validity_note_en, language),
                    kind=m.kind or "",
                    valid_months=kinds_valid.get(m.kind or ""),
                )
                for m in s.materials
            ),
        )
        for s in item.situations
    )
    return ItemChoice(
        code=item.code,
        name=bilingual(item.name_zh, item.name_en, language),
        category=category,
        level=item.level.value,
        time_limit_days=item.time_limit_days,
        situations=situations,
        fee=bilingual(item.fee_zh, item.fee_en, language),
        keywords=(item.name_en,),
        conditions=bilingual(item.conditions_zh, item.conditions_en, language),
        legal_basis=item.legal_basis,
        separate_intake_approval=item.separate_intake_approval,
    )
