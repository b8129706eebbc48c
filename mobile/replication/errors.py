"""Errors of the replicator (同步错误).

ReplicationError           any failure of a replication; `retryable` says whether a later run may succeed
├── Unauthorized           401/403 from the remote: the token or password is wrong or expired, or the
│                          database is outside the user's jurisdiction — retrying will not help
├── RemoteError            another non-2xx answer (status, CouchDB's error and reason)
│   └── MissingStub        the target lacks an attachment that was sent as a stub (412 missing_stub)
├── Unreachable            the network failed and retries with backoff were exhausted
└── Cancelled              the caller cancelled the replication
"""

from __future__ import annotations


class ReplicationError(Exception):
    """A replication failed; the message is safe to show (no URLs with passwords, no bodies)."""

    retryable = True


class Unauthorized(ReplicationError):
    """The remote refused the credentials (401) or the database (403)."""

    retryable = False

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} unauthorized: {reason}")
        self.status = status
        self.reason = reason


class RemoteError(ReplicationError):
    """A non-2xx answer other than 401/403, with CouchDB's `error` and `reason`."""

    def __init__(self, status: int, error: str, reason: str) -> None:
        super().__init__(f"{status} {error}: {reason}")
        self.status = status
        self.error = error
        self.reason = reason
        self.retryable = status >= 500 or status in (408, 429)


class MissingStub(RemoteError):
    """The target has no attachment for a stub we sent; the documents must go again with their bytes."""


class Unreachable(ReplicationError):
    """The remote could not be reached or kept failing with 5xx after every retry."""


class Cancelled(ReplicationError):
    """The replication was cancelled by its caller."""

    retryable = False
