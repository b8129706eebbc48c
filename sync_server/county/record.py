"""Hand-off record (办件信息): the JSON the county platform receives for one case.

Modelled on the case data the national government service platform exchanges (办件基本信息
+ 办理过程信息): case number, item, applicant, acceptance time, deadline, materials with
their files, and one process record per step (申报/受理/补正/承办/审核/批准/办结/送达)
taken from the case's audit events. The full format, field by field, is in
`docs/county-api.md`; `SCHEMA` names its version. `build_record` is pure: the worker reads
the documents and passes them in, with a function that makes a signed file link.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypedDict

from shared.documents import EventKind, case_ulid
from shared.forms import Form
from shared.forms.summary import answer_summary
from shared.idnumber import mask_id_number
from shared.jsontypes import JSON

SCHEMA = "onetrip.county-handoff/1"

# (database, document id, attachment name) → a URL the county can fetch the file from.
LinkMaker = Callable[[str, str, str], str]


class FileRef(TypedDict):
    name: str
    content_type: str
    length: int
    digest: str  # CouchDB's attachment digest, "md5-<base64>"
    url: str


class MaterialRecord(TypedDict):
    requirement: str
    source: str
    material_id: str | None
    files: list[FileRef]


class ProcessRecord(TypedDict):
    step: str  # 申报, 受理, 补正, 承办, 审核, 批准, 办结, 送达
    step_code: str
    time: str
    handler: str
    role: str
    office: str
    opinion: str
    event_id: str


class Applicant(TypedDict):
    name: str
    id_type: str
    id_number: str
    id_number_masked: str
    phone: str


class FormRecord(TypedDict):
    """The form the answers were given in, and the answers typed and labelled (`shared.forms.summary`)."""

    id: str
    version: str
    title: str
    fields: list[JSON]


class CaseRecord(TypedDict):
    schema: str
    case_no: str
    case_id: str
    tracking_code: str
    item: JSON
    division: JSON
    applicant: Applicant
    answers: JSON
    form: FormRecord | None
    submitted_at: str | None
    accepted_at: str | None
    deadline: str | None
    paused_days: int
    materials: list[MaterialRecord]
    signature: FileRef | None
    process: list[ProcessRecord]
    sent_at: str


# Event kind → (step, step code, opinion when the event gives none). Kinds not listed (field
# edits, ratings, conflict resolution…) are our own audit detail, not process records.
STEPS: dict[str, tuple[str, str, str]] = {
    EventKind.SUBMITTED: ("申报", "apply", "提交申请"),
    EventKind.ACCEPTED: ("受理", "accept", "材料齐全，予以受理"),
    EventKind.MATERIALS_REQUESTED: ("补正", "supplement", "一次性告知补正材料"),
    EventKind.FORWARDED: ("承办", "undertake", "转报县级审批"),
    EventKind.COUNTY_ACK: ("审核", "review", "县级平台已接收"),
    EventKind.APPROVED: ("批准", "approve", "准予批准"),
    EventKind.REJECTED: ("批准", "approve", "不予批准"),
    EventKind.RESULT_READY: ("办结", "conclude", "办理结果已出"),
    EventKind.DELIVERED: ("送达", "deliver", "结果已送达"),
}

OFFICES = {
    "village_agent": "村便民服务站",
    "township_staff": "乡镇便民服务中心",
    "county_operator": "县政务服务中心",
    "system": "一趟办系统",
}


def file_ref(db: str, doc: Mapping[str, Any], name: str, link: LinkMaker) -> FileRef | None:
    """The reference to attachment `name` of `doc`, or None when `doc` has no such attachment."""
    stub = (doc.get("_attachments") or {}).get(name)
    if not isinstance(stub, Mapping):
        return None
    return FileRef(name=name, content_type=str(stub.get("content_type", "application/octet-stream")),
                   length=int(stub.get("length", 0)), digest=str(stub.get("digest", "")),
                   url=link(db, str(doc["_id"]), name))


def material_records(db: str, case: Mapping[str, Any], materials: Mapping[str, Mapping[str, Any]],
                     link: LinkMaker) -> list[MaterialRecord]:
    """One record per requirement, with every file captured for it or reused from the library."""
    by_requirement: dict[str, MaterialRecord] = {}
    for entry in case.get("materials") or []:
        requirement = str(entry.get("requirement", ""))
        record = by_requirement.setdefault(requirement, MaterialRecord(
            requirement=requirement, source=str(entry.get("source", "captured")),
            material_id=entry.get("material_id"), files=[]))
        if entry.get("attachment"):
            ref = file_ref(db, case, str(entry["attachment"]), link)
            if ref is not None:
                record["files"].append(ref)
        material = materials.get(str(entry.get("material_id", "")))
        if material is not None:
            for name in sorted(material.get("_attachments") or {}):
                ref = file_ref(db, material, name, link)
                if ref is not None:
                    record["files"].append(ref)
    return list(by_requirement.values())


def process_records(events: Sequence[Mapping[str, Any]], division: Mapping[str, Any]) -> list[ProcessRecord]:
    """The process records of `events`, oldest first (ULID event ids sort by creation time)."""
    records: list[ProcessRecord] = []
    for event in sorted(events, key=lambda e: str(e.get("_id", ""))):
        step = STEPS.get(str(event.get("kind")))
        if step is None:
            continue
        data = event.get("data") or {}
        role = str(event.get("role", ""))
        office_code = {"village_agent": division.get("village"), "township_staff": division.get("township"),
                       "county_operator": division.get("county")}.get(role) or ""
        office = " ".join(part for part in (OFFICES.get(role, role), str(office_code)) if part)
        opinion = data.get("opinion") or data.get("reason") or step[2]
        if event.get("kind") == EventKind.MATERIALS_REQUESTED and data.get("missing"):
            opinion = f"{step[2]}：{'、'.join(map(str, data['missing']))}"
        records.append(ProcessRecord(
            step=step[0], step_code=step[1],
            time=str(event.get("server_time") or event.get("device_time") or ""),
            handler=str(event.get("by", "")), role=role, office=office, opinion=str(opinion),
            event_id=str(event.get("_id", ""))))
    return records


def build_record(case: Mapping[str, Any], events: Sequence[Mapping[str, Any]],
                 materials: Mapping[str, Mapping[str, Any]], *, db: str, item_name: str,
                 link: LinkMaker, now: str, form: Form | None = None) -> CaseRecord:
    """The hand-off record of `case` (read with attachment stubs) at time `now`.

    `form`: the version the case's `form` names, when it has one (its answers are typed by it).
    """
    applicant = case.get("applicant") or {}
    id_number = str(applicant.get("id_number", ""))
    division = dict(case.get("division") or {})
    signature = file_ref(db, case, "signature.png", link)
    return CaseRecord(
        schema=SCHEMA,
        case_no=case_ulid(str(case["_id"])),
        case_id=str(case["_id"]),
        tracking_code=str(case.get("tracking_code", "")),
        item={"code": case.get("item_code", ""), "name": item_name, "situation": case.get("situation", "")},
        division=division,
        applicant=Applicant(name=str(applicant.get("name", "")), id_type="resident_id_card",
                            id_number=id_number, id_number_masked=mask_id_number(id_number),
                            phone=str(applicant.get("phone", ""))),
        answers=dict(case.get("answers") or {}),
        form=None if form is None else FormRecord(
            id=form.form_id, version=form.version, title=form.title.zh,
            fields=answer_summary(form, case.get("answers") or {})),
        submitted_at=case.get("submitted_at"),
        accepted_at=case.get("accepted_at"),
        deadline=case.get("deadline"),
        paused_days=int(case.get("paused_days") or 0),
        materials=material_records(db, case, materials, link),
        signature=signature,
        process=process_records(events, division),
        sent_at=now,
    )


def record_problems(record: object) -> list[str]:
    """What is wrong with a received record (empty when it is well formed) — the county's check."""
    if not isinstance(record, Mapping):
        return ["the record must be a JSON object"]
    problems: list[str] = []
    if record.get("schema") != SCHEMA:
        problems.append(f"schema must be {SCHEMA}")
    if not str(record.get("case_id", "")).startswith("case:") or not record.get("case_no"):
        problems.append("case_id and case_no are required")
    item = record.get("item")
    if not isinstance(item, Mapping) or not item.get("code"):
        problems.append("item.code is required")
    applicant = record.get("applicant")
    if (not isinstance(applicant, Mapping) or not applicant.get("name")
            or len(str(applicant.get("id_number"))) != 18):
        problems.append("applicant.name and an 18-character applicant.id_number are required")
    if not record.get("accepted_at"):
        problems.append("accepted_at is required")
    materials = record.get("materials")
    if not isinstance(materials, list):
        problems.append("materials must be a list")
    else:
        for i, material in enumerate(materials):
            files = material.get("files") if isinstance(material, Mapping) else None
            if not isinstance(files, list) or not all(isinstance(f, Mapping) and f.get("url") for f in files):
                problems.append(f"materials[{i}].files must be a list of files with url")
    process = record.get("process")
    if not isinstance(process, list) or not process:
        problems.append("process must list at least the 申报 and 受理 steps")
    elif not all(isinstance(p, Mapping) and p.get("step") and p.get("time") for p in process):
        problems.append("every process record needs step and time")
    return problems
