"""Division registry (行政区划登记): `division:<code>` documents in ot-server.

    {"_id": "division:330212001001", "type": "division", "code", "name" (Chinese),
     "name_en", "level": "county"|"township"|"village", "parent"}

A village (12 digits) also gets its database `ot-v-<code>`; townships (9) and counties (6)
group villages for jurisdiction. Codes are checked by the domain core (`shared.divisions`).
"""

from __future__ import annotations

from shared.divisions import Division, DivisionRegistry, Level, validate_division_code
from sync_server.couch import JSON, Couch
from sync_server.provision import SERVER_DB, ensure_db, upsert, village_db


def division_doc(division: Division) -> JSON:
    return {"_id": f"division:{division.code}", "type": "division", "code": division.code,
            "name": division.name_zh, "name_en": division.name_en, "level": division.level.value,
            "parent": division.parent}


async def add_division(couch: Couch, division: Division) -> bool:
    """Register `division` (and a village's database). True if anything changed.

    Raises `shared.errors.DivisionError` for a malformed code.
    """
    validate_division_code(division.code)
    created = False
    if division.level is Level.VILLAGE:
        created = await ensure_db(couch, village_db(division.code))
    return await upsert(couch, SERVER_DB, division_doc(division)) or created


async def load_registry(couch: Couch) -> DivisionRegistry:
    """Every registered division."""
    rows = (await couch.get_json(f"/{SERVER_DB}/_all_docs", startkey="division:",
                                 endkey="division:\ufff0", include_docs=True))["rows"]
    return DivisionRegistry([Division(r["doc"]["code"], r["doc"]["name"], r["doc"].get("name_en", ""))
                             for r in rows])


async def villages_under(couch: Couch, prefix: str) -> list[str]:
    """Registered village codes inside the division `prefix` (or the village itself)."""
    rows = (await couch.get_json(f"/{SERVER_DB}/_all_docs", startkey=f"division:{prefix}",
                                 endkey=f"division:{prefix}\ufff0"))["rows"]
    return [code for row in rows if len(code := row["id"].removeprefix("division:")) == 12]
