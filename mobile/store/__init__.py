"""Local store (本地库): a CouchDB-compatible database in one SQLite file, without Flet."""

from mobile.store.errors import BadRequest, Conflict, MissingStub, NotFound, StoreError
from mobile.store.store import LocalStore

__all__ = ["BadRequest", "Conflict", "LocalStore", "MissingStub", "NotFound", "StoreError"]
