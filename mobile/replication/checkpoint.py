"""Replication ids and checkpoints (同步检查点).

The replication log `_local/<replication id>` is written to BOTH databases for every batch: to the
source when the batch has been read (alongside its transfer, so no round trip waits for it), to
the target once the batch is written there. The target's log alone says where to resume:

    {"_id": "_local/<id>", "_rev": …, "session_id": "<uuid of the run that wrote it>",
     "source_last_seq": <seq>, "replication_id_version": 1,
     "history": [{"session_id", "recorded_seq", "start_time", "end_time",
                  "docs_read", "docs_written"}, …]},         newest first, at most HISTORY_SIZE
     "held": [{"id", "rev", "error", "reason"}, …]}    revisions the target refused, retried next run

A run starts from the target's `source_last_seq` when both logs carry the same session id.
Otherwise (one side was restored from a backup, or a write reached only one side) it walks the
source history for the newest session the target also recorded and resumes at the target's
`recorded_seq` of that session; with no common session it starts over from 0, which is always safe
because `_revs_diff` skips what the target has.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from mobile.replication.endpoint import JSON, Seq

# CouchDB keeps 50 sessions too: enough to find a common one after a restore, small enough to rewrite.
HISTORY_SIZE = 50
VERSION = 1


def replication_id(source_identity: str, target_identity: str, filter_id: str | None = None) -> str:
    """Deterministic id of the (source, target, filter) triple, the key of its checkpoints."""
    material = json.dumps([VERSION, source_identity, target_identity, filter_id or ""])
    return hashlib.md5(material.encode(), usedforsecurity=False).hexdigest()


def start_seq(source_log: JSON | None, target_log: JSON | None) -> Seq:
    """Where to resume, from the two replication logs (either may be missing).

    The position always comes from the target's log: only the target's is written after the
    batch it records has been written; the source's may run ahead (ADR 0135). The source's log
    says which sessions both sides saw.
    """
    if not source_log or not target_log:
        return 0
    if source_log.get("session_id") == target_log.get("session_id"):
        return target_log.get("source_last_seq", 0)
    target_seqs = {h.get("session_id"): h.get("recorded_seq", 0) for h in target_log.get("history", [])}
    for entry in source_log.get("history", []):
        if entry.get("session_id") in target_seqs:
            return target_seqs[entry.get("session_id")]
    return 0


@dataclass(frozen=True)
class Session:
    """One run of a replication: what its checkpoints record."""

    session_id: str
    start_time: str


# A refusal's reason is kept for the sync screen; a few lines of text are enough for that.
MAX_REASON = 300


def held_refusals(log: JSON | None) -> list[JSON]:
    """The refused revisions a replication log holds for the next run (well-formed entries only)."""
    held = (log or {}).get("held")
    if not isinstance(held, list):
        return []
    return [
        h
        for h in held
        if isinstance(h, dict) and isinstance(h.get("id"), str) and isinstance(h.get("rev"), str)
    ]


def held_list(failures: tuple[JSON, ...] | list[JSON]) -> list[JSON]:
    """One entry per refused (id, rev), in the order refused, with a short reason."""
    seen: dict[tuple[str, str], JSON] = {}
    for f in failures:
        if isinstance(f.get("id"), str) and isinstance(f.get("rev"), str):
            seen[(f["id"], f["rev"])] = {
                "id": f["id"],
                "rev": f["rev"],
                "error": str(f.get("error", "")),
                "reason": str(f.get("reason", ""))[:MAX_REASON],
            }
    return list(seen.values())


def next_log(
    previous: JSON | None,
    doc_id: str,
    session: Session,
    seq: Seq,
    end_time: str,
    stats: dict[str, Any],
    held: list[JSON] | None = None,
) -> JSON:
    """The replication log to write after a batch: this session's entry first, older sessions kept."""
    history = [h for h in (previous or {}).get("history", []) if h.get("session_id") != session.session_id]
    entry = {
        "session_id": session.session_id,
        "recorded_seq": seq,
        "start_time": session.start_time,
        "end_time": end_time,
        **stats,
    }
    log: JSON = {
        "_id": doc_id,
        "session_id": session.session_id,
        "source_last_seq": seq,
        "replication_id_version": VERSION,
        "history": [entry, *history][:HISTORY_SIZE],
    }
    if held:
        log["held"] = held
    if previous and "_rev" in previous:
        log["_rev"] = previous["_rev"]
    return log
