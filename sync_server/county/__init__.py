"""Hand-off to the county government service platform (县级政务服务平台对接).

An accepted, complete, conflict-free case of a county-level item gets an `outbox:<case id>`
document in `ot-server`; the outbox worker POSTs a case record (办件信息) to
`COUNTY_PLATFORM_URL` and the county answers on an HMAC-authenticated callback. The record
format and the callback API are documented in `docs/county-api.md`.

    CountyError                 root of this package's errors
    ├── HandoffFailed           the county platform did not take a record (retryable or not)
    └── CallbackRefused         a callback was refused (status, error, reason for the answer)
"""

from __future__ import annotations


class CountyError(Exception):
    """Root error of the county hand-off."""


class HandoffFailed(CountyError):
    """The county platform did not take a record; `retryable` says whether to try again."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class CallbackRefused(CountyError):
    """A county callback was refused; carries the HTTP status and the JSON error."""

    def __init__(self, status: int, error: str, reason: str) -> None:
        super().__init__(f"{status} {error}: {reason}")
        self.status = status
        self.error = error
        self.reason = reason
