"""Replication (数据同步) of CouchDB databases: the local store and remote servers, either direction.

    from mobile.replication import RemoteDB, LocalDB, replicate
    summary = await replicate(LocalDB(store), RemoteDB(url, token=token))   # push

`replicate` accepts a `LocalStore` directly and wraps it in `LocalDB`; `replicate_exclusive`
runs one replication per (source, target) pair at a time. The app's and `onetrip-device sync`'s
round over the village databases is `mobile.sync_plan.sync_round`.
"""

from __future__ import annotations

from mobile.replication.backoff import Backoff
from mobile.replication.endpoint import Endpoint
from mobile.replication.errors import (
    Cancelled,
    MissingStub,
    RemoteError,
    ReplicationError,
    Unauthorized,
    Unreachable,
)
from mobile.replication.exclusive import replicate_exclusive
from mobile.replication.local import LocalDB
from mobile.replication.remote import RemoteDB
from mobile.replication.replicator import replicate
from mobile.replication.summary import ReplicationSummary

__all__ = [
    "Backoff",
    "Cancelled",
    "Endpoint",
    "LocalDB",
    "MissingStub",
    "RemoteDB",
    "RemoteError",
    "ReplicationError",
    "ReplicationSummary",
    "Unauthorized",
    "Unreachable",
    "replicate",
    "replicate_exclusive",
]
