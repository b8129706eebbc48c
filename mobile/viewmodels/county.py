"""The county operator's home (县级首页): hand-offs of the county, dead letters, results going back.

County operators change no case (shared/status.py): the county platform decides and its
outcomes arrive through the signed callback. What they need is the state of the hand-off
pipe: each case handed off from their county with where its hand-off stands, the hand-offs
that died (with a retry), and the county results still on their way back to the village
(approved or result ready, not yet delivered to the citizen). All of it comes from the
server (`GET /api/county/cases`), so this screen needs the network, like the staff screens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from mobile.services.i18n import Translator
from mobile.services.staff_api import StaffApi, StaffApiError
from mobile.viewmodels.china_time import show_time

STATE_LABELS = {
    "pending": "排队待推送 Queued",
    "sent": "已推送，待县级确认 Sent, awaiting the county",
    "acked": "县级已接收 Taken by the county",
    "dead": "推送失败 Failed",
    "cancelled": "已取消 Cancelled",
}
# County outcomes that still have to reach the citizen in the village.
RESULT_STATUSES = ("approved", "result_ready")
RESULT_NEXT = {
    "approved": "待乡镇出具结果 Township to make the result ready",
    "result_ready": "待村代办员送达 Agent to deliver",
}


@dataclass(frozen=True)
class HandOff:
    """One case handed off to the county, as the screen shows it."""

    case_id: str
    village: str
    state: str
    state_label: str
    status: str
    status_label: str
    tracking_code: str
    item: str
    applicant: str
    attempts: int
    last_error: str
    county_ref: str
    updated: str

    @property
    def is_dead(self) -> bool:
        return self.state == "dead"

    @property
    def is_result(self) -> bool:
        return self.status in RESULT_STATUSES

    @property
    def next_step(self) -> str:
        return RESULT_NEXT.get(self.status, "")


class CountyViewModel:
    """Loads the county's hand-offs; retries a dead one."""

    def __init__(self, api: Callable[[], StaffApi], t: Translator, item_name: Callable[[str], str],
                 place: Callable[[str], str] = str) -> None:
        self.api = api
        self.place = place  # a village code → its name (Names.place); the code when unknown
        self.t = t
        self.item_name = item_name
        self.entries: list[HandOff] = []
        self.loaded = False
        self.error = ""
        self.message = ""

    async def load(self) -> None:
        self.error = ""
        try:
            rows = await self.api().county_cases()
        except StaffApiError as error:
            self.error = str(error)
            return
        self.entries = [self._entry(row) for row in rows]
        self.loaded = True

    def _entry(self, row: dict[str, Any]) -> HandOff:
        case = row.get("case") or {}
        status = str(case.get("status") or "")
        state = str(row.get("state") or "")
        return HandOff(
            case_id=str(row.get("case_id", "")),
            village=self.place(str(case.get("village") or "")),
            state=state,
            state_label=STATE_LABELS.get(state, state),
            status=status,
            status_label=self.t(f"status_{status}") if status else "—",
            tracking_code=str(case.get("tracking_code") or "—"),
            item=self.item_name(str(case.get("item_code") or "")) or "—",
            applicant=str(case.get("applicant") or ""),
            attempts=int(row.get("attempts") or 0),
            last_error=str(row.get("last_error") or ""),
            county_ref=str(row.get("county_ref") or ""),
            updated=show_time(str(row.get("updated_at") or "")),
        )

    # -- the three lists -------------------------------------------------------------------

    def dead_letters(self) -> list[HandOff]:
        return [e for e in self.entries if e.is_dead]

    def results(self) -> list[HandOff]:
        """County outcomes waiting to reach the village: approved or result ready, not delivered."""
        return [e for e in self.entries if e.is_result]

    def handed_off(self) -> list[HandOff]:
        return list(self.entries)

    def counts(self) -> str:
        return (f"已移交 {len(self.entries)} · 失败 {len(self.dead_letters())} · 待送回 {len(self.results())}"
                f"  Handed off {len(self.entries)} · failed {len(self.dead_letters())}"
                f" · to send back {len(self.results())}")

    async def retry(self, entry: HandOff) -> bool:
        """Queues the dead hand-off again; the list shows its new state."""
        self.error = self.message = ""
        try:
            answer = await self.api().retry_handoff(entry.case_id)
        except StaffApiError as error:
            self.error = str(error)
            return False
        state = str(answer.get("state") or "pending")
        self.entries = [
            replace(e, state=state, state_label=STATE_LABELS.get(state, state),
                    attempts=int(answer.get("attempts") or 0), last_error="")
            if e.case_id == entry.case_id else e
            for e in self.entries
        ]
        self.message = f"已重新排队推送 {entry.tracking_code} Queued again"
        return True
