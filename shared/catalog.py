"""Service catalog (政务服务事项目录): the model, the file loader, and the `ot-catalog` documents.

`load_catalog(text)` reads a catalog file (docs/catalog.md); `catalog_to_json` writes one
back. In CouchDB (`ot-catalog`) the catalog is one `catalog` document (version,
categories, reusable material kinds) plus one `item:<code>` document per item, so a
device replicates only what changed; `catalog_from_docs` rebuilds and re-validates it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

from shared.catalog_loader import FORMAT, load_catalog
from shared.catalog_model import (
    DEFAULT_TIME_LIMIT,
    Catalog,
    Category,
    Complexity,
    Item,
    Material,
    MaterialForm,
    MaterialKind,
    Situation,
)
from shared.errors import CatalogError

__all__ = [
    "CATALOG_DOC_ID",
    "DEFAULT_TIME_LIMIT",
    "FORMAT",
    "Catalog",
    "Category",
    "Complexity",
    "Item",
    "Material",
    "MaterialForm",
    "MaterialKind",
    "Situation",
    "catalog_from_docs",
    "catalog_to_docs",
    "catalog_to_json",
    "item_doc_id",
    "item_to_json",
    "load_catalog",
]

CATALOG_DOC_ID: Final = "catalog"
ITEM_PREFIX: Final = "item:"


def item_doc_id(code: str) -> str:
    """`item:<code>`, the id of an item's document in `ot-catalog`."""
    return ITEM_PREFIX + code


def _material_json(m: Material) -> dict[str, Any]:
    out: dict[str, Any] = {"code": m.code, "name_zh": m.name_zh, "name_en": m.name_en, "copies": m.copies}
    out |= {"form": m.form.value, "required": m.required}
    if m.kind:
        out["kind"] = m.kind
    if m.validity_note_zh or m.validity_note_en:
        out |= {"validity_note_zh": m.validity_note_zh, "validity_note_en": m.validity_note_en}
    return out


def item_to_json(item: Item) -> dict[str, Any]:
    """An item in the catalog file's form (materials once, situations naming them)."""
    return {
        "code": item.code,
        "name_zh": item.name_zh,
        "name_en": item.name_en,
        "category": item.category,
        "level": item.level.value,
        "complexity": item.complexity.value,
        "time_limit_days": item.time_limit_days,
        "legal_basis": list(item.legal_basis),
        "conditions_zh": item.conditions_zh,
        "conditions_en": item.conditions_en,
        "fee_zh": item.fee_zh,
        "fee_en": item.fee_en,
        "separate_intake_approval": item.separate_intake_approval,
        "materials": [_material_json(m) for m in item.materials],
        "situations": [
            {
                "code": s.code,
                "name_zh": s.name_zh,
                "name_en": s.name_en,
                "materials": [m.code for m in s.materials],
            }
            for s in item.situations
        ],
    }


def _head(catalog: Catalog) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": catalog.version,
        "categories": [
            {"code": c.code, "name_zh": c.name_zh, "name_en": c.name_en} for c in catalog.categories
        ],
        "material_kinds": [
            {"code": k.code, "name_zh": k.name_zh, "name_en": k.name_en}
            | ({"valid_months": k.valid_months} if k.valid_months else {})
            for k in catalog.kinds
        ],
    }


def catalog_to_json(catalog: Catalog) -> dict[str, Any]:
    """The catalog file's parsed-JSON form; `load_catalog(json.dumps(...))` gives it back."""
    return _head(catalog) | {"items": [item_to_json(i) for i in catalog.items]}


def catalog_to_docs(catalog: Catalog) -> list[dict[str, Any]]:
    """CouchDB documents for `ot-catalog` (without `_rev`: the caller merges revisions)."""
    # The head lists the item codes so the catalog's order survives `_all_docs` (sorted by id).
    head = (
        {"_id": CATALOG_DOC_ID, "type": "catalog"}
        | _head(catalog)
        | {"order": [i.code for i in catalog.items]}
    )
    items = [{"_id": item_doc_id(i.code), "type": "item"} | item_to_json(i) for i in catalog.items]
    return [head, *items]


def catalog_from_docs(docs: Iterable[Mapping[str, Any]], *, source: str = "ot-catalog") -> Catalog:
    """Rebuild the catalog from `ot-catalog` documents (deleted and design docs ignored).

    Problems are reported per document: `ot-catalog/item:SB-001: …`.
    """
    head: dict[str, Any] = {"format": FORMAT, "version": ""}
    items: list[tuple[str, dict[str, Any]]] = []
    for doc in docs:
        doc_id = str(doc.get("_id", ""))
        body = {k: v for k, v in doc.items() if not k.startswith("_") and k != "type"}
        if doc.get("_deleted"):
            continue
        if doc_id == CATALOG_DOC_ID:
            head = body
        elif doc_id.startswith(ITEM_PREFIX):
            items.append((doc_id, body))
    order = head.pop("order", [])
    rank = {code: n for n, code in enumerate(order)} if isinstance(order, list) else {}
    items.sort(key=lambda pair: (rank.get(pair[0][len(ITEM_PREFIX) :], len(rank)), pair[0]))
    # One document per line (the head on line 1, item k on line k + 1), so a line names a document.
    head_json = json.dumps(head, ensure_ascii=False)
    lines = [head_json[:-1] + (', "items": [' if head else '"items": [')]
    lines += [
        json.dumps(body, ensure_ascii=False) + ("," if n < len(items) - 1 else "")
        for n, (_, body) in enumerate(items)
    ]
    lines.append("]}")
    doc_ids = [CATALOG_DOC_ID, *(doc_id for doc_id, _ in items), CATALOG_DOC_ID]
    try:
        return load_catalog("\n".join(lines), source=source)
    except CatalogError as error:
        raise CatalogError([_per_doc(entry, source, doc_ids) for entry in error.entries]) from None


def _per_doc(entry: str, source: str, doc_ids: list[str]) -> str:
    """`ot-catalog:3: …` → `ot-catalog/item:SB-002: …`."""
    line, _, message = entry[len(source) + 1 :].partition(": ")
    if not line.isdigit() or not 1 <= int(line) <= len(doc_ids):
        return entry
    return f"{source}/{doc_ids[int(line) - 1]}: {message}"
