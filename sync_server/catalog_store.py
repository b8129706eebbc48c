"""The service catalog in `ot-catalog` (事项目录入库), loaded from a validated file.

The file is checked by the domain core (`shared.catalog.load_catalog`: every problem with its
line); only a valid catalog is written, as `shared.catalog.catalog_to_docs` lays it out. Items
no longer in the file are deleted, so devices stop offering them after their next sync.
Unchanged documents are not rewritten, so loading the same file twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shared.catalog import ITEM_PREFIX, catalog_to_docs, load_catalog
from sync_server.couch import Couch
from sync_server.provision import CATALOG_DB, upsert

SEED_CATALOG = Path(__file__).resolve().parents[1] / "assets" / "catalog" / "seed.json"


@dataclass(frozen=True)
class CatalogLoad:
    items: int
    changed: int
    removed: int


async def load_catalog_file(couch: Couch, path: Path) -> CatalogLoad:
    """Validate `path` and write it into ot-catalog; raises `shared.errors.CatalogError`."""
    catalog = load_catalog(path.read_text(encoding="utf-8"), source=path.name)
    docs = catalog_to_docs(catalog)
    changed = 0
    for doc in docs:
        changed += await upsert(couch, CATALOG_DB, doc)
    keep = {doc["_id"] for doc in docs}
    rows = (await couch.get_json(f"/{CATALOG_DB}/_all_docs", startkey=ITEM_PREFIX,
                                 endkey=ITEM_PREFIX + "\ufff0"))["rows"]
    stale = [{"_id": r["id"], "_rev": r["value"]["rev"], "_deleted": True}
             for r in rows if r["id"] not in keep]
    if stale:
        await couch.bulk_docs(CATALOG_DB, stale)
    return CatalogLoad(len(catalog.items), changed, len(stale))


async def cmd_load_catalog(couch: Couch, file: str) -> str:
    result = await load_catalog_file(couch, Path(file))
    return (f"事项目录已载入：{result.items} 项，更新 {result.changed}，删除 {result.removed} / "
            f"catalog loaded: {result.items} items, {result.changed} documents written, "
            f"{result.removed} removed")
