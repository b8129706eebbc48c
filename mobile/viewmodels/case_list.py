"""Case list (办件列表), the home screen: filters, search, deadline badges, sync bar.

Rows come from the store's indexed summaries (never a scan of JSON); only the page shown
is read in full, for the item name and the deadline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from mobile.services.i18n import Translator
from mobile.store.errors import NotFound
from mobile.store.query import initials_of, normalize_code, spelled_of
from mobile.viewmodels.badges import Badge, BadgeLevel, WorkdaysBetween, deadline_badge, weekdays_between
from mobile.viewmodels.casebook import DocStore
from mobile.viewmodels.sync import SyncBar, SyncViewModel
from shared.idnumber import mask_id_number


class CaseFilter(StrEnum):
    """The tabs of the list; WAITING_SYNC is "changed here, not yet pushed"."""

    ALL = "all"
    DRAFTS = "drafts"
    WAITING_SYNC = "waiting_sync"
    SUBMITTED = "submitted"
    NEEDS_MATERIALS = "needs_materials"
    RESULT_READY = "result_ready"
    FINISHED = "finished"
    REVIEW = "review"


STATUSES: dict[CaseFilter, tuple[str, ...]] = {
    CaseFilter.DRAFTS: ("draft",),
    CaseFilter.SUBMITTED: ("submitted", "accepted", "forwarded", "approved"),
    CaseFilter.NEEDS_MATERIALS: ("needs_materials",),
    CaseFilter.RESULT_READY: ("result_ready",),
    CaseFilter.FINISHED: ("delivered", "rejected", "withdrawn"),
}
AGENT_FILTERS = (
    CaseFilter.ALL,
    CaseFilter.DRAFTS,
    CaseFilter.WAITING_SYNC,
    CaseFilter.SUBMITTED,
    CaseFilter.NEEDS_MATERIALS,
    CaseFilter.RESULT_READY,
    CaseFilter.FINISHED,
)
STAFF_FILTERS = (CaseFilter.SUBMITTED, CaseFilter.REVIEW, *AGENT_FILTERS[4:], CaseFilter.ALL)


@dataclass(frozen=True)
class CaseRow:
    """One line of the list, all texts ready to show."""

    case_id: str
    name: str
    id_masked: str
    item: str
    status: str
    status_label: str
    tracking_code: str
    badge: Badge
    needs_review: bool
    unsynced: bool


class CaseListViewModel:
    """Filters and search over the store; `pushed_seq` is the local sequence last pushed."""

    def __init__(
        self,
        store: DocStore,
        t: Translator,
        sync: SyncViewModel,
        *,
        item_name: Callable[[str], str],
        today: Callable[[], date],
        pushed_seq: Callable[[], int | str] = lambda: 0,
        changed_since: Callable[[int | str], Sequence[str]] = lambda seq: (),
        staff: bool = False,
        page_size: int = 30,
        between: WorkdaysBetween = weekdays_between,
    ) -> None:
        self.store = store
        self.t = t
        self.sync = sync
        self.item_name = item_name
        self.today = today
        self.pushed_seq = pushed_seq
        self.changed_since = changed_since
        self.filters = STAFF_FILTERS if staff else AGENT_FILTERS
        self.filter = self.filters[0] if not staff else CaseFilter.SUBMITTED
        self.search = ""
        self.page_size = page_size
        self.limit = page_size
        self.between = between
        self.rows: list[CaseRow] = []
        self.total = 0

    def select(self, case_filter: CaseFilter) -> None:
        self.filter = case_filter
        self.limit = self.page_size
        self.refresh()

    def set_search(self, text: str) -> None:
        self.search = text
        self.limit = self.page_size
        self.refresh()

    def more(self) -> None:
        self.limit += self.page_size
        self.refresh()

    @property
    def has_more(self) -> bool:
        return self.total > len(self.rows)

    def label(self, case_filter: CaseFilter) -> str:
        return self.t(f"filter_{case_filter.value}")

    def sync_bar(self) -> SyncBar:
        return self.sync.bar()

    def refresh(self) -> None:
        """Reloads the rows of the current filter and search, and the pending count."""
        unsynced = set(self.changed_since(self.pushed_seq()))
        self.sync.set_pending(len(unsynced))
        text = self.search.strip() or None
        summaries: list[dict[str, Any]]
        if self.filter is CaseFilter.WAITING_SYNC:
            found = [self._summary(d) for d in sorted(unsynced, reverse=True) if d.startswith("case:")]
            summaries = [s for s in found if s is not None and (text is None or self._matches(s, text))]
            self.total = len(summaries)
            summaries = summaries[: self.limit]
        else:
            review = True if self.filter is CaseFilter.REVIEW else None
            status = STATUSES.get(self.filter)
            summaries = self.store.find_cases(status=status, needs_review=review, text=text, limit=self.limit)
            self.total = self.store.count_cases(status=status, needs_review=review, text=text)
        self.rows = [self._row(summary, unsynced) for summary in summaries]

    def _summary(self, doc_id: str) -> dict[str, Any] | None:
        try:
            doc = self.store.get(doc_id)
        except NotFound:  # a deleted draft leaves its id in the feed
            return None
        applicant = doc.get("applicant", {})
        return {
            "id": doc_id,
            "status": doc.get("status"),
            "name": applicant.get("name"),
            "id_number": applicant.get("id_number"),
            "tracking_code": doc.get("tracking_code"),
            "needs_review": bool(doc.get("needs_review")),
        }

    @staticmethod
    def _matches(summary: dict[str, Any], text: str) -> bool:
        """The store's search, for the few unsynced cases listed from the change feed."""
        name = str(summary.get("name") or "")
        needle = text.strip().lower()
        pinyin = needle.replace(" ", "")
        code = normalize_code(text)
        return (
            needle in name.lower()
            or needle in str(summary.get("id_number") or "").lower()
            or (pinyin.isascii() and pinyin.isalpha()
                and (initials_of(name).startswith(pinyin) or pinyin in spelled_of(name)))
            or (len(code) >= 4 and code in normalize_code(str(summary.get("tracking_code") or "")))
        )

    def _row(self, summary: dict[str, Any], unsynced: set[str]) -> CaseRow:
        doc = self.store.get(str(summary["id"]))
        status = str(doc.get("status", ""))
        id_number = str(doc.get("applicant", {}).get("id_number") or "")
        return CaseRow(
            case_id=str(doc["_id"]),
            name=str(doc.get("applicant", {}).get("name") or "—"),
            id_masked=mask_id_number(id_number) if len(id_number) == 18 else id_number,
            item=self.item_name(str(doc.get("item_code", ""))),
            status=status,
            status_label=self.t(f"status_{status}"),
            tracking_code=str(doc.get("tracking_code") or ""),
            badge=deadline_badge(status, doc.get("deadline"), self.today(), self.t, self.between),
            needs_review=bool(doc.get("needs_review")),
            unsynced=str(doc["_id"]) in unsynced,
        )


__all__ = ["BadgeLevel", "CaseFilter", "CaseListViewModel", "CaseRow"]
