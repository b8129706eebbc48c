"""Case detail (办件详情): fields, materials, timeline from the events, deadline, and the
actions the signed-in role may take (the buttons come from `shared.status.allowed_transitions`,
the same table the gateway enforces).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from mobile.services.errors import ScanError
from mobile.services.i18n import Translator
from mobile.services.scan import ScanSource, process_scan
from mobile.viewmodels.badges import Badge, deadline_badge
from mobile.viewmodels.casebook import CaseBook, iso
from mobile.viewmodels.china_time import show_time
from mobile.viewmodels.items import ItemChoice, Requirement
from mobile.viewmodels.names import Names
from mobile.viewmodels.signing import signing_text
from shared.documents import EVENT_OF, EventKind
from shared.errors import DomainError
from shared.idnumber import mask_id_number
from shared.jsontypes import JSON
from shared.separation import acceptors, separation_refusal
from shared.status import Status, allowed_transitions, check_transition
from shared.text import Message
from shared.workdays import china_date

Deadline = Callable[[date, int], date]

# Label keys of the action buttons, by target status.
ACTION_KEYS: dict[Status, str] = {
    Status.SUBMITTED: "resubmit",
    Status.ACCEPTED: "accept",
    Status.NEEDS_MATERIALS: "request_materials",
    Status.REJECTED: "reject",
    Status.FORWARDED: "forward",
    Status.APPROVED: "approve",
    Status.RESULT_READY: "mark_result_ready",
    Status.DELIVERED: "deliver",
    Status.WITHDRAWN: "withdraw",
}
NEEDS_REASON = frozenset({Status.REJECTED, Status.WITHDRAWN})
# Decisions asked again in a dialog before they are made (label key of the question).
CONFIRM_KEYS: dict[Status, str] = {Status.APPROVED: "confirm_approve", Status.REJECTED: "confirm_reject"}


@dataclass(frozen=True)
class Action:
    """A button: its target status, label, and what it asks for first."""

    target: Status
    label: str
    needs_reason: bool
    needs_list: bool
    opens_delivery: bool
    confirm: str = ""  # the question a dialog asks before the change ("" = none)


@dataclass(frozen=True)
class TimelineRow:
    time: str
    label: str
    who: str
    note: str


@dataclass(frozen=True)
class MaterialView:
    requirement: str
    name: str
    material_id: str
    source: str


class CaseDetailViewModel:
    """One case as the detail screen shows it; `deadline_of(accepted_on, days)` is the domain calendar."""

    def __init__(
        self,
        book: CaseBook,
        items: Sequence[ItemChoice],
        t: Translator,
        *,
        today: Callable[[], date],
        deadline_of: Deadline,
        names: Names | None = None,
    ) -> None:
        self.book = book
        self.names = names or Names(t, book.account, {})
        self.items = {i.code: i for i in items}
        self.t = t
        self.today = today
        self.deadline_of = deadline_of
        self.case: JSON = {}
        self.events: list[JSON] = []
        self.error = ""
        # The action whose form caused `error` (shown under that form), None for the screen's.
        self.error_target: Status | None = None
        self.message = ""

    def load(self, case_id: str) -> None:
        self.case = self.book.get(case_id)
        self.events = self.book.events(case_id)

    # -- what the screen shows -----------------------------------------------------------

    @property
    def item(self) -> ItemChoice | None:
        return self.items.get(str(self.case.get("item_code")))

    @property
    def status(self) -> Status:
        return Status(self.case["status"])

    def fields(self) -> list[tuple[str, str]]:
        a = self.case.get("applicant", {})
        number = str(a.get("id_number") or "")
        item = self.item
        situation = item.situation(str(self.case.get("situation"))) if item else None
        rows = [
            (self.t("tracking_code"), str(self.case.get("tracking_code") or "—")),
            (self.t("step_item"), item.name if item else str(self.case.get("item_code"))),
            (self.t("step_situation"), situation.name if situation else "—"),
            (self.t("applicant_name"), str(a.get("name") or "—")),
            (self.t("id_number"), mask_id_number(number) if len(number) == 18 else number or "—"),
            (self.t("phone"), str(a.get("phone") or "—")),
            (self.t("signed_as"), signing_text(self.case, self.t)),
            ("状态 Status", self.t(f"status_{self.status.value}")),
            (self.t("deadline"), str(self.case.get("deadline") or "—")),
        ]
        if self.case.get("missing"):
            rows.append((self.t("step_notice"), "、".join(self._names(self.case["missing"]))))
        return rows

    def badge(self) -> Badge:
        return deadline_badge(self.case["status"], self.case.get("deadline"), self.today(), self.t)

    def materials(self) -> list[MaterialView]:
        names = {r.code: r.name for r in self._requirements()}
        return [
            MaterialView(
                requirement=str(e["requirement"]),
                name=names.get(str(e["requirement"]), str(e["requirement"])),
                material_id=str(e.get("material_id", "")),
                source=str(e.get("source", "")),
            )
            for e in self.case.get("materials", [])
        ]

    def thumbnail(self, material_id: str) -> bytes | None:
        return self.book.thumbnail(material_id)

    def full_scan(self, material_id: str) -> bytes | None:
        return self.book.scan(material_id)

    def document_pdf(self, material_id: str) -> tuple[str, bytes] | None:
        """(file name, PDF) of a generated material such as the filled 申请表, for printing."""
        pdf = self.book.document_pdf(material_id)
        if pdf is None or self.case is None:
            return None
        return f"申请表-{self.case.get('tracking_code') or self.case['_id'][-8:]}.pdf", pdf

    def timeline(self) -> list[TimelineRow]:
        rows = []
        for event in self.events:
            data = event.get("data", {})
            note = str(data.get("reason") or "")
            if data.get("missing"):
                note = (note + " " if note else "") + "、".join(self._names(data["missing"]))
            rows.append(
                TimelineRow(
                    time=show_time(str(event.get("server_time") or event.get("device_time") or "")),
                    label=self.t(f"event_{event['kind']}"),
                    # Events keep the username; the name is looked up now (the directory).
                    who=self.names.person_with_role(str(event.get("by", "")), str(event.get("role", ""))),
                    note=note,
                )
            )
        return rows

    # -- actions -------------------------------------------------------------------------

    def actions(self) -> list[Action]:
        role = self.book.account.role
        level = self.item.level if self.item else None
        targets = allowed_transitions(role, self.status, level=level)
        return [
            Action(
                target=target,
                label=self._label(target),
                needs_reason=target in NEEDS_REASON,
                needs_list=target is Status.NEEDS_MATERIALS,
                opens_delivery=target is Status.DELIVERED and role == "village_agent",
                confirm=self.t(CONFIRM_KEYS[target]) if target in CONFIRM_KEYS else "",
            )
            for target in targets
            if (target is not Status.NEEDS_MATERIALS or not self._notice_given())
            and self._separation(target) is None
        ]

    def can_issue_slip(self) -> bool:
        """Township staff print the result slip (结果领取单, the delivery QR) once the result is ready."""
        return self.status is Status.RESULT_READY and self.book.account.role == "township_staff"

    def separation_note(self) -> str:
        """Why a decision the role could make is not offered to this user (受审分离), or ""."""
        level = self.item.level if self.item else None
        for target in allowed_transitions(self.book.account.role, self.status, level=level):
            refusal = self._separation(target)
            if refusal is not None:
                return str(refusal)
        return ""

    def _separation(self, target: Status) -> Message | None:
        item = self.item
        return separation_refusal(
            self.book.account.username, self.book.account.role, self.status, target,
            accepted_by=acceptors(self.events),
            separate=item.separate_intake_approval if item else True,
        )

    def _label(self, target: Status) -> str:
        if target is Status.REJECTED and self.status is Status.ACCEPTED:
            return self.t("refuse")  # 不予许可 after acceptance, 不予受理 before it
        return self.t(ACTION_KEYS[target])

    def requirements(self) -> list[Requirement]:
        """The checklist of the case's situation, for choosing what to request."""
        return self._requirements()

    def request_choices(self) -> list[tuple[Requirement, bool]]:
        """The checklist of a request for materials: (requirement, already missing). What the
        agent marked missing at intake comes ticked and stays on the notice."""
        marked = self.marked_missing()
        return [(r, r.code in marked) for r in self._requirements()]

    def marked_missing(self) -> list[str]:
        """Requirement codes already missing on the case, once each, in order."""
        return list(dict.fromkeys(str(c) for c in self.case.get("missing", [])))

    def perform(self, target: Status, reason: str = "", missing: Sequence[str] = ()) -> bool:
        """Makes one status change with its event; `error` says why not. A request for
        materials (一次性告知) adds `missing` to what is already missing: nothing drops off."""
        self.error = self.message = ""
        self.error_target = None
        level = self.item.level if self.item else None
        try:
            check_transition(self.book.account.role, self.status, target, level=level)
        except DomainError as error:
            self.error = str(error)
            return False
        refusal = self._separation(target)
        if refusal is not None:
            self.error = str(refusal)
            return False
        if target in NEEDS_REASON and not reason.strip():
            self.error, self.error_target = self.t("reason_required"), target
            return False
        if target is Status.NEEDS_MATERIALS:
            missing = list(dict.fromkeys([*self.marked_missing(), *missing]))
            if not missing:
                self.error, self.error_target = self.t("tick_missing"), target
                return False
        changes: JSON = {"status": target.value}
        now = self.book.clock()
        if target is Status.ACCEPTED:
            changes["accepted_at"] = iso(now)
            days = self.item.time_limit_days if self.item else 3
            changes["deadline"] = self.deadline_of(china_date(now), days).isoformat()
        if target is Status.NEEDS_MATERIALS:
            changes["missing"] = list(missing)
        data: JSON = {"from": self.status.value, "to": target.value}
        if reason.strip():
            data["reason"] = reason.strip()
        if missing:
            data["missing"] = list(missing)
        self.case = self.book.save(self.case, {**self.case, **changes})
        self.book.add_event(self.case, EVENT_OF[target], data)
        self.events = self.book.events(str(self.case["_id"]))
        self.message = self.t("action_done")
        return True

    def supplement(self, requirement: str, data: ScanSource) -> bool:
        """Adds a missing material after 补正 (agent), removing it from the missing list."""
        self.error = ""
        try:
            scan = process_scan(data)
        except ScanError as error:
            self.error = str(error)
            return False
        number = str(self.case["applicant"]["id_number"])
        req = next((r for r in self._requirements() if r.code == requirement), None)
        kind = req.reuse_key if req else requirement
        material = self.book.add_material(
            number, mask_id_number(number), kind, scan.jpeg, scan.thumbnail, None, self.case["division"]
        )
        entries = [e for e in self.case.get("materials", []) if e["requirement"] != requirement]
        entries.append({"requirement": requirement, "material_id": material["_id"], "source": "captured"})
        missing = [m for m in self.case.get("missing", []) if m != requirement]
        self.case = self.book.save(self.case, {**self.case, "materials": entries, "missing": missing})
        return True

    def can_supplement(self) -> bool:
        """The agent adds what the one-time notice asked for, while the case waits for it."""
        return self.status is Status.NEEDS_MATERIALS and self.book.account.role == "village_agent"

    def still_missing(self) -> list[tuple[str, str]]:
        """(requirement code, name) of the materials still missing."""
        codes = [str(c) for c in self.case.get("missing", [])]
        return list(zip(codes, self._names(codes), strict=True))

    def _notice_given(self) -> bool:
        # 一次性告知: the citizen gets one complete list per application, never a second.
        return any(e.get("kind") == EventKind.MATERIALS_REQUESTED for e in self.events)

    def _requirements(self) -> list[Requirement]:
        item = self.item
        situation = item.situation(str(self.case.get("situation"))) if item else None
        return list(situation.requirements) if situation else []

    def _names(self, codes: Sequence[str]) -> list[str]:
        names = {r.code: r.name for r in self._requirements()}
        return [names.get(c, c) for c in codes]
