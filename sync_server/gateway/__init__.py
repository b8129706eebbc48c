"""The replication gateway (同步网关) `/sync/{db}/…`: CouchDB's replication protocol, guarded.

Devices never reach CouchDB; they replicate through here. Per request:

    token (auth.current) → jurisdiction (403) → endpoint allowed? (404/405) → body caps (413)
    → reads: proxied, streamed           writes: every document validated (validation.py),
                                                 valid ones forwarded, refusals merged per doc,
                                                 accepted writes audited (audit.py, journal.py)

    paths.py        which endpoint a raw path names (no URL-decoding tricks)
    bodies.py       request bodies: size caps, gzip with a decompressed cap, spooling to disk
    sniff.py        attachment content types from magic bytes
    validation.py   the rules for a document written into a village database
    writes.py       `_bulk_docs`, `PUT doc` (JSON and multipart/related)
    diff.py         `_revs_diff` answered from one look-up of the batch's ids
    absence.py      ids that look-up found absent, trusted by the write that follows
    lookups.py      shared reads of stored winners
    grouped.py      concurrent replication writes to one database sent in one `_bulk_docs`
    proxy.py        forwarding reads, streaming answers, CouchDB-shaped errors
    audit.py        `audit:<ULID>` records of accepted writes in ot-server
    journal.py      those records on the server's disk first, shipped to ot-server in batches
    routes.py       the Starlette route and the endpoint table
"""
