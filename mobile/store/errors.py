"""Errors of the local store, shaped like CouchDB's `{"error", "reason"}` answers.

StoreError            status, error, reason (as CouchDB would answer), message (for people)
├── BadRequest        400 bad_request — malformed document, rev or argument
├── NotFound          404 not_found — reason "missing" or "deleted"
├── Conflict          409 conflict — stale or missing `_rev` on an existing document
└── MissingStub       412 missing_stub — an attachment stub whose content is not stored
"""

from __future__ import annotations

from typing import ClassVar


class StoreError(Exception):
    """Root of the local store errors; `status`, `error`, `reason` follow CouchDB."""

    status: ClassVar[int] = 500
    error: ClassVar[str] = "internal_server_error"
    hint: ClassVar[str] = "本地数据库出错，请重启应用 / The local database failed; restart the app."

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    @property
    def message(self) -> str:
        """Bilingual text for a person, saying what to do next."""
        return self.hint

    def as_json(self) -> dict[str, str]:
        return {"error": self.error, "reason": self.reason}


class BadRequest(StoreError):
    """The document or argument is malformed."""

    status = 400
    error = "bad_request"
    hint = "数据格式有误，未保存 / The data is malformed and was not saved."


class NotFound(StoreError):
    """No such document, revision or attachment."""

    status = 404
    error = "not_found"
    hint = "找不到该记录，请同步后再试 / Record not found; sync and try again."


class Conflict(StoreError):
    """The document was changed since the given revision."""

    status = 409
    error = "conflict"
    hint = "记录已被修改，请重新打开后再保存 / The record changed meanwhile; reopen it and save again."

    def __init__(self, reason: str = "Document update conflict.") -> None:
        super().__init__(reason)


class MissingStub(StoreError):
    """An attachment stub refers to content this store does not hold."""

    status = 412
    error = "missing_stub"
    hint = "附件缺失，请重新同步 / An attachment is missing; sync again."
