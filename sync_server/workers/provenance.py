"""Where each candidate of a conflict review came from (冲突来源): who, which device, when.

The conflict worker records, for every candidate value of a field under review, the leaf
revision that held it (`rev`) and what that leaf's field metadata claims: the editing device
and the edit time from its HLC (ADR 0050). Those two are the device's word. The reviews API
then answers who pushed that revision, from which device and when the server received it,
from the audit records the gateway wrote (`audit_by_doc`): server facts, shown first.

    review "sources": {path: [{"rev", "device", "edited_at"}, …]}   aligned with "fields"[path]
    API answer adds:         {…, "by", "pushed_from", "received_at"} when an audit record exists
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shared.edits import ABSENT, canonical, field_meta, get_path
from shared.jsontypes import JSON
from shared.timestamps import iso_utc_at
from sync_server.couch import Couch
from sync_server.provision import SERVER_DB


def candidate_sources(leaves: Sequence[Mapping[str, Any]],
                      review: Mapping[str, Sequence[Any]]) -> dict[str, list[JSON]]:
    """For each reviewed path, the source of each candidate value, in the candidates' order."""
    sources: dict[str, list[JSON]] = {}
    for path, candidates in review.items():
        row: list[JSON] = []
        for value in candidates:
            wanted = canonical(ABSENT if value is None else value)
            leaf = next((leaf for leaf in leaves if canonical(_value(leaf, path)) == wanted), None)
            row.append(_source(leaf, path) if leaf is not None else {})
        sources[path] = row
    return sources


def _value(leaf: Mapping[str, Any], path: str) -> Any:
    value = get_path(leaf, path)
    return ABSENT if value is None else value


def _source(leaf: Mapping[str, Any], path: str) -> JSON:
    _, hlc = field_meta(leaf, path)
    return {"rev": str(leaf.get("_rev", "")), "device": hlc.device if hlc else "",
            "edited_at": iso_utc_at(hlc.millis / 1000) if hlc else ""}


async def with_authors(couch: Couch, db: str, case_id: str, sources: Mapping[str, Any]) -> dict[str, Any]:
    """`sources` with who pushed each revision, from where and when, as the audit trail records it."""
    rows = (await couch.get_json(f"/{SERVER_DB}/_design/server/_view/audit_by_doc",
                                 key=[db, case_id], include_docs=True))["rows"]
    pushed: dict[str, JSON] = {}
    for row in rows:
        doc = row.get("doc")
        if isinstance(doc, dict) and isinstance(row.get("value"), str):
            pushed.setdefault(row["value"], {"by": doc.get("user"), "pushed_from": doc.get("device"),
                                             "received_at": doc.get("at")})
    return {path: [{**s, **pushed.get(str(s.get("rev")), {})} if isinstance(s, dict) else s
                   for s in (row if isinstance(row, list) else [])]
            for path, row in sources.items()}
