"""The case summary a citizen sees (办件进度), built from a case and its events.

Pure: the caller reads the documents and passes `now`. The summary deliberately carries
no ID number, phone, address, username or device: offices are named by the role that
acted (村代办点, 乡镇便民服务中心, 县政务服务中心), and the applicant's name is masked.
Every text comes in Chinese and English; the page picks one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any, TypedDict

from shared.documents import EVENT_OF, EventKind
from shared.status import Status
from shared.workdays import china_date


class Text(TypedDict):
    zh: str
    en: str


class Coded(TypedDict):
    code: str
    zh: str
    en: str


class Step(TypedDict):
    kind: str
    zh: str
    en: str
    at: str
    office: Text


class Summary(TypedDict):
    code: str
    item: Coded
    applicant: str
    status: Coded
    timeline: list[Step]
    deadline: str | None
    timing: Coded
    delivered: bool
    rated: bool
    can_rate: bool
    missing: list[Text]
    reason: str
    todo: Text | None


STATUS_WORDS: dict[str, Text] = {
    "draft": {"zh": "正在填写申请", "en": "Application being prepared"},
    "submitted": {"zh": "已提交，等待受理", "en": "Submitted, waiting to be accepted"},
    "needs_materials": {"zh": "需要补充材料", "en": "More documents are needed"},
    "accepted": {"zh": "已受理，正在办理", "en": "Accepted, being handled"},
    "forwarded": {"zh": "已报送县级部门审批", "en": "Sent to the county for a decision"},
    "approved": {"zh": "已批准，正在制作结果", "en": "Approved, result being prepared"},
    "rejected": {"zh": "未予批准", "en": "Not approved"},
    "result_ready": {"zh": "结果已出，等待送达", "en": "Result ready, on its way to you"},
    "delivered": {"zh": "已送达", "en": "Delivered"},
    "withdrawn": {"zh": "已撤回", "en": "Withdrawn"},
}

# The steps a citizen cares about; edits, conflicts and other internal events stay out.
STEP_WORDS: dict[str, Text] = {
    EventKind.SUBMITTED: {"zh": "提交申请", "en": "Application submitted"},
    EventKind.MATERIALS_REQUESTED: {"zh": "一次性告知补正材料", "en": "Asked once for missing documents"},
    EventKind.ACCEPTED: {"zh": "受理", "en": "Accepted"},
    EventKind.FORWARDED: {"zh": "报送县级审批", "en": "Sent to the county"},
    EventKind.COUNTY_ACK: {"zh": "县级部门已接收", "en": "Received by the county"},
    EventKind.APPROVED: {"zh": "批准", "en": "Approved"},
    EventKind.REJECTED: {"zh": "不予批准", "en": "Not approved"},
    EventKind.RESULT_READY: {"zh": "结果已出", "en": "Result ready"},
    EventKind.DELIVERED: {"zh": "送达", "en": "Delivered"},
    EventKind.WITHDRAWN: {"zh": "撤回", "en": "Withdrawn"},
    EventKind.RATED: {"zh": "已评价", "en": "Rated"},
}

OFFICES: dict[str, Text] = {
    "village_agent": {"zh": "村便民服务代办点", "en": "Village service point"},
    "township_staff": {"zh": "乡镇便民服务中心", "en": "Township service centre"},
    "county_operator": {"zh": "县政务服务中心", "en": "County service centre"},
    "county": {"zh": "县政务服务中心", "en": "County service centre"},
    "citizen": {"zh": "本人", "en": "You"},
}
# When an event's role is unknown (e.g. written by a worker), the office that usually acts.
OFFICE_BY_KIND: dict[str, str] = {EventKind.FORWARDED: "township_staff", EventKind.COUNTY_ACK: "county",
                  EventKind.SUBMITTED: "village_agent"}

TIMING_WORDS: dict[str, Text] = {
    "not_started": {"zh": "尚未受理，办理时限未开始计算",
                    "en": "Not accepted yet; the time limit has not started"},
    "on_time": {"zh": "在办理时限内", "en": "On time"},
    "paused": {"zh": "等待补正材料，时限暂停", "en": "Waiting for documents; the clock is paused"},
    "overdue": {"zh": "已超过办理时限", "en": "Past the time limit"},
    "done_on_time": {"zh": "按时办结", "en": "Finished on time"},
    "done_late": {"zh": "超时办结", "en": "Finished late"},
    "closed": {"zh": "办理已结束，不再计算时限", "en": "Closed; no time limit runs"},
}
# What the citizen must do now (一次性告知: everything missing at once, then where to take it).
TODO_WORDS: dict[str, Text] = {
    "bring": {"zh": "请准备以下材料，交给村代办员或送到乡镇便民服务中心。材料齐全后继续办理。",
              "en": "Please get the documents below ready and give them to your village agent or take"
                    " them to the township service centre. Handling continues once they are complete."},
    "rejected": {"zh": "如对结果有疑问，请联系村代办员或乡镇便民服务中心；条件具备后可重新申请。",
                 "en": "If you have questions, ask your village agent or the township service centre;"
                       " you may apply again once the conditions are met."},
}
ASKS_FOR_MATERIALS = {"draft", "submitted", "needs_materials"}
# status → the event holding the reason
GIVES_REASON = {s.value: EVENT_OF[s] for s in (Status.REJECTED, Status.WITHDRAWN)}
FINISHED = {"result_ready", "delivered", "rejected"}
# The events that finish a case: when one was written is when the case was done.
FINISHING_EVENTS = {EVENT_OF[Status(s)] for s in FINISHED}


def build_summary(case: Mapping[str, Any], events: Iterable[Mapping[str, Any]], *, item: Coded,
                  now: datetime, materials: Mapping[str, Text] | None = None) -> Summary:
    """The citizen's view of one case; `events` in any order, `item` and `materials` (by
    requirement code) names from the catalog."""
    ordered = sorted(events, key=lambda e: str(e.get("_id", "")))  # event ids end in a ULID: creation order
    status = str(case.get("status", ""))
    deadline = case.get("deadline") if isinstance(case.get("deadline"), str) else None
    rated = any(e.get("kind") == EventKind.RATED for e in ordered)
    missing = _missing(case, materials or {}) if status in ASKS_FOR_MATERIALS else []
    reason = _reason(ordered, GIVES_REASON[status]) if status in GIVES_REASON else ""
    return {
        "code": str(case.get("tracking_code", "")),
        "item": item,
        "applicant": mask_name(str((case.get("applicant") or {}).get("name", ""))),
        "status": {"code": status, **STATUS_WORDS.get(status, {"zh": status, "en": status})},
        "timeline": [_step(e) for e in ordered if e.get("kind") in STEP_WORDS],
        "deadline": deadline,
        "timing": _timing(status, deadline, ordered, now),
        "delivered": status == "delivered",
        "rated": rated,
        "can_rate": status == "delivered" and not rated,
        "missing": missing,
        "reason": reason,
        "todo": TODO_WORDS["bring"] if missing else TODO_WORDS.get(status),
    }


def _missing(case: Mapping[str, Any], materials: Mapping[str, Text]) -> list[Text]:
    """The names of the materials the case still lacks, once each, in the case's order."""
    codes = case.get("missing")
    if not isinstance(codes, list):
        return []
    out: list[Text] = []
    for code in dict.fromkeys(str(c) for c in codes):
        out.append(materials.get(code) or {"zh": code, "en": code})
    return out


def _reason(events: list[Mapping[str, Any]], kind: str) -> str:
    """The reason written with the latest `kind` event (不予受理/不予许可的理由)."""
    for event in reversed(events):
        data = event.get("data")
        if event.get("kind") == kind and isinstance(data, Mapping):
            return " ".join(str(data.get("reason") or "").split())
    return ""


def mask_name(name: str) -> str:
    """张三丰 → 张**; the citizen recognises their case without the page naming them."""
    name = name.strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def _step(event: Mapping[str, Any]) -> Step:
    kind = str(event["kind"])
    role = str(event.get("role") or OFFICE_BY_KIND.get(kind, "township_staff"))
    office = OFFICES.get(role, OFFICES["township_staff"])
    at = str(event.get("server_time") or event.get("device_time") or "")
    return {"kind": kind, **STEP_WORDS[kind], "at": at, "office": office}


def _timing(status: str, deadline: str | None, events: list[Mapping[str, Any]], now: datetime) -> Coded:
    code = _timing_code(status, deadline, events, now)
    return {"code": code, **TIMING_WORDS[code]}


def _timing_code(status: str, deadline: str | None, events: list[Mapping[str, Any]], now: datetime) -> str:
    if status in {"rejected", "withdrawn"} and (deadline is None or status == "withdrawn"):
        return "closed"  # refused before acceptance, or withdrawn: no time limit is counting
    if deadline is None or status in {"draft", "submitted"}:
        return "not_started"
    try:
        due = date.fromisoformat(deadline)
    except ValueError:
        return "not_started"
    if status == "needs_materials":
        return "paused"
    if status in FINISHED:
        finished = [e for e in events if e.get("kind") in FINISHING_EVENTS]
        when = _parse_time(finished[0]) if finished else None
        done_on = china_date(when) if when else china_date(now)
        return "done_on_time" if done_on <= due else "done_late"
    return "on_time" if china_date(now) <= due else "overdue"


def _parse_time(event: Mapping[str, Any]) -> datetime | None:
    text = str(event.get("server_time") or event.get("device_time") or "")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
