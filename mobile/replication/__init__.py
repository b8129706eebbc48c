"""Replication (数据同步) of CouchDB databases: the local store and remote servers, either direction.

    from mobile.replication import RemoteDB, LocalDB, replicate
    summary = await replicate(LocalDB(store), RemoteDB(url, token=token))   # push

`replicate` accepts a `LocalStore` directly and wraps it in `LocalDB`. `LiveSync` repeats push and
pull for the app (on an interval and on `notify_network_up()`), one run per pair at a time.
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
from mobile.replication.live import LiveSync, Remote, SyncState
from mobile.replication.local import LocalDB
from mobile.replication.remote import RemoteDB
from mobile.replication.replicator import replicate
from mobile.replication.summary import ReplicationSummary

__all__ = [
    "Backoff",
    "Cancelled",
    "Endpoint",
    "LiveSync",
    "LocalDB",
    "MissingStub",
    "Remote",
    "RemoteDB",
    "RemoteError",
    "ReplicationError",
    "ReplicationSummary",
    "SyncState",
    "Unauthorized",
    "Unreachable",
    "replicate",
]
