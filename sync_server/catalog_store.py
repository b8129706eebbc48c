"""The service catalog in `ot-catalog` (事项目录入库), loaded from a validated file.

The file is checked by the domain core (`shared.catalog.load_catalog`: every problem with its
line); only a valid catalog is written, as `shared.catalog.catalog_to_docs` lays it out. Items
no longer in the file are deleted, so devices stop offering them after their next sync.
Unchanged documents are not rewritten, so loading the same file twice changes nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from anyio import to_thread

from shared.catalog import ITEM_PREFIX, catalog_from_docs, catalog_to_docs, catalog_to_json, load_catalog
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


async def export_catalog(couch: Couch) -> str:
    """The catalog in ot-catalog as a catalog file (the format `load-catalog` reads), validated."""
    rows = (await couch.get_json(f"/{CATALOG_DB}/_all_docs", include_docs=True))["rows"]
    catalog = catalog_from_docs(row["doc"] for row in rows if row.get("doc"))
    return json.dumps(catalog_to_json(catalog), ensure_ascii=False, indent=2) + "\n"


def _write_new(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)  # a half-written export never replaces a good file


async def cmd_export_catalog(couch: Couch, file: str) -> str:
    text = await export_catalog(couch)
    await to_thread.run_sync(_write_new, Path(file), text)
    items = len(json.loads(text)["items"])
    return f"事项目录已导出：{items} 项 → {file} / catalog exported: {items} items to {file}"
