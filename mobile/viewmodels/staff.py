"""Township staff screens (乡镇): conflict review side by side, and supervision figures.

Both need the network (the server holds the reviews and the figures); the case actions
(accept, request materials, forward, approve) work offline in the case detail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mobile.services.i18n import Translator
from mobile.services.staff_api import StaffApi, StaffApiError
from mobile.viewmodels.names import Names


@dataclass(frozen=True)
class FieldChoice:
    """One conflicting field: the values side by side, and the one chosen (index) if any."""

    path: str
    values: tuple[Any, ...]
    chosen: int | None


@dataclass
class Review:
    case_id: str
    database: str
    village: str
    fields: dict[str, list[Any]]
    chosen: dict[str, int]


FIELD_LABELS = {
    "applicant.name": "姓名 Name",
    "applicant.id_number": "身份证号 ID number",
    "applicant.phone": "手机号 Phone",
    "item_code": "事项 Item",
    "situation": "情形 Situation",
    "status": "状态 Status",
}


class ReviewsViewModel:
    """Open conflict reviews of the staff member's township; a choice per field, then decide."""

    def __init__(
        self, api: Callable[[], StaffApi], township: str, t: Translator, *, names: Names | None = None
    ) -> None:
        self.api = api
        self.township = township
        self.t = t
        self.names = names or Names(t, None, {})
        self.reviews: list[Review] = []
        self.error = ""
        self.message = ""

    async def load(self) -> None:
        self.error = ""
        try:
            rows = await self.api().reviews(self.township)
        except StaffApiError as error:
            self.error = str(error)
            return
        self.reviews = [
            Review(
                str(r["case_id"]),
                str(r["database"]),
                self.names.place(str(r.get("village", ""))),
                dict(r.get("fields", {})),
                {},
            )
            for r in rows
        ]

    def choices(self, review: Review) -> list[FieldChoice]:
        return [
            FieldChoice(path, tuple(values), review.chosen.get(path))
            for path, values in review.fields.items()
        ]

    @staticmethod
    def label(path: str) -> str:
        return FIELD_LABELS.get(path, path)

    def choose(self, review: Review, path: str, index: int) -> None:
        review.chosen[path] = index

    def ready(self, review: Review) -> bool:
        return set(review.chosen) == set(review.fields)

    async def decide(self, review: Review) -> bool:
        """Sends the choice of every field; the server records it and clears `needs_review`."""
        self.error = self.message = ""
        if not self.ready(review):
            self.error = "请为每个字段选择一个值 Choose a value for every field"
            return False
        fields = {path: review.fields[path][i] for path, i in review.chosen.items()}
        try:
            await self.api().decide(review.case_id, review.database, fields)
        except StaffApiError as error:
            self.error = str(error)
            return False
        self.reviews.remove(review)
        self.message = self.t("action_done")
        return True


class SupervisionViewModel:
    """Yellow and red cards per village and person, handling time, satisfaction (电子监察)."""

    def __init__(self, api: Callable[[], StaffApi], township: str, *, names: Names | None = None) -> None:
        self.api = api
        self.township = township
        self.names = names or Names(Translator("zh"), None, {})
        self.data: dict[str, Any] = {}
        self.error = ""

    async def load(self) -> None:
        self.error = ""
        try:
            self.data = await self.api().supervision(self.township)
        except StaffApiError as error:
            self.error = str(error)

    def lines(self) -> list[tuple[str, str]]:
        """(label, value) rows ready to show; counts spelled out, not only coloured."""
        d = self.data
        if not d:
            return []
        sat = d.get("satisfaction", {})
        rows = [
            ("红牌（超期）Red: overdue", str(len(d.get("overdue", [])))),
            ("黄牌（剩1天）Yellow: 1 day left", str(len(d.get("due_soon", [])))),
            ("平均办理天数 Average handling days", _num(d.get("average_handling_days"))),
            ("本地办结比例 Finished locally", _pct(d.get("local_share"))),
            ("满意度 Satisfaction", f"{_num(sat.get('average'))} ({sat.get('count', 0)})"),
        ]
        for village, v in d.get("villages", {}).items():
            rows.append(
                (f"村 Village {self.names.place(village)}",
                 f"红 {v['overdue']} · 黄 {v['due_soon']} · 在办 {v['open']}")
            )
        for person, v in d.get("staff", {}).items():
            rows.append(
                (f"人员 Staff {self.names.person(person)}",
                 f"红 {v['overdue']} · 黄 {v['due_soon']} · 办结 {v['finished']}")
            )
        return rows


def _num(value: Any) -> str:
    return "—" if value is None else str(value)


def _pct(value: Any) -> str:
    return "—" if value is None else f"{float(value) * 100:.0f}%"
