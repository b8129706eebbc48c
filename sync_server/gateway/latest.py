"""`latest=true` only for revisions the engine knows (最新版本).

pouchdb-server exits on an uncaught error when `latest=true` names a revision the document
does not have (`GET doc?open_revs=["1-abc"]&latest=true`, `rev=1-abc&latest=true`, or a
`_bulk_get` entry): `pouchdb-merge` throws "Unable to resolve latest revision". CouchDB answers
such a revision `{"missing": rev}`. So before forwarding `latest=true` with named revisions the
gateway asks `_revs_diff` about them; when one is unknown it forwards without `latest`, and the
engine answers that one as missing and the others as named (their own revision rather than a
newer leaf — the replicator asks again from the next `_changes`). Replicators name revisions
they just learnt from this database's `_changes`, so the look costs one request and changes
nothing in practice (ADR 0104). For a `_bulk_get` on Apache CouchDB the look is skipped: it
answers an unknown revision there as missing by itself, and the look was a round trip before
every `_bulk_get` of a pull (ADR 0154). A single-document read is still checked: CouchDB answers
`rev=<unknown>&latest=true` with the current leaf, where without `latest` it answers 404.
"""

from __future__ import annotations

from urllib.parse import quote

from sync_server.couch import Couch
from sync_server.gateway.lookups import IDENTITY
from sync_server.gateway.query import Query


async def checked_latest(couch: Couch, db: str, query: Query, named: dict[str, list[str]], *,
                         bulk: bool = False) -> list[tuple[str, str]]:
    """The query's parameters, without `latest` when it names a revision the engine lacks
    (`bulk`: for a `_bulk_get`, which Apache CouchDB answers right either way)."""
    if (query.get("latest") != "true" or (bulk and await couch.is_apache_couchdb())
            or await all_known(couch, db, named)):
        return query.items()
    return query.items("latest")


async def all_known(couch: Couch, db: str, wanted: dict[str, list[str]]) -> bool:
    """True when the engine holds every revision of `wanted` ({doc id: [rev, …]})."""
    asked = {doc_id: revs for doc_id, revs in wanted.items() if revs}
    if not asked:
        return True
    answer = await couch.post_json(f"/{quote(db, safe='')}/_revs_diff", asked, headers=IDENTITY)
    return not any(isinstance(v, dict) and v.get("missing") for v in answer.values())
