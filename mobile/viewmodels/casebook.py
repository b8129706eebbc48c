"""Case book (办件簿): how the screens write cases, events and materials into the local store.

Every change of a case goes through `save`, which records each changed field with
`shared.edits.record_changes` (version vector + HLC) so that the server can merge
concurrent offline edits; every step a person takes writes an immutable event. Documents are
made by the constructors of `shared.documents` (the same ones the server uses).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from ulid import ULID

from mobile.services.device_state import Account
from mobile.store.errors import NotFound
from shared import ids
from shared.documents import EventKind, new_case, new_event, new_material
from shared.edits import record_changes
from shared.idnumber import owner_hash
from shared.jsontypes import JSON
from shared.timestamps import iso_utc


class DocStore(Protocol):
    """The part of `mobile.store.LocalStore` the screens use."""

    def put(self, doc: Mapping[str, Any]) -> dict[str, Any]: ...

    def get(self, doc_id: str) -> dict[str, Any]: ...

    def remove(self, doc_id: str, rev: str) -> dict[str, Any]: ...

    def put_attachment(
        self, doc_id: str, rev: str | None, name: str, data: bytes, content_type: str
    ) -> dict[str, Any]: ...

    def get_attachment(self, doc_id: str, name: str) -> bytes: ...

    def find_cases(
        self,
        *,
        status: str | Sequence[str] | None = None,
        village: str | None = None,
        text: str | None = None,
        needs_review: bool | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[dict[str, Any]]: ...

    def count_cases(
        self,
        *,
        status: str | Sequence[str] | None = None,
        village: str | None = None,
        text: str | None = None,
        needs_review: bool | None = None,
    ) -> int: ...

    def find_docs(
        self, doc_type: str, *, limit: int = 50, offset: int = 0, **filters: Any
    ) -> list[dict[str, Any]]: ...

    def pending_count(self, since_seq: int | str = 0) -> int: ...


iso = iso_utc  # ISO-8601 UTC with a Z, whole seconds: "2026-11-24T06:30:00Z"


class CaseBook:
    """Writes for one signed-in user on one device; `clock` returns an aware datetime."""

    def __init__(
        self, store: DocStore, account: Account, device_id: str, clock: Callable[[], datetime]
    ) -> None:
        self.store = store
        self.account = account
        self.device_id = device_id
        self.clock = clock

    # -- cases ---------------------------------------------------------------------------

    def new_draft(self, item_code: str, village: str) -> JSON:
        """A fresh draft case (草稿) for `item_code` in `village`, saved at once."""
        draft = new_case(ids.case_id(ULID()), item_code=item_code, village=village,
                         agent=self.account.username, now=iso(self.clock()))
        case = self.save({"meta": {"fields": {}}}, dict(draft))
        self.add_event(case, EventKind.CREATED, {"item_code": item_code})
        return case

    def save(self, before: Mapping[str, Any], after: Mapping[str, Any]) -> JSON:
        """Writes `after`, recording every field that differs from `before`; returns it with its new rev."""
        moment = self.clock()
        doc = dict(after)
        doc["updated_at"] = iso(moment)
        recorded = record_changes(before, doc, device=self.device_id, wall_ms=int(moment.timestamp() * 1000))
        result = self.store.put(recorded)
        recorded["_rev"] = result["rev"]
        return recorded

    def get(self, case_id: str) -> JSON:
        return self.store.get(case_id)

    def delete_draft(self, case: Mapping[str, Any]) -> None:
        self.store.remove(str(case["_id"]), str(case["_rev"]))

    # -- events --------------------------------------------------------------------------

    def add_event(
        self, case: Mapping[str, Any], kind: EventKind | str, data: Mapping[str, Any] | None = None
    ) -> JSON:
        """One immutable audit event (留痕) about `case`."""
        event: JSON = dict(
            new_event(str(case["_id"]), ULID(), kind, by=self.account.username, role=self.account.role,
                      device=self.device_id, device_time=iso(self.clock()), data=data)
        )
        event["_rev"] = self.store.put(event)["rev"]
        return event

    def events(self, case_id: str) -> list[JSON]:
        """The case's events, oldest first (ULIDs sort by time)."""
        rows = self.store.find_docs("event", case_id=case_id, limit=1000)
        docs = [self.store.get(str(row["id"])) for row in rows]
        return sorted(docs, key=lambda e: str(e["_id"]))

    # -- materials -----------------------------------------------------------------------

    def add_material(
        self,
        owner_id_number: str,
        owner_masked: str,
        kind: str,
        jpeg: bytes,
        thumb: bytes,
        valid_until: str | None,
        division: Mapping[str, Any],
    ) -> JSON:
        """A reusable material (材料) of one citizen with its scan and thumbnail; stored once.

        `division` (the village where it was captured) puts it in that village's database:
        sync sends a document where its `division.village` says.
        """
        material: JSON = dict(
            new_material(ids.material_id(ULID()), owner_hash=owner_hash(owner_id_number),
                         owner_masked=owner_masked, kind=kind, valid_until=valid_until,
                         division=division, created_at=iso(self.clock()))
        )
        # One write with both files: a material is immutable (the gateway accepts exactly one
        # revision), so it must never be created first and completed later.
        attachments = {
            "scan.jpg": {"content_type": "image/jpeg", "data": jpeg},
            "thumb.jpg": {"content_type": "image/jpeg", "data": thumb},
        }
        material["_rev"] = self.store.put({**material, "_attachments": attachments})["rev"]
        return material

    def add_document(
        self,
        owner_id_number: str,
        owner_masked: str,
        kind: str,
        files: Mapping[str, tuple[str, bytes]],
        division: Mapping[str, Any],
    ) -> JSON:
        """A material the app made itself (the filled 申请表): its files (name → (content type,
        bytes)) in the one write, like a scan; never reused for another case (valid for none)."""
        material: JSON = dict(
            new_material(ids.material_id(ULID()), owner_hash=owner_hash(owner_id_number),
                         owner_masked=owner_masked, kind=kind, valid_until="0000-01-01",
                         division=division, created_at=iso(self.clock()))
        )
        attachments = {name: {"content_type": kind_, "data": data} for name, (kind_, data) in files.items()}
        material["_rev"] = self.store.put({**material, "_attachments": attachments})["rev"]
        return material

    def known_materials(self, id_number: str, today: str) -> dict[str, str]:
        """Valid materials of this citizen from earlier cases: material kind → material id."""
        if not id_number:
            return {}
        found: dict[str, str] = {}
        for row in self.store.find_cases(text=id_number, limit=50):
            case = self.store.get(str(row["id"]))
            if case.get("applicant", {}).get("id_number") != id_number:
                continue
            for entry in case.get("materials", []):
                material_id = entry.get("material_id")
                material = self.store.get(material_id) if material_id and self._exists(material_id) else None
                if material is None or str(material.get("kind")) in found:
                    continue
                if (material.get("valid_until") or "9999") >= today:
                    found[str(material["kind"])] = str(material_id)
        return found

    def earlier_answers(self, id_number: str, exclude: str) -> dict[str, Any]:
        """Form answers this citizen gave in earlier cases (the newest first wins): field name → answer."""
        if not id_number:
            return {}
        found: dict[str, Any] = {}
        cases = [self.store.get(str(row["id"])) for row in self.store.find_cases(text=id_number, limit=50)]
        for case in sorted(cases, key=lambda c: str(c.get("updated_at", "")), reverse=True):
            if case["_id"] == exclude or case.get("applicant", {}).get("id_number") != id_number:
                continue
            for name, value in (case.get("answers") or {}).items():
                found.setdefault(str(name), value)
        return found

    def thumbnail(self, material_id: str) -> bytes | None:
        return self._attachment(material_id, "thumb.jpg")

    def scan(self, material_id: str) -> bytes | None:
        return self._attachment(material_id, "scan.jpg")

    def document_pdf(self, material_id: str) -> bytes | None:
        """The PDF of a generated material (the filled 申请表), or None for a photographed one."""
        return self._attachment(material_id, "form.pdf")

    def _attachment(self, doc_id: str, name: str) -> bytes | None:
        try:
            return self.store.get_attachment(doc_id, name)
        except NotFound:  # not pulled yet, or removed: the screen shows a placeholder
            return None

    def _exists(self, doc_id: str) -> bool:
        try:
            self.store.get(doc_id)
        except NotFound:
            return False
        return True
